// SnpHardware (vtpm_fw/snp) on the model: the instructions, the GHCB MSR and VMGEXIT of one
// model vCPU at one VMPL. The firmware's SNP code runs on it unchanged. Accesses the RMP forbids
// give nullptr and a recorded fault (Machine::faults()), never an exception: the code under test
// is built without exceptions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "cvtpm/snp/hardware.h"
#include "model/snp_machine.h"

namespace cvtpm::snp::model {

class ModelHardware final : public SnpHardware {
 public:
  ModelHardware(Machine& machine, std::uint32_t apic_id, std::uint8_t vmpl = 0)
      : machine_(machine), apic_id_(apic_id), vmpl_(vmpl) {}

  void unmap(std::uint8_t* mapping, std::size_t size) override;
  std::uint64_t read_ghcb_msr() override;
  void write_ghcb_msr(std::uint64_t value) override;
  void vmgexit() override;
  std::uint64_t read_sev_status() override;
  std::uint64_t read_cr4() override;

  std::uint32_t apic_id() const { return apic_id_; }

  std::uint8_t* map_at(std::uint64_t linear, std::size_t size, Encryption encryption) override;
  bool set_page_encryption_at(std::uint64_t linear, Encryption encryption) override;
  PvalidateOutcome pvalidate_at(std::uint64_t linear, PageSize size, bool validate) override;
  std::uint32_t rmpadjust_at(std::uint64_t linear, PageSize size,
                             std::uint64_t attributes) override;
  void invalidate_all_processors() override { machine_.invlpgb_tlbsync(apic_id_); }
  bool read_guarded_at(std::uint64_t linear, void* out, std::size_t size) override;
  bool write_guarded_at(std::uint64_t linear, const void* in, std::size_t size) override;
  bool exchange_guarded_at(std::uint64_t linear, std::uint8_t value, std::uint8_t& old) override;

  // Runs after each access the firmware ends (unmap), with the page it touched: a test plays
  // another vCPU of the guest rewriting memory while the SVSM serves a call.
  std::function<void(std::uint64_t gpa, std::size_t size)> after_access;
  // The firmware's exception entry on this vCPU: called with an event the hypervisor injects
  // when VMPL0 resumes from a VMGEXIT (Machine::inject).
  std::function<void(const Machine::Injection&)> exception_entry;
  // Counts of what the firmware did through this object.
  std::size_t maps = 0;
  std::size_t pvalidates = 0;
  std::size_t rmpadjusts = 0;

 private:
  Machine& machine_;
  std::uint32_t apic_id_;
  std::uint8_t vmpl_;
  std::map<const std::uint8_t*, std::uint64_t> mapped_;
  // A guarded access at VMPL0 (or a plain one at a guest VMPL): the bytes, or nullptr.
  std::uint8_t* guarded(std::uint64_t linear, std::size_t size, bool write);
  void after(std::uint64_t linear, std::size_t size);
};

}  // namespace cvtpm::snp::model
