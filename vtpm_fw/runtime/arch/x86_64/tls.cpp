#include "arch/x86_64/tls.h"

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
