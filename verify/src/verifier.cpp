#include "cvtpm/verify/verifier.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "chain_checks.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/vtpm/tpm2_wire.h"

namespace cvtpm::verify {
namespace {

namespace fs = formats::snp;
namespace attr = vtpm::tpm2::object_attribute;

template <std::size_t N>
void check_equal(Verdict& v, const char* name, const char* field,
                 const std::optional<std::array<std::uint8_t, N>>& expected,
                 const std::uint8_t (&actual)[N], const char* option) {
  if (!expected) {
    v.not_checked.push_back(std::string(name) + ": no " + option);
    return;
  }
  const bool equal = std::memcmp(expected->data(), actual, N) == 0;
  v.add(name, equal, std::string(field) + " " + to_hex(*expected),
        std::string(field) + " " + to_hex(std::span<const std::uint8_t>(actual, N)));
}

void check_measurement(const Report& report, const Policy& policy, Verdict& v) {
  if (policy.measurements.empty()) {
    v.not_checked.push_back("measurement: no --measurement or --reference-values");
    return;
  }
  const std::span<const std::uint8_t> actual(report.fields.measurement);
  std::string expected = "MEASUREMENT one of";
  const ReferenceMeasurement* match = nullptr;
  for (const ReferenceMeasurement& m : policy.measurements) {
    expected.append(" ").append(to_hex(m.digest)).append(" (").append(m.origin).append(");");
    if (std::equal(m.digest.begin(), m.digest.end(), actual.begin())) match = &m;
  }
  expected.pop_back();
  v.add("measurement", match != nullptr, expected,
        "MEASUREMENT " + to_hex(actual) + (match ? " (" + match->origin + ")" : ""));
}

void check_min_tcb(const Report& report, const Policy& policy, std::optional<ProductLine> line,
                   Verdict& v) {
  if (!policy.min_tcb) {
    v.not_checked.push_back("min-tcb: no --min-tcb");
    return;
  }
  const MinimumTcb& min = *policy.min_tcb;
  const Tcb wanted{min.boot_loader, min.tee, min.snp, min.microcode, min.fmc};
  const std::string expected = "REPORTED_TCB at least " + describe_tcb(wanted);
  if (!line) {
    v.add("min-tcb", false, expected, "unknown product line: no TCB layout to decode REPORTED_TCB");
    return;
  }
  const Tcb tcb = decode_tcb(report.fields.reported_tcb, *line);
  std::string actual = "REPORTED_TCB " + describe_tcb(tcb);
  if (min.fmc && !tcb.fmc) {
    v.add("min-tcb", false, expected,
          actual + " (the " + std::string(product_line_name(*line)) + " TCB has no FMC)");
    return;
  }
  const bool met = tcb.boot_loader >= min.boot_loader && tcb.tee >= min.tee && tcb.snp >= min.snp &&
                   tcb.microcode >= min.microcode && (!min.fmc || *tcb.fmc >= *min.fmc);
  v.add("min-tcb", met, expected, actual);
}

void check_contents(const Report& report, const Policy& policy, std::optional<ProductLine> line,
                    Verdict& v) {
  const fs::AttestationReport& r = report.fields;
  v.add("report-version", r.version >= fs::kAttestationReportVersion,
        "VERSION 2 or later (the layout this verifier reads)",
        "VERSION " + std::to_string(r.version));
  v.add("vmpl", r.vmpl == policy.vmpl,
        "VMPL " + std::to_string(policy.vmpl) +
            (policy.vmpl == 0 ? " (the SVSM's own report; see --vmpl)" : " (--vmpl)"),
        "VMPL " + std::to_string(r.vmpl));
  v.add(
      "debug", policy.allow_debug || !report.debug_allowed(),
      policy.allow_debug ? "POLICY bit 19 (debug) either way (--allow-debug)"
                         : "POLICY bit 19 (debug) clear (--allow-debug accepts it)",
      "POLICY " + hex_number(r.policy) + ": debug " + (report.debug_allowed() ? "allowed" : "off"));
  check_measurement(report, policy, v);
  check_min_tcb(report, policy, line, v);
  check_equal(v, "host-data", "HOST_DATA", policy.host_data, r.host_data, "--host-data");
  check_equal(v, "id-key-digest", "ID_KEY_DIGEST", policy.id_key_digest, r.id_key_digest,
              "--id-key-digest");
  check_equal(v, "author-key-digest", "AUTHOR_KEY_DIGEST", policy.author_key_digest,
              r.author_key_digest, "--author-key-digest");
}

std::string missing_attributes(std::uint32_t attributes) {
  struct Bit {
    std::uint32_t mask;
    const char* name;
  };
  std::string missing;
  for (const Bit& b : {Bit{attr::kFixedTpm, "fixedTPM"}, Bit{attr::kFixedParent, "fixedParent"},
                       Bit{attr::kSensitiveDataOrigin, "sensitiveDataOrigin"},
                       Bit{attr::kRestricted, "restricted"}, Bit{attr::kDecrypt, "decrypt"}}) {
    if ((attributes & b.mask) == 0) missing += std::string(missing.empty() ? "" : ", ") + b.name;
  }
  return missing;
}

// TPMA_OBJECT sign (TCG TPM 2.0 Library Part 2): an EK is a decryption key, never a signing one.
constexpr std::uint32_t kSignAttribute = 1u << 18;

// The manifest's EK as TPM2_MakeCredential / TPM2_ActivateCredential need it: a restricted
// decryption key that cannot leave this TPM (TCG TPM 2.0 Library Part 3, TPM2_ActivateCredential;
// every TCG EK Credential Profile template sets these bits).
void check_endorsement_key(const Manifest& manifest, Verdict& v) {
  if (manifest.services) {
    v.add("vtpm-service", manifest.ek.has_value(),
          "the services manifest lists the vTPM (GUID c476f1eb-0123-45a5-9641-b4e7dde5bfe3)",
          std::to_string(manifest.service_count) + " service(s), " +
              (manifest.ek ? "the vTPM among them" : "no vTPM"));
  }
  if (!manifest.ek) return;
  const std::uint32_t attributes = manifest.ek->attributes;
  std::string problem = missing_attributes(attributes);
  if (!problem.empty()) problem = "lacks " + problem;
  if (attributes & kSignAttribute) problem += std::string(problem.empty() ? "" : "; ") + "has sign";
  v.add("ek-attributes", problem.empty(),
        "fixedTPM, fixedParent, sensitiveDataOrigin, restricted and decrypt set, sign clear",
        "TPMA_OBJECT " + hex_number(attributes) + (problem.empty() ? "" : ": " + problem));
}

// The state entry against the rollback options (docs/persistence.md, "Rollback"; docs/verify.md).
void check_state(const Manifest& manifest, const Policy& policy, Verdict& v) {
  if (!policy.min_state_generation && !policy.require_state) {
    v.not_checked.push_back("state: no --min-state-generation, --state-digest or --require-state");
    return;
  }
  const std::optional<StateEntry>& state = manifest.state;
  const std::string absent =
      "no cvtpm state entry in the manifest (an ephemeral TPM, or the vTPM's single-service "
      "manifest)";
  if (policy.min_state_generation) {
    const std::uint64_t min = *policy.min_state_generation;
    v.add("state-generation", state && state->boot_generation >= min,
          "boot generation at least " + std::to_string(min) + " (--min-state-generation)",
          state ? "boot generation " + std::to_string(state->boot_generation) + " (" +
                      state_status_name(state->status) + ")"
                : absent);
  }
  if (policy.state_digest) {
    const std::uint64_t seen = policy.min_state_generation.value_or(0);
    const std::string digest = to_hex(*policy.state_digest);
    // Only the generation the digest belongs to is judged here; a lower one fails
    // state-generation, a higher one has a digest the verifier cannot know.
    const bool passed =
        state && (state->boot_generation != seen || state->boot_digest == *policy.state_digest);
    v.add("state-digest", passed,
          "boot digest " + digest + " if the boot generation is " + std::to_string(seen) +
              " (--state-digest, --min-state-generation)",
          state ? "boot generation " + std::to_string(state->boot_generation) + ", boot digest " +
                      to_hex(state->boot_digest)
                : absent);
  }
  if (policy.require_state) {
    const bool restored_only = *policy.require_state == RequiredState::kRestored;
    const bool passed = state && (state->status == StateEntry::Status::kRestored ||
                                  (!restored_only && state->status == StateEntry::Status::kFresh));
    v.add("state-status", passed,
          restored_only ? "status restored (--require-state restored)"
                        : "status fresh or restored (--require-state persistent)",
          state ? std::string("status ") + state_status_name(state->status) : absent);
  }
}

void check_binding(const Evidence& evidence, const Policy& policy, Verdict& v) {
  const std::span<const std::uint8_t> actual(evidence.report.fields.report_data);
  if (policy.report_data) {
    v.add("report-data", std::equal(actual.begin(), actual.end(), policy.report_data->begin()),
          "REPORT_DATA " + to_hex(*policy.report_data) + " (--report-data)",
          "REPORT_DATA " + to_hex(actual));
  }
  if (!evidence.nonce) {
    if (!policy.report_data) {
      v.not_checked.push_back(
          "report-data: no --report-data, or --nonce and --manifest (the vTPM binding)");
    }
    return;
  }
  std::vector<std::uint8_t> material = *evidence.nonce;
  material.insert(material.end(), evidence.manifest_bytes->begin(), evidence.manifest_bytes->end());
  const Sha512Digest expected = sha512(material);
  v.add("report-data", std::equal(actual.begin(), actual.end(), expected.begin()),
        "REPORT_DATA = SHA-512(nonce || manifest) = " + to_hex(expected),
        "REPORT_DATA " + to_hex(actual));
  v.manifest = evidence.manifest;
  check_endorsement_key(*evidence.manifest, v);
  check_state(*evidence.manifest, policy, v);
}

void list_unattested(const Policy& policy, Verdict& v) {
  const char* why = ": the report is unsigned, nothing is attested";
  for (const char* name :
       {"chain", "report-signature", "vmpl", "debug", "reported-tcb", "chip-id"}) {
    v.not_checked.push_back(name + std::string(why));
  }
  if (!policy.measurements.empty()) v.not_checked.push_back("measurement" + std::string(why));
  if (policy.min_tcb) v.not_checked.push_back("min-tcb" + std::string(why));
  if (policy.host_data) v.not_checked.push_back("host-data" + std::string(why));
  if (policy.id_key_digest) v.not_checked.push_back("id-key-digest" + std::string(why));
  if (policy.author_key_digest) v.not_checked.push_back("author-key-digest" + std::string(why));
}

}  // namespace

Verdict verify_report(const Evidence& evidence, const Policy& policy) {
  if (evidence.nonce.has_value() != evidence.manifest_bytes.has_value() ||
      evidence.manifest_bytes.has_value() != evidence.manifest.has_value()) {
    throw InputError("--nonce", "--nonce and --manifest go together");
  }
  if ((policy.min_state_generation || policy.state_digest || policy.require_state) &&
      !evidence.manifest) {
    throw InputError("--manifest",
                     "the state checks read the manifest: give --nonce and --manifest");
  }
  if (policy.state_digest && !policy.min_state_generation) {
    throw InputError("--state-digest", "needs --min-state-generation (the digest's generation)");
  }
  Verdict v;
  v.report = evidence.report;
  const fs::AttestationReport& r = evidence.report.fields;
  if (r.version >= fs::kReportVersionWithCpuid) {
    v.product = product_line_from_cpuid(r.cpuid_fam_id, r.cpuid_mod_id);
  }

  if (evidence.report.is_cvtpm_native_unsigned()) {
    v.attested = false;
    v.trust_root = "none: the report is unsigned";
    if (!policy.allow_unsigned_native) {
      v.add("report-signature", false, "a report signed by the VCEK (SIGNATURE_ALGO 1)",
            "the cvtpm native firmware's unsigned report (HOST_DATA 'cvtpm native: NOT "
            "ATTESTED'); --allow-unsigned-native checks its binding only");
    } else {
      v.add("native-report", true,
            "--allow-unsigned-native: the cvtpm native firmware's unsigned report",
            "unsigned cvtpm native report: NOTHING IS ATTESTED, only the binding is checked");
      list_unattested(policy, v);
    }
    check_binding(evidence, policy, v);
    return v;
  }

  if (!evidence.vcek) {
    throw InputError("--vcek", "required: the report is signed (SIGNATURE_ALGO " +
                                   std::to_string(r.signature_algo) +
                                   ") and only its VCEK (or VLEK) certificate can verify it");
  }
  const std::optional<ProductLine> from_cpuid = v.product;
  check_chain_and_signature(evidence, v);
  if (!v.product) v.product = from_cpuid;
  check_contents(evidence.report, policy, v.product, v);
  check_binding(evidence, policy, v);
  return v;
}

}  // namespace cvtpm::verify
