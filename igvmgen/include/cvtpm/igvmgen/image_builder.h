// Builds the cvtpm IGVM image: the VMPL0 firmware ELF and OVMF in one file, with the boot
// parameters, CPUID and secrets pages, loader-filled parameter areas and the boot VP contexts
// (docs/igvm.md has the layout, docs/boot-contract.md the entry contract).
#pragma once

#include <cstdint>
#include <optional>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/elf/elf_image.h"
#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/formats/ovmf/ovmf_image.h"
#include "cvtpm/formats/snp/id_block.h"
#include "cvtpm/formats/snp/page_info.h"
#include "cvtpm/formats/snp/vmsa.h"

namespace cvtpm::igvmgen {

// Compatibility masks of the image's platforms (COCONUT-SVSM's igvmbuilder uses the same bits).
inline constexpr std::uint32_t kSnpMask = 0x1;
inline constexpr std::uint32_t kNativeMask = 0x2;

// VMPL0's SEV_FEATURES by default: SNP, Restricted Injection and DebugSwap, the set COCONUT-SVSM
// builds its VMPL0 VMSA with and requires at run time (tools/igvmbuilder/src/context.rs,
// kernel/src/sev/status.rs) — the only VMPL0 configuration its multi-VMPL host stack is
// exercised with. Restricted Injection keeps the hypervisor from injecting anything but #HV
// into the SVSM (AMD APM vol. 2, 15.36.16).
inline constexpr std::uint64_t kVmpl0SevFeatures =
    formats::snp::sev_features::kSnpActive | formats::snp::sev_features::kRestrictedInjection |
    formats::snp::sev_features::kDebugSwap;

struct BuildOptions {
  bool snp = true;     // SEV-SNP platform: SNP VMSA, CPUID and secrets pages, guest policy
  bool native = true;  // NATIVE platform: native VP context, same firmware and OVMF pages
  std::uint64_t policy = formats::snp::guest_policy::kDefault;                // SNP guest policy
  std::uint64_t sev_features = kVmpl0SevFeatures;                             // VMPL0 VMSA
  std::uint64_t guest_sev_features = formats::snp::sev_features::kSnpActive;  // OVMF's VMSA
  std::uint8_t guest_vmpl = 2;                                                // 1..3
  std::uint16_t serial_port = 0x3F8;                                          // 0 = no console
  formats::boot::EkAlgorithm ek_algorithm = formats::boot::EkAlgorithm::kRsa2048;
  std::uint32_t boot_flags = 0;  // formats::boot::boot_flags
  // The persistent vTPM's key binding under SNP, and the identity binding's minimum guest SVN
  // (docs/persistence.md, "Keys"); written into the measured BootParams.
  formats::boot::StateBinding state_binding = formats::boot::StateBinding::kMeasurement;
  std::uint32_t state_min_svn = 0;
  // Build even when OVMF has no SVSM calling-area section (it cannot run under an SVSM then).
  bool allow_non_svsm_ovmf = false;
};

// Where the image puts things inside the firmware region and below 4 GiB.
struct ImageLayout {
  std::uint64_t image_begin = 0;  // first page the image loads in the firmware region
  std::uint64_t elf_end = 0;      // end of the last ELF segment, page aligned
  std::uint64_t boot_params_gpa = 0;
  std::uint64_t cpuid_gpa = 0;
  std::uint64_t secrets_gpa = 0;
  std::uint64_t vp_env_area_gpa = 0;  // VP count at +0, environment info at +4
  std::uint64_t memory_map_gpa = 0;   // one 4 KiB area of IGVM_VHS_MEMORY_MAP_ENTRY
  std::uint64_t image_end = 0;
  std::uint64_t entry = 0;
  std::uint64_t ovmf_gpa = 0;
  std::uint64_t ovmf_size = 0;
};

// Offsets of the boot pages from the page-aligned end of the ELF segments.
inline constexpr std::uint64_t kBootParamsOffset = 0x0000;
inline constexpr std::uint64_t kCpuidPageOffset = 0x1000;
inline constexpr std::uint64_t kSecretsPageOffset = 0x2000;
inline constexpr std::uint64_t kVpEnvAreaOffset = 0x3000;
inline constexpr std::uint64_t kMemoryMapAreaOffset = 0x4000;
inline constexpr std::uint64_t kBootPagesSize = 0x5000;
inline constexpr std::uint64_t kMemoryMapAreaSize = 0x1000;

// Parameter area indices.
inline constexpr std::uint32_t kVpEnvAreaIndex = 0;
inline constexpr std::uint32_t kMemoryMapAreaIndex = 1;

// The q35 flash must stay above the MMIO window (IOAPIC at 0xFEC00000 ...).
inline constexpr std::uint64_t kMaxOvmfSize = 16ULL << 20;

struct BuiltImage {
  formats::igvm::IgvmFile file;
  ImageLayout layout;
  std::optional<formats::boot::BootParams> snp_boot_params;     // when options.snp
  std::optional<formats::boot::BootParams> native_boot_params;  // when options.native
};

// Throws InputError naming the ELF, the OVMF image or the option that makes the image
// impossible (overlapping regions, missing OVMF metadata, segments outside the firmware region).
BuiltImage build_image(const formats::elf::ElfImage& firmware, const formats::ovmf::OvmfImage& ovmf,
                       const BuildOptions& options);

// What the firmware learns about OVMF from OVMF's own metadata.
struct GuestFirmware {
  formats::boot::GuestFirmwareInfo info;
  formats::boot::Range memory_map;  // where OVMF reads the IGVM memory map; {0, 0}: nowhere
};

// The pieces, for tests and the documentation of the entry contract.
GuestFirmware guest_firmware_info(const formats::ovmf::OvmfImage& ovmf, bool allow_non_svsm_ovmf);
formats::snp::Vmsa snp_boot_vmsa(std::uint64_t entry, std::uint64_t boot_params_gpa,
                                 std::uint64_t sev_features);
formats::igvm::NativeVpContextX64 native_boot_context(std::uint64_t entry,
                                                      std::uint64_t boot_params_gpa);

}  // namespace cvtpm::igvmgen
