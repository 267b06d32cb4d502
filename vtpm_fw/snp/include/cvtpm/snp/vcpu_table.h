// The guest's VMSAs the SVSM knows: for each, the APIC ID of the vCPU it belongs to, the calling
// area its calls come through, and when it was created. Slot 0 is the boot vCPU's, which the
// firmware created in its own memory; CREATE_VCPU adds the others (guest pages the SVSM took
// over). An APIC ID can have several: Linux brings a CPU back online by creating its new VMSA
// before it deletes the old one (wakeup_cpu_via_vmgexit); the newest is the one the vCPU runs.
// Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::snp {

struct VcpuEntry {
  bool used = false;
  std::uint32_t apic_id = 0;
  std::uint64_t vmsa_gpa = 0;
  std::uint64_t caa_gpa = 0;
  bool firmware_vmsa = false;    // the VMSA is a firmware page (the boot vCPU)
  std::uint64_t generation = 0;  // creation order: the newest of an APIC ID is its current VMSA
};

class VcpuTable {
 public:
  static constexpr std::size_t kCapacity = 64;

  // The slot of the APIC ID's current (newest) VMSA, or kCapacity.
  std::size_t find_apic(std::uint32_t apic_id) const;
  std::size_t find_vmsa(std::uint64_t vmsa_gpa) const;
  // Whether [gpa, gpa + size) touches a VMSA page the SVSM took from the guest.
  bool overlaps_guest_vmsa(std::uint64_t gpa, std::uint64_t size) const;
  // A free slot (the boot vCPU only in slot 0), or kCapacity; fill it with take().
  std::size_t allocate(bool boot_vcpu);
  // Marks `slot` used by a new VMSA (newer than every other).
  VcpuEntry& take(std::size_t slot, std::uint32_t apic_id, std::uint64_t vmsa_gpa,
                  std::uint64_t caa_gpa);

  VcpuEntry& operator[](std::size_t slot) { return entries_[slot]; }
  const VcpuEntry& operator[](std::size_t slot) const { return entries_[slot]; }
  std::size_t count() const;

 private:
  VcpuEntry entries_[kCapacity];
  std::uint64_t next_generation_ = 1;
};

}  // namespace cvtpm::snp
