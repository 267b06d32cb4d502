// libcrypto's "default" provider, trimmed to what the firmware uses. The way TPM 1.2 is excluded
// (libtpms/tpm12_excluded.cpp): libcrypto.a's own default provider (defltprov.o) lists every
// algorithm implementation OpenSSL has, so linking it links all of them (and through them
// curve25519/448, SM2/3/4, DSA, DH, ChaCha20, Poly1305, BLAKE2, ARIA, the stitched AES-SHA ciphers,
// encoders, decoders, the file store...), all measured at launch. This file defines the table
// libcrypto walks to find its built-in providers (`ossl_predefined_providers`, so the archive's
// provider_predefined.o — and with it defltprov.o and the base provider — stay out of the link)
// with one fallback provider named "default" that offers only:
//
//   digests      SHA-1, SHA-224, SHA-256, SHA-384, SHA-512            (libtpms, attestation, us)
//   ciphers      AES, Camellia (128/192/256) and 3DES in ECB/CBC/OFB/CFB/CTR as libtpms's
//                EVP getters name them (libcrypto/libtpms_algorithms.h); AES-256-GCM (the SNP
//                platform's guest request messages)
//   keymgmt      RSA, EC; signature RSA, ECDSA; asymmetric cipher RSA   (libtpms's EVP_PKEY use)
//   random       CTR-DRBG with its seed source                          (RAND_bytes)
//
// Everything else is absent: a fetch of another algorithm fails (NULL), it cannot run code that
// is not linked. The self-test fetches every algorithm libtpms references; the image test checks
// that libtpms.a references no EVP getter beyond libtpms_algorithms.h.
//
// Facts used (from Debian's libcrypto.a 3.0, the archive this links): the layout of libcrypto's
// OSSL_PROVIDER_INFO (name, path, init, parameters, is_fallback bit — 40 bytes), the names of the
// implementation tables (ossl_<alg>_functions) and of the provider-context helpers, and the
// algorithm name strings. The provider itself uses the public provider interface
// (openssl/core_dispatch.h).
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstddef>

namespace {

// libcrypto's crypto/provider_local.h OSSL_PROVIDER_INFO.
struct PredefinedProvider {
  const char* name;
  const char* path;
  OSSL_provider_init_fn* init;
  void* parameters;  // STACK_OF(INFOPAIR)*
  unsigned int is_fallback : 1;
};
static_assert(sizeof(PredefinedProvider) == 40);
static_assert(offsetof(PredefinedProvider, init) == 16);
static_assert(offsetof(PredefinedProvider, parameters) == 24);

}  // namespace

extern "C" {

// Provider context helpers (providers/common/provider_ctx.c, libcommon in libcrypto.a): every
// implementation expects its provctx to be one of these.
void* ossl_prov_ctx_new(void);
void ossl_prov_ctx_free(void* provctx);
void ossl_prov_ctx_set0_libctx(void* provctx, OSSL_LIB_CTX* libctx);
void ossl_prov_ctx_set0_handle(void* provctx, const OSSL_CORE_HANDLE* handle);
// The core's entropy and nonce callbacks for the DRBGs (providers/common/provider_seeding.c).
int ossl_prov_seeding_from_dispatch(const OSSL_DISPATCH* in);

// clang-format off
#define CVTPM_IMPLEMENTATIONS(X) \
  X(sha1) \
  X(sha224) \
  X(sha256) \
  X(sha384) \
  X(sha512) \
  X(aes128ecb) \
  X(aes192ecb) \
  X(aes256ecb) \
  X(aes128cbc) \
  X(aes192cbc) \
  X(aes256cbc) \
  X(aes128ofb) \
  X(aes192ofb) \
  X(aes256ofb) \
  X(aes128cfb) \
  X(aes192cfb) \
  X(aes256cfb) \
  X(aes128ctr) \
  X(aes192ctr) \
  X(aes256ctr) \
  X(camellia128ecb) \
  X(camellia192ecb) \
  X(camellia256ecb) \
  X(camellia128cbc) \
  X(camellia192cbc) \
  X(camellia256cbc) \
  X(camellia128ofb) \
  X(camellia192ofb) \
  X(camellia256ofb) \
  X(camellia128cfb) \
  X(camellia192cfb) \
  X(camellia256cfb) \
  X(camellia128ctr) \
  X(camellia192ctr) \
  X(camellia256ctr) \
  X(aes256gcm) \
  X(tdes_ede3_ecb) \
  X(tdes_ede3_cbc) \
  X(tdes_ede3_ofb) \
  X(tdes_ede3_cfb) \
  X(rsa_keymgmt) \
  X(ec_keymgmt) \
  X(rsa_signature) \
  X(ecdsa_signature) \
  X(rsa_asym_cipher) \
  X(drbg_ctr) \
  X(seed_src)
// clang-format on
#define CVTPM_DECLARE(name) extern const OSSL_DISPATCH ossl_##name##_functions[];
CVTPM_IMPLEMENTATIONS(CVTPM_DECLARE)
#undef CVTPM_DECLARE

}  // extern "C"

namespace {

constexpr char kProps[] = "provider=default";

#define CVTPM_ALG(names, impl) \
  { names, kProps, ossl_##impl##_functions, nullptr }
constexpr OSSL_ALGORITHM kEnd = {nullptr, nullptr, nullptr, nullptr};

const OSSL_ALGORITHM kDigests[] = {
    CVTPM_ALG("SHA1:SHA-1:SSL3-SHA1:1.3.14.3.2.26", sha1),
    CVTPM_ALG("SHA2-224:SHA-224:SHA224:2.16.840.1.101.3.4.2.4", sha224),
    CVTPM_ALG("SHA2-256:SHA-256:SHA256:2.16.840.1.101.3.4.2.1", sha256),
    CVTPM_ALG("SHA2-384:SHA-384:SHA384:2.16.840.1.101.3.4.2.2", sha384),
    CVTPM_ALG("SHA2-512:SHA-512:SHA512:2.16.840.1.101.3.4.2.3", sha512),
    kEnd};

const OSSL_ALGORITHM kCiphers[] = {
    CVTPM_ALG("AES-128-ECB:2.16.840.1.101.3.4.1.1", aes128ecb),
    CVTPM_ALG("AES-192-ECB:2.16.840.1.101.3.4.1.21", aes192ecb),
    CVTPM_ALG("AES-256-ECB:2.16.840.1.101.3.4.1.41", aes256ecb),
    CVTPM_ALG("AES-128-CBC:AES128:2.16.840.1.101.3.4.1.2", aes128cbc),
    CVTPM_ALG("AES-192-CBC:AES192:2.16.840.1.101.3.4.1.22", aes192cbc),
    CVTPM_ALG("AES-256-CBC:AES256:2.16.840.1.101.3.4.1.42", aes256cbc),
    CVTPM_ALG("AES-128-OFB:2.16.840.1.101.3.4.1.3", aes128ofb),
    CVTPM_ALG("AES-192-OFB:2.16.840.1.101.3.4.1.23", aes192ofb),
    CVTPM_ALG("AES-256-OFB:2.16.840.1.101.3.4.1.43", aes256ofb),
    CVTPM_ALG("AES-128-CFB:2.16.840.1.101.3.4.1.4", aes128cfb),
    CVTPM_ALG("AES-192-CFB:2.16.840.1.101.3.4.1.24", aes192cfb),
    CVTPM_ALG("AES-256-CFB:2.16.840.1.101.3.4.1.44", aes256cfb),
    CVTPM_ALG("AES-128-CTR", aes128ctr),
    CVTPM_ALG("AES-192-CTR", aes192ctr),
    CVTPM_ALG("AES-256-CTR", aes256ctr),
    CVTPM_ALG("CAMELLIA-128-ECB:0.3.4401.5.3.1.9.1", camellia128ecb),
    CVTPM_ALG("CAMELLIA-192-ECB:0.3.4401.5.3.1.9.21", camellia192ecb),
    CVTPM_ALG("CAMELLIA-256-ECB:0.3.4401.5.3.1.9.41", camellia256ecb),
    CVTPM_ALG("CAMELLIA-128-CBC:CAMELLIA128:1.2.392.200011.61.1.1.1.2", camellia128cbc),
    CVTPM_ALG("CAMELLIA-192-CBC:CAMELLIA192:1.2.392.200011.61.1.1.1.3", camellia192cbc),
    CVTPM_ALG("CAMELLIA-256-CBC:CAMELLIA256:1.2.392.200011.61.1.1.1.4", camellia256cbc),
    CVTPM_ALG("CAMELLIA-128-OFB:0.3.4401.5.3.1.9.3", camellia128ofb),
    CVTPM_ALG("CAMELLIA-192-OFB:0.3.4401.5.3.1.9.23", camellia192ofb),
    CVTPM_ALG("CAMELLIA-256-OFB:0.3.4401.5.3.1.9.43", camellia256ofb),
    CVTPM_ALG("CAMELLIA-128-CFB:0.3.4401.5.3.1.9.4", camellia128cfb),
    CVTPM_ALG("CAMELLIA-192-CFB:0.3.4401.5.3.1.9.24", camellia192cfb),
    CVTPM_ALG("CAMELLIA-256-CFB:0.3.4401.5.3.1.9.44", camellia256cfb),
    CVTPM_ALG("CAMELLIA-128-CTR:0.3.4401.5.3.1.9.9", camellia128ctr),
    CVTPM_ALG("CAMELLIA-192-CTR:0.3.4401.5.3.1.9.29", camellia192ctr),
    CVTPM_ALG("CAMELLIA-256-CTR:0.3.4401.5.3.1.9.49", camellia256ctr),
    CVTPM_ALG("AES-256-GCM:id-aes256-GCM:2.16.840.1.101.3.4.1.46", aes256gcm),
    CVTPM_ALG("DES-EDE3-ECB:DES-EDE3", tdes_ede3_ecb),
    CVTPM_ALG("DES-EDE3-CBC:DES3:1.2.840.113549.3.7", tdes_ede3_cbc),
    CVTPM_ALG("DES-EDE3-OFB", tdes_ede3_ofb),
    CVTPM_ALG("DES-EDE3-CFB", tdes_ede3_cfb),
    kEnd};

const OSSL_ALGORITHM kKeyManagement[] = {
    CVTPM_ALG("RSA:rsaEncryption:1.2.840.113549.1.1.1", rsa_keymgmt),
    CVTPM_ALG("EC:id-ecPublicKey:1.2.840.10045.2.1", ec_keymgmt), kEnd};

const OSSL_ALGORITHM kSignatures[] = {
    CVTPM_ALG("RSA:rsaEncryption:1.2.840.113549.1.1.1", rsa_signature),
    CVTPM_ALG("ECDSA", ecdsa_signature), kEnd};

const OSSL_ALGORITHM kAsymmetricCiphers[] = {
    CVTPM_ALG("RSA:rsaEncryption:1.2.840.113549.1.1.1", rsa_asym_cipher), kEnd};

const OSSL_ALGORITHM kRandom[] = {CVTPM_ALG("CTR-DRBG", drbg_ctr), CVTPM_ALG("SEED-SRC", seed_src),
                                  kEnd};

#undef CVTPM_ALG

const OSSL_ALGORITHM* query_operation(void* /*provctx*/, int operation, int* no_cache) {
  *no_cache = 0;
  switch (operation) {
    case OSSL_OP_DIGEST:
      return kDigests;
    case OSSL_OP_CIPHER:
      return kCiphers;
    case OSSL_OP_KEYMGMT:
      return kKeyManagement;
    case OSSL_OP_SIGNATURE:
      return kSignatures;
    case OSSL_OP_ASYM_CIPHER:
      return kAsymmetricCiphers;
    case OSSL_OP_RAND:
      return kRandom;
    default:
      return nullptr;
  }
}

const OSSL_PARAM kParamTypes[] = {
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, nullptr, 0),
    OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, nullptr, 0), OSSL_PARAM_END};

const OSSL_PARAM* gettable_params(void* /*provctx*/) {
  return kParamTypes;
}

int get_params(void* /*provctx*/, OSSL_PARAM params[]) {
  OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
  if (p != nullptr && OSSL_PARAM_set_utf8_ptr(p, "cvtpm-fw trimmed default provider") == 0) {
    return 0;
  }
  p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
  if (p != nullptr && OSSL_PARAM_set_int(p, 1) == 0) return 0;
  return 1;
}

void teardown(void* provctx) {
  ossl_prov_ctx_free(provctx);
}

// OSSL_DISPATCH carries every function as void (*)(void) (the type casts to any function
// pointer type and back without a -Wcast-function-type warning).
template <typename F>
void (*as_dispatch(F* function))(void) {
  return reinterpret_cast<void (*)(void)>(function);
}

const OSSL_DISPATCH kProviderFunctions[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, as_dispatch(teardown)},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, as_dispatch(gettable_params)},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, as_dispatch(get_params)},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, as_dispatch(query_operation)},
    {0, nullptr}};

int provider_init(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in,
                  const OSSL_DISPATCH** out, void** provctx) {
  if (ossl_prov_seeding_from_dispatch(in) == 0) return 0;
  OSSL_FUNC_core_get_libctx_fn* get_libctx = nullptr;
  for (const OSSL_DISPATCH* f = in; f->function_id != 0; ++f) {
    if (f->function_id == OSSL_FUNC_CORE_GET_LIBCTX) get_libctx = OSSL_FUNC_core_get_libctx(f);
  }
  if (get_libctx == nullptr) return 0;
  *provctx = ossl_prov_ctx_new();
  if (*provctx == nullptr) return 0;
  // The implementations find their library context (for nested fetches such as CTR-DRBG's
  // AES-256-CTR) through the provider context.
  ossl_prov_ctx_set0_libctx(*provctx, reinterpret_cast<OSSL_LIB_CTX*>(get_libctx(handle)));
  ossl_prov_ctx_set0_handle(*provctx, handle);
  *out = kProviderFunctions;
  return 1;
}

}  // namespace

// Found by libcrypto's provider_core.c; the only built-in provider, loaded as the fallback.
extern "C" const PredefinedProvider ossl_predefined_providers[] = {
    {"default", nullptr, provider_init, nullptr, 1},
    {nullptr, nullptr, nullptr, nullptr, 0},
};
