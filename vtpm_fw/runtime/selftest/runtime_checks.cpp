// Runtime sanity in the firmware itself (the host tests cover the logic; these cover the
// build: the exported C names, the heap on real pages, the clock).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "arch/x86_64/tsc_clock.h"
#include "mm/firmware_heap.h"
#include "selftest/check.h"

namespace cvtpm::fw::selftest {

namespace {

int compare_ints(const void* a, const void* b) {
  const int x = *static_cast<const int*>(a);
  const int y = *static_cast<const int*>(b);
  return (x > y) - (x < y);
}

}  // namespace

bool run_runtime_checks(Checks& checks) {
  const mm::Heap& heap = mm::firmware_heap();
  bool ok = checks.expect(heap.check(), "heap consistent", "%zu KiB in use, %zu live blocks",
                          heap.stats().used_bytes / 1024, heap.stats().live_allocations);

  // Through the exported C symbols, as the libraries call them.
  void* blocks[64];
  for (std::size_t i = 0; i < 64; ++i) blocks[i] = std::malloc(16 + i * 97);
  for (std::size_t i = 0; i < 64; i += 2) std::free(blocks[i]);
  void* grown = std::realloc(blocks[1], 100'000);
  blocks[1] = nullptr;
  bool heap_ok = grown != nullptr && heap.check();
  for (std::size_t i = 1; i < 64; i += 2) std::free(blocks[i]);
  std::free(grown);
  ok &= checks.expect(heap_ok && heap.check(), "malloc/realloc/free through libc");

  char text[64];
  const int n = std::snprintf(text, sizeof text, "%s-%05d-%#x-%p", "fw", 42, 0xbeef,
                              static_cast<void*>(nullptr));
  ok &= checks.expect(n == 21 && std::strcmp(text, "fw-00042-0xbeef-(nil)") == 0, "snprintf",
                      "\"%s\"", text);

  int numbers[] = {5, -3, 9, 0, 9, -12, 7};
  std::qsort(numbers, 7, sizeof(int), compare_ints);
  const int sorted[] = {-12, -3, 0, 5, 7, 9, 9};
  ok &= checks.expect(std::memcmp(numbers, sorted, sizeof sorted) == 0, "qsort");

  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int spin = 0; spin < 100000; ++spin) asm volatile("" : : : "memory");
  clock_gettime(CLOCK_MONOTONIC, &b);
  const long long delta = (b.tv_sec - a.tv_sec) * 1'000'000'000LL + (b.tv_nsec - a.tv_nsec);
  ok &= checks.expect(x86::tsc_clock::started() && delta > 0, "monotonic clock advances",
                      "%lld ns over a busy loop", delta);
  return ok;
}

}  // namespace cvtpm::fw::selftest
