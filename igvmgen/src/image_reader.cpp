#include "cvtpm/igvmgen/image_reader.h"

#include <cstring>

#include "cvtpm/formats/snp/vmsa.h"

namespace cvtpm::igvmgen {

namespace boot = formats::boot;
namespace igvm = formats::igvm;

namespace {

std::optional<std::uint64_t> boot_params_gpa(const igvm::VpContextDirective& vp,
                                             igvm::PlatformType platform) {
  if (platform == igvm::PlatformType::kSevSnp) {
    if (vp.data.size() < sizeof(formats::snp::Vmsa)) return std::nullopt;
    formats::snp::Vmsa vmsa;
    std::memcpy(&vmsa, vp.data.span().data(), sizeof vmsa);
    return vmsa.rsi;
  }
  if (platform == igvm::PlatformType::kNative) {
    if (vp.data.size() < sizeof(igvm::NativeVpContextX64)) return std::nullopt;
    igvm::NativeVpContextX64 ctx;
    std::memcpy(&ctx, vp.data.span().data(), sizeof ctx);
    return ctx.rsi;
  }
  return std::nullopt;
}

}  // namespace

std::optional<boot::BootParams> read_boot_params(const igvm::IgvmFile& file,
                                                 igvm::PlatformType platform) {
  const igvm::SupportedPlatform* declared = file.platform(platform);
  if (!declared) return std::nullopt;
  const std::uint32_t mask = declared->compatibility_mask;
  std::optional<std::uint64_t> gpa;
  for (const igvm::Directive& d : file.directives) {
    const auto* vp = std::get_if<igvm::VpContextDirective>(&d);
    if (vp && (vp->compatibility_mask & mask) && vp->vp_index == 0)
      gpa = boot_params_gpa(*vp, platform);
  }
  if (!gpa) return std::nullopt;
  for (const igvm::Directive& d : file.directives) {
    const auto* page = std::get_if<igvm::PageDirective>(&d);
    if (!page || page->gpa != *gpa || !(page->compatibility_mask & mask) ||
        page->data.size() < sizeof(boot::BootParams)) {
      continue;
    }
    boot::BootParams params;
    std::memcpy(&params, page->data.span().data(), sizeof params);
    if (params.magic != boot::kBootParamsMagic || params.version != boot::kBootParamsVersion) {
      return std::nullopt;
    }
    return params;
  }
  return std::nullopt;
}

}  // namespace cvtpm::igvmgen
