/* Where an SNP application processor starts at VMPL0 (platform/snp/ap_contexts.cpp builds its
 * VMSA): already in 64-bit mode on the firmware's page tables, GDT, IDT and its own TSS, with
 * RSP = its stack, FS = its thread control block and RDI = its context. Calls
 * fw_snp_ap_main(context), which never returns. */
  .section .text, "ax"
  .code64
  .globl fw_snp_ap_entry
  .type fw_snp_ap_entry, @function
fw_snp_ap_entry:
  cli
  cld
  xor %ebp, %ebp /* terminates backtraces */
  fninit
  call fw_snp_ap_main
1:
  cli
  hlt
  jmp 1b
  .size fw_snp_ap_entry, . - fw_snp_ap_entry
