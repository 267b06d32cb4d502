// The SNP platform's hardware interface (cvtpm/snp/hardware.h) on the processor itself, at VMPL0
// of an SEV-SNP guest: PVALIDATE, RMPADJUST, VMGEXIT and the GHCB MSR as instructions, memory
// through the firmware's identity map, C-bit changes in its page tables. Bare metal only; the
// instructions are emitted as bytes so any assembler builds them.
#pragma once

#include <cstdint>

#include "cvtpm/snp/hardware.h"

namespace cvtpm::fw::snp_platform {

class X86SnpHardware final : public snp::SnpHardware {
 public:
  constexpr X86SnpHardware() = default;

  // The C-bit mask (1 << position) for the page-table changes, and a spare table for splitting
  // a 2 MiB boot mapping (only the first split of the boot tables needs one).
  void set_cbit_mask(std::uint64_t mask) { cbit_mask_ = mask; }
  std::uint64_t cbit_mask() const { return cbit_mask_; }
  void set_spare_table(std::uint64_t* table) { spare_table_ = table; }

  void unmap(std::uint8_t* mapping, std::size_t size) override;
  std::uint64_t read_ghcb_msr() override;
  void write_ghcb_msr(std::uint64_t value) override;
  void vmgexit() override;
  std::uint64_t read_sev_status() override;
  std::uint64_t read_cr4() override;

 protected:
  std::uint8_t* map_at(std::uint64_t linear, std::size_t size, snp::Encryption encryption) override;
  bool set_page_encryption_at(std::uint64_t linear, snp::Encryption encryption) override;
  snp::PvalidateOutcome pvalidate_at(std::uint64_t linear, snp::PageSize size,
                                     bool validate) override;
  std::uint32_t rmpadjust_at(std::uint64_t linear, snp::PageSize size,
                             std::uint64_t attributes) override;
  void invalidate_all_processors() override;
  bool read_guarded_at(std::uint64_t linear, void* out, std::size_t size) override;
  bool write_guarded_at(std::uint64_t linear, const void* in, std::size_t size) override;
  bool exchange_guarded_at(std::uint64_t linear, std::uint8_t value, std::uint8_t& old) override;

 private:
  std::uint64_t cbit_mask_ = 0;
  std::uint64_t* spare_table_ = nullptr;
};

}  // namespace cvtpm::fw::snp_platform
