// The SVSM protocol ABI: AMD "Secure VM Service Module for SEV-SNP Guests" (pub. 58019, Rev 1.00,
// July 2023) as implemented by Linux (arch/x86/include/asm/sev.h, include/linux/tpm_svsm.h),
// OVMF (MdePkg/Include/Register/Amd/Svsm.h, Tcg2 Tpm2Svsm.c) and COCONUT-SVSM:
//   - calling convention: RAX = protocol << 32 | call id, arguments in RCX/RDX/R8/R9;
//   - result codes returned in RAX;
//   - the per-vCPU calling area (CAA);
//   - core protocol (0): PVALIDATE request list;
//   - attestation protocol (1, chapter 7): operation structs (tables 11 and 13) and the
//     services manifest;
//   - vTPM protocol (2, chapter 8): platform commands and the TPM_SEND_COMMAND request and
//     response (tables 14-17).
// Every integer on this wire is little-endian (x86 native order); the TPM command and response
// bytes inside the vTPM buffer keep the TPM's own big-endian encoding. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cvtpm/formats/guid.h"
#include "cvtpm/formats/state/state_evidence.h"

namespace cvtpm::vtpm {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the SVSM ABI structs below are read in native (little-endian) order");

inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kPageMask = kPageSize - 1;
inline constexpr std::uint64_t kLargePageSize = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Calling convention.

// Registers of one call: inputs on entry, outputs on return. Outputs a call does not define keep
// their input values (COCONUT and Linux rely on this to detect returned lengths).
struct SvsmRegisters {
  std::uint64_t rax;
  std::uint64_t rcx;
  std::uint64_t rdx;
  std::uint64_t r8;
  std::uint64_t r9;
};

enum class Protocol : std::uint32_t {
  kCore = 0,
  kAttestation = 1,
  kVtpm = 2,
};

constexpr std::uint64_t call_rax(Protocol protocol, std::uint32_t call) {
  return static_cast<std::uint64_t>(protocol) << 32 | call;
}

// Result codes (RAX on return).
enum class [[nodiscard]] SvsmResult : std::uint64_t{
    kSuccess = 0x0000'0000,
    kIncomplete = 0x8000'0000,  // partially done; the guest reissues the same call
    kUnsupportedProtocol = 0x8000'0001, kUnsupportedCall = 0x8000'0002,
    kInvalidAddress = 0x8000'0003, kInvalidFormat = 0x8000'0004,
    kInvalidParameter = 0x8000'0005,  // also "a guest buffer is too small" (attestation)
    kInvalidRequest = 0x8000'0006,
    kBusy = 0x8000'0007,  // the guest retries
    // Protocol-specific codes: 0x8000'1000 + n.
    kPvalidateFailInput = 0x8000'1001,         // PVALIDATE returned FAIL_INPUT (1)
    kProtocolFailInUse = 0x8000'1003,          // (AMD SVSM) DELETE_VCPU of a running VMSA
    kPvalidateFailSizeMismatch = 0x8000'1006,  // PVALIDATE returned FAIL_SIZEMISMATCH (6)
    kPvalidateFailNoChange = 0x8000'1010,      // PVALIDATE changed nothing (CF=1)
};

// Version range of every protocol this service implements (QUERY_PROTOCOL).
inline constexpr std::uint32_t kCoreProtocolVersion = 1;
inline constexpr std::uint32_t kAttestProtocolVersion = 1;
inline constexpr std::uint32_t kVtpmProtocolVersion = 1;

// ---------------------------------------------------------------------------------------------
// Calling area: one page per vCPU. The guest sets call_pending before VMGEXIT; the SVSM serves
// a call only if it is set, and clears it. The rest of the page is free for arguments.

struct CallingAreaHeader {
  std::uint8_t call_pending;
  std::uint8_t mem_available;
  std::uint8_t reserved[6];
};
static_assert(sizeof(CallingAreaHeader) == 8);
inline constexpr std::size_t kCallingAreaBufferOffset = 8;

// ---------------------------------------------------------------------------------------------
// Core protocol (0).

namespace core_call {
inline constexpr std::uint32_t kRemapCa = 0;        // RCX = new CAA GPA (4K aligned)
inline constexpr std::uint32_t kPvalidate = 1;      // RCX = request list GPA (8-byte aligned)
inline constexpr std::uint32_t kCreateVcpu = 2;     // RCX = VMSA, RDX = CAA, R8[31:0] = APIC ID
inline constexpr std::uint32_t kDeleteVcpu = 3;     // RCX = VMSA
inline constexpr std::uint32_t kDepositMem = 4;     // not implemented anywhere
inline constexpr std::uint32_t kWithdrawMem = 5;    // not implemented anywhere
inline constexpr std::uint32_t kQueryProtocol = 6;  // RCX = protocol << 32 | version
inline constexpr std::uint32_t kConfigureVtom = 7;  // RCX bit 0 = query
}  // namespace core_call

// PVALIDATE request list: this header, then `entries` u64 entries, all in one page.
struct PvalidateRequestHeader {
  std::uint16_t entries;  // number of entries
  std::uint16_t next;  // next entry to process; the SVSM advances it (and leaves it on a failure)
  std::uint32_t reserved;
};
static_assert(sizeof(PvalidateRequestHeader) == 8);
static_assert(offsetof(PvalidateRequestHeader, next) == 2);

namespace pvalidate_entry {
inline constexpr std::uint64_t kPageSizeMask = 0x3;  // bits 1:0
inline constexpr std::uint64_t kPageSize4K = 0;
inline constexpr std::uint64_t kPageSize2M = 1;
inline constexpr std::uint64_t kValidate = 1u << 2;               // 1 = validate, 0 = rescind
inline constexpr std::uint64_t kIgnoreCf = 1u << 3;               // "no change" counts as success
inline constexpr std::uint64_t kReservedMask = 0xFF0;             // bits 11:4 must be zero
inline constexpr std::uint64_t kGfnMask = ~std::uint64_t{0xFFF};  // bits 63:12 = GPA of the page
}  // namespace pvalidate_entry

// ---------------------------------------------------------------------------------------------
// Attestation protocol (1), chapter 7.

namespace attest_call {
inline constexpr std::uint32_t kServices = 0;       // RCX = GPA of AttestServicesOp
inline constexpr std::uint32_t kSingleService = 1;  // RCX = GPA of AttestSingleServiceOp
}  // namespace attest_call

// A guest buffer the SVSM fills.
struct AttestBuffer {
  std::uint64_t gpa;  // page aligned
  std::uint32_t size;
  std::uint32_t reserved;
};
static_assert(sizeof(AttestBuffer) == 16);

struct AttestNonce {
  std::uint64_t gpa;  // must not cross a page
  std::uint16_t size;
  std::uint8_t reserved[6];
};
static_assert(sizeof(AttestNonce) == 16);

// Table 11: SVSM_ATTEST_SERVICES.
struct AttestServicesOp {
  AttestBuffer report;
  AttestNonce nonce;
  AttestBuffer manifest;
  AttestBuffer certificates;  // size 0: no certificates wanted
};
static_assert(sizeof(AttestServicesOp) == 0x40);
static_assert(offsetof(AttestServicesOp, nonce) == 0x10);
static_assert(offsetof(AttestServicesOp, manifest) == 0x20);
static_assert(offsetof(AttestServicesOp, certificates) == 0x30);

// Table 13: SVSM_ATTEST_SINGLE_SERVICE.
struct AttestSingleServiceOp {
  AttestServicesOp common;
  formats::Guid service_guid;  // UEFI (mixed-endian) byte order
  std::uint32_t manifest_version;
  std::uint32_t reserved;
};
static_assert(sizeof(AttestSingleServiceOp) == 0x58);
static_assert(offsetof(AttestSingleServiceOp, service_guid) == 0x40);
static_assert(offsetof(AttestSingleServiceOp, manifest_version) == 0x50);

// Outputs of both calls: RCX = manifest size, RDX = certificates size, R8 = report size.
// REPORT_DATA of the report = SHA-512(nonce || manifest).
inline constexpr std::size_t kAttestNonceSize = 64;  // what Linux sends and COCONUT requires

// Services manifest (SVSM_ATTEST_SERVICES): header, `count` entries, then the service data.
struct ServicesManifestHeader {
  formats::Guid guid;  // kServicesManifestGuid
  std::uint32_t size;  // whole manifest
  std::uint32_t count;
};
static_assert(sizeof(ServicesManifestHeader) == 0x18);

struct ServicesManifestEntry {
  formats::Guid guid;
  std::uint32_t offset;  // of the service's data, from the start of the manifest
  std::uint32_t size;
};
static_assert(sizeof(ServicesManifestEntry) == 0x18);

inline constexpr formats::Guid kServicesManifestGuid =
    formats::Guid::parse("63849ebb-3d92-4670-a1ff-58f9c94b87bb");
// The vTPM service; its manifest (version 0) is the marshaled TPMT_PUBLIC of the EK.
inline constexpr formats::Guid kVtpmServiceGuid =
    formats::Guid::parse("c476f1eb-0123-45a5-9641-b4e7dde5bfe3");
inline constexpr std::uint32_t kVtpmManifestVersion = 0;
// cvtpm's persistent-state service (docs/persistence.md, "Rollback"); its manifest (version 0)
// is the 96-byte StateEvidence, whose layout is in cvtpm/formats/state/state_evidence.h.
using formats::state::StateEvidence;
inline constexpr formats::Guid kStateServiceGuid = formats::state::kStateServiceGuid;
inline constexpr std::uint32_t kStateManifestVersion = formats::state::kStateManifestVersion;
inline constexpr StateEvidence kEphemeralState = formats::state::kEphemeralStateEvidence;

// ---------------------------------------------------------------------------------------------
// vTPM protocol (2), chapter 8.

namespace vtpm_call {
inline constexpr std::uint32_t kQuery = 0;  // out: RCX = platform command bitmap, RDX = features
inline constexpr std::uint32_t kCmd = 1;    // RCX = GPA of the request/response buffer
}  // namespace vtpm_call

// Table 14: platform commands (the TCG simulator's TCP numbering).
namespace platform_command {
inline constexpr std::uint32_t kPowerOn = 1;
inline constexpr std::uint32_t kPowerOff = 2;
inline constexpr std::uint32_t kPhysPresOn = 3;
inline constexpr std::uint32_t kPhysPresOff = 4;
inline constexpr std::uint32_t kHashStart = 5;
inline constexpr std::uint32_t kHashData = 6;
inline constexpr std::uint32_t kHashEnd = 7;
inline constexpr std::uint32_t kSendCommand = 8;  // the only one any guest uses
inline constexpr std::uint32_t kCancelOn = 9;
inline constexpr std::uint32_t kCancelOff = 10;
inline constexpr std::uint32_t kNvOn = 11;
inline constexpr std::uint32_t kNvOff = 12;
inline constexpr std::uint32_t kKeyCacheOn = 13;
inline constexpr std::uint32_t kKeyCacheOff = 14;
inline constexpr std::uint32_t kRemoteHandshake = 15;
inline constexpr std::uint32_t kSetAlternativeResult = 16;
inline constexpr std::uint32_t kReset = 17;
inline constexpr std::uint32_t kRestart = 18;
inline constexpr std::uint32_t kSessionEnd = 20;
inline constexpr std::uint32_t kStop = 21;
inline constexpr std::uint32_t kGetCommandResponseSizes = 25;
inline constexpr std::uint32_t kActGetSignaled = 26;
inline constexpr std::uint32_t kTestFailureMode = 30;

// Whether `command` is one of the numbers above.
constexpr bool is_defined(std::uint32_t command) {
  return (command >= kPowerOn && command <= kRestart) || command == kSessionEnd ||
         command == kStop || command == kGetCommandResponseSizes || command == kActGetSignaled ||
         command == kTestFailureMode;
}
}  // namespace platform_command

// SVSM_VTPM_QUERY outputs.
inline constexpr std::uint64_t kSupportedPlatformCommands = std::uint64_t{1}
                                                            << platform_command::kSendCommand;
inline constexpr std::uint64_t kSupportedVtpmFeatures = 0;

// The request/response buffer is one 4 KiB region at the GPA in RCX (not necessarily aligned).
inline constexpr std::size_t kVtpmBufferSize = 4096;

// Table 15/16: TPM_SEND_COMMAND request.
#pragma pack(push, 1)
struct TpmSendCommandRequest {
  std::uint32_t platform_command;  // platform_command::kSendCommand
  std::uint8_t locality;           // must be 0
  std::uint32_t command_size;      // bytes of TPM command that follow
};
// Table 17: TPM_SEND_COMMAND response, written over the request.
struct TpmSendCommandResponse {
  std::uint32_t response_size;  // bytes of TPM response that follow
};
#pragma pack(pop)
static_assert(sizeof(TpmSendCommandRequest) == 9);
static_assert(offsetof(TpmSendCommandRequest, locality) == 4);
static_assert(offsetof(TpmSendCommandRequest, command_size) == 5);
static_assert(sizeof(TpmSendCommandResponse) == 4);

inline constexpr std::size_t kMaxTpmCommandSize = kVtpmBufferSize - sizeof(TpmSendCommandRequest);
inline constexpr std::size_t kMaxTpmResponseSize = kVtpmBufferSize - sizeof(TpmSendCommandResponse);
static_assert(kMaxTpmCommandSize == 4087 && kMaxTpmResponseSize == 4092);

}  // namespace cvtpm::vtpm
