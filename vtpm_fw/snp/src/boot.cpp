#include "cvtpm/snp/boot.h"

#include <cstddef>
#include <cstring>

#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/ghcb_msr_protocol.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/page_state.h"

namespace cvtpm::snp {

namespace boot = formats::boot;
namespace fs = formats::snp;

namespace {

bool page_aligned(std::uint64_t v) {
  return (v & kPageMask) == 0;
}

// [gpa, gpa + size) inside [outer_gpa, outer_gpa + outer_size), without wrapping.
bool inside(std::uint64_t gpa, std::uint64_t size, std::uint64_t outer_gpa,
            std::uint64_t outer_size) {
  return gpa >= outer_gpa && size <= outer_size && gpa - outer_gpa <= outer_size - size;
}

}  // namespace

SnpStatus check_boot_params(const boot::BootParams& params) {
  if (params.magic != boot::kBootParamsMagic)
    return SnpError{"BootParams: bad magic", params.magic};
  if (params.version < boot::kBootParamsVersion) {
    return SnpError{"BootParams: unsupported version", params.version};
  }
  if (params.size < sizeof(boot::BootParams) || params.size > 4096) {
    return SnpError{"BootParams: size does not cover the guest memory map", params.size};
  }
  if (params.firmware.gpa != boot::kFirmwareBase ||
      params.firmware.size != boot::kFirmwareRegionSize) {
    return SnpError{"BootParams: not the firmware region this firmware is linked for",
                    params.firmware.gpa, params.firmware.size};
  }
  const boot::Range& image = params.image;
  if (!page_aligned(image.gpa) || !page_aligned(image.size) || image.size == 0 ||
      !inside(image.gpa, image.size, params.firmware.gpa, params.firmware.size)) {
    return SnpError{"BootParams: image range outside the firmware region", image.gpa, image.size};
  }
  const std::uint64_t pages[] = {params.secrets_gpa, params.cpuid_gpa};
  for (std::uint64_t page : pages) {
    if (page == 0 || !page_aligned(page) || !inside(page, kPageSize, image.gpa, image.size)) {
      return SnpError{"BootParams: secrets or CPUID page not a page of the image", page};
    }
  }
  if (params.secrets_gpa == params.cpuid_gpa) {
    return SnpError{"BootParams: secrets and CPUID page coincide", params.secrets_gpa};
  }
  const std::uint64_t parameters[] = {params.vp_count_gpa, params.environment_gpa};
  for (std::uint64_t p : parameters) {
    if (p != 0 && !inside(p, 4, image.gpa, image.size)) {
      return SnpError{"BootParams: parameter outside the image", p};
    }
  }
  if (params.memory_map_gpa != 0 &&
      !inside(params.memory_map_gpa, params.memory_map_size, image.gpa, image.size)) {
    return SnpError{"BootParams: memory map outside the image", params.memory_map_gpa,
                    params.memory_map_size};
  }
  if (params.guest_vmpl < 1 || params.guest_vmpl > 3) {
    return SnpError{"BootParams: guest VMPL not 1..3", params.guest_vmpl};
  }
  if ((params.guest_sev_features & fs::sev_features::kSnpActive) == 0 ||
      (params.guest_sev_features & fs::sev_features::kVirtualTom) != 0) {
    return SnpError{"BootParams: guest SEV features need SNP and no vTOM",
                    params.guest_sev_features};
  }
  if (params.ek_algorithm > static_cast<std::uint8_t>(boot::EkAlgorithm::kEccP384)) {
    return SnpError{"BootParams: unknown EK algorithm", params.ek_algorithm};
  }
  return SnpStatus::success();
}

SnpResult<HypervisorInfo> negotiate(SnpHardware& hardware, const NegotiateOptions& options) {
  const auto sev = msr_protocol::sev_info(hardware);
  if (!sev) return sev.error();
  const msr_protocol::SevInfo& info = sev.value();
  if (info.min_version > fs::kGhcbProtocolVersion || info.max_version < fs::kGhcbProtocolVersion) {
    return SnpError{kNoGhcbVersion2, info.min_version, info.max_version};
  }
  const auto features = msr_protocol::hv_features(hardware);
  if (!features) return features.error();
  if ((features.value() & fs::ghcb_msr::hv_feature::kSnp) == 0) {
    return SnpError{"the hypervisor does not advertise SEV-SNP support", features.value()};
  }
  const bool multi_vmpl = (features.value() & fs::ghcb_msr::hv_feature::kSnpMultiVmpl) != 0;
  if (options.require_multi_vmpl && !multi_vmpl) {
    return SnpError{"the hypervisor does not advertise multi-VMPL support", features.value()};
  }
  return HypervisorInfo{info, features.value(), multi_vmpl};
}

SnpStatus setup_ghcb(SnpHardware& hardware, std::uint64_t gpa) {
  if (SnpStatus s = make_page_shared(hardware, nullptr, gpa); !s) return s;
  {
    Mapping page(hardware, gpa, kPageSize, Encryption::kShared);
    if (!page) return SnpError{"GHCB page not accessible after the conversion", gpa};
    std::memset(page.data(), 0, kPageSize);
  }
  return msr_protocol::register_ghcb(hardware, gpa);
}

SnpStatus validate_firmware_region(SnpHardware& hardware, GhcbClient& ghcb,
                                   const boot::BootParams& params) {
  const std::uint64_t region_start = params.firmware.gpa;
  const std::uint64_t region_end = params.firmware.gpa + params.firmware.size;
  const std::uint64_t image_start = params.image.gpa;
  const std::uint64_t image_end = params.image.gpa + params.image.size;
  if (SnpStatus s = accept_private(hardware, &ghcb, region_start, image_start - region_start); !s) {
    return s;
  }
  return accept_private(hardware, &ghcb, image_end, region_end - image_end);
}

}  // namespace cvtpm::snp
