// Fetching attestation evidence from a running cvtpm vTPM (cvtpm-vtpmd, or the firmware behind
// cvtpm-tpm-bridge) through cvtpm's attestation extension of swtpm's control channel
// (cvtpm/formats/swtpm/control_channel.h, kCvtpmAttest): the same SVSM_ATTEST_* call a guest
// makes, answered with the report, the manifest and any certificates.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cvtpm::verify {

// tpm2-tss's swtpm TCTI configuration, "swtpm:host=HOST,port=PORT" (defaults localhost and 2321,
// tpm2-tss src/tss2-tcti/tcti-swtpm.h): TPM commands on PORT, the control channel on PORT+1.
struct SwtpmEndpoint {
  std::string host = "localhost";
  std::uint16_t port = 2321;
};
SwtpmEndpoint parse_swtpm_tcti(const std::string& text, const std::string& what);

struct FetchedEvidence {
  std::vector<std::uint8_t> report;
  std::vector<std::uint8_t> manifest;
  std::vector<std::uint8_t> certificates;
};

enum class AttestMode : std::uint8_t {
  kServices = 0,       // SVSM_ATTEST_SERVICES: the services manifest
  kSingleService = 1,  // SVSM_ATTEST_SINGLE_SERVICE of the vTPM, manifest version 0: the EK
};

// One attestation on a fresh control connection. Throws InputError naming `what` (the TCTI
// option) when the vTPM cannot be reached, refuses, times out or answers malformed.
FetchedEvidence fetch_attestation(const SwtpmEndpoint& endpoint,
                                  std::span<const std::uint8_t, 64> nonce, AttestMode mode,
                                  std::chrono::milliseconds timeout, const std::string& what);

}  // namespace cvtpm::verify
