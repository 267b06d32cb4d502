// Endorsement key templates of the TCG EK Credential Profile for TPM Family 2.0 (appendix B):
//   RSA-2048     -> template L-1 (low range): SHA-256, PolicyA, AES-128-CFB, 256 zero bytes unique
//   ECC NIST P-256 -> template L-2 (low range): SHA-256, PolicyA, AES-128-CFB, 2 x 32 zero bytes
//   ECC NIST P-384 -> template H-3 (high range; the profile has no low-range P-384):
//                   SHA-384, PolicyB, userWithAuth, AES-256-CFB, empty unique
// L-1 and L-2 are what `tpm2_createek -G rsa|ecc` and COCONUT-SVSM use. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/formats/boot/boot_params.h"

namespace cvtpm::vtpm {

using EkAlgorithm = formats::boot::EkAlgorithm;

// Largest marshaled TPMT_PUBLIC of any template above (RSA-2048 with its 256-byte modulus).
inline constexpr std::size_t kMaxEkPublicSize = 512;

// Writes the template's TPMT_PUBLIC (TPM wire format) into `out`; returns the size, or 0 if
// `out` is too small or the algorithm unknown.
std::size_t marshal_ek_template(EkAlgorithm algorithm, std::span<std::uint8_t> out);

// Writes TPM2_CreatePrimary(TPM_RH_ENDORSEMENT, empty password, template) into `out`; returns
// the size, or 0 if `out` is too small or the algorithm unknown.
std::size_t marshal_create_ek_command(EkAlgorithm algorithm, std::span<std::uint8_t> out);

// Name of the algorithm for logs ("rsa2048", "ecc-p256", "ecc-p384"; "unknown").
const char* ek_algorithm_name(EkAlgorithm algorithm);

}  // namespace cvtpm::vtpm
