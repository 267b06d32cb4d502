// What the firmware needs to know about OVMF, read from OVMF's own SEV metadata.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "cvtpm/igvmgen/image_builder.h"
#include "cvtpm/support/error.h"

namespace cvtpm::igvmgen {
namespace {

namespace ovmf = formats::ovmf;
using ovmf::SevSectionType;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

constexpr std::uint64_t kBspResetVector = 0xFFFFFFF0;

}  // namespace

formats::boot::GuestFirmwareInfo guest_firmware_info(const ovmf::OvmfImage& image,
                                                     bool allow_non_svsm_ovmf) {
  image.require_sev_metadata();
  formats::boot::GuestFirmwareInfo info{};
  info.flash_gpa = image.gpa();
  info.flash_size = image.size();
  info.reset_eip = kBspResetVector;

  // One page each; a second such section would leave the firmware guessing which one OVMF uses.
  auto single_page = [&](SevSectionType type) -> std::uint64_t {
    std::uint64_t gpa = 0;
    for (const ovmf::SevMetadataSection& s : image.sev_sections()) {
      if (s.type != static_cast<std::uint32_t>(type)) continue;
      if (gpa != 0) {
        throw InputError(image.name(), std::string("OVMF SEV metadata has more than one ") +
                                           ovmf::section_type_name(s.type) + " section");
      }
      if (s.size != 0x1000) {
        throw InputError(image.name(), std::string("OVMF SEV metadata section ") +
                                           ovmf::section_type_name(s.type) + " at " + hex(s.gpa) +
                                           " is " + hex(s.size) + " bytes, not one page");
      }
      gpa = s.gpa;
    }
    return gpa;
  };
  info.secrets_gpa = single_page(SevSectionType::kSnpSecrets);
  info.cpuid_gpa = single_page(SevSectionType::kCpuid);
  info.caa_gpa = single_page(SevSectionType::kSvsmCaa);
  if (info.secrets_gpa == 0) {
    throw InputError(image.name(),
                     "OVMF SEV metadata has no SNP_SECRETS section: this OVMF "
                     "build cannot run as an SEV-SNP guest");
  }
  if (info.cpuid_gpa == 0) {
    throw InputError(image.name(),
                     "OVMF SEV metadata has no CPUID section: this OVMF build "
                     "cannot run as an SEV-SNP guest");
  }
  if (info.caa_gpa == 0 && !allow_non_svsm_ovmf) {
    throw InputError(image.name(),
                     "OVMF SEV metadata has no SVSM_CAA (calling area) section: this OVMF build "
                     "cannot run under an SVSM such as the cvtpm firmware (use an SVSM-aware "
                     "OVMF, or --allow-non-svsm-ovmf to build anyway for measurement experiments)");
  }

  // Memory OVMF expects validated before it runs: SEC memory and the kernel-hashes page.
  std::vector<formats::boot::Range> ranges;
  for (const ovmf::SevMetadataSection& s : image.sev_sections()) {
    const auto type = static_cast<SevSectionType>(s.type);
    if (type == SevSectionType::kSnpSecMem || type == SevSectionType::kSnpKernelHashes) {
      ranges.push_back({s.gpa, s.size});
    }
  }
  std::sort(
      ranges.begin(), ranges.end(),
      [](const formats::boot::Range& a, const formats::boot::Range& b) { return a.gpa < b.gpa; });
  std::vector<formats::boot::Range> merged;
  for (const formats::boot::Range& r : ranges) {
    if (!merged.empty() && merged.back().gpa + merged.back().size == r.gpa) {
      merged.back().size += r.size;
    } else {
      merged.push_back(r);
    }
  }
  if (merged.size() > formats::boot::kMaxPrevalidatedRanges) {
    throw InputError(image.name(), "OVMF SEV metadata lists " + std::to_string(merged.size()) +
                                       " separate pre-validated ranges; the boot parameters hold " +
                                       std::to_string(formats::boot::kMaxPrevalidatedRanges));
  }
  info.prevalidated_count = static_cast<std::uint32_t>(merged.size());
  std::copy(merged.begin(), merged.end(), info.prevalidated);
  return info;
}

}  // namespace cvtpm::igvmgen
