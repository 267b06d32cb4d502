#include "arch/x86_64/exceptions.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/stacks.h"
#include "panic/panic.h"

namespace cvtpm::fw::x86 {

namespace {

ExceptionHandler g_handlers[32] = {};

constexpr const char* kNames[32] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range exceeded",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack-segment fault",
    "#GP general protection",
    "#PF page fault",
    "reserved (15)",
    "#MF x87 floating-point error",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD floating-point exception",
    "#VE virtualization exception",
    "#CP control protection",
    "reserved (22)",
    "reserved (23)",
    "reserved (24)",
    "reserved (25)",
    "reserved (26)",
    "reserved (27)",
    "#HV hypervisor injection",
    "#VC VMM communication",
    "#SX security exception",
    "reserved (31)",
};

void describe_page_fault(const ExceptionFrame& frame, std::uint64_t cr2) {
  const std::uint64_t e = frame.error_code;
  panic_detail::print("  CR2 0x%016lx: %s %s in %s mode%s%s\n", static_cast<unsigned long>(cr2),
                      (e & 0x10) ? "instruction fetch" : ((e & 2) ? "write" : "read"),
                      (e & 1) ? "violating page protection" : "of a not-present page",
                      (e & 4) ? "user" : "supervisor", (e & 8) ? ", reserved bit set" : "",
                      (e & 0x20) ? ", protection key" : "");
  if (const Stack* s = stack_guarded_by(cr2)) {
    panic_detail::print("  STACK OVERFLOW: 0x%lx is the guard page below the %s stack\n",
                        static_cast<unsigned long>(cr2), s->name);
  } else if (cr2 < 4096) {
    panic_detail::print("  NULL POINTER dereference (page 0 is never mapped)\n");
  }
}

}  // namespace

void set_exception_handler(int vector, ExceptionHandler handler) {
  if (vector >= 0 && vector < 32) g_handlers[vector] = handler;
}

const char* exception_name(int vector) {
  return vector >= 0 && vector < 32 ? kNames[vector] : "unknown vector";
}

}  // namespace cvtpm::fw::x86

using cvtpm::fw::x86::ExceptionFrame;

extern "C" void fw_exception_dispatch(ExceptionFrame* frame) {
  namespace x86 = cvtpm::fw::x86;
  namespace pd = cvtpm::fw::panic_detail;
  const auto vector = static_cast<int>(frame->vector);
  if (x86::g_handlers[vector] != nullptr && x86::g_handlers[vector](*frame)) return;

  const std::uint64_t cr2 = x86::read_cr2();
  pd::begin();
  pd::print("\nPANIC: CPU exception %d %s, error code 0x%lx\n", vector, x86::exception_name(vector),
            static_cast<unsigned long>(frame->error_code));
  pd::print("  RIP 0x%016lx  CS 0x%lx  RFLAGS 0x%lx  RSP 0x%016lx  SS 0x%lx\n",
            static_cast<unsigned long>(frame->rip), static_cast<unsigned long>(frame->cs),
            static_cast<unsigned long>(frame->rflags), static_cast<unsigned long>(frame->rsp),
            static_cast<unsigned long>(frame->ss));
  if (vector == 14) x86::describe_page_fault(*frame, cr2);
  if (const x86::Stack* s = x86::stack_guarded_by(frame->rsp)) {
    pd::print("  STACK OVERFLOW: RSP is in the guard page below the %s stack\n", s->name);
  }
  pd::print("  RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n",
            static_cast<unsigned long>(frame->rax), static_cast<unsigned long>(frame->rbx),
            static_cast<unsigned long>(frame->rcx), static_cast<unsigned long>(frame->rdx));
  pd::print("  RSI %016lx RDI %016lx RBP %016lx R8  %016lx\n",
            static_cast<unsigned long>(frame->rsi), static_cast<unsigned long>(frame->rdi),
            static_cast<unsigned long>(frame->rbp), static_cast<unsigned long>(frame->r8));
  pd::print("  R9  %016lx R10 %016lx R11 %016lx R12 %016lx\n",
            static_cast<unsigned long>(frame->r9), static_cast<unsigned long>(frame->r10),
            static_cast<unsigned long>(frame->r11), static_cast<unsigned long>(frame->r12));
  pd::print("  R13 %016lx R14 %016lx R15 %016lx CR3 %016lx\n",
            static_cast<unsigned long>(frame->r13), static_cast<unsigned long>(frame->r14),
            static_cast<unsigned long>(frame->r15), static_cast<unsigned long>(x86::read_cr3()));
  pd::finish(frame->rip, frame->rbp);
}
