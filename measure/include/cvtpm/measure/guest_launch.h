// Launch measurements of OVMF-based SEV, SEV-ES and SEV-SNP guests as QEMU/KVM (or EC2, GCE)
// perform them: the computation sev-snp-measure does, for verifiers.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "cvtpm/formats/ovmf/ovmf_image.h"
#include "cvtpm/measure/initial_vmsa.h"
#include "cvtpm/measure/kernel_hashes.h"
#include "cvtpm/measure/launch_digest.h"

namespace cvtpm::measure {

enum class GuestMode {
  kSev,      // SHA-256 over OVMF (+ kernel hash table)
  kSevEs,    // SHA-256 over OVMF (+ hash table) + every VMSA
  kSnp,      // SNP launch digest of an OVMF launch
  kSnpSvsm,  // SNP launch digest of the legacy COCONUT-SVSM flash launch (pre-IGVM)
};
std::optional<GuestMode> parse_guest_mode(
    std::string_view name);                         // "sev", "seves", "snp", "snp:svsm"
std::string_view guest_mode_name(GuestMode mode);   // as written on the command line
std::string_view guest_mode_label(GuestMode mode);  // "SEV_SNP", ... (verbose output)

inline constexpr unsigned kMaxVcpus = 1024;  // QEMU's q35 limit

struct GuestLaunch {
  GuestMode mode = GuestMode::kSnp;
  const formats::ovmf::OvmfImage* ovmf = nullptr;
  unsigned vcpus = 1;
  std::uint32_t vcpu_signature = 0;
  std::uint64_t guest_features = formats::snp::sev_features::kSnpActive;  // SNP SEV_FEATURES
  VmmType vmm = VmmType::kQemu;
  std::optional<KernelHashes> kernel;              // measured direct boot
  std::optional<Sha384Digest> ovmf_hash;           // SNP: digest after the OVMF pages, precomputed
  bool legacy_fpu_state = false;                   // see ResetVmsaParams
  const formats::ovmf::OvmfImage* svsm = nullptr;  // kSnpSvsm: the SVSM binary
  std::uint64_t ovmf_vars_size = 0;                // kSnpSvsm: flash size between SVSM and OVMF
};

struct LaunchMeasurement {
  std::vector<std::uint8_t> digest;  // 48 bytes (SNP) or 32 bytes (SEV, SEV-ES)
  std::vector<Vmsa> vmsas;           // every measured VMSA, in order
  MeasuredRegions regions;           // SNP modes: every measured page, coalesced
};

// Throws InputError when the images cannot be launched that way (missing metadata, ...).
LaunchMeasurement measure_guest_launch(const GuestLaunch& launch);

// The SNP digest after only the OVMF pages: sev-snp-measure --mode snp:ovmf-hash.
Sha384Digest snp_ovmf_hash(const formats::ovmf::OvmfImage& ovmf);

}  // namespace cvtpm::measure
