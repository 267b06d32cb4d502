// The #VC (VMM communication) exception of an SNP guest: the processor raises it, instead of
// exiting to the hypervisor, for the instructions the hypervisor intercepts, with the exit code as
// error code. The handler decodes the instruction at RIP and emulates it: CPUID from the CPUID
// page (never the hypervisor's answer), port I/O, MSR access and TSC reads through the GHCB.
// Everything else is refused and becomes a panic. Portable, so the decoder runs on the host
// (and under the fuzzer). Freestanding.
#pragma once

#include <cstdint>
#include <span>

#include "cvtpm/snp/cpuid_table.h"
#include "cvtpm/snp/ghcb_client.h"

namespace cvtpm::snp {

// The registers the emulated instructions read and write; rip advances past the instruction.
struct VcRegisters {
  std::uint64_t rax, rbx, rcx, rdx, rip;
};

enum class VcResult : std::uint8_t {
  kHandled,
  kUnsupportedExit,         // an exit code the firmware never expects
  kUndecodable,             // the bytes at RIP are not an instruction of that exit code
  kUnsupportedInstruction,  // e.g. string port I/O
  kHypervisorError,         // the GHCB exit failed
  kNoGhcb,                  // before the vCPU has a GHCB
  kNested,                  // a #VC while this vCPU handles one (ExceptionGate)
  kGhcbBusy,                // a #VC while this vCPU's GHCB is mid-exchange (ExceptionGate)
};

const char* describe(VcResult result);

struct VcInstruction {
  enum class Kind : std::uint8_t {
    kNone,
    kCpuid,
    kIn,
    kOut,
    kRdmsr,
    kWrmsr,
    kRdtsc,
    kRdtscp,
    kStringIo,
  } kind = Kind::kNone;
  std::uint8_t length = 0;    // bytes, prefixes included
  std::uint8_t io_bytes = 0;  // 1, 2 or 4 for port I/O
  bool port_in_dx = false;    // else an immediate port
  std::uint8_t port_immediate = 0;
};

// Decodes the instruction at the start of `code` (at most 15 bytes are looked at).
VcInstruction decode_vc_instruction(std::span<const std::uint8_t> code);

// Handles one #VC. `code` holds the bytes at regs.rip (the firmware's own code).
VcResult handle_vc(std::uint64_t exit_code, std::span<const std::uint8_t> code, VcRegisters& regs,
                   const CpuidTable& cpuid, std::uint64_t cr4, GhcbClient& ghcb);

}  // namespace cvtpm::snp
