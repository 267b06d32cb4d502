// CPUID answered from the SNP CPUID page instead of the hypervisor: a private copy of the page
// the PSP checked at launch, looked up the way Linux's SNP CPUID code does (ECX matters only for
// leaves indexed by it; a function the table lacks reads as zeros), with the bits that reflect
// the vCPU's own control registers (OSXSAVE, OSPKE) computed from CR4. Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/formats/snp/cpuid_page.h"
#include "cvtpm/snp/status.h"

namespace cvtpm::snp {

struct CpuidValues {
  std::uint32_t eax, ebx, ecx, edx;
};

class CpuidTable {
 public:
  // Copies and checks `page` (count within bounds).
  SnpStatus load(const formats::snp::CpuidPage& page);
  bool loaded() const { return loaded_; }

  // CPUID(leaf, subleaf) on a vCPU whose CR4 is `cr4`.
  CpuidValues lookup(std::uint32_t leaf, std::uint32_t subleaf, std::uint64_t cr4) const;
  // Whether the table has the function at all.
  bool contains(std::uint32_t leaf, std::uint32_t subleaf) const;
  // The C-bit position (CPUID 0x8000001F EBX[5:0]); 0 if the table lacks the leaf.
  std::uint8_t cbit_position() const;

  const formats::snp::CpuidPage& page() const { return page_; }

  // Whether CPUID `leaf` takes a subleaf in ECX.
  static bool indexed(std::uint32_t leaf);

 private:
  const formats::snp::CpuidFunction* find(std::uint32_t leaf, std::uint32_t subleaf) const;

  formats::snp::CpuidPage page_{};
  bool loaded_ = false;
};

}  // namespace cvtpm::snp
