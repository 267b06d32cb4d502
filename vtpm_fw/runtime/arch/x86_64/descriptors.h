// GDT task-state segment and IDT: every one of the 32 exception vectors runs on an IST stack
// (libtpms and libcrypto use the red zone below RSP, which an exception frame pushed on the
// current stack would overwrite; and a fault on an overflowing stack needs a good stack).
#pragma once

#include <cstdint>

namespace cvtpm::fw::x86 {

// The 64-bit task-state segment (AMD64 APM vol. 2, "64-Bit Task State Segment").
struct __attribute__((packed)) TaskStateSegment {
  std::uint32_t reserved0;
  std::uint64_t rsp[3];
  std::uint64_t reserved1;
  std::uint64_t ist[7];
  std::uint64_t reserved2;
  std::uint16_t reserved3;
  std::uint16_t io_map_base;
};
static_assert(sizeof(TaskStateSegment) == 104);

// The operand of LGDT/LIDT and SGDT/SIDT.
struct __attribute__((packed)) TablePointer {
  std::uint16_t limit;
  std::uint64_t base;
};
static_assert(sizeof(TablePointer) == 10);

void install_descriptor_tables();

// IST index (1..7) each exception vector uses. Each exception that returns (#VC, #HV) has a
// stack of its own, so no other exception can start over its frame; the ones that only report
// and stop share.
constexpr int ist_for_vector(int vector) {
  switch (vector) {
    case 8:   // double fault
    case 18:  // machine check
      return 1;
    case 2:
      return 2;  // NMI
    case 28:
      return 3;  // hypervisor injection (#HV under SNP Restricted Injection)
    case 14:
      return 4;  // page fault
    case 29:
      return 5;  // VMM communication (#VC under SEV-ES/SNP)
    case 12:     // stack fault
    case 13:
      return 6;  // general protection
    default:
      return 7;
  }
}

}  // namespace cvtpm::fw::x86
