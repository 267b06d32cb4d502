// What OPENSSL_init_crypto (libcrypto.a's init.o) reaches, trimmed like the provider
// (libcrypto/default_provider.cpp): init.o references the functions below, and the archive
// members defining them pull in every legacy cipher and digest (ChaCha20, ARIA, SEED, SM3/SM4,
// the stitched AES-SHA ciphers with their multi-buffer SHA code, ...), the CMP logging with the
// whole X.509 and HTTP client stack behind it, and engines loaded from hardware or files. Defining
// them here keeps those members out of the link (a member pulled in for another reason would
// collide with these definitions and fail the link, naming the symbol):
//
//   openssl_add_all_ciphers_int / _digests_int   register the legacy names libtpms uses
//                                                 (EVP_get_digestbyname) and nothing else
//   OSSL_CMP_log_close                            nothing to close: CMP is never used
//   engine_load_*_int                             never asked for (no OPENSSL_INIT_ENGINE_*
//                                                 flag): panic if that changes
#include <openssl/cmp_util.h>
#include <openssl/evp.h>

#include "libcrypto/libtpms_algorithms.h"
#include "panic/panic.h"

extern "C" {

void openssl_add_all_ciphers_int(void) {
#define CVTPM_ADD(name) EVP_add_cipher(EVP_##name());
  CVTPM_LIBTPMS_EVP_CIPHERS(CVTPM_ADD)
#undef CVTPM_ADD
  EVP_add_cipher(EVP_aes_256_gcm());  // SNP guest request messages
}

void openssl_add_all_digests_int(void) {
  EVP_add_digest(EVP_sha1());
  EVP_add_digest(EVP_sha224());
  EVP_add_digest(EVP_sha256());
  EVP_add_digest(EVP_sha384());
  EVP_add_digest(EVP_sha512());
}

void OSSL_CMP_log_close(void) {}

void engine_load_openssl_int(void) {
  cvtpm::fw::panic("libcrypto: engines are not linked into cvtpm-fw (engine_load_openssl_int)");
}
void engine_load_afalg_int(void) {
  cvtpm::fw::panic("libcrypto: engines are not linked into cvtpm-fw (engine_load_afalg_int)");
}
void engine_load_padlock_int(void) {
  cvtpm::fw::panic("libcrypto: engines are not linked into cvtpm-fw (engine_load_padlock_int)");
}
void engine_load_dynamic_int(void) {
  cvtpm::fw::panic("libcrypto: engines are not linked into cvtpm-fw (engine_load_dynamic_int)");
}

}  // extern "C"
