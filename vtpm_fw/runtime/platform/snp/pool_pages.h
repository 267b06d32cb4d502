// The firmware's page pool as the SNP code's page source (cvtpm/snp/page_source.h). Bare metal
// only (the pool is validated firmware memory once accept_firmware_memory() ran).
#pragma once

#include <cstdint>

#include "cvtpm/snp/page_source.h"
#include "mm/page_allocator.h"

namespace cvtpm::fw::snp_platform {

class PoolPages final : public snp::PageSource {
 public:
  explicit PoolPages(mm::PageAllocator& pages) : pages_(pages) {}
  std::uint64_t allocate_page() override { return pages_.allocate(1); }
  void release_page(std::uint64_t gpa) override { (void)pages_.free(gpa, 1); }

 private:
  mm::PageAllocator& pages_;
};

}  // namespace cvtpm::fw::snp_platform
