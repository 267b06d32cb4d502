// The only way the core allocates memory: an allocator the platform provides (the firmware's
// heap, or the host's). Freestanding.
#pragma once

#include <cstddef>

namespace cvtpm::vtpm {

class Allocator {
 public:
  // Returns `size` bytes aligned to `alignment` (a power of two, at most 4096), or nullptr when
  // memory is exhausted. Never called with size 0.
  virtual void* allocate(std::size_t size, std::size_t alignment) = 0;
  // Returns memory from allocate() with the same size and alignment. Never called with nullptr.
  virtual void deallocate(void* memory, std::size_t size, std::size_t alignment) = 0;

 protected:
  ~Allocator() = default;  // not owned through this interface
};

}  // namespace cvtpm::vtpm

namespace cvtpm::vtpm {

// Memory from an Allocator for one scope; empty() if the allocator had none.
class ScopedAllocation {
 public:
  ScopedAllocation(Allocator& allocator, std::size_t size, std::size_t alignment)
      : allocator_(allocator),
        size_(size),
        alignment_(alignment),
        memory_(size == 0 ? nullptr : allocator.allocate(size, alignment)) {}
  ~ScopedAllocation() {
    if (memory_ != nullptr) allocator_.deallocate(memory_, size_, alignment_);
  }
  ScopedAllocation(const ScopedAllocation&) = delete;
  ScopedAllocation& operator=(const ScopedAllocation&) = delete;

  void* get() const { return memory_; }
  bool empty() const { return memory_ == nullptr; }

 private:
  Allocator& allocator_;
  std::size_t size_;
  std::size_t alignment_;
  void* memory_;
};

}  // namespace cvtpm::vtpm
