#include "mm/heap_allocator.h"

#include <cstdint>

namespace cvtpm::fw::mm {

namespace {

bool power_of_two(std::size_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

}  // namespace

void* HeapAllocator::allocate(std::size_t size, std::size_t alignment) {
  if (size == 0 || !power_of_two(alignment) || alignment > kMaxAlignment) return nullptr;
  if (alignment <= Heap::kAlignment) return heap_->allocate(size);
  // Room for the alignment gap and the heap pointer kept below the aligned block.
  if (size > SIZE_MAX - alignment - sizeof(void*)) return nullptr;
  void* block = heap_->allocate(size + alignment + sizeof(void*));
  if (block == nullptr) return nullptr;
  const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(block) + sizeof(void*);
  const std::uintptr_t aligned = (first + alignment - 1) & ~(std::uintptr_t{alignment} - 1);
  reinterpret_cast<void**>(aligned)[-1] = block;
  return reinterpret_cast<void*>(aligned);
}

void HeapAllocator::deallocate(void* memory, std::size_t /*size*/, std::size_t alignment) {
  if (memory == nullptr) return;
  if (alignment <= Heap::kAlignment) {
    heap_->free(memory);
  } else {
    heap_->free(static_cast<void**>(memory)[-1]);
  }
}

}  // namespace cvtpm::fw::mm
