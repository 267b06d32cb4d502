// Whole pages of validated private firmware memory for the SNP code (the page allocator in the
// firmware, a bump allocator in the tests), and the rule for taking a VMSA page from them.
// Freestanding.
#pragma once

#include <cstdint>

namespace cvtpm::snp {

class PageSource {
 public:
  // GPA of a fresh page, or 0.
  virtual std::uint64_t allocate_page() = 0;
  // Gives a page from allocate_page() back (a source that cannot take pages back keeps it).
  virtual void release_page(std::uint64_t) {}

 protected:
  ~PageSource() = default;
};

// A page for a VMSA, never 2 MiB aligned: an SNP erratum makes the processor signal spurious RMP
// violations for a VMSA page whose address a large page could also cover (Linux
// snp_alloc_vmsa_page, arch/x86/coco/sev/core.c; COCONUT-SVSM VmsaPage::new,
// kernel/src/sev/vmsa.rs). Returns 0 if the source runs out.
std::uint64_t allocate_vmsa_page(PageSource& pages);

// Whether a page may be a VMSA under that erratum.
constexpr bool vmsa_page_allowed(std::uint64_t gpa) {
  return (gpa & (0x20'0000 - 1)) != 0;
}

}  // namespace cvtpm::snp
