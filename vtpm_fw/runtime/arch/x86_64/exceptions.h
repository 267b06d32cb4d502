// CPU exception handling: the frame exception_entry.S builds, optional per-vector handlers
// (none on the native platform; the SNP platform will add #VC), and the panic report for
// everything unhandled: vector name, error code, RIP, CR2, registers, stack-overflow diagnosis
// and a backtrace.
#pragma once

#include <cstdint>

namespace cvtpm::fw::x86 {

struct ExceptionFrame {
  std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rdx, rcx, rbx, rax;
  std::uint64_t vector, error_code;
  std::uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};
static_assert(sizeof(ExceptionFrame) == 22 * 8);

// Returns true if it handled the exception (execution resumes at frame->rip).
using ExceptionHandler = bool (*)(ExceptionFrame& frame);
void set_exception_handler(int vector, ExceptionHandler handler);

const char* exception_name(int vector);

}  // namespace cvtpm::fw::x86
