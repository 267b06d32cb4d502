/*
 * A minimal firmware image for the IGVM tests: a static x86-64 ELF linked at the firmware base
 * (128 MiB) whose 32-bit entry follows the cvtpm entry contract (formats/boot/boot_params.h):
 * EAX = 0xC7B00000 | platform, ESI = BootParams GPA or 0, EBX = PVH start info or 0. It prints
 * what it was given on COM1 and reports the platform through QEMU's isa-debug-exit port.
 */
#define ENTRY_MAGIC 0xC7B00000
#define PLATFORM_PVH 1
#define BOOT_PARAMS_MAGIC 0x42545643 /* "CVTB" */
#define COM1 0x3F8
#define DEBUG_EXIT 0xF4

	.section .note.Xen, "a"
	.balign 4
	.long 4             /* namesz: "Xen\0" */
	.long 4             /* descsz */
	.long 18            /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_entry

	.section .text, "ax"
	.code32
	.globl _start
_start:
	cld
	mov %eax, %edi
	and $0xFFFF0000, %edi
	cmp $ENTRY_MAGIC, %edi
	jne bad_magic
	mov %eax, %edi
	and $0xFFFF, %edi           /* edi = platform */

	mov $msg_hello, %ebp
	jmp puts_hello
after_hello:
	mov %edi, %eax
	add $'0', %eax
	mov $COM1, %dx
	outb %al, %dx
	mov $'\n', %al
	outb %al, %dx

	test %esi, %esi
	jz report
	cmpl $BOOT_PARAMS_MAGIC, (%esi)
	jne report
	mov $msg_boot_params, %ebp
	jmp puts_boot_params
report:
	mov %edi, %eax
	mov $DEBUG_EXIT, %dx
	outl %eax, %dx
halt:
	hlt
	jmp halt

bad_magic:
	mov $0x7F, %eax
	mov $DEBUG_EXIT, %dx
	outl %eax, %dx
	jmp halt

/* No stack yet: two copies of a tiny string loop instead of a call. */
puts_hello:
	mov $COM1, %dx
1:	movb (%ebp), %al
	test %al, %al
	jz after_hello
	outb %al, %dx
	inc %ebp
	jmp 1b

puts_boot_params:
	mov $COM1, %dx
2:	movb (%ebp), %al
	test %al, %al
	jz report
	outb %al, %dx
	inc %ebp
	jmp 2b

/* PVH entry (QEMU -kernel): EBX already holds the hvm_start_info GPA. */
	.globl pvh_entry
pvh_entry:
	mov $(ENTRY_MAGIC | PLATFORM_PVH), %eax
	xor %esi, %esi
	jmp _start

	.section .rodata, "a"
msg_hello:
	.asciz "cvtpm test firmware: platform "
msg_boot_params:
	.asciz "cvtpm test firmware: boot parameters found\n"

	.section .data, "aw"
	.globl test_data
test_data:
	.long 0x12345678, 0x9abcdef0

	.section .bss, "aw", @nobits
	.globl test_bss
test_bss:
	.space 0x3000

	.section .note.GNU-stack, "", @progbits
