#include "cvtpm/snp/page_source.h"

namespace cvtpm::snp {

std::uint64_t allocate_vmsa_page(PageSource& pages) {
  const std::uint64_t first = pages.allocate_page();
  if (first == 0 || vmsa_page_allowed(first)) return first;
  // Two consecutive pages cannot both be 2 MiB aligned, so the next one will do.
  const std::uint64_t second = pages.allocate_page();
  pages.release_page(first);
  return second != 0 && vmsa_page_allowed(second) ? second : 0;
}

}  // namespace cvtpm::snp
