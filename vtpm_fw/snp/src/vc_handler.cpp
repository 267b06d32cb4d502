#include "cvtpm/snp/vc_handler.h"

#include "cvtpm/formats/snp/ghcb.h"

namespace cvtpm::snp {

namespace fs = formats::snp;

const char* describe(VcResult result) {
  switch (result) {
    case VcResult::kHandled:
      return "handled";
    case VcResult::kUnsupportedExit:
      return "exit code not handled by the firmware";
    case VcResult::kUndecodable:
      return "instruction does not match the exit code";
    case VcResult::kUnsupportedInstruction:
      return "instruction not emulated";
    case VcResult::kHypervisorError:
      return "the hypervisor failed the GHCB exit";
    case VcResult::kNoGhcb:
      return "no GHCB on this vCPU yet";
    case VcResult::kNested:
      return "a #VC while a #VC is handled (injected by the hypervisor)";
    case VcResult::kGhcbBusy:
      return "a #VC during a GHCB exchange (injected by the hypervisor)";
  }
  return "unknown";
}

VcInstruction decode_vc_instruction(std::span<const std::uint8_t> code) {
  using Kind = VcInstruction::Kind;
  constexpr std::size_t kMaxLength = 15;
  const std::size_t limit = code.size() < kMaxLength ? code.size() : kMaxLength;
  VcInstruction out;
  bool operand16 = false;
  std::size_t i = 0;
  // Legacy prefixes, then at most one REX prefix right before the opcode.
  for (; i < limit; ++i) {
    const std::uint8_t b = code[i];
    if (b == 0x66) {
      operand16 = true;
    } else if (b == 0x67 || b == 0xF2 || b == 0xF3 || b == 0x2E || b == 0x36 || b == 0x3E ||
               b == 0x26 || b == 0x64 || b == 0x65) {
      continue;
    } else {
      break;
    }
  }
  if (i < limit && (code[i] & 0xF0) == 0x40) ++i;  // REX: W does not change IN/OUT or CPUID
  if (i >= limit) return out;
  const std::uint8_t op = code[i];
  const unsigned wide = operand16 ? 2 : 4;
  auto done = [&](Kind kind, std::size_t length) {
    if (i + length > limit) return VcInstruction{};
    out.kind = kind;
    out.length = static_cast<std::uint8_t>(i + length);
    return out;
  };
  switch (op) {
    case 0x0F: {
      if (i + 1 >= limit) return VcInstruction{};
      const std::uint8_t op2 = code[i + 1];
      if (op2 == 0xA2) return done(Kind::kCpuid, 2);
      if (op2 == 0x32) return done(Kind::kRdmsr, 2);
      if (op2 == 0x30) return done(Kind::kWrmsr, 2);
      if (op2 == 0x31) return done(Kind::kRdtsc, 2);
      if (op2 == 0x01 && i + 2 < limit && code[i + 2] == 0xF9) return done(Kind::kRdtscp, 3);
      return VcInstruction{};
    }
    case 0xE4:
    case 0xE5:
    case 0xE6:
    case 0xE7:
      if (i + 1 >= limit) return VcInstruction{};
      out.io_bytes = static_cast<std::uint8_t>((op & 1) != 0 ? wide : 1);
      out.port_immediate = code[i + 1];
      return done((op & 2) != 0 ? Kind::kOut : Kind::kIn, 2);
    case 0xEC:
    case 0xED:
    case 0xEE:
    case 0xEF:
      out.io_bytes = static_cast<std::uint8_t>((op & 1) != 0 ? wide : 1);
      out.port_in_dx = true;
      return done((op & 2) != 0 ? Kind::kOut : Kind::kIn, 1);
    case 0x6C:
    case 0x6D:
    case 0x6E:
    case 0x6F:
      return done(Kind::kStringIo, 1);
    default:
      return VcInstruction{};
  }
}

namespace {

std::uint64_t merge(std::uint64_t rax, std::uint32_t value, unsigned bytes) {
  if (bytes == 4) return value;  // a 32-bit register write zero-extends
  const std::uint64_t mask = bytes == 1 ? 0xFF : 0xFFFF;
  return (rax & ~mask) | (value & mask);
}

}  // namespace

VcResult handle_vc(std::uint64_t exit_code, std::span<const std::uint8_t> code, VcRegisters& regs,
                   const CpuidTable& cpuid, std::uint64_t cr4, GhcbClient& ghcb) {
  using Kind = VcInstruction::Kind;
  const VcInstruction insn = decode_vc_instruction(code);
  switch (exit_code) {
    case fs::ghcb_exit::kCpuid: {
      if (insn.kind != Kind::kCpuid) return VcResult::kUndecodable;
      const CpuidValues v = cpuid.lookup(static_cast<std::uint32_t>(regs.rax),
                                         static_cast<std::uint32_t>(regs.rcx), cr4);
      regs.rax = v.eax;
      regs.rbx = v.ebx;
      regs.rcx = v.ecx;
      regs.rdx = v.edx;
      break;
    }
    case fs::ghcb_exit::kIoio: {
      if (insn.kind == Kind::kStringIo) return VcResult::kUnsupportedInstruction;
      if (insn.kind != Kind::kIn && insn.kind != Kind::kOut) return VcResult::kUndecodable;
      const auto port =
          static_cast<std::uint16_t>(insn.port_in_dx ? regs.rdx : insn.port_immediate);
      if (insn.kind == Kind::kIn) {
        const auto value = ghcb.io_in(port, insn.io_bytes);
        if (!value) return VcResult::kHypervisorError;
        regs.rax = merge(regs.rax, value.value(), insn.io_bytes);
      } else {
        const std::uint64_t mask =
            insn.io_bytes == 4 ? 0xFFFF'FFFFu : (std::uint64_t{1} << (8 * insn.io_bytes)) - 1;
        if (!ghcb.io_out(port, insn.io_bytes, static_cast<std::uint32_t>(regs.rax & mask))) {
          return VcResult::kHypervisorError;
        }
      }
      break;
    }
    case fs::ghcb_exit::kMsr: {
      const auto msr = static_cast<std::uint32_t>(regs.rcx);
      if (insn.kind == Kind::kRdmsr) {
        const auto value = ghcb.read_msr(msr);
        if (!value) return VcResult::kHypervisorError;
        regs.rax = value.value() & 0xFFFF'FFFF;
        regs.rdx = value.value() >> 32;
      } else if (insn.kind == Kind::kWrmsr) {
        const std::uint64_t value = (regs.rdx & 0xFFFF'FFFF) << 32 | (regs.rax & 0xFFFF'FFFF);
        if (!ghcb.write_msr(msr, value)) return VcResult::kHypervisorError;
      } else {
        return VcResult::kUndecodable;
      }
      break;
    }
    case fs::ghcb_exit::kRdtsc:
    case fs::ghcb_exit::kRdtscp: {
      const bool aux = exit_code == fs::ghcb_exit::kRdtscp;
      if (insn.kind != (aux ? Kind::kRdtscp : Kind::kRdtsc)) return VcResult::kUndecodable;
      const auto tsc = ghcb.read_tsc(aux);
      if (!tsc) return VcResult::kHypervisorError;
      regs.rax = tsc.value().value & 0xFFFF'FFFF;
      regs.rdx = tsc.value().value >> 32;
      if (aux) regs.rcx = tsc.value().aux;
      break;
    }
    default:
      return VcResult::kUnsupportedExit;
  }
  regs.rip += insn.length;
  return VcResult::kHandled;
}

}  // namespace cvtpm::snp
