// The SNP CPUID page (SNP Firmware ABI, "CPUID Reporting": the CPUID_PAGE of
// SNP_LAUNCH_UPDATE, and AMD GHCB specification section 2.3 "SEV-SNP CPUID Table"): the CPUID
// functions a guest may ask about, with the values the host proposed and the PSP checked at
// launch. A guest answers CPUID from this table instead of asking the hypervisor. Layout as
// Linux (struct snp_cpuid_table) and COCONUT-SVSM read it; cvtpm-igvmgen writes its template
// (igvmgen/src/cpuid_page.cpp) and the firmware reads it (vtpm_fw/snp cpuid_table). All integers
// are little-endian. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::snp {

struct CpuidFunction {
  std::uint32_t eax_in;   // the function (leaf)
  std::uint32_t ecx_in;   // the subfunction, for leaves indexed by ECX
  std::uint64_t xcr0_in;  // XCR0 the values assume (leaf 0xD)
  std::uint64_t xss_in;   // XSS the values assume (leaf 0xD)
  std::uint32_t eax, ebx, ecx, edx;
  std::uint64_t reserved;
};
static_assert(sizeof(CpuidFunction) == 48);
static_assert(offsetof(CpuidFunction, eax) == 24);
static_assert(offsetof(CpuidFunction, ebx) == 28);

inline constexpr std::size_t kCpuidMaxFunctions = 64;

struct CpuidPage {
  std::uint32_t count;  // functions used, at most kCpuidMaxFunctions
  std::uint32_t reserved_04;
  std::uint64_t reserved_08;
  CpuidFunction functions[kCpuidMaxFunctions];
};
static_assert(sizeof(CpuidPage) == 16 + 64 * 48);
static_assert(offsetof(CpuidPage, functions) == 16);
static_assert(sizeof(CpuidPage) <= 4096);

// CPUID Fn8000_001F: AMD memory encryption capabilities. EBX[5:0] is the C-bit position.
inline constexpr std::uint32_t kCpuidMemoryEncryptionLeaf = 0x8000'001F;
inline constexpr std::uint32_t kCpuidCbitMask = 0x3F;

}  // namespace cvtpm::formats::snp
