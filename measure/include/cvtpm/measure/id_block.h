// SNP ID blocks: a launch digest plus identity, signed by an ID key that an author key may
// endorse. The PSP checks them at SNP_LAUNCH_FINISH; reports then carry the key digests.
#pragma once

#include <array>
#include <optional>

#include "cvtpm/formats/snp/id_block.h"
#include "cvtpm/measure/snp_keys.h"

namespace cvtpm::measure {

struct IdBlockRequest {
  Sha384Digest launch_digest{};
  std::array<std::uint8_t, 16> family_id{};
  std::array<std::uint8_t, 16> image_id{};
  std::uint32_t guest_svn = 0;
  std::uint64_t policy = formats::snp::guest_policy::kDefault;
};

struct SignedIdBlock {
  formats::snp::IdBlock block;
  formats::snp::IdAuthInfo auth;
  Sha384Digest id_key_digest;
  std::optional<Sha384Digest> author_key_digest;  // set when an author key signed the ID key
};

SignedIdBlock sign_id_block(const IdBlockRequest& request, const EcP384PrivateKey& id_key,
                            const EcP384PrivateKey* author_key);

}  // namespace cvtpm::measure
