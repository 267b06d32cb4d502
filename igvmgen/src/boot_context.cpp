// The boot vCPU's initial state for the firmware's entry contract (formats/boot/boot_params.h):
// 32-bit protected mode with flat segments at the ELF entry, EAX = kEntryMagic | platform,
// ESI = BootParams GPA, EBX = 0.
#include "cvtpm/igvmgen/image_builder.h"

namespace cvtpm::igvmgen {
namespace {

namespace boot = formats::boot;
using formats::snp::vmcb_attrib;

// Descriptor attributes (bits 8..23 of a GDT entry's high dword): present, DPL 0, 4 KiB
// granularity, 32-bit default size.
constexpr std::uint16_t kFlatCode32 = 0xC09B;  // execute/read, accessed
constexpr std::uint16_t kFlatData32 = 0xC093;  // read/write, accessed
constexpr std::uint16_t kCodeSelector = 0x08;
constexpr std::uint16_t kDataSelector = 0x10;
constexpr std::uint32_t kFlatLimit = 0xFFFFFFFF;

constexpr std::uint64_t kCr0 = 0x31;  // PE | ET | NE, paging off
namespace reset = formats::snp::reset_state;

std::uint32_t entry_eax(boot::EntryPlatform platform) {
  return boot::kEntryMagic | static_cast<std::uint32_t>(platform);
}

}  // namespace

// Only fields KVM takes from QEMU are set, and each non-register field holds the value KVM
// itself gives a vCPU at reset (CR4.MCE and EFER.SVME, which KVM forces, DR6/DR7, PAT, XCR0,
// MXCSR, FCW): the measured VMSA then equals this one whether or not a VMM passes the field on.
formats::snp::Vmsa snp_boot_vmsa(std::uint64_t entry, std::uint64_t boot_params_gpa,
                                 std::uint64_t sev_features) {
  formats::snp::Vmsa v{};
  const formats::snp::VmcbSegment data{kDataSelector, vmcb_attrib(kFlatData32), kFlatLimit, 0};
  v.cs = {kCodeSelector, vmcb_attrib(kFlatCode32), kFlatLimit, 0};
  v.ds = v.es = v.fs = v.gs = v.ss = data;
  v.efer = formats::snp::kEferSvme;
  v.cr0 = kCr0;
  v.cr4 = reset::kCr4;
  v.dr6 = reset::kDr6;
  v.dr7 = reset::kDr7;
  v.rflags = reset::kRflags;
  v.rip = entry;
  v.rax = entry_eax(boot::EntryPlatform::kSnp);
  v.rsi = boot_params_gpa;
  v.rbx = 0;
  v.g_pat = reset::kPat;
  v.xcr0 = reset::kXcr0;
  v.mxcsr = reset::kMxcsr;
  v.x87_fcw = reset::kX87Fcw;
  v.sev_features = sev_features;
  return v;
}

formats::igvm::NativeVpContextX64 native_boot_context(std::uint64_t entry,
                                                      std::uint64_t boot_params_gpa) {
  formats::igvm::NativeVpContextX64 c{};
  c.rax = entry_eax(boot::EntryPlatform::kIgvmNative);
  c.rsi = boot_params_gpa;
  c.rbx = 0;
  c.rip = entry;
  c.rflags = reset::kRflags;
  c.code_selector = kCodeSelector;
  c.code_attributes = kFlatCode32;
  c.code_base = 0;
  c.code_limit = kFlatLimit;
  c.data_selector = kDataSelector;
  c.data_attributes = kFlatData32;
  c.data_base = 0;
  c.data_limit = kFlatLimit;
  c.cr0 = kCr0;
  return c;
}

}  // namespace cvtpm::igvmgen
