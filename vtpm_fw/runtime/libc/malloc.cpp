// malloc family on the firmware heap. Failure returns NULL with ENOMEM, as callers expect
// (libcrypto and libtpms check); corruption and invalid frees panic inside the heap.
#include <cerrno>
#include <cstdlib>

#include "libc/shim.h"
#include "mm/firmware_heap.h"

using cvtpm::fw::mm::firmware_heap;

extern "C" {

void* malloc(size_t size) {
  void* p = firmware_heap().allocate(size);
  if (p == nullptr) cvtpm::fw::libc::errno_ref() = ENOMEM;
  return p;
}

void* calloc(size_t count, size_t size) {
  void* p = firmware_heap().allocate_zeroed(count, size);
  if (p == nullptr) cvtpm::fw::libc::errno_ref() = ENOMEM;
  return p;
}

void* realloc(void* pointer, size_t size) {
  void* p = firmware_heap().reallocate(pointer, size);
  if (p == nullptr && size != 0) cvtpm::fw::libc::errno_ref() = ENOMEM;
  return p;
}

void free(void* pointer) {
  firmware_heap().free(pointer);
}

}  // extern "C"
