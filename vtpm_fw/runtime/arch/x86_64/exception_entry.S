/* Entry stubs for the 32 CPU exception vectors. Every vector runs on an IST stack (see
 * descriptors.cpp), so a fault in code that uses the red zone, or on an overflowing stack, still
 * lands on a good stack. The common path saves the general registers and the SSE/x87 state, so a
 * handler that returns (none does yet; #VC on SNP will) leaves the interrupted code intact.
 *
 * Frame handed to fw_exception_dispatch (matches ExceptionFrame in exceptions.h):
 *   r15 r14 r13 r12 r11 r10 r9 r8 rdi rsi rbp rdx rcx rbx rax vector error_code
 *   rip cs rflags rsp ss (pushed by the CPU) */

  .section .text
  .code64

.macro EXCEPTION_STUB vector
  .balign 16
fw_exception_stub_\vector:
  .if !((\vector == 8) || (\vector == 10) || (\vector == 11) || (\vector == 12) || (\vector == 13) || (\vector == 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30))
  pushq $0
  .endif
  pushq $\vector
  jmp fw_exception_common
.endm

  .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  EXCEPTION_STUB \v
  .endr

  .type fw_exception_common, @function
fw_exception_common:
  pushq %rax
  pushq %rbx
  pushq %rcx
  pushq %rdx
  pushq %rbp
  pushq %rsi
  pushq %rdi
  pushq %r8
  pushq %r9
  pushq %r10
  pushq %r11
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  cld
  mov %rsp, %rdi /* ExceptionFrame* */
  mov %rsp, %rbx /* callee-saved: restores the frame pointer after the call */
  sub $512, %rsp
  and $-64, %rsp
  fxsave64 (%rsp)
  /* A zero frame pointer ends backtraces at the handler; the faulting RBP is in the frame. */
  xor %ebp, %ebp
  call fw_exception_dispatch
  fxrstor64 (%rsp)
  mov %rbx, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %r11
  popq %r10
  popq %r9
  popq %r8
  popq %rdi
  popq %rsi
  popq %rbp
  popq %rdx
  popq %rcx
  popq %rbx
  popq %rax
  add $16, %rsp /* vector, error code */
  iretq
  .size fw_exception_common, . - fw_exception_common

/* Local-APIC timer (local_apic.cpp): only wakes a halted CPU. Acknowledges the interrupt and
 * returns; touches no other state. */
  .balign 16
  .globl fw_timer_stub
  .type fw_timer_stub, @function
fw_timer_stub:
  pushq %rax
  pushq %rcx
  pushq %rdx
  mov fw_lapic_eoi_register(%rip), %rax
  test %rax, %rax
  jz 1f
  movl $0, (%rax)
  jmp 2f
1:
  mov $0x80B, %ecx /* x2APIC EOI MSR */
  xor %eax, %eax
  xor %edx, %edx
  wrmsr
2:
  popq %rdx
  popq %rcx
  popq %rax
  iretq
  .size fw_timer_stub, . - fw_timer_stub

/* Spurious local-APIC interrupts (vector 0xFF) need neither handling nor an EOI. */
  .balign 16
  .globl fw_spurious_stub
  .type fw_spurious_stub, @function
fw_spurious_stub:
  iretq
  .size fw_spurious_stub, . - fw_spurious_stub

/* Table of the 32 stub addresses for the IDT. */
  .section .rodata
  .balign 8
  .globl fw_exception_stubs
fw_exception_stubs:
  .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  .quad fw_exception_stub_\v
  .endr
