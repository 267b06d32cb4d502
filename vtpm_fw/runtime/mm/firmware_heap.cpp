#include "mm/firmware_heap.h"

#include "panic/panic.h"

namespace cvtpm::fw::mm {

namespace {

Heap g_heap;
bool g_ready = false;

bool grow_from_pages(void* context, std::size_t min_bytes, void** start, std::size_t* bytes) {
  auto* pages = static_cast<PageAllocator*>(context);
  std::size_t want = min_bytes < kHeapGrowStep ? kHeapGrowStep : min_bytes;
  want = (want + kPageSize - 1) & ~(kPageSize - 1);
  const std::uint64_t address = pages->allocate(want / kPageSize);
  if (address == 0) return false;
  *start = reinterpret_cast<void*>(address);
  *bytes = want;
  return true;
}

void heap_error(void*, const char* what, const void* pointer) {
  panic("%s (pointer %p)", what, pointer);
}

}  // namespace

void init_firmware_heap(PageAllocator& pages, std::uint64_t cookie) {
  g_heap.init(grow_from_pages, &pages, heap_error, nullptr, cookie);
  g_ready = true;
}

Heap& firmware_heap() {
  if (!g_ready) panic("heap used before it was initialised");
  return g_heap;
}

bool firmware_heap_ready() {
  return g_ready;
}

}  // namespace cvtpm::fw::mm
