#include "cvtpm/measure/snp_keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cstring>
#include <stdexcept>

#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"
#include "cvtpm/support/openssl_ptr.h"

namespace cvtpm::measure {
namespace {

template <typename T>
using Owned = OpenSslPtr<T>;

[[noreturn]] void crypto_failure(const char* what) {
  openssl_failure(what);
}

constexpr std::size_t kCoordinateBytes = 72;  // SNP ABI field width
constexpr std::size_t kP384Bytes = 48;

void bn_to_le(const BIGNUM* bn, std::uint8_t (&out)[kCoordinateBytes]) {
  if (BN_bn2lebinpad(bn, out, kCoordinateBytes) != static_cast<int>(kCoordinateBytes)) {
    crypto_failure("BN_bn2lebinpad");
  }
}

Owned<BIGNUM> le_to_bn(const std::uint8_t (&in)[kCoordinateBytes]) {
  Owned<BIGNUM> bn(BN_lebin2bn(in, kCoordinateBytes, nullptr));
  if (!bn) crypto_failure("BN_lebin2bn");
  return bn;
}

void require_p384(const EVP_PKEY& key, const std::string& name) {
  if (!EVP_PKEY_is_a(&key, "EC")) throw InputError(name, "not an EC key (need ECDSA P-384)");
  char curve[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(&key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve, &len) !=
          1 ||
      std::strcmp(curve, SN_secp384r1) != 0) {
    throw InputError(
        name, std::string("EC key on curve '") + curve + "', but SNP needs P-384 (secp384r1)");
  }
}

}  // namespace

struct EcP384PrivateKey::Impl {
  Owned<EVP_PKEY> pkey;
};

EcP384PrivateKey::EcP384PrivateKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EcP384PrivateKey::EcP384PrivateKey(EcP384PrivateKey&&) noexcept = default;
EcP384PrivateKey& EcP384PrivateKey::operator=(EcP384PrivateKey&&) noexcept = default;
EcP384PrivateKey::~EcP384PrivateKey() = default;

EcP384PrivateKey EcP384PrivateKey::load_pem_file(const std::filesystem::path& path) {
  return from_pem(read_file(path), path.string());
}

EcP384PrivateKey EcP384PrivateKey::from_pem(std::span<const std::uint8_t> pem,
                                            const std::string& name) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) crypto_failure("BIO_new_mem_buf");
  // An empty passphrase callback: encrypted keys fail instead of prompting on the terminal.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  Owned<EVP_PKEY> pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!pkey) throw InputError(name, "not an unencrypted PEM private key");
  require_p384(*pkey, name);
  auto impl = std::make_unique<Impl>();
  impl->pkey = std::move(pkey);
  return EcP384PrivateKey(std::move(impl));
}

EcdsaPublicKey EcP384PrivateKey::public_key() const {
  return snp_public_key(*impl_->pkey, "private key");
}

EcdsaPublicKey snp_public_key(const EVP_PKEY& pkey, const std::string& name) {
  require_p384(pkey, name);
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  if (EVP_PKEY_get_bn_param(&pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
      EVP_PKEY_get_bn_param(&pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
    BN_free(x);
    crypto_failure("reading the public key");
  }
  Owned<BIGNUM> ox(x), oy(y);
  EcdsaPublicKey key{};
  key.curve = formats::snp::kCurveP384;
  bn_to_le(x, key.qx);
  bn_to_le(y, key.qy);
  return key;
}

EcdsaSignature EcP384PrivateKey::sign(std::span<const std::uint8_t> data) const {
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA384", nullptr, nullptr, impl_->pkey.get(),
                            nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, data.data(), data.size()) != 1) {
    crypto_failure("ECDSA sign setup");
  }
  std::vector<unsigned char> der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, data.data(), data.size()) != 1) {
    crypto_failure("ECDSA sign");
  }
  const unsigned char* p = der.data();
  Owned<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) crypto_failure("decoding the ECDSA signature");
  EcdsaSignature out{};
  bn_to_le(ECDSA_SIG_get0_r(sig.get()), out.r);
  bn_to_le(ECDSA_SIG_get0_s(sig.get()), out.s);
  return out;
}

bool verify_snp_signature(const EcdsaPublicKey& key, std::span<const std::uint8_t> data,
                          const EcdsaSignature& signature) {
  if (key.curve != formats::snp::kCurveP384) return false;
  // Uncompressed point 04 || X || Y, big-endian, for OpenSSL.
  std::uint8_t point[1 + 2 * kP384Bytes] = {0x04};
  Owned<BIGNUM> x = le_to_bn(key.qx), y = le_to_bn(key.qy);
  if (BN_bn2binpad(x.get(), point + 1, kP384Bytes) < 0 ||
      BN_bn2binpad(y.get(), point + 1 + kP384Bytes, kP384Bytes) < 0) {
    return false;  // coordinates wider than P-384
  }
  Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, SN_secp384r1, 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point) !=
          1) {
    crypto_failure("building a public key");
  }
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
  Owned<EVP_PKEY_CTX> kctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !kctx || EVP_PKEY_fromdata_init(kctx.get()) != 1 ||
      EVP_PKEY_fromdata(kctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return false;  // not a point on the curve
  }
  Owned<EVP_PKEY> pkey(raw);

  Owned<ECDSA_SIG> sig(ECDSA_SIG_new());
  Owned<BIGNUM> r = le_to_bn(signature.r), s = le_to_bn(signature.s);
  if (!sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) crypto_failure("ECDSA_SIG_set0");
  r.release();
  s.release();
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) crypto_failure("encoding the ECDSA signature");
  std::unique_ptr<unsigned char, void (*)(void*)> der_owner(der, [](void* q) { OPENSSL_free(q); });

  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA384", nullptr, nullptr, pkey.get(),
                                      nullptr) != 1) {
    crypto_failure("ECDSA verify setup");
  }
  return EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_len), data.data(),
                          data.size()) == 1;
}

Sha384Digest public_key_digest(const EcdsaPublicKey& key) {
  return sha384(struct_bytes(key));
}

}  // namespace cvtpm::measure
