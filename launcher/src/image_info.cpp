#include "cvtpm/launch/image_info.h"

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/igvmgen/image_reader.h"
#include "cvtpm/measure/igvm_measure.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"

namespace cvtpm::launch {

ImageInfo inspect_image(const std::string& path) {
  namespace igvm = formats::igvm;
  const ByteBuffer bytes = load_file(path);
  ImageInfo info;
  info.sha256_hex = to_hex(sha256(bytes));
  const igvm::IgvmFile file = igvm::parse_igvm(bytes, path);
  if (!file.platform(igvm::PlatformType::kSevSnp)) {
    throw InputError(path,
                     "declares no SEV-SNP platform, so it cannot launch as an SNP guest "
                     "(`cvtpm-igvmgen build --platform snp,native` makes one that can)");
  }
  measure::IgvmMeasureOptions options;
  options.check_kvm = true;
  const measure::IgvmMeasurement m = measure::measure_igvm(file, options, path);
  info.launch_digest_hex = to_hex(m.digest);
  if (auto params = igvmgen::read_boot_params(file, igvm::PlatformType::kSevSnp)) {
    info.guest_vmpl = params->guest_vmpl;
    info.state_binding = params->state_binding;
    info.state_min_svn = params->state_min_svn;
  }
  const std::uint32_t snp_mask = file.platform(igvm::PlatformType::kSevSnp)->compatibility_mask;
  for (const igvm::Directive& directive : file.directives) {
    if (const auto* block = std::get_if<igvm::SnpIdBlockDirective>(&directive)) {
      if (((*block)->compatibility_mask & snp_mask) != 0) info.id_block_svn = (*block)->guest_svn;
    }
  }
  return info;
}

}  // namespace cvtpm::launch
