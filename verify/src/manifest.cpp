#include "cvtpm/verify/manifest.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "cvtpm/formats/byte_reader.h"
#include "cvtpm/formats/state/state_blob.h"
#include "cvtpm/formats/state/state_evidence.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/openssl_ptr.h"
#include "cvtpm/vtpm/ek_template.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm/tpm2_wire.h"

namespace cvtpm::verify {
namespace {

namespace tpm2 = vtpm::tpm2;

// TPM_ALG_ID values beyond the ones the service itself uses (TCG TPM 2.0 Library Part 2, table
// "TPM_ALG_ID Constants").
constexpr std::uint16_t kAlgSha512 = 0x000D;
constexpr std::uint16_t kAlgMgf1 = 0x0007;
constexpr std::uint16_t kAlgXor = 0x000A;
constexpr std::uint16_t kAlgSm4 = 0x0013;
constexpr std::uint16_t kAlgRsassa = 0x0014;
constexpr std::uint16_t kAlgRsaes = 0x0015;
constexpr std::uint16_t kAlgRsapss = 0x0016;
constexpr std::uint16_t kAlgOaep = 0x0017;
constexpr std::uint16_t kAlgEcdsa = 0x0018;
constexpr std::uint16_t kAlgEcdh = 0x0019;
constexpr std::uint16_t kAlgEcdaa = 0x001A;
constexpr std::uint16_t kAlgSm2 = 0x001B;
constexpr std::uint16_t kAlgEcschnorr = 0x001C;
constexpr std::uint16_t kAlgEcmqv = 0x001D;
constexpr std::uint16_t kAlgKdf1Sp80056a = 0x0020;
constexpr std::uint16_t kAlgKdf2 = 0x0021;
constexpr std::uint16_t kAlgKdf1Sp800108 = 0x0022;
constexpr std::uint16_t kAlgCamellia = 0x0026;
constexpr std::uint16_t kEccNistP521 = 0x0005;

template <typename T>
using Owned = OpenSslPtr<T>;

[[noreturn]] void crypto_failure(const char* what) {
  ERR_clear_error();
  openssl_failure(what);
}

// A TPMT_PUBLIC's fields as far as an EK needs them.
struct PublicArea {
  std::uint16_t type = 0;
  std::uint16_t name_alg = 0;
  std::uint32_t attributes = 0;
  std::uint16_t key_bits = 0;  // RSA
  std::uint32_t exponent = 0;  // RSA; 0 means 65537
  std::uint16_t curve = 0;     // ECC
  std::size_t unique_offset = 0;
  std::span<const std::uint8_t> rsa_modulus;
  std::span<const std::uint8_t> ecc_x, ecc_y;
};

// Reads big-endian TPM fields, naming the field and its offset when the bytes run out.
class TpmReader {
 public:
  TpmReader(std::span<const std::uint8_t> bytes, const std::string& name)
      : reader_(bytes), size_(bytes.size()), name_(name) {}

  std::uint16_t u16(const char* field) {
    const std::size_t at = reader_.offset();
    const std::uint16_t v = reader_.u16();
    check(field, at);
    return v;
  }
  std::uint32_t u32(const char* field) {
    const std::size_t at = reader_.offset();
    const std::uint32_t v = reader_.u32();
    check(field, at);
    return v;
  }
  // A TPM2B: u16 size, then that many bytes (at most `max`).
  std::span<const std::uint8_t> sized(const char* field, std::size_t max) {
    const std::size_t at = reader_.offset();
    const std::uint16_t n = u16(field);
    if (n > max) fail(std::string(field) + " of " + std::to_string(n) + " bytes", at);
    const auto bytes = reader_.bytes(n);
    check(field, at);
    return bytes;
  }
  std::size_t offset() const { return reader_.offset(); }
  [[noreturn]] void fail(const std::string& what, std::size_t at) const {
    throw InputError(name_, "TPMT_PUBLIC: " + what + " at offset " + std::to_string(at));
  }
  void expect_end() const {
    if (reader_.offset() != size_) {
      fail(std::to_string(size_ - reader_.offset()) + " trailing bytes", reader_.offset());
    }
  }

 private:
  void check(const char* field, std::size_t at) const {
    if (!reader_.ok()) fail(std::string("truncated in ") + field, at);
  }
  tpm2::Reader reader_;
  std::size_t size_;
  const std::string& name_;
};

std::size_t curve_bytes(std::uint16_t curve) {
  switch (curve) {
    case tpm2::kEccNistP256:
      return 32;
    case tpm2::kEccNistP384:
      return 48;
    case kEccNistP521:
      return 66;
    default:
      return 0;
  }
}

const char* curve_group(std::uint16_t curve) {
  switch (curve) {
    case tpm2::kEccNistP256:
      return "prime256v1";
    case tpm2::kEccNistP384:
      return "secp384r1";
    default:
      return "secp521r1";
  }
}

void read_symmetric(TpmReader& r) {
  const std::size_t at = r.offset();
  const std::uint16_t alg = r.u16("symmetric.algorithm");
  if (alg == tpm2::kAlgNull) return;
  if (alg == kAlgXor) {
    r.u16("symmetric.keyBits.xor");
    return;
  }
  if (alg != tpm2::kAlgAes && alg != kAlgSm4 && alg != kAlgCamellia) {
    r.fail("unknown symmetric algorithm " + hex_number(alg, 4), at);
  }
  r.u16("symmetric.keyBits");
  r.u16("symmetric.mode");
}

// TPMT_RSA_SCHEME / TPMT_ECC_SCHEME: the scheme, then its details (a hash, and for ECDAA a count).
void read_scheme(TpmReader& r, std::uint16_t type) {
  const std::size_t at = r.offset();
  const std::uint16_t scheme = r.u16("scheme");
  if (scheme == tpm2::kAlgNull || scheme == kAlgRsaes) return;
  const bool rsa_scheme = scheme == kAlgRsassa || scheme == kAlgRsapss || scheme == kAlgOaep;
  const bool ecc_scheme = scheme == kAlgEcdsa || scheme == kAlgEcdh || scheme == kAlgEcdaa ||
                          scheme == kAlgSm2 || scheme == kAlgEcschnorr || scheme == kAlgEcmqv;
  if (!(type == tpm2::kAlgRsa ? rsa_scheme : ecc_scheme)) {
    r.fail("unknown scheme " + hex_number(scheme, 4), at);
  }
  r.u16("scheme.hashAlg");
  if (scheme == kAlgEcdaa) r.u16("scheme.count");
}

void read_kdf(TpmReader& r) {
  const std::size_t at = r.offset();
  const std::uint16_t kdf = r.u16("kdf");
  if (kdf == tpm2::kAlgNull) return;
  if (kdf != kAlgMgf1 && kdf != kAlgKdf1Sp80056a && kdf != kAlgKdf2 && kdf != kAlgKdf1Sp800108) {
    r.fail("unknown KDF " + hex_number(kdf, 4), at);
  }
  r.u16("kdf.hashAlg");
}

// `template_form`: a creation template, whose `unique` may be empty or zeros.
PublicArea read_public_area(std::span<const std::uint8_t> bytes, const std::string& name,
                            bool template_form) {
  TpmReader r(bytes, name);
  PublicArea p;
  p.type = r.u16("type");
  if (p.type != tpm2::kAlgRsa && p.type != tpm2::kAlgEcc) {
    r.fail("type " + hex_number(p.type, 4) + " is not an RSA or ECC key", 0);
  }
  p.name_alg = r.u16("nameAlg");
  if (p.name_alg != tpm2::kAlgSha256 && p.name_alg != tpm2::kAlgSha384 &&
      p.name_alg != kAlgSha512) {
    r.fail("nameAlg " + hex_number(p.name_alg, 4) + " (need SHA-256, SHA-384 or SHA-512)", 2);
  }
  p.attributes = r.u32("objectAttributes");
  r.sized("authPolicy", 64);
  read_symmetric(r);
  read_scheme(r, p.type);
  if (p.type == tpm2::kAlgRsa) {
    const std::size_t at = r.offset();
    p.key_bits = r.u16("keyBits");
    if (p.key_bits < 1024 || p.key_bits > 4096 || p.key_bits % 8 != 0) {
      r.fail("RSA keyBits " + std::to_string(p.key_bits), at);
    }
    p.exponent = r.u32("exponent");
    p.unique_offset = r.offset();
    p.rsa_modulus = r.sized("unique.rsa", 512);
    if (p.rsa_modulus.size() != p.key_bits / 8u && !(template_form && p.rsa_modulus.empty())) {
      r.fail("RSA modulus of " + std::to_string(p.rsa_modulus.size()) + " bytes for " +
                 std::to_string(p.key_bits) + " bits",
             p.unique_offset);
    }
    // A modulus of exactly keyBits bits is odd; an exponent (0: 65537) is odd and above 1.
    const bool exponent_ok = p.exponent == 0 || (p.exponent % 2 == 1 && p.exponent > 1);
    if (!template_form &&
        ((p.rsa_modulus.front() & 0x80) == 0 || (p.rsa_modulus.back() & 1) == 0 || !exponent_ok)) {
      r.fail("not an RSA public key (modulus or exponent malformed)", p.unique_offset);
    }
  } else {
    const std::size_t at = r.offset();
    p.curve = r.u16("curveID");
    const std::size_t size = curve_bytes(p.curve);
    if (size == 0)
      r.fail("curve " + hex_number(p.curve, 4) + " (need NIST P-256, P-384 or P-521)", at);
    read_kdf(r);
    p.unique_offset = r.offset();
    p.ecc_x = r.sized("unique.ecc.x", size);
    p.ecc_y = r.sized("unique.ecc.y", size);
    const bool empty_template = template_form && p.ecc_x.empty() && p.ecc_y.empty();
    if (!empty_template && (p.ecc_x.size() != size || p.ecc_y.size() != size)) {
      r.fail("EC point coordinates of " + std::to_string(p.ecc_x.size()) + " and " +
                 std::to_string(p.ecc_y.size()) + " bytes on a " + std::to_string(size) +
                 "-byte curve",
             p.unique_offset);
    }
  }
  r.expect_end();
  return p;
}

Owned<BIGNUM> big_endian(std::span<const std::uint8_t> bytes) {
  Owned<BIGNUM> bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn) crypto_failure("BN_bin2bn");
  return bn;
}

Owned<EVP_PKEY> key_from_params(const char* type, OSSL_PARAM_BLD& builder) {
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(&builder));
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return Owned<EVP_PKEY>(raw);
}

Owned<EVP_PKEY> public_key(const PublicArea& p, const std::string& name) {
  Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!builder) crypto_failure("OSSL_PARAM_BLD_new");
  Owned<EVP_PKEY> key;
  if (p.type == tpm2::kAlgRsa) {
    Owned<BIGNUM> n = big_endian(p.rsa_modulus);
    Owned<BIGNUM> e(BN_new());
    if (!e || BN_set_word(e.get(), p.exponent == 0 ? 65537 : p.exponent) != 1 ||
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
      crypto_failure("building an RSA key");
    }
    key = key_from_params("RSA", *builder);
  } else {
    std::vector<std::uint8_t> point{0x04};
    point.insert(point.end(), p.ecc_x.begin(), p.ecc_x.end());
    point.insert(point.end(), p.ecc_y.begin(), p.ecc_y.end());
    if (OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                        curve_group(p.curve), 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
      crypto_failure("building an EC key");
    }
    key = key_from_params("EC", *builder);
  }
  // An EC point must lie on its curve. OpenSSL's RSA public check (SP 800-56B) tests the
  // modulus for primality, two thirds of the tool's run time; the RSA shape is checked below.
  if (key && p.type == tpm2::kAlgEcc) {
    Owned<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) key.reset();
  }
  ERR_clear_error();
  if (!key) throw InputError(name, "TPMT_PUBLIC: unique is not a valid public key");
  return key;
}

std::vector<std::uint8_t> tpm_name(std::uint16_t name_alg, std::span<const std::uint8_t> area) {
  std::vector<std::uint8_t> name{static_cast<std::uint8_t>(name_alg >> 8),
                                 static_cast<std::uint8_t>(name_alg)};
  auto append = [&](const auto& digest) { name.insert(name.end(), digest.begin(), digest.end()); };
  if (name_alg == tpm2::kAlgSha256) append(sha256(area));
  if (name_alg == tpm2::kAlgSha384) append(sha384(area));
  if (name_alg == kAlgSha512) append(sha512(area));
  return name;
}

std::string algorithm_name(const PublicArea& p) {
  if (p.type == tpm2::kAlgRsa) return "rsa" + std::to_string(p.key_bits);
  switch (p.curve) {
    case tpm2::kEccNistP256:
      return "ecc-p256";
    case tpm2::kEccNistP384:
      return "ecc-p384";
    default:
      return "ecc-p521";
  }
}

// The template cvtpm creates the EK from, if `area` is it but for `unique`.
std::optional<std::string> matching_template(std::span<const std::uint8_t> area,
                                             const PublicArea& p) {
  struct Known {
    vtpm::EkAlgorithm algorithm;
    const char* label;
  };
  for (const Known& known :
       {Known{vtpm::EkAlgorithm::kRsa2048, "L-1"}, Known{vtpm::EkAlgorithm::kEccP256, "L-2"},
        Known{vtpm::EkAlgorithm::kEccP384, "H-3"}}) {
    std::uint8_t buffer[vtpm::kMaxEkPublicSize];
    const std::size_t size = vtpm::marshal_ek_template(known.algorithm, buffer);
    const std::span<const std::uint8_t> bytes(buffer, size);
    const PublicArea t = read_public_area(bytes, "EK template", true);
    if (t.unique_offset == p.unique_offset &&
        std::equal(bytes.begin(), bytes.begin() + static_cast<long>(t.unique_offset),
                   area.begin())) {
      return known.label;
    }
  }
  return std::nullopt;
}

// The state entry (docs/persistence.md, "Rollback"): exactly one StateEvidence, version 1, a
// known status and binding, reserved zero.
StateEntry parse_state_entry(std::span<const std::uint8_t> bytes, const std::string& name,
                             const std::string& label) {
  namespace fss = formats::state;
  auto fail = [&](const std::string& why) { throw InputError(name, label + ": " + why); };
  if (bytes.size() != sizeof(fss::StateEvidence)) {
    fail(std::to_string(bytes.size()) + " bytes, a state entry has " +
         std::to_string(sizeof(fss::StateEvidence)));
  }
  fss::StateEvidence raw;
  std::memcpy(&raw, bytes.data(), sizeof raw);
  if (raw.version != fss::kStateEvidenceVersion) {
    fail("version " + std::to_string(raw.version) + ", this verifier reads version " +
         std::to_string(fss::kStateEvidenceVersion));
  }
  if (raw.status > static_cast<std::uint32_t>(fss::StateStatus::kFailed)) {
    fail("status " + std::to_string(raw.status) + " is not 0-3");
  }
  if (raw.binding > static_cast<std::uint32_t>(fss::Binding::kIdentity)) {
    fail("binding " + std::to_string(raw.binding) + " is not 0-3");
  }
  if (raw.reserved != 0) fail("reserved field " + hex_number(raw.reserved) + " is not zero");
  StateEntry e;
  e.status = static_cast<StateEntry::Status>(raw.status);
  e.binding = raw.binding;
  e.boot_generation = raw.boot_generation;
  e.current_generation = raw.current_generation;
  std::memcpy(e.boot_digest.data(), raw.boot_digest, e.boot_digest.size());
  std::memcpy(e.current_digest.data(), raw.current_digest, e.current_digest.size());
  return e;
}

Manifest parse_services_manifest(std::span<const std::uint8_t> bytes, const std::string& name) {
  const formats::ByteReader reader(bytes, name);
  const auto header = reader.read<vtpm::ServicesManifestHeader>(0);
  if (header.size != bytes.size()) {
    throw InputError(name, "services manifest: its header says " + std::to_string(header.size) +
                               " bytes, the file has " + std::to_string(bytes.size()));
  }
  constexpr std::size_t kEntry = sizeof(vtpm::ServicesManifestEntry);
  const std::size_t table = sizeof header;
  if (header.count > (bytes.size() - table) / kEntry) {
    throw InputError(name, "services manifest: " + std::to_string(header.count) +
                               " entries do not fit in " + std::to_string(bytes.size()) + " bytes");
  }
  const std::size_t data_start = table + header.count * kEntry;
  Manifest manifest;
  manifest.services = true;
  manifest.service_count = header.count;
  for (std::uint32_t i = 0; i < header.count; ++i) {
    const auto entry = reader.read<vtpm::ServicesManifestEntry>(table + i * kEntry);
    const std::string label = "services manifest entry " + std::to_string(i);
    if (entry.offset < data_start || entry.size > bytes.size() ||
        entry.offset > bytes.size() - entry.size) {
      throw InputError(name, label + ": data at offset " + std::to_string(entry.offset) + " size " +
                                 std::to_string(entry.size) + " lies outside the data area [" +
                                 std::to_string(data_start) + ", " + std::to_string(bytes.size()) +
                                 ")");
    }
    if (entry.guid == formats::state::kStateServiceGuid) {
      if (manifest.state) throw InputError(name, label + ": a second cvtpm state entry");
      manifest.state =
          parse_state_entry(reader.slice(entry.offset, entry.size), name, label + " (cvtpm state)");
      continue;
    }
    if (!(entry.guid == vtpm::kVtpmServiceGuid)) continue;
    if (manifest.ek) throw InputError(name, label + ": a second vTPM service entry");
    manifest.ek = parse_endorsement_key(reader.slice(entry.offset, entry.size),
                                        name + " (" + label + ", vTPM)");
  }
  return manifest;
}

}  // namespace

const char* state_status_name(StateEntry::Status status) {
  constexpr const char* kNames[] = {"ephemeral", "fresh", "restored", "failed"};
  const auto i = static_cast<std::size_t>(status);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

const char* state_binding_name(std::uint32_t binding) {
  constexpr const char* kNames[] = {"none", "development", "measurement", "identity"};
  return binding < std::size(kNames) ? kNames[binding] : "unknown";
}

EndorsementKey parse_endorsement_key(std::span<const std::uint8_t> tpmt_public,
                                     const std::string& name) {
  const PublicArea p = read_public_area(tpmt_public, name, false);
  Owned<EVP_PKEY> key = public_key(p, name);
  EndorsementKey ek;
  ek.tpmt_public.assign(tpmt_public.begin(), tpmt_public.end());
  ek.type = p.type;
  ek.name_alg = p.name_alg;
  ek.attributes = p.attributes;
  ek.algorithm = algorithm_name(p);
  ek.tcg_template = matching_template(tpmt_public, p);
  ek.public_key.reset(key.release(), OpenSslFree());
  ek.name = tpm_name(p.name_alg, tpmt_public);
  return ek;
}

std::string public_key_pem(const EndorsementKey& ek) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), ek.public_key.get()) != 1) {
    crypto_failure("PEM_write_bio_PUBKEY");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Manifest parse_manifest(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) throw InputError(name, "empty manifest");
  const auto& guid = vtpm::kServicesManifestGuid.bytes;
  if (bytes.size() >= sizeof guid && std::memcmp(bytes.data(), guid, sizeof guid) == 0) {
    return parse_services_manifest(bytes, name);
  }
  Manifest manifest;
  if (bytes.size() == sizeof(formats::state::StateEvidence) && bytes[0] != 0) {
    manifest.state = parse_state_entry(bytes, name, "cvtpm state manifest");
    return manifest;
  }
  manifest.ek = parse_endorsement_key(bytes, name);
  return manifest;
}

}  // namespace cvtpm::verify
