// The SNP CPUID page the image carries (SEV-SNP Firmware ABI, "CPUID Reporting": the CPUID_PAGE
// of SNP_LAUNCH_UPDATE): a table of CPUID functions the PSP checks against the host's values at
// launch. Its contents are not part of the launch digest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace cvtpm::igvmgen {

struct SnpCpuidFunction {
  std::uint32_t eax_in;
  std::uint32_t ecx_in;
  std::uint64_t xcr0_in;
  std::uint64_t xss_in;
  std::uint32_t eax, ebx, ecx, edx;
  std::uint64_t reserved;
};
static_assert(sizeof(SnpCpuidFunction) == 48);

inline constexpr std::size_t kSnpCpuidMaxFunctions = 64;

struct SnpCpuidTable {
  std::uint32_t count;
  std::uint32_t reserved1;
  std::uint64_t reserved2;
  SnpCpuidFunction functions[kSnpCpuidMaxFunctions];
};
static_assert(sizeof(SnpCpuidTable) == 16 + 64 * 48);

// The functions the firmware asks CPUID about, with zero outputs for the host to fill in.
std::array<std::uint8_t, 4096> snp_cpuid_template();

}  // namespace cvtpm::igvmgen
