// The one heap of the firmware (behind malloc/free and operator new), growing in regions taken
// from the page allocator.
#pragma once

#include <cstdint>

#include "mm/heap.h"
#include "mm/page_allocator.h"

namespace cvtpm::fw::mm {

// Grows from `pages` in steps of at least kGrowStep; `cookie` seeds the header check words.
void init_firmware_heap(PageAllocator& pages, std::uint64_t cookie);
Heap& firmware_heap();
bool firmware_heap_ready();

inline constexpr std::size_t kHeapGrowStep = 1024 * 1024;

}  // namespace cvtpm::fw::mm
