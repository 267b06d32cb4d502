// The FS-based thread control block every -fstack-protector function reads its canary from
// (%fs:0x28, the glibc x86-64 TCB layout the Debian archives were compiled for). entry.S points
// FS at it before any C++ runs; set_stack_canary() replaces the zero canary with a random one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::fw::x86 {

// glibc's tcbhead_t prefix: tcb, dtv, self, multiple_threads, gscope_flag, sysinfo,
// stack_guard (0x28), pointer_guard (0x30). Each CPU's FS base points at one.
struct ThreadControlBlock {
  ThreadControlBlock* tcb;
  void* dtv;
  ThreadControlBlock* self;
  std::uint32_t multiple_threads;
  std::uint32_t gscope_flag;
  std::uint64_t sysinfo;
  std::uint64_t stack_guard;
  std::uint64_t pointer_guard;
};
static_assert(offsetof(ThreadControlBlock, self) == 0x10);
static_assert(offsetof(ThreadControlBlock, stack_guard) == 0x28);

// Must be called from a function that never returns (fw_main): frames live at the time of the
// change would fail their canary check on return.
void set_stack_canary(std::uint64_t canary);
std::uint64_t stack_canary();

}  // namespace cvtpm::fw::x86
