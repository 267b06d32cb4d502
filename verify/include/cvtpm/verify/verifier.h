// Offline verification of an SEV-SNP attestation report and of the vTPM binding it carries:
// the AMD certificate chain to a pinned root, the report's signature, the VCEK's agreement with
// the report, the guest's policy and launch, and REPORT_DATA = SHA-512(nonce || manifest) with
// the manifest's endorsement key. Every check runs (none stops the others), so a rejection names
// all that failed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "cvtpm/verify/certificates.h"
#include "cvtpm/verify/manifest.h"
#include "cvtpm/verify/reference_values.h"
#include "cvtpm/verify/report.h"
#include "cvtpm/verify/verdict.h"

namespace cvtpm::verify {

struct Evidence {
  Report report;
  std::optional<Certificate> vcek;  // VCEK or VLEK; required for a signed report
  // ASK (or ASVK), then optionally the ARK: AMD KDS's cert_chain order.
  std::vector<Certificate> cert_chain;
  std::optional<Certificate> ark_override;  // --ark: replaces the pinned root (test chains)
  // The vTPM binding: both or neither.
  std::optional<std::vector<std::uint8_t>> nonce;
  std::optional<std::vector<std::uint8_t>> manifest_bytes;
  std::optional<Manifest> manifest;  // manifest_bytes parsed
};

struct MinimumTcb {
  std::uint8_t boot_loader = 0;
  std::uint8_t tee = 0;
  std::uint8_t snp = 0;
  std::uint8_t microcode = 0;
  std::optional<std::uint8_t> fmc;
};

// What --require-state accepts of the state entry's status.
enum class RequiredState : std::uint8_t {
  kPersistent,  // fresh or restored: persistence on and no write failed
  kRestored,    // restored only: the TPM started from a stored state
};

struct Policy {
  bool allow_debug = false;
  std::uint32_t vmpl = 0;                          // the SVSM's own reports are VMPL 0
  std::vector<ReferenceMeasurement> measurements;  // empty: MEASUREMENT not checked
  std::optional<MinimumTcb> min_tcb;
  std::optional<std::array<std::uint8_t, 32>> host_data;
  std::optional<std::array<std::uint8_t, 48>> id_key_digest;
  std::optional<std::array<std::uint8_t, 48>> author_key_digest;
  std::optional<std::array<std::uint8_t, 64>> report_data;
  bool allow_unsigned_native = false;
  // Rollback evidence (docs/persistence.md, "Rollback"): the state this boot started from is
  // at least this generation (the last one the verifier saw) ...
  std::optional<std::uint64_t> min_state_generation;
  // ... and, if it is exactly that generation, has this digest. Needs min_state_generation.
  std::optional<std::array<std::uint8_t, 32>> state_digest;
  std::optional<RequiredState> require_state;
};

// Throws InputError when the evidence cannot be judged at all (a signed report without a VCEK,
// a VLEK without its ASVK chain, a chain in the wrong order).
Verdict verify_report(const Evidence& evidence, const Policy& policy);

}  // namespace cvtpm::verify
