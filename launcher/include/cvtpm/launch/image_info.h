// What cvtpm-launch needs to know about an IGVM image before starting a guest from it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cvtpm::launch {

struct ImageInfo {
  std::string sha256_hex;
  std::string launch_digest_hex;       // SEV-SNP, as QEMU/KVM measure it (checked with --check-kvm)
  std::optional<unsigned> guest_vmpl;  // from the image's boot parameters (cvtpm images)
  // The persistent vTPM's key binding from the boot parameters (formats::boot::StateBinding;
  // cvtpm images) and the identity binding's minimum SVN.
  std::optional<std::uint32_t> state_binding;
  std::uint32_t state_min_svn = 0;
  // The guest SVN of the image's own SNP ID block (cvtpm-measure igvm sign), if it has one.
  std::optional<std::uint32_t> id_block_svn;
};

// Throws InputError naming `path` when it is missing, not an IGVM file, has no SEV-SNP platform,
// or would not be measured by KVM the way the file says.
ImageInfo inspect_image(const std::string& path);

}  // namespace cvtpm::launch
