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

GuestFirmware guest_firmware_info(const ovmf::OvmfImage& image, bool allow_non_svsm_ovmf) {
  image.require_sev_metadata();
  GuestFirmware out{};
  formats::boot::GuestFirmwareInfo& info = out.info;
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

  // Under an SVSM, OVMF pre-validates every RAM range it knows of through the SVSM (edk2
  // OvmfPkg/PlatformPei/AmdSev.c); the SVSM's own memory must not be among them, so OVMF has to
  // read its RAM from the IGVM memory map the firmware writes (edk2 >= stable202511) rather than
  // from the hypervisor's e820 map, which holds the firmware region.
  const std::optional<ovmf::IgvmParameters>& igvm = image.igvm_parameters();
  if (igvm && igvm->memory_map_size != 0) {
    out.memory_map = {igvm->memory_map_gpa, igvm->memory_map_size};
  } else if (info.caa_gpa != 0 && !allow_non_svsm_ovmf) {
    throw InputError(image.name(),
                     "OVMF has no IGVM memory map (edk2 before edk2-stable202511): under the SVSM "
                     "it would pre-validate the firmware's own memory from the e820 map and stop "
                     "in PEI; use a newer OVMF (Debian's ovmf-generic 2026.08 has one), or "
                     "--allow-non-svsm-ovmf to build anyway for measurement experiments");
  }

  // Memory OVMF expects validated before it runs: SEC memory, the kernel-hashes page, and the
  // IGVM parameter and HOB areas (COCONUT-SVSM's igvmbuilder adds those two as well).
  std::vector<formats::boot::Range> ranges;
  for (const ovmf::SevMetadataSection& s : image.sev_sections()) {
    const auto type = static_cast<SevSectionType>(s.type);
    if (type == SevSectionType::kSnpSecMem || type == SevSectionType::kSnpKernelHashes) {
      ranges.push_back({s.gpa, s.size});
    }
  }
  if (igvm) {
    ranges.push_back({igvm->param_area_gpa, igvm->param_area_size});
    if (igvm->hob_area_size != 0) ranges.push_back({igvm->hob_area_gpa, igvm->hob_area_size});
  }
  std::sort(
      ranges.begin(), ranges.end(),
      [](const formats::boot::Range& a, const formats::boot::Range& b) { return a.gpa < b.gpa; });
  std::vector<formats::boot::Range> merged;
  for (const formats::boot::Range& r : ranges) {
    if (!merged.empty() && merged.back().gpa + merged.back().size >= r.gpa) {
      const std::uint64_t end = std::max(merged.back().gpa + merged.back().size, r.gpa + r.size);
      merged.back().size = end - merged.back().gpa;
    } else {
      merged.push_back(r);
    }
  }
  // The special pages must not be pre-validated (the firmware gives them their own contents).
  for (const formats::boot::Range& r : merged) {
    for (std::uint64_t page : {info.secrets_gpa, info.cpuid_gpa, info.caa_gpa}) {
      if (page != 0 && page >= r.gpa && page < r.gpa + r.size) {
        throw InputError(image.name(), "OVMF's pre-validated memory " + hex(r.gpa) + "+" +
                                           hex(r.size) +
                                           " holds its secrets, CPUID or calling-"
                                           "area page " +
                                           hex(page));
      }
    }
  }
  if (merged.size() > formats::boot::kMaxPrevalidatedRanges) {
    throw InputError(image.name(), "OVMF SEV metadata lists " + std::to_string(merged.size()) +
                                       " separate pre-validated ranges; the boot parameters hold " +
                                       std::to_string(formats::boot::kMaxPrevalidatedRanges));
  }
  info.prevalidated_count = static_cast<std::uint32_t>(merged.size());
  std::copy(merged.begin(), merged.end(), info.prevalidated);
  // The memory map must lie in memory OVMF gets validated and zeroed.
  if (out.memory_map.size != 0 &&
      std::none_of(merged.begin(), merged.end(), [&](const formats::boot::Range& r) {
        return out.memory_map.gpa >= r.gpa &&
               out.memory_map.gpa + out.memory_map.size <= r.gpa + r.size;
      })) {
    throw InputError(image.name(), "OVMF's IGVM memory map " + hex(out.memory_map.gpa) +
                                       " lies outside its pre-validated memory");
  }
  return out;
}

}  // namespace cvtpm::igvmgen
