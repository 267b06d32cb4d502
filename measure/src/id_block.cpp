#include "cvtpm/measure/id_block.h"

#include <cstring>

namespace cvtpm::measure {

SignedIdBlock sign_id_block(const IdBlockRequest& request, const EcP384PrivateKey& id_key,
                            const EcP384PrivateKey* author_key) {
  SignedIdBlock out{};
  formats::snp::IdBlock& block = out.block;
  std::memcpy(block.launch_digest, request.launch_digest.data(), sizeof block.launch_digest);
  std::memcpy(block.family_id, request.family_id.data(), sizeof block.family_id);
  std::memcpy(block.image_id, request.image_id.data(), sizeof block.image_id);
  block.version = formats::snp::kIdBlockVersion;
  block.guest_svn = request.guest_svn;
  block.policy = request.policy;

  formats::snp::IdAuthInfo& auth = out.auth;
  auth.id_key_algo = formats::snp::kAlgoEcdsaP384Sha384;
  auth.id_key = id_key.public_key();
  auth.id_block_sig = id_key.sign(struct_bytes(block));
  out.id_key_digest = public_key_digest(auth.id_key);
  if (author_key) {
    auth.auth_key_algo = formats::snp::kAlgoEcdsaP384Sha384;
    auth.author_key = author_key->public_key();
    auth.id_key_sig = author_key->sign(struct_bytes(auth.id_key));
    out.author_key_digest = public_key_digest(auth.author_key);
  }
  return out;
}

}  // namespace cvtpm::measure
