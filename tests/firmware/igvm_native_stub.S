/* A stand-in for QEMU's IGVM loader (QEMU >= 10.2), which Debian's QEMU 7.2 lacks: booted by
 * PVH (-kernel) next to cvtpm-fw.elf (loaded by -device loader), it does what the loader does
 * for the firmware's NATIVE VP context — fills a BootParams page and its parameter areas (vCPU
 * count, IGVM memory map built from the PVH e820 map) in the firmware region — and enters the
 * firmware's 32-bit entry with EAX = kEntryMagic | kIgvmNative, ESI = BootParams, EBX = 0.
 * fw_entry32 is defined at link time from cvtpm-fw.elf's symbol table. Test only. */

#define BOOT_PARAMS 0x09FFC000 /* last 16 KiB of the firmware region [128 MiB, 160 MiB) */
#define VP_COUNT (BOOT_PARAMS + 0x1000)
#define MEMORY_MAP (BOOT_PARAMS + 0x2000)

  .section .note.Xen, "a", @note
  .balign 4
  .long 4, 8, 18
  .asciz "Xen"
  .balign 4
  .quad stub_entry
  .balign 4

  .text
  .code32
  .globl stub_entry
stub_entry:
  cld
  /* Zero the three pages. */
  mov $BOOT_PARAMS, %edi
  mov $(3 * 4096 / 4), %ecx
  xor %eax, %eax
  rep stosl

  /* BootParams (formats/include/cvtpm/formats/boot/boot_params.h). */
  mov $BOOT_PARAMS, %edi
  movl $0x42545643, 0(%edi)      /* magic "CVTB" */
  movl $3, 4(%edi)               /* version */
  movl $448, 8(%edi)             /* size */
  movl $2, 12(%edi)              /* flags: kSelfTest */
  movl $0x08000000, 16(%edi)     /* firmware.gpa */
  movl $0x02000000, 24(%edi)     /* firmware.size */
  movl $VP_COUNT, 48(%edi)       /* vp_count_gpa */
  movl $(VP_COUNT + 4), 56(%edi) /* environment_gpa */
  movl $MEMORY_MAP, 64(%edi)     /* memory_map_gpa */
  movl $4096, 72(%edi)           /* memory_map_size */
  movw $0x3F8, 80(%edi)          /* debug_serial_port */
  movb $2, 82(%edi)              /* guest_vmpl */
  movl $2, 440(%edi)             /* state_binding: measurement (unused on native) */

  movl $1, VP_COUNT              /* one vCPU */
  movl $1, VP_COUNT + 4          /* environment: memory_is_shared, as QEMU sets it */

  /* IGVM_VHS_MEMORY_MAP_ENTRY per e820 entry: page number, page count, type (0 memory,
   * 1 platform reserved). Entries below 4 GiB only (enough for the test guest). */
  mov 40(%ebx), %esi             /* memmap_paddr (low half) */
  mov 48(%ebx), %ecx             /* memmap_entries */
  mov $MEMORY_MAP, %edi
1:
  test %ecx, %ecx
  jz 3f
  mov 0(%esi), %eax              /* addr */
  shr $12, %eax
  mov %eax, 0(%edi)
  mov 8(%esi), %eax              /* size */
  shr $12, %eax
  jz 4f                          /* sub-page entries (e820 has some) would end the IGVM map */
  mov %eax, 8(%edi)
  xor %eax, %eax
  cmpl $1, 16(%esi)              /* e820 RAM? */
  je 2f
  inc %eax
2:
  movw %ax, 16(%edi)
  add $24, %edi
4:
  add $24, %esi
  dec %ecx
  jmp 1b
3:
  mov $0xC7B00002, %eax          /* kEntryMagic | kIgvmNative */
  mov $BOOT_PARAMS, %esi
  xor %ebx, %ebx
  jmp fw_entry32
