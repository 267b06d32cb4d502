// Fuzzes the #VC emulation (vtpm_fw/snp vc_handler): the instruction decoder on arbitrary bytes
// at RIP, every exit code, and the GHCB client behind it against a hypervisor whose every answer
// (GHCB fields, valid bitmap, MSR protocol) comes from the input. Whatever happens, RIP moves
// only past a decoded instruction of the exit's kind, by its length (at most 15 bytes).
//
// Input: u8 exit selector, 5 x u64 registers (RAX RBX RCX RDX CR4), 16 instruction bytes, then
// the hypervisor's answers.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cvtpm/formats/snp/cpuid_page.h"
#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/snp/cpuid_table.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/vc_handler.h"
#include "snp_fake_hardware.h"

namespace {

std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = cvtpm::formats::snp;
  using namespace cvtpm::snp;
  constexpr std::size_t kHeader = 1 + 5 * 8 + 16;
  if (size < kHeader) return 0;
  static const std::uint64_t kExits[] = {
      fs::ghcb_exit::kCpuid,  fs::ghcb_exit::kIoio, fs::ghcb_exit::kMsr, fs::ghcb_exit::kRdtsc,
      fs::ghcb_exit::kRdtscp, fs::ghcb_exit::kNpf,  fs::ghcb_exit::kHlt, 0};
  const std::uint64_t exit_code = kExits[data[0] % (sizeof kExits / sizeof kExits[0])];
  VcRegisters regs{le64(data + 1), le64(data + 9), le64(data + 17), le64(data + 25), 0x10000};
  const std::uint64_t cr4 = le64(data + 33);
  const std::span<const std::uint8_t> code(data + 41, 16);

  fuzzing::FuzzHardware hardware({data + kHeader, size - kHeader});
  constexpr std::uint64_t kGhcb = 0x5000;
  hardware.page(kGhcb);
  GhcbClient ghcb(hardware, kGhcb);
  static const CpuidTable cpuid = [] {
    fs::CpuidPage page{};
    page.count = 3;
    page.functions[0] = {0x1, 0, 0, 0, 0x00A00F11, 0, 0x4000'0000, 0x0700'0000, 0};
    page.functions[1] = {0x7, 0, 0, 0, 0, 0x4'0000, 0x10, 0, 0};
    page.functions[2] = {0x8000'001F, 0, 0, 0, 0x1B, 51, 0, 0, 0};
    CpuidTable t;
    (void)t.load(page);
    return t;
  }();

  const VcInstruction insn = decode_vc_instruction(code);
  if (insn.length > 15 || (insn.kind == VcInstruction::Kind::kNone && insn.length != 0))
    std::abort();
  const VcResult result = handle_vc(exit_code, code, regs, cpuid, cr4, ghcb);
  if (result == VcResult::kHandled) {
    if (insn.kind == VcInstruction::Kind::kNone || regs.rip != 0x10000u + insn.length) std::abort();
  } else if (regs.rip != 0x10000 || describe(result) == nullptr) {
    std::abort();
  }
  return 0;
}
