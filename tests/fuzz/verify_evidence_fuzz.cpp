// Fuzzes cvtpm-verify's parsers of untrusted bytes and the verification over them: the report,
// certificates (DER, PEM, PEM chains) with the VCEK extensions, the SVSM manifest with the EK's
// TPMT_PUBLIC and the cvtpm state entry, the reference-values JSON, and all of them together
// through verify_report and both verdict renderings. Bad bytes may only ever raise InputError;
// anything else (another exception, a sanitizer report) is a bug.
//
// Input: u8 selector, then by selector % 6:
//   0 report  1 certificate  2 PEM chain  3 manifest  4 reference-values JSON
//   5 u16 LE length + VCEK, u16 LE length + PEM chain (ASK[, ARK]), u16 LE length + manifest,
//     then the report; selector bit 7 allows the native unsigned report, bit 6 uses the chain's
//     last certificate as --ark. The nonce is 64 zero bytes; with a manifest the state checks
//     run too (min generation 5, a digest, status restored).
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "cvtpm/support/error.h"
#include "cvtpm/verify/verifier.h"

namespace {

using cvtpm::InputError;
namespace v = cvtpm::verify;

// Takes a u16-length-prefixed piece off the front of `data` (empty if it runs out).
std::span<const std::uint8_t> take(std::span<const std::uint8_t>& data) {
  if (data.size() < 2) {
    data = {};
    return {};
  }
  const std::size_t size = std::min<std::size_t>(data[0] | data[1] << 8, data.size() - 2);
  const auto piece = data.subspan(2, size);
  data = data.subspan(2 + size);
  return piece;
}

void certificate(std::span<const std::uint8_t> bytes) {
  const v::Certificate c = v::Certificate::parse(bytes, "vcek");
  (void)c.subject_common_name();
  (void)c.self_issued();
  (void)v::read_vcek_extensions(c);
  try {
    (void)v::snp_public_key(c);
  } catch (const InputError&) {
  }
}

void chain(std::span<const std::uint8_t> bytes) {
  const std::vector<v::Certificate> all = v::Certificate::parse_pem_bundle(bytes, "chain");
  (void)all.front().named_issuer(all.back());
  (void)v::check_signed_by(all.front(), all.back());
}

void everything(std::uint8_t selector, std::span<const std::uint8_t> data) {
  const auto vcek = take(data);
  const auto chain_bytes = take(data);
  const auto manifest = take(data);
  v::Evidence e;
  e.report = v::parse_report(data, "report");
  if (!vcek.empty()) e.vcek = v::Certificate::parse(vcek, "vcek");
  if (!chain_bytes.empty()) e.cert_chain = v::Certificate::parse_pem_bundle(chain_bytes, "chain");
  if ((selector & 0x40) && !e.cert_chain.empty()) e.ark_override = e.cert_chain.back();
  if (!manifest.empty()) {
    e.nonce = std::vector<std::uint8_t>(64, 0);
    e.manifest_bytes = std::vector<std::uint8_t>(manifest.begin(), manifest.end());
    e.manifest = v::parse_manifest(manifest, "manifest");
  }
  v::Policy policy;
  policy.allow_unsigned_native = (selector & 0x80) != 0;
  policy.min_tcb = v::MinimumTcb{1, 0, 1, 1, std::nullopt};
  if (e.manifest) {  // the state checks read the manifest's state entry
    policy.min_state_generation = 5;
    policy.state_digest.emplace();
    policy.state_digest->fill(0xB7);
    policy.require_state = v::RequiredState::kRestored;
  }
  const v::Verdict verdict = v::verify_report(e, policy);
  (void)v::verdict_text(verdict);
  (void)v::verdict_json(verdict, "fuzz");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t selector = data[0];
  const std::span<const std::uint8_t> payload(data + 1, size - 1);
  try {
    switch (selector % 6) {
      case 0: {
        const v::Report r = v::parse_report(payload, "report");
        (void)r.is_cvtpm_native_unsigned();
        (void)r.signature_padding_zero();
        break;
      }
      case 1:
        certificate(payload);
        break;
      case 2:
        chain(payload);
        break;
      case 3:
        (void)v::parse_manifest(payload, "manifest");
        break;
      case 4:
        (void)v::parse_reference_values(payload, "reference.json");
        break;
      default:
        everything(selector, payload);
        break;
    }
  } catch (const InputError&) {
    // Bad input, reported as such: what the tool turns into exit status 2.
  }
  return 0;
}
