// The checks that tie a signed report to AMD (private to verify/src): the certificate chain to a
// pinned root, the report's signature by the VCEK, and the VCEK's agreement with the report.
#pragma once

#include <vector>

#include "cvtpm/verify/verdict.h"
#include "cvtpm/verify/verifier.h"

namespace cvtpm::verify {

// Appends the chain and VCEK checks to `verdict` (and fills its trust_root, product and vcek).
void check_chain_and_signature(const Evidence& evidence, Verdict& verdict);

}  // namespace cvtpm::verify
