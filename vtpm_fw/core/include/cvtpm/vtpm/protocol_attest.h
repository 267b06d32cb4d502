// Attestation protocol (protocol 1) of the SVSM specification (pub. 58019, chapter 7):
//
//   call  name                        inputs                     outputs
//   0     SVSM_ATTEST_SERVICES        RCX = GPA of the table 11  RCX = manifest size,
//                                     operation (0x40 bytes)     RDX = certificates size,
//   1     SVSM_ATTEST_SINGLE_SERVICE  RCX = GPA of the table 13  R8 = report size
//                                     operation (0x58 bytes)     (written once known, also when
//                                                                a buffer is too small)
//
// The SVSM writes an attestation report of itself (VMPL0) whose REPORT_DATA is
// SHA-512(nonce || manifest), the manifest, and optionally the platform's certificates. The
// manifest of SERVICES is the services manifest (a GUID table); that of SINGLE_SERVICE is the
// service's own data. Services, both only when there is a vTPM:
//   vTPM (GUID c476f1eb-0123-45a5-9641-b4e7dde5bfe3), manifest version 0: the marshaled
//     TPMT_PUBLIC of its endorsement key; always the first entry of SERVICES.
//   cvtpm state (GUID 31e5bf5a-87b1-4ca7-a415-75feaccacbc8), manifest version 0: the 96-byte
//     formats::state::StateEvidence (docs/persistence.md, "Rollback") as it is at the call. In
//     SERVICES only when a persistent state is attached (set_state_evidence), after the vTPM;
//     SINGLE_SERVICE answers it always, with status 0 (ephemeral) when none is attached.
//
// Checks, in order, each failing without side effects:
//   operation not guest memory                         INVALID_ADDRESS
//   reserved field not zero, buffer not page aligned,
//   nonce size != 64 or crossing a page                INVALID_PARAMETER
//   unknown service GUID (single)                      UNSUPPORTED_PROTOCOL
//   manifest version != 0 (single)                     INVALID_PARAMETER
//   TPM busy                                           BUSY
//   a buffer smaller than its content                  INVALID_PARAMETER (sizes in RCX/RDX/R8)
//   a buffer or the nonce not guest memory             INVALID_ADDRESS
// Freestanding.
#pragma once

#include <cstdint>

#include "cvtpm/vtpm/guest_memory.h"
#include "cvtpm/vtpm/platform.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "cvtpm/vtpm/tpm_engine.h"

namespace cvtpm::vtpm {

// Largest services manifest: header, two entries, the EK and the state evidence.
inline constexpr std::size_t kMaxManifestSize = sizeof(ServicesManifestHeader) +
                                                2 * sizeof(ServicesManifestEntry) +
                                                kMaxEkPublicSize + sizeof(StateEvidence);
// Largest report a platform may produce (an SNP report is 0x4A0 bytes).
inline constexpr std::size_t kMaxReportSize = 4096;
// Largest certificate blob a platform may produce (the SNP extended-report maximum).
inline constexpr std::size_t kMaxCertificatesSize = 0x4000;

class AttestProtocol {
 public:
  // `engine` is null when the firmware offers no vTPM: then no service is attested.
  AttestProtocol(Platform& platform, GuestMemory& memory, TpmEngine* engine)
      : platform_(platform), memory_(memory), engine_(engine) {}

  SvsmResult handle(std::uint32_t call, SvsmRegisters& regs);

  // Attaches the persistent state's evidence (state::PersistentState::evidence()), or detaches
  // it (null: an ephemeral TPM). It must outlive the protocol; it is read under the engine's
  // lock at every attestation, so whoever writes it must hold that lock (PersistentState writes
  // it in the engine's NV commit, inside a command).
  void set_state_evidence(const StateEvidence* evidence) { state_ = evidence; }

 private:
  SvsmResult attest(bool single_service, SvsmRegisters& regs);

  Platform& platform_;
  GuestMemory& memory_;
  TpmEngine* engine_;
  const StateEvidence* state_ = nullptr;
};

}  // namespace cvtpm::vtpm
