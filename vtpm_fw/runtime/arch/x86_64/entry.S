/* Firmware entry: the PVH note and stub, and the common 32-bit protected-mode entry of the boot
 * contract (formats/include/cvtpm/formats/boot/boot_params.h):
 *   EAX = kEntryMagic | platform, ESI = BootParams GPA or 0, EBX = PVH hvm_start_info GPA or 0,
 *   flat 32-bit segments, paging and interrupts off.
 * The entry zeroes .bss, identity-maps the low 4 GiB with 2 MiB pages (enough to read the boot
 * structures; C++ replaces these tables with the final ones), enters long mode on the shared
 * GDT and calls fw_main(entry_eax, boot_params_gpa, start_info_gpa) on the main stack.
 *
 * Under SEV-SNP (EAX platform 3) nothing may raise #VC before the IDT exists, and memory is only
 * usable private: the page-table entries carry the C-bit, whose position comes from the SNP
 * CPUID page the PSP checked (BootParams.cpuid_gpa; CPUID itself would trap), and EFER is
 * written without being read. A missing or implausible C-bit ends the guest through the GHCB MSR
 * termination request. */

#define ENTRY_MAGIC_PVH 0xC7B00001 /* kEntryMagic | EntryPlatform::kPvh */
#define ENTRY_MAGIC_SNP 0xC7B00003 /* kEntryMagic | EntryPlatform::kSnp */
#define BOOT_PARAMS_MAGIC 0x42545643 /* "CVTB" */
#define BOOT_PARAMS_CPUID_GPA 0x28
#define CPUID_PAGE_MAX_FUNCTIONS 64
#define CPUID_FUNCTION_SIZE 48
#define CPUID_FUNCTION_EBX 28
#define CPUID_MEMORY_ENCRYPTION 0x8000001F
#define MSR_GHCB 0xC0010130
#define GHCB_MSR_TERMINATE 0x100
#define EFER_SVME (1 << 12)
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_NE (1 << 5)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define PAGE_PRESENT_RW 0x3
#define PAGE_LARGE_PRESENT_RW 0x83

/* The PVH entry point for QEMU -kernel: an ELF note QEMU reads to find the 32-bit entry. QEMU
 * reads an 8-byte descriptor for ELF64 and aligns the name to the note's alignment, so keep the
 * note 4-aligned. */
  .section .note.Xen, "a", @note
  .balign 4
  .long 4
  .long 8
  .long XEN_ELFNOTE_PHYS32_ENTRY
  .asciz "Xen"
  .balign 4
  .quad fw_pvh_entry
  .balign 4

  .section .text.boot32, "ax"
  .code32

  .globl fw_pvh_entry
  .type fw_pvh_entry, @function
fw_pvh_entry:
  /* PVH: EBX already holds hvm_start_info. */
  mov $ENTRY_MAGIC_PVH, %eax
  xor %esi, %esi
  jmp fw_entry32
  .size fw_pvh_entry, . - fw_pvh_entry

  .globl fw_entry32
  .type fw_entry32, @function
fw_entry32:
  cli
  cld
  mov %eax, %ebp /* keep the entry word; EAX is needed for stosb */

  /* Zero .bss (loaders zero it too, but the contract does not promise it). */
  mov $__bss_start, %edi
  mov $__bss_end, %ecx
  sub %edi, %ecx
  xor %eax, %eax
  rep stosb

  /* EDX = the high dword of every page-table entry: the C-bit under SNP, else 0. */
  xor %edx, %edx
  cmp $ENTRY_MAGIC_SNP, %ebp
  jne 6f
  /* SNP: C-bit = CPUID Fn8000_001F EBX[5:0] from the CPUID page (must be 32..51). */
  cmpl $BOOT_PARAMS_MAGIC, (%esi)
  jne snp_entry_fail
  cmpl $0, BOOT_PARAMS_CPUID_GPA + 4(%esi)
  jne snp_entry_fail
  mov BOOT_PARAMS_CPUID_GPA(%esi), %edi
  mov (%edi), %ecx /* function count */
  test %ecx, %ecx
  jz snp_entry_fail
  cmp $CPUID_PAGE_MAX_FUNCTIONS, %ecx
  ja snp_entry_fail
  add $16, %edi
4:
  cmpl $CPUID_MEMORY_ENCRYPTION, (%edi)
  je 5f
  add $CPUID_FUNCTION_SIZE, %edi
  dec %ecx
  jnz 4b
  jmp snp_entry_fail
5:
  mov CPUID_FUNCTION_EBX(%edi), %ecx
  and $0x3F, %ecx
  sub $32, %ecx
  jb snp_entry_fail
  cmp $20, %ecx
  jae snp_entry_fail
  mov $1, %edx
  shl %cl, %edx
6:

  /* Boot page tables: PML4[0] -> PDPT, PDPT[0..3] -> PD0..PD3, 2048 x 2 MiB identity pages. */
  mov $boot_pdpt, %eax
  or $PAGE_PRESENT_RW, %eax
  mov %eax, boot_pml4
  mov %edx, boot_pml4 + 4
  mov $boot_pd, %eax
  or $PAGE_PRESENT_RW, %eax
  xor %ecx, %ecx
1:
  mov %eax, boot_pdpt(, %ecx, 8)
  mov %edx, boot_pdpt + 4(, %ecx, 8)
  add $4096, %eax
  inc %ecx
  cmp $4, %ecx
  jne 1b
  xor %ecx, %ecx
2:
  mov %ecx, %eax
  shl $21, %eax
  or $PAGE_LARGE_PRESENT_RW, %eax
  mov %eax, boot_pd(, %ecx, 8)
  mov %ecx, %eax
  shr $11, %eax /* bits 32+ of (ecx << 21) */
  or %edx, %eax
  mov %eax, boot_pd + 4(, %ecx, 8)
  inc %ecx
  cmp $2048, %ecx
  jne 2b

  mov %cr4, %eax
  or $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
  mov %eax, %cr4

  mov $boot_pml4, %eax
  mov %eax, %cr3

  mov $MSR_EFER, %ecx
  cmp $ENTRY_MAGIC_SNP, %ebp
  jne 7f
  /* SNP: EFER.SVME stays set; no RDMSR, which a hypervisor could intercept (#VC). */
  mov $(EFER_SVME | EFER_LME), %eax
  xor %edx, %edx
  wrmsr
  jmp 8f
7:
  rdmsr
  or $EFER_LME, %eax
  wrmsr
8:

  mov %cr0, %eax
  and $~CR0_EM, %eax
  or $(CR0_PE | CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
  mov %eax, %cr0

  lgdt fw_gdt_pointer
  ljmp $0x08, $fw_entry64

snp_entry_fail:
  /* No console and no IDT yet: ask the hypervisor to end the guest (GHCB MSR protocol). */
  mov $MSR_GHCB, %ecx
  mov $GHCB_MSR_TERMINATE, %eax
  xor %edx, %edx
  wrmsr
  .byte 0xf3, 0x0f, 0x01, 0xd9 /* VMGEXIT */
9:
  cli
  hlt
  jmp 9b
  .size fw_entry32, . - fw_entry32

  .section .text.boot64, "ax"
  .code64
  .type fw_entry64, @function
fw_entry64:
  mov %ebp, %edi /* entry word (EAX at entry) */
  mov $0x10, %eax
  mov %eax, %ds
  mov %eax, %es
  mov %eax, %ss
  xor %eax, %eax
  mov %eax, %fs
  mov %eax, %gs
  lea __main_stack_top(%rip), %rsp
  xor %ebp, %ebp /* terminates backtraces */
  fninit
  /* FS base -> the thread control block: every stack-protector check reads %fs:0x28, from
   * fw_main's first instruction on (tls.cpp). */
  mov $0xC0000100, %ecx
  lea fw_tcb(%rip), %rax
  mov %rax, %rdx
  shr $32, %rdx
  wrmsr
  /* fw_main(entry_eax, boot_params_gpa, start_info_gpa) */
  mov %esi, %esi
  mov %ebx, %edx
  call fw_main
3:
  cli
  hlt
  jmp 3b
  .size fw_entry64, . - fw_entry64

  .section .bss
  .balign 4096
boot_pml4:
  .skip 4096
boot_pdpt:
  .skip 4096
boot_pd:
  .skip 4 * 4096

/* The one GDT: null, 64-bit code (0x08), data (0x10), and the 16-byte TSS descriptor (0x18)
 * that descriptors.cpp fills before loading the task register. Accessed bits are preset so the
 * CPU never writes to it. */
  .section .data
  .balign 16
  .globl fw_gdt
fw_gdt:
  .quad 0
  .quad 0x00AF9B000000FFFF
  .quad 0x00CF93000000FFFF
  .quad 0
  .quad 0
fw_gdt_end:
  .balign 8
  .globl fw_gdt_pointer
fw_gdt_pointer:
  .word fw_gdt_end - fw_gdt - 1
  .quad fw_gdt
