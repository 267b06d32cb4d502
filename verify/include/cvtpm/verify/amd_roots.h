// AMD's SEV-SNP roots, built into the tool: the ARK (self-signed RSA-4096 root) and the ASK (the
// intermediate that signs VCEKs) of each product line, as AMD's key distribution service serves
// them (kdsintf.amd.com/vcek/v1/<product>/cert_chain) and virtee/sev ships them
// (src/certs/snp/builtin/). Copies in verify/roots/ (SHA-256 fingerprints in
// verify/roots/README.md); the ARK is the verifier's trust anchor.
#pragma once

#include <string_view>

#include "cvtpm/verify/product.h"

namespace cvtpm::verify {

struct PinnedRoots {
  std::string_view ark_pem;
  std::string_view ask_pem;
};

PinnedRoots pinned_roots(ProductLine line);

}  // namespace cvtpm::verify
