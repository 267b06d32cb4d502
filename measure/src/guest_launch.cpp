#include "cvtpm/measure/guest_launch.h"

#include <stdexcept>

#include "cvtpm/support/error.h"

namespace cvtpm::measure {
namespace {

using formats::ovmf::OvmfImage;
using formats::ovmf::SevMetadataSection;
using formats::ovmf::SevSectionType;

constexpr std::uint32_t kPageSize = 4096;

std::vector<Vmsa> reset_vmsas(const GuestLaunch& launch, const OvmfImage& ovmf,
                              std::uint64_t sev_features) {
  ResetVmsaParams bsp{kBspResetEip, sev_features, launch.vcpu_signature, launch.vmm,
                      launch.legacy_fpu_state};
  ResetVmsaParams ap = bsp;
  ap.eip = ovmf.sev_es_reset_eip();
  std::vector<Vmsa> vmsas;
  vmsas.reserve(launch.vcpus);
  for (unsigned i = 0; i < launch.vcpus; ++i) vmsas.push_back(reset_vmsa(i == 0 ? bsp : ap));
  return vmsas;
}

void add_kernel_hashes_page(SnpLaunchDigest& ld, const OvmfImage& ovmf,
                            const SevMetadataSection& section, const KernelHashes& hashes) {
  auto area = ovmf.sev_hash_table();
  if (!area) {
    throw InputError(ovmf.name(),
                     "OVMF has an SNP_KERNEL_HASHES section but no "
                     "SEV_HASH_TABLE_RV footer entry saying where the table goes");
  }
  if (section.size != kPageSize) {
    throw InputError(ovmf.name(), "SNP_KERNEL_HASHES section is " + std::to_string(section.size) +
                                      " bytes; measured direct boot needs exactly one page");
  }
  const std::uint32_t offset = area->gpa & (kPageSize - 1);
  if (offset + sizeof(formats::sev::PaddedHashTable) > kPageSize) {
    throw InputError(ovmf.name(), "SEV hash table at GPA " + std::to_string(area->gpa) +
                                      " does not fit in its page");
  }
  ld.add_normal_pages(section.gpa, kernel_hashes_page(hashes, offset));
}

// OVMF's SEV metadata sections, in table order, as QEMU (or EC2, GCE) add them.
void add_metadata_sections(SnpLaunchDigest& ld, const OvmfImage& image,
                           const std::optional<KernelHashes>& kernel, VmmType vmm) {
  for (const SevMetadataSection& s : image.sev_sections()) {
    switch (static_cast<SevSectionType>(s.type)) {
      case SevSectionType::kSnpSecMem:
        ld.add_empty_pages(s.gpa, s.size,
                           vmm == VmmType::kGce ? PageType::kUnmeasured : PageType::kZero);
        break;
      case SevSectionType::kSnpSecrets:
        ld.add_empty_pages(s.gpa, s.size, PageType::kSecrets);
        break;
      case SevSectionType::kCpuid:
        if (vmm != VmmType::kEc2) ld.add_empty_pages(s.gpa, s.size, PageType::kCpuid);
        break;
      case SevSectionType::kSvsmCaa:
        ld.add_empty_pages(s.gpa, s.size, PageType::kZero);
        break;
      case SevSectionType::kSnpKernelHashes:
        if (kernel) {
          add_kernel_hashes_page(ld, image, s, *kernel);
        } else {
          ld.add_empty_pages(s.gpa, s.size, PageType::kZero);
        }
        break;
    }
  }
  // EC2 adds the CPUID pages after every other metadata page.
  if (vmm == VmmType::kEc2) {
    for (const SevMetadataSection& s : image.sev_sections()) {
      if (s.type == static_cast<std::uint32_t>(SevSectionType::kCpuid)) {
        ld.add_empty_pages(s.gpa, s.size, PageType::kCpuid);
      }
    }
  }
}

LaunchMeasurement measure_snp(const GuestLaunch& launch) {
  const OvmfImage& ovmf = *launch.ovmf;
  ovmf.require_sev_metadata();
  if (launch.kernel && !ovmf.has_sev_section(SevSectionType::kSnpKernelHashes)) {
    throw InputError(ovmf.name(),
                     "OVMF SEV metadata has no SNP_KERNEL_HASHES section, so this "
                     "OVMF cannot boot a measured --kernel (use an AmdSev build)");
  }
  LaunchMeasurement out;
  SnpLaunchDigest ld(launch.ovmf_hash.value_or(Sha384Digest{}));
  ld.record_into(&out.regions);
  if (!launch.ovmf_hash) ld.add_normal_pages(ovmf.gpa(), ovmf.bytes());
  add_metadata_sections(ld, ovmf, launch.kernel, launch.vmm);
  out.vmsas = reset_vmsas(launch, ovmf, launch.guest_features);
  for (const Vmsa& v : out.vmsas) ld.add_vmsa_page(vmsa_bytes(v));
  out.digest.assign(ld.digest().begin(), ld.digest().end());
  return out;
}

LaunchMeasurement measure_snp_svsm(const GuestLaunch& launch) {
  const OvmfImage& ovmf = *launch.ovmf;
  const OvmfImage& svsm = *launch.svsm;
  if (launch.ovmf_vars_size % kPageSize != 0 || launch.ovmf_vars_size > ovmf.gpa()) {
    throw InputError("--vars-size", "OVMF_VARS size " + std::to_string(launch.ovmf_vars_size) +
                                        " must be a multiple of 4096 below the OVMF image");
  }
  const std::uint64_t svsm_end = ovmf.gpa() - launch.ovmf_vars_size;
  if (svsm.size() > svsm_end) throw InputError(svsm.name(), "SVSM binary does not fit below OVMF");
  svsm.require_sev_metadata();
  const std::uint64_t svsm_gpa = svsm.gpa(svsm_end);
  const std::uint64_t entry = svsm_gpa + svsm.svsm_entry_offset();

  LaunchMeasurement out;
  SnpLaunchDigest ld;
  ld.record_into(&out.regions);
  ld.add_normal_pages(ovmf.gpa(), ovmf.bytes());
  ld.add_normal_pages(svsm_gpa, svsm.bytes());
  add_metadata_sections(ld, svsm, std::nullopt, VmmType::kQemu);
  out.vmsas.assign(launch.vcpus, legacy_svsm_vmsa(entry, launch.vcpu_signature));
  for (const Vmsa& v : out.vmsas) ld.add_vmsa_page(vmsa_bytes(v));
  out.digest.assign(ld.digest().begin(), ld.digest().end());
  return out;
}

// SEV and SEV-ES: one SHA-256 over everything LAUNCH_UPDATE_DATA/VMSA encrypted, in order.
LaunchMeasurement measure_sev(const GuestLaunch& launch) {
  const OvmfImage& ovmf = *launch.ovmf;
  Sha256 hash;
  hash.update(ovmf.bytes());
  if (launch.kernel) {
    if (!ovmf.sev_hash_table()) {
      throw InputError(ovmf.name(),
                       "OVMF has no SEV hash table area (SEV_HASH_TABLE_RV), so it "
                       "cannot boot a measured --kernel");
    }
    const formats::sev::PaddedHashTable table = sev_hash_table(*launch.kernel);
    hash.update(std::span(reinterpret_cast<const std::uint8_t*>(&table), sizeof table));
  }
  LaunchMeasurement out;
  if (launch.mode == GuestMode::kSevEs) {
    out.vmsas = reset_vmsas(launch, ovmf, 0);
    for (const Vmsa& v : out.vmsas) hash.update(vmsa_bytes(v));
  }
  Sha256Digest digest = hash.finish();
  out.digest.assign(digest.begin(), digest.end());
  return out;
}

}  // namespace

std::optional<GuestMode> parse_guest_mode(std::string_view name) {
  if (name == "sev") return GuestMode::kSev;
  if (name == "seves") return GuestMode::kSevEs;
  if (name == "snp") return GuestMode::kSnp;
  if (name == "snp:svsm") return GuestMode::kSnpSvsm;
  return std::nullopt;
}

std::string_view guest_mode_name(GuestMode mode) {
  switch (mode) {
    case GuestMode::kSev:
      return "sev";
    case GuestMode::kSevEs:
      return "seves";
    case GuestMode::kSnp:
      return "snp";
    case GuestMode::kSnpSvsm:
      return "snp:svsm";
  }
  return "?";
}

std::string_view guest_mode_label(GuestMode mode) {
  switch (mode) {
    case GuestMode::kSev:
      return "SEV";
    case GuestMode::kSevEs:
      return "SEV_ES";
    case GuestMode::kSnp:
      return "SEV_SNP";
    case GuestMode::kSnpSvsm:
      return "SEV_SNP_SVSM";
  }
  return "?";
}

LaunchMeasurement measure_guest_launch(const GuestLaunch& launch) {
  if (!launch.ovmf) throw std::invalid_argument("measure_guest_launch: no OVMF image");
  if (launch.mode != GuestMode::kSev && (launch.vcpus == 0 || launch.vcpus > kMaxVcpus)) {
    throw InputError("--vcpus", std::to_string(launch.vcpus) +
                                    " is not a vCPU count between 1 and " +
                                    std::to_string(kMaxVcpus));
  }
  switch (launch.mode) {
    case GuestMode::kSnp:
      return measure_snp(launch);
    case GuestMode::kSnpSvsm:
      if (!launch.svsm) throw std::invalid_argument("measure_guest_launch: no SVSM image");
      return measure_snp_svsm(launch);
    case GuestMode::kSev:
    case GuestMode::kSevEs:
      return measure_sev(launch);
  }
  throw std::invalid_argument("measure_guest_launch: unknown mode");
}

Sha384Digest snp_ovmf_hash(const formats::ovmf::OvmfImage& ovmf) {
  SnpLaunchDigest ld;
  ld.add_normal_pages(ovmf.gpa(), ovmf.bytes());
  return ld.digest();
}

}  // namespace cvtpm::measure
