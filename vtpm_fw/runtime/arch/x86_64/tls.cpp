#include "arch/x86_64/tls.h"

#include <cstddef>

namespace cvtpm::fw::x86 {

// glibc's tcbhead_t prefix: tcb, dtv, self, multiple_threads, gscope_flag, sysinfo,
// stack_guard (0x28), pointer_guard (0x30).
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
static_assert(offsetof(ThreadControlBlock, stack_guard) == 0x28);

}  // namespace cvtpm::fw::x86

// Referenced by entry.S (wrmsr IA32_FS_BASE) before fw_main runs.
extern "C" {
cvtpm::fw::x86::ThreadControlBlock fw_tcb = {&fw_tcb, nullptr, &fw_tcb, 0, 0, 0, 0, 0};
}

namespace cvtpm::fw::x86 {

__attribute__((no_stack_protector)) void set_stack_canary(std::uint64_t canary) {
  // Keep a zero byte at the bottom, as glibc does, so string overflows cannot reproduce it.
  fw_tcb.stack_guard = canary & ~std::uint64_t{0xFF};
}

std::uint64_t stack_canary() {
  return fw_tcb.stack_guard;
}

}  // namespace cvtpm::fw::x86
