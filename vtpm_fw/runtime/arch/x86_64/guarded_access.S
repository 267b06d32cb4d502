/* Copies whose faults are survived (guarded_access.h): each touches the other side's memory
 * with exactly one instruction, between an _access and an _access_end label; when that
 * instruction raises #VC, the exception path (fix_up_guarded_access) resumes at the _fault label,
 * which returns false. SysV ABI: arguments in RDI, RSI, RDX; DF is clear on entry. */

  .section .text
  .code64

/* bool fw_guarded_copy(void* dst, const void* src, size_t n) */
  .balign 16
  .globl fw_guarded_copy
  .type fw_guarded_copy, @function
fw_guarded_copy:
  mov %rdx, %rcx
  .globl fw_guarded_copy_access
fw_guarded_copy_access:
  rep movsb
  .globl fw_guarded_copy_access_end
fw_guarded_copy_access_end:
  mov $1, %eax
  ret
  .globl fw_guarded_copy_fault
fw_guarded_copy_fault:
  xor %eax, %eax
  ret
  .size fw_guarded_copy, . - fw_guarded_copy

/* bool fw_guarded_exchange8(uint8_t* p, uint8_t value, uint8_t* old) */
  .balign 16
  .globl fw_guarded_exchange8
  .type fw_guarded_exchange8, @function
fw_guarded_exchange8:
  mov %esi, %eax
  .globl fw_guarded_exchange8_access
fw_guarded_exchange8_access:
  xchg %al, (%rdi)
  .globl fw_guarded_exchange8_access_end
fw_guarded_exchange8_access_end:
  mov %al, (%rdx)
  mov $1, %eax
  ret
  .globl fw_guarded_exchange8_fault
fw_guarded_exchange8_fault:
  xor %eax, %eax
  ret
  .size fw_guarded_exchange8, . - fw_guarded_exchange8

  /* No executable stack (the host tests link this file too). */
  .section .note.GNU-stack, "", @progbits
