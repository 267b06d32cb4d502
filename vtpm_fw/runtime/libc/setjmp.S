/* _setjmp / _longjmp / __longjmp_chk for libtpms (its TPM2 failure path longjmps out of deep
 * call chains). Saves the callee-saved registers, the stack pointer and the return address in
 * the first 8 words of the jmp_buf (glibc's __jmp_buf has room for exactly these; the signal
 * mask part is unused: no signals). No pointer mangling: there is no process to attack it from. */
  .section .text
  .code64

  .globl _setjmp
  .type _setjmp, @function
_setjmp:
  mov %rbx, 0(%rdi)
  mov %rbp, 8(%rdi)
  mov %r12, 16(%rdi)
  mov %r13, 24(%rdi)
  mov %r14, 32(%rdi)
  mov %r15, 40(%rdi)
  lea 8(%rsp), %rdx /* the caller's stack pointer after our return */
  mov %rdx, 48(%rdi)
  mov (%rsp), %rdx /* return address */
  mov %rdx, 56(%rdi)
  xor %eax, %eax
  ret
  .size _setjmp, . - _setjmp

  .globl _longjmp
  .type _longjmp, @function
  .globl __longjmp_chk
  .type __longjmp_chk, @function
_longjmp:
__longjmp_chk:
  mov %esi, %eax
  test %eax, %eax
  jnz 1f
  inc %eax /* longjmp(env, 0) returns 1 */
1:
  mov 0(%rdi), %rbx
  mov 8(%rdi), %rbp
  mov 16(%rdi), %r12
  mov 24(%rdi), %r13
  mov 32(%rdi), %r14
  mov 40(%rdi), %r15
  mov 48(%rdi), %rsp
  jmp *56(%rdi)
  .size _longjmp, . - _longjmp
