// Signing IGVM images: an SNP ID block for the image's launch digest, embedded as an
// SNP_ID_BLOCK directive that QEMU passes to SNP_LAUNCH_FINISH.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/measure/id_block.h"
#include "cvtpm/measure/igvm_measure.h"

namespace cvtpm::measure {

struct IgvmIdBlockRequest {
  std::array<std::uint8_t, 16> family_id{};
  std::array<std::uint8_t, 16> image_id{};
  std::uint32_t guest_svn = 0;
};

struct SignedIgvm {
  formats::igvm::IgvmFile file;  // the input with its SNP ID block replaced or added (last)
  IgvmMeasurement measurement;
  SignedIdBlock id_block;  // the SNP ABI structures, as the PSP will check them
};

// Measures `file` for SEV-SNP with `options` (ID blocks already in the file are ignored and
// replaced), then signs an ID block for that digest with the policy of the file's GUEST_POLICY.
// Throws InputError naming `name` when the file has no SNP platform or no guest policy for it.
SignedIgvm sign_igvm(const formats::igvm::IgvmFile& file, IgvmMeasureOptions options,
                     const IgvmIdBlockRequest& request, const EcP384PrivateKey& id_key,
                     const EcP384PrivateKey* author_key, const std::string& name);

// The IGVM form of a signed ID block (public keys carry an extra reserved u32 after the curve).
formats::igvm::SnpIdBlock to_igvm_id_block(const SignedIdBlock& signed_block,
                                           std::uint32_t compatibility_mask, bool author_key);

}  // namespace cvtpm::measure
