// libtpms in the firmware: TPMLIB_MainInit with in-memory NV callbacks (no stored state:
// loaddata answers TPM_RETRY, so libtpms manufactures a new TPM and stores its permanent state
// through storedata), then TPM2_Startup(CLEAR), TPM2_GetRandom and TPM2_CreatePrimary (ECC
// P-256 storage key) through TPMLIB_Process. The primary's public point is checked to lie on
// P-256 with libcrypto, independently of libtpms. Commands are marshaled by hand (TPM 2.0
// Library Part 3); this is a runtime check, the vTPM's engine lives in vtpm_fw/core.
#include <cstdlib>

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "cvtpm/formats/endian.h"
#include "libc/shim.h"
#include "selftest/check.h"

namespace cvtpm::fw::selftest {

namespace {

using formats::load_be;

// In-memory NV store for the three state blobs libtpms keeps.
struct Blob {
  const char* name;
  unsigned char* data;
  std::uint32_t length;
  int stores;
};
Blob g_blobs[] = {
    {"permall", nullptr, 0, 0}, {"volatilestate", nullptr, 0, 0}, {"savestate", nullptr, 0, 0}};

Blob* find_blob(const char* name) {
  for (Blob& b : g_blobs) {
    if (libc::strcmp(b.name, name) == 0) return &b;
  }
  return nullptr;
}

TPM_RESULT nv_init() {
  return TPM_SUCCESS;
}

TPM_RESULT nv_load(unsigned char** data, uint32_t* length, uint32_t, const char* name) {
  Blob* blob = find_blob(name);
  if (blob == nullptr || blob->data == nullptr) return TPM_RETRY;  // nothing stored: manufacture
  *data = static_cast<unsigned char*>(std::malloc(blob->length));
  if (*data == nullptr) return TPM_FAIL;
  libc::memcpy(*data, blob->data, blob->length);
  *length = blob->length;
  return TPM_SUCCESS;
}

TPM_RESULT nv_store(const unsigned char* data, uint32_t length, uint32_t, const char* name) {
  Blob* blob = find_blob(name);
  if (blob == nullptr) return TPM_FAIL;
  auto* copy = static_cast<unsigned char*>(std::malloc(length == 0 ? 1 : length));
  if (copy == nullptr) return TPM_FAIL;
  libc::memcpy(copy, data, length);
  std::free(blob->data);
  blob->data = copy;
  blob->length = length;
  ++blob->stores;
  return TPM_SUCCESS;
}

TPM_RESULT nv_delete(uint32_t, const char* name, TPM_BOOL must_exist) {
  Blob* blob = find_blob(name);
  if (blob == nullptr || blob->data == nullptr) return must_exist ? TPM_FAIL : TPM_SUCCESS;
  std::free(blob->data);
  blob->data = nullptr;
  blob->length = 0;
  return TPM_SUCCESS;
}

TPM_RESULT io_init() {
  return TPM_SUCCESS;
}
TPM_RESULT io_locality(TPM_MODIFIER_INDICATOR* locality, uint32_t) {
  *locality = 0;
  return TPM_SUCCESS;
}
TPM_RESULT io_presence(TPM_BOOL* present, uint32_t) {
  *present = FALSE;
  return TPM_SUCCESS;
}

struct Response {
  unsigned char* buffer = nullptr;
  uint32_t size = 0;
  uint32_t capacity = 0;
  TPM_RESULT library = TPM_FAIL;

  std::uint32_t rc() const { return size >= 10 ? load_be<std::uint32_t>(buffer + 6) : 0xFFFFFFFF; }
};

void process(Response& r, const unsigned char* command, std::size_t length) {
  unsigned char copy[512];
  libc::memcpy(copy, command, length);
  r.library = TPMLIB_Process(&r.buffer, &r.size, &r.capacity, copy, static_cast<uint32_t>(length));
}

constexpr unsigned char kStartupClear[] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                           0x00, 0x00, 0x01, 0x44, 0x00, 0x00};
constexpr unsigned char kGetRandom32[] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                          0x00, 0x00, 0x01, 0x7b, 0x00, 0x20};

// TPM2_CreatePrimary(TPM_RH_OWNER, password session, empty sensitive, ECC P-256 restricted
// decryption key with AES-128-CFB, SHA-256 name, empty outsideInfo and PCR selection).
constexpr unsigned char kCreatePrimaryEccP256[] = {
    0x80, 0x02, 0x00, 0x00, 0x00, 0x43, 0x00, 0x00, 0x01, 0x31,  // header, size 67
    0x40, 0x00, 0x00, 0x01,                                      // TPM_RH_OWNER
    0x00, 0x00, 0x00, 0x09, 0x40, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00,  // TPM_RS_PW
    0x00, 0x04, 0x00, 0x00, 0x00, 0x00,  // inSensitive: empty userAuth and data
    0x00, 0x1a,                          // inPublic, 26 bytes
    0x00, 0x23, 0x00, 0x0b,              // TPM_ALG_ECC, nameAlg SHA-256
    0x00, 0x03, 0x00, 0x72,              // fixedTPM fixedParent sensitiveDataOrigin
                                         // userWithAuth restricted decrypt
    0x00, 0x00,                          // authPolicy
    0x00, 0x06, 0x00, 0x80, 0x00, 0x43,  // symmetric AES-128-CFB
    0x00, 0x10,                          // scheme TPM_ALG_NULL
    0x00, 0x03,                          // TPM_ECC_NIST_P256
    0x00, 0x10,                          // kdf TPM_ALG_NULL
    0x00, 0x00, 0x00, 0x00,              // unique: empty x, y
    0x00, 0x00,                          // outsideInfo
    0x00, 0x00, 0x00, 0x00,              // creationPCR: none
};
static_assert(sizeof kCreatePrimaryEccP256 == 0x43);

// Reads outPublic's ECC point from a CreatePrimary response; false if the layout is off.
bool ecc_point(const Response& r, const unsigned char** x, const unsigned char** y) {
  // header(10) handle(4) parameterSize(4) TPM2B_PUBLIC: size(2) type(2) nameAlg(2) attributes(4)
  // authPolicy(2+n) symmetric(6) scheme(2) curve(2) kdf(2) unique.x(2+n) unique.y(2+n)
  std::size_t at = 10 + 4 + 4 + 2;
  auto need = [&](std::size_t n) { return at + n <= r.size; };
  if (!need(8) || load_be<std::uint16_t>(r.buffer + at) != 0x0023) return false;
  at += 8;
  if (!need(2)) return false;
  at += 2 + load_be<std::uint16_t>(r.buffer + at);
  at += 12;
  if (!need(2) || load_be<std::uint16_t>(r.buffer + at) != 32) return false;
  *x = r.buffer + at + 2;
  at += 2 + 32;
  if (!need(2) || load_be<std::uint16_t>(r.buffer + at) != 32 || !need(34)) return false;
  *y = r.buffer + at + 2;
  return true;
}

bool on_p256(const unsigned char* x, const unsigned char* y) {
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  EC_POINT* point = group != nullptr ? EC_POINT_new(group) : nullptr;
  BIGNUM* bx = BN_bin2bn(x, 32, nullptr);
  BIGNUM* by = BN_bin2bn(y, 32, nullptr);
  const bool ok = point != nullptr && bx != nullptr && by != nullptr &&
                  EC_POINT_set_affine_coordinates(group, point, bx, by, nullptr) == 1 &&
                  EC_POINT_is_on_curve(group, point, nullptr) == 1;
  BN_free(bx);
  BN_free(by);
  EC_POINT_free(point);
  EC_GROUP_free(group);
  return ok;
}

}  // namespace

bool run_tpm_checks(Checks& checks) {
  const std::uint32_t version = TPMLIB_GetVersion();
  libtpms_callbacks callbacks{};
  callbacks.sizeOfStruct = sizeof callbacks;
  callbacks.tpm_nvram_init = nv_init;
  callbacks.tpm_nvram_loaddata = nv_load;
  callbacks.tpm_nvram_storedata = nv_store;
  callbacks.tpm_nvram_deletename = nv_delete;
  callbacks.tpm_io_init = io_init;
  callbacks.tpm_io_getlocality = io_locality;
  callbacks.tpm_io_getphysicalpresence = io_presence;

  const TPM_RESULT chosen = TPMLIB_ChooseTPMVersion(TPMLIB_TPM_VERSION_2);
  const TPM_RESULT registered = TPMLIB_RegisterCallbacks(&callbacks);
  const TPM_RESULT initialized = TPMLIB_MainInit();
  const Blob* permanent = find_blob("permall");
  bool ok =
      checks.expect(chosen == TPM_SUCCESS && registered == TPM_SUCCESS &&
                        initialized == TPM_SUCCESS && permanent->stores > 0,
                    "libtpms manufactures a TPM 2.0",
                    "libtpms %u.%u.%u, MainInit rc %u, permanent state %u bytes", version >> 16,
                    (version >> 8) & 0xFF, version & 0xFF, initialized, permanent->length);
  if (initialized != TPM_SUCCESS) return false;

  Response r;
  process(r, kStartupClear, sizeof kStartupClear);
  ok &= checks.expect(r.library == TPM_SUCCESS && r.rc() == 0, "TPM2_Startup(CLEAR)", "rc 0x%x",
                      r.rc());

  process(r, kGetRandom32, sizeof kGetRandom32);
  bool random_ok = r.library == TPM_SUCCESS && r.rc() == 0 && r.size == 12 + 32 &&
                   load_be<std::uint16_t>(r.buffer + 10) == 32;
  unsigned char first[32] = {};
  if (random_ok) libc::memcpy(first, r.buffer + 12, 32);
  process(r, kGetRandom32, sizeof kGetRandom32);
  random_ok =
      random_ok && r.rc() == 0 && r.size == 44 && libc::memcmp(first, r.buffer + 12, 32) != 0;
  ok &= checks.expect(random_ok, "TPM2_GetRandom(32) twice, different", "rc 0x%x", r.rc());

  process(r, kCreatePrimaryEccP256, sizeof kCreatePrimaryEccP256);
  const unsigned char* x = nullptr;
  const unsigned char* y = nullptr;
  const std::uint32_t handle = r.size >= 14 ? load_be<std::uint32_t>(r.buffer + 10) : 0;
  const bool created =
      r.library == TPM_SUCCESS && r.rc() == 0 && (handle >> 24) == 0x80 && ecc_point(r, &x, &y);
  ok &= checks.expect(created, "TPM2_CreatePrimary(ECC P-256)", "rc 0x%x, handle 0x%x, %u bytes",
                      r.rc(), handle, r.size);
  ok &= checks.expect(created && on_p256(x, y), "primary key's point is on P-256 (libcrypto)");

  if (created) {
    unsigned char flush[14] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x01, 0x65};
    formats::store_be<std::uint32_t>(flush + 10, handle);
    process(r, flush, sizeof flush);
    ok &= checks.expect(r.library == TPM_SUCCESS && r.rc() == 0, "TPM2_FlushContext", "rc 0x%x",
                        r.rc());
  }

  std::free(r.buffer);
  TPMLIB_Terminate();
  for (Blob& b : g_blobs) {
    std::free(b.data);
    b = Blob{b.name, nullptr, 0, 0};
  }
  return ok;
}

}  // namespace cvtpm::fw::selftest
