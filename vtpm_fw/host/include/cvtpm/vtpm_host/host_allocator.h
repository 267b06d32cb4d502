// The host's Allocator for the core: the C++ heap, with counters so tests can check that the
// core frees what it allocates, and failure injection to exercise its out-of-memory paths.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cvtpm/vtpm/allocator.h"

namespace cvtpm::vtpm::host {

class HostAllocator final : public Allocator {
 public:
  void* allocate(std::size_t size, std::size_t alignment) override;
  void deallocate(void* memory, std::size_t size, std::size_t alignment) override;

  std::size_t live_allocations() const { return live_allocations_; }
  std::size_t live_bytes() const { return live_bytes_; }
  std::size_t peak_bytes() const { return peak_bytes_; }
  // Makes every allocation after the next `successes` fail (until reset_failures()).
  void fail_after(std::size_t successes) {
    failing_ = true;
    successes_left_ = successes;
  }
  void reset_failures() { failing_ = false; }

 private:
  std::size_t live_allocations_ = 0;
  std::size_t live_bytes_ = 0;
  std::size_t peak_bytes_ = 0;
  bool failing_ = false;
  std::size_t successes_left_ = 0;
};

}  // namespace cvtpm::vtpm::host
