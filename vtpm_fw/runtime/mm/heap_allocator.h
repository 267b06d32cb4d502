// The vTPM core's allocator (cvtpm::vtpm::Allocator) on the firmware heap. The heap aligns every
// block to 16 bytes; larger alignments (the interface allows up to 4096) over-allocate and keep
// the heap's own pointer in the 8 bytes below the aligned block. Host-tested.
#pragma once

#include <cstddef>

#include "cvtpm/vtpm/allocator.h"
#include "mm/heap.h"

namespace cvtpm::fw::mm {

class HeapAllocator final : public vtpm::Allocator {
 public:
  static constexpr std::size_t kMaxAlignment = 4096;

  explicit HeapAllocator(Heap& heap) : heap_(&heap) {}

  // nullptr if the heap is exhausted, `size` is 0 or `alignment` is not a power of two up to
  // kMaxAlignment.
  void* allocate(std::size_t size, std::size_t alignment) override;
  void deallocate(void* memory, std::size_t size, std::size_t alignment) override;

 private:
  Heap* heap_;
};

}  // namespace cvtpm::fw::mm
