// Guest vCPU models and their CPUID signature, which QEMU/KVM put in RDX of every initial VMSA.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace cvtpm::measure {

struct CpuModel {
  std::string_view name;  // QEMU -cpu name
  unsigned family;
  unsigned model;
  unsigned stepping;
};

// The AMD EPYC models of QEMU's builtin CPU definitions, every version alias included.
std::span<const CpuModel> known_cpu_models();
std::optional<CpuModel> find_cpu_model(std::string_view name);

// CPUID Fn0000_0001_EAX as AMD defines it (AMD CPUID specification #25481).
constexpr std::uint32_t cpu_signature(unsigned family, unsigned model, unsigned stepping) {
  unsigned family_low = family > 0xF ? 0xF : family;
  unsigned family_high = family > 0xF ? (family - 0xF) & 0xFF : 0;
  return (family_high << 20) | ((model >> 4) & 0xF) << 16 | family_low << 8 | (model & 0xF) << 4 |
         (stepping & 0xF);
}
static_assert(cpu_signature(23, 1, 2) == 0x00800F12);
static_assert(cpu_signature(25, 1, 1) == 0x00A00F11);

}  // namespace cvtpm::measure
