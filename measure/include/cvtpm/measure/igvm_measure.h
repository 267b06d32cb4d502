// Launch digests of IGVM files: what the PSP measures when QEMU/KVM loads an IGVM image for the
// chosen platform, with the options and semantics of COCONUT-SVSM's igvmmeasure (docs/igvm.md
// lists where and why cvtpm differs).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/measure/launch_digest.h"

namespace cvtpm::measure {

enum class IgvmPlatform { kSevSnp, kSevEs, kSev };
std::optional<IgvmPlatform> parse_igvm_platform(
    std::string_view name);  // "sev-snp", "sev-es", "sev"
std::string_view igvm_platform_name(IgvmPlatform platform);

struct IgvmMeasureOptions {
  IgvmPlatform platform = IgvmPlatform::kSevSnp;
  // Reject what QEMU/KVM would not measure the way the file says (docs/igvm.md lists the rules).
  bool check_kvm = false;
  // Measure data-less NORMAL pages as SNP ZERO pages (hypervisors with a native zero page type)
  // instead of NORMAL pages of zeros (QEMU).
  bool native_zero = false;
  // Do not fail when the file's SNP ID block vouches for a different digest.
  bool ignore_id_block = false;
};

struct IgvmMeasurement {
  std::vector<std::uint8_t> digest;      // 48 bytes (SEV-SNP) or 32 (SEV, SEV-ES: SHA-256)
  std::uint32_t compatibility_mask = 0;  // of the measured platform
  MeasuredRegions regions;               // every measured page, coalesced
  unsigned vmsa_count = 0;
  std::optional<std::uint64_t> guest_policy;                    // GUEST_POLICY for the platform
  std::optional<std::array<std::uint8_t, 48>> id_block_digest;  // SNP_ID_BLOCK `ld`
};

// Only headers whose compatibility mask intersects the platform's are measured. Throws
// InputError naming `name` when the file does not declare the platform, when a --check-kvm rule
// fails, or when an ID block vouches for another digest (unless ignore_id_block).
IgvmMeasurement measure_igvm(const formats::igvm::IgvmFile& file, const IgvmMeasureOptions& options,
                             const std::string& name);

}  // namespace cvtpm::measure
