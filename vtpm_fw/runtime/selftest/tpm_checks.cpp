// The vTPM service in the firmware, reached the way a guest reaches it: TPM commands go through
// the transport handler the serial link uses (SVSM_VTPM_CMD built in a guest page and served by
// the dispatcher into the engine the boot manufactured), attestation and core-protocol calls
// through the native guest's calling area. Commands are marshaled by hand (TPM 2.0 Library
// Part 3); results are checked independently where possible (the primary's point with
// libcrypto, REPORT_DATA recomputed with EVP SHA-512, the EK against a fresh TPM2_CreatePrimary
// of the TCG template).
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "cvtpm/formats/endian.h"
#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/vtpm/ek_template.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "libc/shim.h"
#include "selftest/check.h"

namespace cvtpm::fw::selftest {

namespace {

using formats::load_be;

struct Response {
  unsigned char bytes[4096];
  std::size_t size = 0;

  std::uint32_t rc() const { return size >= 10 ? load_be<std::uint32_t>(bytes + 6) : 0xFFFFFFFF; }
};

void run(native::NativeVtpm& vtpm, Response& r, const unsigned char* command, std::size_t length) {
  r.size = vtpm.handler.execute({command, length}, r.bytes);
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

// outPublic (TPMT_PUBLIC) of a CreatePrimary response: header(10) handle(4) parameterSize(4)
// TPM2B_PUBLIC(size(2) + area). Empty if the layout is off.
std::span<const unsigned char> out_public(const Response& r) {
  constexpr std::size_t kAt = 10 + 4 + 4;
  if (r.size < kAt + 2) return {};
  const std::size_t size = load_be<std::uint16_t>(r.bytes + kAt);
  if (kAt + 2 + size > r.size) return {};
  return {r.bytes + kAt + 2, size};
}

// The ECC point of an ECC P-256 TPMT_PUBLIC; false if the layout is off.
bool ecc_point(std::span<const unsigned char> area, const unsigned char** x,
               const unsigned char** y) {
  // type(2) nameAlg(2) attributes(4) authPolicy(2+n) symmetric(6) scheme(2) curve(2) kdf(2)
  // unique.x(2+n) unique.y(2+n)
  std::size_t at = 0;
  auto need = [&](std::size_t n) { return at + n <= area.size(); };
  if (!need(8) || load_be<std::uint16_t>(area.data()) != 0x0023) return false;
  at = 8;
  if (!need(2)) return false;
  at += 2 + load_be<std::uint16_t>(area.data() + at);
  at += 12;
  if (!need(2) || load_be<std::uint16_t>(area.data() + at) != 32) return false;
  *x = area.data() + at + 2;
  at += 2 + 32;
  if (!need(34) || load_be<std::uint16_t>(area.data() + at) != 32) return false;
  *y = area.data() + at + 2;
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

bool flush(native::NativeVtpm& vtpm, std::uint32_t handle) {
  unsigned char command[14] = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x01, 0x65};
  formats::store_be<std::uint32_t>(command + 10, handle);
  Response r;
  run(vtpm, r, command, sizeof command);
  return r.rc() == 0;
}

std::uint32_t handle_of(const Response& r) {
  return r.size >= 14 ? load_be<std::uint32_t>(r.bytes + 10) : 0;
}

std::uint64_t call(native::NativeVtpm& vtpm, vtpm::Protocol protocol, std::uint32_t id,
                   std::uint64_t rcx, std::uint64_t* rcx_out = nullptr) {
  const native::SvsmGuest::Call c = vtpm.guest.call({vtpm::call_rax(protocol, id), rcx, 0, 0, 0});
  if (rcx_out != nullptr) *rcx_out = c.regs.rcx;
  return c.served ? c.regs.rax : ~std::uint64_t{0};
}

// SVSM_VTPM_CMD with a request header written by hand at `gpa` (a guest page unless the check
// is about firmware memory); returns RAX.
std::uint64_t raw_vtpm_cmd(native::NativeVtpm& vtpm, std::uint64_t gpa, std::uint8_t locality) {
  if (vtpm.platform.guest_owns(gpa, vtpm::kVtpmBufferSize)) {
    const vtpm::TpmSendCommandRequest request{vtpm::platform_command::kSendCommand, locality,
                                              sizeof kGetRandom32};
    unsigned char* page = vtpm.platform.guest_pointer(gpa);
    libc::memcpy(page, &request, sizeof request);
    libc::memcpy(page + sizeof request, kGetRandom32, sizeof kGetRandom32);
  }
  return call(vtpm, vtpm::Protocol::kVtpm, vtpm::vtpm_call::kCmd, gpa);
}

// PVALIDATE of one 4K page with `flags` (validate, ignore-CF) from a list in the scratch page.
std::uint64_t pvalidate(native::NativeVtpm& vtpm, std::uint64_t page, std::uint64_t flags) {
  const std::uint64_t list = vtpm.guest.area().scratch;
  const vtpm::PvalidateRequestHeader header{1, 0, 0};
  const std::uint64_t entry = page | flags | vtpm::pvalidate_entry::kPageSize4K;
  unsigned char* bytes = vtpm.platform.guest_pointer(list);
  libc::memcpy(bytes, &header, sizeof header);
  libc::memcpy(bytes + sizeof header, &entry, sizeof entry);
  return call(vtpm, vtpm::Protocol::kCore, vtpm::core_call::kPvalidate, list);
}

constexpr std::uint64_t result(vtpm::SvsmResult r) {
  return static_cast<std::uint64_t>(r);
}

bool check_attestation(Checks& checks, native::NativeVtpm& vtpm) {
  unsigned char nonce[vtpm::kAttestNonceSize];
  for (std::size_t i = 0; i < sizeof nonce; ++i) nonce[i] = static_cast<unsigned char>(0xA5 ^ i);
  const std::span<const std::uint8_t> ek = vtpm.engine.ek_public();
  bool ok = true;
  for (const bool single : {true, false}) {
    const native::SvsmGuest::Attestation a = vtpm.guest.attest(single, nonce);
    // SINGLE_SERVICE: the manifest is the EK's TPMT_PUBLIC; SERVICES: a GUID table around it.
    constexpr std::size_t kEkOffset =
        sizeof(vtpm::ServicesManifestHeader) + sizeof(vtpm::ServicesManifestEntry);
    const std::size_t skip = single ? 0 : kEkOffset;
    const bool manifest_ok = a.result == vtpm::SvsmResult::kSuccess && !a.malformed &&
                             a.manifest.size() == skip + ek.size() &&
                             libc::memcmp(a.manifest.data() + skip, ek.data(), ek.size()) == 0;
    // REPORT_DATA = SHA-512(nonce || manifest), recomputed here.
    unsigned char expected[64] = {};
    unsigned int length = 0;
    EVP_MD_CTX* sha = EVP_MD_CTX_new();
    const bool hashed = sha != nullptr && EVP_DigestInit_ex(sha, EVP_sha512(), nullptr) == 1 &&
                        EVP_DigestUpdate(sha, nonce, sizeof nonce) == 1 &&
                        EVP_DigestUpdate(sha, a.manifest.data(), a.manifest.size()) == 1 &&
                        EVP_DigestFinal_ex(sha, expected, &length) == 1;
    EVP_MD_CTX_free(sha);
    formats::snp::AttestationReport report{};
    const bool sized = a.report.size() == sizeof report;
    if (sized) libc::memcpy(&report, a.report.data(), sizeof report);
    const bool report_ok = sized && hashed &&
                           libc::memcmp(report.report_data, expected, sizeof expected) == 0 &&
                           report.vmpl == 0 && report.signature_algo == 0 &&
                           libc::memcmp(report.host_data, native::kNotAttestedMarker,
                                        sizeof native::kNotAttestedMarker) == 0;
    ok &= checks.expect(manifest_ok && report_ok,
                        single ? "SVSM_ATTEST_SINGLE_SERVICE: manifest = EK"
                               : "SVSM_ATTEST_SERVICES: manifest holds the EK",
                        "%zu-byte manifest, REPORT_DATA = SHA-512(nonce || manifest), report "
                        "marked \"%s\"",
                        a.manifest.size(), native::kNotAttestedMarker);
  }
  return ok;
}

}  // namespace

bool run_tpm_checks(Checks& checks, native::NativeVtpm& vtpm) {
  const vtpm::EkAlgorithm algorithm = vtpm.engine.ek_algorithm();
  bool ok = checks.expect(vtpm.engine.powered() && !vtpm.engine.ek_public().empty(),
                          "TPM manufactured at boot", "EK %s, %zu-byte TPMT_PUBLIC",
                          vtpm::ek_algorithm_name(algorithm), vtpm.engine.ek_public().size());
  std::uint64_t versions = 0;
  const std::uint64_t queried = call(vtpm, vtpm::Protocol::kCore, vtpm::core_call::kQueryProtocol,
                                     std::uint64_t{2} << 32 | 1, &versions);
  ok &= checks.expect(queried == 0 && versions == (std::uint64_t{1} << 32 | 1),
                      "SVSM_CORE_QUERY_PROTOCOL(vTPM 1)", "RCX 0x%lx",
                      static_cast<unsigned long>(versions));

  Response r;
  run(vtpm, r, kStartupClear, sizeof kStartupClear);
  ok &= checks.expect(r.rc() == 0, "TPM2_Startup(CLEAR) via SVSM_VTPM_CMD", "rc 0x%x", r.rc());

  run(vtpm, r, kGetRandom32, sizeof kGetRandom32);
  bool random_ok = r.rc() == 0 && r.size == 12 + 32 && load_be<std::uint16_t>(r.bytes + 10) == 32;
  unsigned char first[32] = {};
  if (random_ok) libc::memcpy(first, r.bytes + 12, 32);
  run(vtpm, r, kGetRandom32, sizeof kGetRandom32);
  random_ok =
      random_ok && r.rc() == 0 && r.size == 44 && libc::memcmp(first, r.bytes + 12, 32) != 0;
  ok &= checks.expect(random_ok, "TPM2_GetRandom(32) twice, different", "rc 0x%x", r.rc());

  run(vtpm, r, kCreatePrimaryEccP256, sizeof kCreatePrimaryEccP256);
  const unsigned char* x = nullptr;
  const unsigned char* y = nullptr;
  const std::uint32_t handle = handle_of(r);
  const bool created = r.rc() == 0 && (handle >> 24) == 0x80 && ecc_point(out_public(r), &x, &y);
  ok &= checks.expect(created, "TPM2_CreatePrimary(ECC P-256)", "rc 0x%x, handle 0x%x, %zu bytes",
                      r.rc(), handle, r.size);
  ok &= checks.expect(created && on_p256(x, y), "primary key's point is on P-256 (libcrypto)");
  if (created) ok &= checks.expect(flush(vtpm, handle), "TPM2_FlushContext");

  // The EK the service attests is what a guest's tpm2_createek computes.
  unsigned char create_ek[vtpm::kMaxEkPublicSize + 64];
  const std::size_t create_size = vtpm::marshal_create_ek_command(algorithm, create_ek);
  run(vtpm, r, create_ek, create_size);
  const std::span<const unsigned char> ek = out_public(r);
  const std::span<const std::uint8_t> manufactured = vtpm.engine.ek_public();
  ok &= checks.expect(r.rc() == 0 && ek.size() == manufactured.size() &&
                          libc::memcmp(ek.data(), manufactured.data(), ek.size()) == 0,
                      "TPM2_CreatePrimary(TCG EK template) = the EK", "rc 0x%x", r.rc());
  if (r.rc() == 0) (void)flush(vtpm, handle_of(r));
  ok &= check_attestation(checks, vtpm);

  // Hostile requests end before the TPM: nothing executes.
  const std::uint64_t executed = vtpm.engine.commands_executed();
  const std::uint64_t firmware_page = formats::boot::kFirmwareBase + 0x10000;
  const std::uint64_t in_firmware = raw_vtpm_cmd(vtpm, firmware_page, 0);
  const std::uint64_t locality_1 = raw_vtpm_cmd(vtpm, vtpm.guest.area().tpm_buffer, 1);
  const std::uint64_t null_buffer = raw_vtpm_cmd(vtpm, 0, 0);
  ok &= checks.expect(
      in_firmware == result(vtpm::SvsmResult::kInvalidAddress) &&
          locality_1 == result(vtpm::SvsmResult::kInvalidParameter) &&
          null_buffer == result(vtpm::SvsmResult::kInvalidParameter) &&
          vtpm.engine.commands_executed() == executed,
      "SVSM_VTPM_CMD refuses firmware memory, locality 1, RCX 0",
      "0x%lx 0x%lx 0x%lx, %lu TPM commands ran", static_cast<unsigned long>(in_firmware),
      static_cast<unsigned long>(locality_1), static_cast<unsigned long>(null_buffer),
      static_cast<unsigned long>(vtpm.engine.commands_executed() - executed));

  // The native platform's core protocol: no RMP, no VMSAs.
  namespace entry = vtpm::pvalidate_entry;
  const std::uint64_t page = vtpm.guest.area().nonce;
  const std::uint64_t validate = pvalidate(vtpm, page, entry::kValidate);
  const std::uint64_t validate_ignore_cf =
      pvalidate(vtpm, page, entry::kValidate | entry::kIgnoreCf);
  const std::uint64_t rescind = pvalidate(vtpm, page, 0);
  const std::uint64_t firmware = pvalidate(vtpm, firmware_page, entry::kValidate);
  const std::uint64_t vcpu =
      vtpm.guest
          .call({vtpm::call_rax(vtpm::Protocol::kCore, vtpm::core_call::kCreateVcpu),
                 vtpm.guest.area().scratch, vtpm.guest.area().report, 1, 0})
          .regs.rax;
  ok &= checks.expect(
      validate == result(vtpm::SvsmResult::kPvalidateFailNoChange) && validate_ignore_cf == 0 &&
          rescind == result(vtpm::SvsmResult::kPvalidateFailInput) &&
          firmware == result(vtpm::SvsmResult::kInvalidAddress) &&
          vcpu == result(vtpm::SvsmResult::kInvalidParameter),
      "native PVALIDATE (always valid) and CREATE_VCPU (no VMSAs)", "0x%lx 0x%lx 0x%lx 0x%lx 0x%lx",
      static_cast<unsigned long>(validate), static_cast<unsigned long>(validate_ignore_cf),
      static_cast<unsigned long>(rescind), static_cast<unsigned long>(firmware),
      static_cast<unsigned long>(vcpu));
  return ok;
}

}  // namespace cvtpm::fw::selftest
