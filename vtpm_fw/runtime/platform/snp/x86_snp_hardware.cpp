#include "platform/snp/x86_snp_hardware.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/guarded_access.h"
#include "arch/x86_64/snp/page_encryption.h"
#include "cvtpm/formats/snp/ghcb_msr_protocol.h"

namespace cvtpm::fw::snp_platform {

namespace msr = formats::snp::ghcb_msr;

std::uint8_t* X86SnpHardware::map_at(std::uint64_t linear, std::size_t, snp::Encryption) {
  // The page tables decide: private memory with the C-bit, the few shared pages without it (the
  // firmware changed their entries when it shared them).
  return reinterpret_cast<std::uint8_t*>(linear);
}

void X86SnpHardware::unmap(std::uint8_t*, std::size_t) {}

bool X86SnpHardware::set_page_encryption_at(std::uint64_t linear, snp::Encryption encryption) {
  bool spare_used = false;
  const bool ok = x86::snp::set_page_encryption(linear, encryption == snp::Encryption::kPrivate,
                                                cbit_mask_, spare_table_, spare_used);
  if (spare_used) spare_table_ = nullptr;  // only the first split of the boot tables needs one
  return ok;
}

void X86SnpHardware::invalidate_all_processors() {
  // INVLPGB (0F 01 FE) with COCONUT-SVSM's operands (kernel/src/sev/tlb.rs flush_tlb): RAX = ASID
  // valid (bit 2) | include global translations (bit 3), no address, ECX = 0, EDX = ASID 0 (the
  // guest's own); then TLBSYNC (0F 01 FF) waits until every processor has finished.
  asm volatile(".byte 0x0f, 0x01, 0xfe\n\t.byte 0x0f, 0x01, 0xff"
               :
               : "a"((std::uint64_t{1} << 2) | (std::uint64_t{1} << 3)), "c"(0), "d"(0)
               : "memory");
}

bool X86SnpHardware::read_guarded_at(std::uint64_t linear, void* out, std::size_t size) {
  return fw_guarded_copy(out, reinterpret_cast<const void*>(linear), size);
}

bool X86SnpHardware::write_guarded_at(std::uint64_t linear, const void* in, std::size_t size) {
  return fw_guarded_copy(reinterpret_cast<void*>(linear), in, size);
}

bool X86SnpHardware::exchange_guarded_at(std::uint64_t linear, std::uint8_t value,
                                         std::uint8_t& old) {
  return fw_guarded_exchange8(reinterpret_cast<std::uint8_t*>(linear), value, &old);
}

snp::PvalidateOutcome X86SnpHardware::pvalidate_at(std::uint64_t linear, snp::PageSize size,
                                                   bool validate) {
  std::uint64_t rax = linear;
  std::uint8_t unchanged = 0;
  // PVALIDATE: F2 0F 01 FF; CF = 1 when the validated bit did not change.
  asm volatile(".byte 0xf2, 0x0f, 0x01, 0xff\n\tsetc %1"
               : "+a"(rax), "=qm"(unchanged)
               : "c"(size == snp::PageSize::k2M ? 1u : 0u), "d"(validate ? 1u : 0u)
               : "memory", "cc");
  return {static_cast<std::uint32_t>(rax), unchanged == 0};
}

std::uint32_t X86SnpHardware::rmpadjust_at(std::uint64_t linear, snp::PageSize size,
                                           std::uint64_t attributes) {
  std::uint64_t rax = linear;
  // RMPADJUST: F3 0F 01 FE.
  asm volatile(".byte 0xf3, 0x0f, 0x01, 0xfe"
               : "+a"(rax)
               : "c"(size == snp::PageSize::k2M ? 1u : 0u), "d"(attributes)
               : "memory", "cc");
  return static_cast<std::uint32_t>(rax);
}

std::uint64_t X86SnpHardware::read_ghcb_msr() {
  return x86::rdmsr(msr::kMsrGhcb);
}

void X86SnpHardware::write_ghcb_msr(std::uint64_t value) {
  x86::wrmsr(msr::kMsrGhcb, value);
}

void X86SnpHardware::vmgexit() {
  // VMGEXIT = REP VMMCALL (F3 0F 01 D9). The hypervisor may have written any memory shared with it.
  asm volatile(".byte 0xf3, 0x0f, 0x01, 0xd9" : : : "memory");
}

std::uint64_t X86SnpHardware::read_sev_status() {
  return x86::rdmsr(msr::kMsrSevStatus);
}

std::uint64_t X86SnpHardware::read_cr4() {
  return x86::read_cr4();
}

}  // namespace cvtpm::fw::snp_platform
