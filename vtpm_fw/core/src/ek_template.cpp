#include "cvtpm/vtpm/ek_template.h"

#include "cvtpm/vtpm/tpm2_wire.h"

namespace cvtpm::vtpm {
namespace {

namespace attr = tpm2::object_attribute;

// TCG EK Credential Profile, "Computing PolicyA" and "Computing PolicyB".
constexpr std::uint8_t kPolicyASha256[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
    0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA};
constexpr std::uint8_t kPolicyBSha384[48] = {
    0xB2, 0x6E, 0x7D, 0x28, 0xD1, 0x1A, 0x50, 0xBC, 0x53, 0xD8, 0x82, 0xBC, 0xF5, 0xFD, 0x3A, 0x1A,
    0x07, 0x41, 0x48, 0xBB, 0x35, 0xD3, 0xB4, 0xE4, 0xCB, 0x1C, 0x0A, 0xD9, 0xBD, 0xE4, 0x19, 0xCA,
    0xCB, 0x47, 0xBA, 0x09, 0x69, 0x96, 0x46, 0x15, 0x0F, 0x9F, 0xC0, 0x00, 0xF3, 0xF8, 0x0E, 0x12};

// fixedTPM | fixedParent | sensitiveDataOrigin | adminWithPolicy | restricted | decrypt
constexpr std::uint32_t kLowRangeAttributes = attr::kFixedTpm | attr::kFixedParent |
                                              attr::kSensitiveDataOrigin | attr::kAdminWithPolicy |
                                              attr::kRestricted | attr::kDecrypt;
static_assert(kLowRangeAttributes == 0x000300B2);
// The high range adds userWithAuth.
constexpr std::uint32_t kHighRangeAttributes = kLowRangeAttributes | attr::kUserWithAuth;
static_assert(kHighRangeAttributes == 0x000300F2);

void symmetric_aes_cfb(tpm2::Writer& w, std::uint16_t key_bits) {
  w.u16(tpm2::kAlgAes);
  w.u16(key_bits);
  w.u16(tpm2::kAlgCfb);
}

}  // namespace

std::size_t marshal_ek_template(EkAlgorithm algorithm, std::span<std::uint8_t> out) {
  tpm2::Writer w(out);
  switch (algorithm) {
    case EkAlgorithm::kRsa2048:  // L-1
      w.u16(tpm2::kAlgRsa);
      w.u16(tpm2::kAlgSha256);
      w.u32(kLowRangeAttributes);
      w.sized(kPolicyASha256);
      symmetric_aes_cfb(w, 128);
      w.u16(tpm2::kAlgNull);  // scheme
      w.u16(2048);            // keyBits
      w.u32(0);               // exponent: the default 65537
      w.u16(256);             // unique: 256 zero bytes
      w.zeros(256);
      break;
    case EkAlgorithm::kEccP256:  // L-2
      w.u16(tpm2::kAlgEcc);
      w.u16(tpm2::kAlgSha256);
      w.u32(kLowRangeAttributes);
      w.sized(kPolicyASha256);
      symmetric_aes_cfb(w, 128);
      w.u16(tpm2::kAlgNull);  // scheme
      w.u16(tpm2::kEccNistP256);
      w.u16(tpm2::kAlgNull);  // kdf
      w.u16(32);              // unique.x: 32 zero bytes
      w.zeros(32);
      w.u16(32);  // unique.y: 32 zero bytes
      w.zeros(32);
      break;
    case EkAlgorithm::kEccP384:  // H-3
      w.u16(tpm2::kAlgEcc);
      w.u16(tpm2::kAlgSha384);
      w.u32(kHighRangeAttributes);
      w.sized(kPolicyBSha384);
      symmetric_aes_cfb(w, 256);
      w.u16(tpm2::kAlgNull);  // scheme
      w.u16(tpm2::kEccNistP384);
      w.u16(tpm2::kAlgNull);  // kdf
      w.u16(0);               // unique.x: empty
      w.u16(0);               // unique.y: empty
      break;
    default:
      return 0;
  }
  return w.ok() ? w.size() : 0;
}

std::size_t marshal_create_ek_command(EkAlgorithm algorithm, std::span<std::uint8_t> out) {
  std::uint8_t public_area[kMaxEkPublicSize];
  const std::size_t public_size = marshal_ek_template(algorithm, public_area);
  if (public_size == 0) return 0;

  tpm2::Writer w(out);
  w.u16(tpm2::kStSessions);
  w.u32(0);  // size, patched below
  w.u32(tpm2::kCcCreatePrimary);
  w.u32(tpm2::kRhEndorsement);  // primaryHandle
  // Authorization area: one password session with an empty password.
  w.u32(9);
  w.u32(tpm2::kRsPw);
  w.u16(0);  // nonce
  w.u8(0);   // session attributes
  w.u16(0);  // hmac (the password)
  // inSensitive: TPM2B_SENSITIVE_CREATE with empty userAuth and data.
  w.u16(4);
  w.u16(0);
  w.u16(0);
  w.sized({public_area, public_size});  // inPublic
  w.u16(0);                             // outsideInfo
  w.u32(0);                             // creationPCR: no selections
  w.patch_u32(2, static_cast<std::uint32_t>(w.size()));
  return w.ok() ? w.size() : 0;
}

const char* ek_algorithm_name(EkAlgorithm algorithm) {
  switch (algorithm) {
    case EkAlgorithm::kRsa2048:
      return "rsa2048";
    case EkAlgorithm::kEccP256:
      return "ecc-p256";
    case EkAlgorithm::kEccP384:
      return "ecc-p384";
  }
  return "unknown";
}

}  // namespace cvtpm::vtpm
