// The guest OS's view of a model vCPU at its VMPL: memory through its RMP permissions (a denied
// access throws ModelFault, as it would fault), its registers, the GHCB MSR and VMGEXIT, and the
// RMP instructions with the model's rules for a VMPL above 0.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "model/snp_machine.h"

namespace cvtpm::snp::model {

class GuestCpu {
 public:
  GuestCpu(Machine& machine, std::uint32_t apic_id, std::uint8_t vmpl)
      : machine_(machine), apic_id_(apic_id), vmpl_(vmpl) {}

  GuestRegisters regs;

  Machine& machine() { return machine_; }
  std::uint32_t apic_id() const { return apic_id_; }
  std::uint8_t vmpl() const { return vmpl_; }

  std::vector<std::uint8_t> read(std::uint64_t gpa, std::size_t size);
  void write(std::uint64_t gpa, std::span<const std::uint8_t> bytes);
  void zero(std::uint64_t gpa, std::size_t size);
  // Shared (C-bit clear) accesses, e.g. to the guest's own GHCB.
  std::vector<std::uint8_t> read_shared(std::uint64_t gpa, std::size_t size);
  void write_shared(std::uint64_t gpa, std::span<const std::uint8_t> bytes);
  // xchg on a byte (call_pending).
  std::uint8_t exchange8(std::uint64_t gpa, std::uint8_t value);

  template <typename T>
  requires std::is_trivially_copyable_v<T> T read_object(std::uint64_t gpa) {
    const auto bytes = read(gpa, sizeof(T));
    T out;
    std::memcpy(&out, bytes.data(), sizeof out);
    return out;
  }
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void write_object(std::uint64_t gpa, const T& value) {
    write(gpa, {reinterpret_cast<const std::uint8_t*>(&value), sizeof value});
  }

  std::uint64_t ghcb_msr() const;
  void set_ghcb_msr(std::uint64_t value);
  void vmgexit();

  PvalidateOutcome pvalidate(std::uint64_t gpa, PageSize size, bool validate);
  std::uint32_t rmpadjust(std::uint64_t gpa, PageSize size, std::uint64_t attributes);

 private:
  std::uint8_t* checked(std::uint64_t gpa, std::size_t size, Encryption encryption, bool write);

  Machine& machine_;
  std::uint32_t apic_id_;
  std::uint8_t vmpl_;
};

}  // namespace cvtpm::snp::model
