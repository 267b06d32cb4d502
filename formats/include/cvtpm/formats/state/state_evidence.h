// The persistent vTPM state's attestation evidence: the cvtpm state service's entry in the SVSM
// services manifest (beside the vTPM's EK), also returned alone by SVSM_ATTEST_SINGLE_SERVICE for
// its GUID (manifest version 0). cvtpm's own format (docs/persistence.md, "Rollback"). All
// integers little-endian. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cvtpm/formats/guid.h"

namespace cvtpm::formats::state {

inline constexpr Guid kStateServiceGuid = Guid::parse("31e5bf5a-87b1-4ca7-a415-75feaccacbc8");
inline constexpr std::uint32_t kStateManifestVersion = 0;
inline constexpr std::uint32_t kStateEvidenceVersion = 1;

enum class StateStatus : std::uint32_t {
  kEphemeral = 0,  // no persistence: a new TPM at every boot
  kFresh = 1,      // persistence on, no state given at boot: manufactured (derived seeds)
  kRestored = 2,   // the state given at boot was opened and restored
  kFailed = 3,     // a state write failed: the TPM is in failure mode for this boot
};

struct StateEvidence {
  std::uint32_t version;             // 0x00: kStateEvidenceVersion
  std::uint32_t status;              // 0x04: StateStatus
  std::uint32_t binding;             // 0x08: Binding (state_blob.h); 0 when ephemeral
  std::uint32_t reserved;            // 0x0C: zero
  std::uint64_t boot_generation;     // 0x10: generation restored at boot; 0 when fresh
  std::uint64_t current_generation;  // 0x18: the last generation written (= boot when none)
  std::uint8_t boot_digest[32];      // 0x20: SHA-256 of the blob restored; zero when fresh
  std::uint8_t current_digest[32];   // 0x40: SHA-256 of the last blob written
};
static_assert(sizeof(StateEvidence) == 0x60);
static_assert(offsetof(StateEvidence, status) == 0x04);
static_assert(offsetof(StateEvidence, binding) == 0x08);
static_assert(offsetof(StateEvidence, reserved) == 0x0C);
static_assert(offsetof(StateEvidence, boot_generation) == 0x10);
static_assert(offsetof(StateEvidence, current_generation) == 0x18);
static_assert(offsetof(StateEvidence, boot_digest) == 0x20);
static_assert(offsetof(StateEvidence, current_digest) == 0x40);

// What the state service attests without persistence: version 1, status ephemeral, all else 0.
inline constexpr StateEvidence kEphemeralStateEvidence{
    kStateEvidenceVersion, static_cast<std::uint32_t>(StateStatus::kEphemeral), 0, 0, 0, 0, {}, {}};

}  // namespace cvtpm::formats::state
