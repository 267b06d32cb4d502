// qsort as heapsort: O(n log n) in the worst case, constant stack, no allocation.
#include <cstdlib>

#include "libc/shim.h"

namespace cvtpm::fw::libc {

namespace {

using Compare = int (*)(const void*, const void*);

void swap_elements(unsigned char* a, unsigned char* b, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    const unsigned char t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

void sift_down(unsigned char* base, std::size_t root, std::size_t count, std::size_t size,
               Compare compare) {
  for (;;) {
    std::size_t child = 2 * root + 1;
    if (child >= count) return;
    if (child + 1 < count && compare(base + child * size, base + (child + 1) * size) < 0) ++child;
    if (compare(base + root * size, base + child * size) >= 0) return;
    swap_elements(base + root * size, base + child * size, size);
    root = child;
  }
}

}  // namespace

void qsort(void* base, std::size_t count, std::size_t size, Compare compare) {
  if (count < 2 || size == 0) return;
  auto* bytes = static_cast<unsigned char*>(base);
  for (std::size_t start = count / 2; start-- > 0;) sift_down(bytes, start, count, size, compare);
  for (std::size_t end = count - 1; end > 0; --end) {
    swap_elements(bytes, bytes + end * size, size);
    sift_down(bytes, 0, end, size, compare);
  }
}

}  // namespace cvtpm::fw::libc

#if defined(CVTPM_FIRMWARE)
extern "C" void qsort(void* base, size_t count, size_t size,
                      int (*compare)(const void*, const void*)) {
  cvtpm::fw::libc::qsort(base, count, size, compare);
}
#endif
