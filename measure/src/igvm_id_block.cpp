#include "cvtpm/measure/igvm_id_block.h"

#include <algorithm>
#include <cstring>

#include "cvtpm/support/error.h"

namespace cvtpm::measure {
namespace {

namespace igvm = formats::igvm;

igvm::SnpIdBlockSignature to_igvm(const EcdsaSignature& s) {
  igvm::SnpIdBlockSignature out{};
  std::memcpy(out.r_comp, s.r, sizeof out.r_comp);
  std::memcpy(out.s_comp, s.s, sizeof out.s_comp);
  return out;
}

igvm::SnpIdBlockPublicKey to_igvm(const EcdsaPublicKey& k) {
  igvm::SnpIdBlockPublicKey out{};
  out.curve = k.curve;
  std::memcpy(out.qx, k.qx, sizeof out.qx);
  std::memcpy(out.qy, k.qy, sizeof out.qy);
  return out;
}

}  // namespace

igvm::SnpIdBlock to_igvm_id_block(const SignedIdBlock& signed_block,
                                  std::uint32_t compatibility_mask, bool author_key) {
  const formats::snp::IdBlock& b = signed_block.block;
  const formats::snp::IdAuthInfo& a = signed_block.auth;
  igvm::SnpIdBlock out{};
  out.compatibility_mask = compatibility_mask;
  out.author_key_enabled = author_key ? 1 : 0;
  std::memcpy(out.ld, b.launch_digest, sizeof out.ld);
  std::memcpy(out.family_id, b.family_id, sizeof out.family_id);
  std::memcpy(out.image_id, b.image_id, sizeof out.image_id);
  out.version = b.version;
  out.guest_svn = b.guest_svn;
  out.id_key_algorithm = a.id_key_algo;
  out.id_key_signature = to_igvm(a.id_block_sig);
  out.id_public_key = to_igvm(a.id_key);
  if (author_key) {
    out.author_key_algorithm = a.auth_key_algo;
    out.author_key_signature = to_igvm(a.id_key_sig);
    out.author_public_key = to_igvm(a.author_key);
  }
  return out;
}

SignedIgvm sign_igvm(const igvm::IgvmFile& file, IgvmMeasureOptions options,
                     const IgvmIdBlockRequest& request, const EcP384PrivateKey& id_key,
                     const EcP384PrivateKey* author_key, const std::string& name) {
  if (options.platform != IgvmPlatform::kSevSnp) {
    throw InputError("--platform", "ID blocks exist only for sev-snp");
  }
  options.ignore_id_block = true;  // the block is about to be replaced
  SignedIgvm out;
  out.measurement = measure_igvm(file, options, name);
  if (!out.measurement.guest_policy) {
    throw InputError(name,
                     "has no GUEST_POLICY header for the sev-snp platform: an ID block is "
                     "checked against the guest policy, so the image must declare it");
  }
  IdBlockRequest id_request;
  std::copy(out.measurement.digest.begin(), out.measurement.digest.end(),
            id_request.launch_digest.begin());
  id_request.family_id = request.family_id;
  id_request.image_id = request.image_id;
  id_request.guest_svn = request.guest_svn;
  id_request.policy = *out.measurement.guest_policy;
  out.id_block = sign_id_block(id_request, id_key, author_key);

  const std::uint32_t mask = out.measurement.compatibility_mask;
  out.file = file;
  std::erase_if(out.file.directives, [&](const igvm::Directive& d) {
    const auto* id = std::get_if<igvm::SnpIdBlockDirective>(&d);
    return id && ((*id)->compatibility_mask & mask) != 0;
  });
  out.file.directives.emplace_back(to_igvm_id_block(out.id_block, mask, author_key != nullptr));
  return out;
}

}  // namespace cvtpm::measure
