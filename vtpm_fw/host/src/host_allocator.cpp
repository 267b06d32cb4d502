#include "cvtpm/vtpm_host/host_allocator.h"

#include <cstdio>
#include <cstdlib>
#include <new>

namespace cvtpm::vtpm::host {

void* HostAllocator::allocate(std::size_t size, std::size_t alignment) {
  if (failing_) {
    if (successes_left_ == 0) return nullptr;
    --successes_left_;
  }
  void* memory = ::operator new(size, std::align_val_t(alignment), std::nothrow);
  if (memory == nullptr) return nullptr;
  ++live_allocations_;
  live_bytes_ += size;
  if (live_bytes_ > peak_bytes_) peak_bytes_ = live_bytes_;
  return memory;
}

void HostAllocator::deallocate(void* memory, std::size_t size, std::size_t alignment) {
  if (live_allocations_ == 0 || size > live_bytes_) {
    // The core broke the allocator contract: fail loudly (tests and fuzzers catch it).
    std::fprintf(stderr, "HostAllocator: deallocate(%p, %zu) without a matching allocate\n", memory,
                 size);
    std::abort();
  }
  --live_allocations_;
  live_bytes_ -= size;
  ::operator delete(memory, std::align_val_t(alignment));
}

}  // namespace cvtpm::vtpm::host
