// The C++ runtime the firmware's own code needs without exceptions or RTTI: operator new/delete
// on the firmware heap (out of memory is fatal: there is no std::bad_alloc), pure-virtual and
// static-destructor hooks, and the global constructors.
#include <cstddef>
#include <new>

#include "mm/firmware_heap.h"
#include "panic/panic.h"

namespace {

void* allocate_or_panic(std::size_t size) {
  void* p = cvtpm::fw::mm::firmware_heap().allocate(size);
  if (p == nullptr) cvtpm::fw::panic("operator new: out of memory for %zu bytes", size);
  return p;
}

}  // namespace

void* operator new(std::size_t size) {
  return allocate_or_panic(size);
}
void* operator new[](std::size_t size) {
  return allocate_or_panic(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return cvtpm::fw::mm::firmware_heap().allocate(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return cvtpm::fw::mm::firmware_heap().allocate(size);
}
void operator delete(void* p) noexcept {
  cvtpm::fw::mm::firmware_heap().free(p);
}
void operator delete[](void* p) noexcept {
  cvtpm::fw::mm::firmware_heap().free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  cvtpm::fw::mm::firmware_heap().free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  cvtpm::fw::mm::firmware_heap().free(p);
}

extern "C" {

void __cxa_pure_virtual() {
  cvtpm::fw::panic("pure virtual function called");
}

// Static destructors are registered but never run: the firmware never exits.
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) {
  return 0;
}

extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

void fw_run_global_constructors() {
  for (auto* fn = __init_array_start; fn != __init_array_end; ++fn) (*fn)();
}

}  // extern "C"
