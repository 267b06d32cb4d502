// SNP guest request messages (SNP Firmware ABI, "SNP_GUEST_REQUEST": table "Message Header
// Format", AEAD algorithm and message type encodings, MSG_REPORT_REQ/RSP, MSG_KEY_REQ/RSP). A guest
// encrypts a request with one of its VMPCKs (AES-256-GCM: IV = the 64-bit sequence number,
// little-endian, zero-padded to 12 bytes; additional data = the header from `algo` to its end;
// the 16-byte tag in `authtag`), places it in a shared page and asks the hypervisor to pass it to
// the PSP (GHCB guest request), which answers with sequence number + 1. Layout as Linux (struct
// snp_guest_msg_hdr) and COCONUT-SVSM use it. All integers are little-endian. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cvtpm/formats/snp/attestation_report.h"

namespace cvtpm::formats::snp {

struct GuestMessageHeader {
  std::uint8_t authtag[32];  // 0x00: AES-GCM tag in the first 16 bytes
  std::uint64_t msg_seqno;   // 0x20
  std::uint8_t reserved_28[8];
  std::uint8_t algo;         // 0x30: kAeadAes256Gcm; additional data starts here
  std::uint8_t hdr_version;  // 0x31: kGuestMessageHeaderVersion
  std::uint16_t hdr_size;    // 0x32: sizeof(GuestMessageHeader)
  std::uint8_t msg_type;     // 0x34: guest_message_type
  std::uint8_t msg_version;  // 0x35
  std::uint16_t msg_size;    // 0x36: payload bytes
  std::uint32_t reserved_38;
  std::uint8_t msg_vmpck;  // 0x3C: index of the VMPCK that protects the message
  std::uint8_t reserved_3d[35];
};
static_assert(sizeof(GuestMessageHeader) == 0x60);
static_assert(offsetof(GuestMessageHeader, msg_seqno) == 0x20);
static_assert(offsetof(GuestMessageHeader, algo) == 0x30);
static_assert(offsetof(GuestMessageHeader, hdr_size) == 0x32);
static_assert(offsetof(GuestMessageHeader, msg_type) == 0x34);
static_assert(offsetof(GuestMessageHeader, msg_size) == 0x36);
static_assert(offsetof(GuestMessageHeader, msg_vmpck) == 0x3C);

inline constexpr std::size_t kGuestMessagePageSize = 4096;
inline constexpr std::size_t kGuestMessageMaxPayload =
    kGuestMessagePageSize - sizeof(GuestMessageHeader);
inline constexpr std::size_t kGuestMessageAadOffset = offsetof(GuestMessageHeader, algo);
inline constexpr std::size_t kGuestMessageAadSize =
    sizeof(GuestMessageHeader) - kGuestMessageAadOffset;
static_assert(kGuestMessageAadSize == 48);
inline constexpr std::size_t kGuestMessageTagSize = 16;
inline constexpr std::size_t kGuestMessageIvSize = 12;

inline constexpr std::uint8_t kAeadAes256Gcm = 1;
inline constexpr std::uint8_t kGuestMessageHeaderVersion = 1;

namespace guest_message_type {
inline constexpr std::uint8_t kCpuidRequest = 1;
inline constexpr std::uint8_t kCpuidResponse = 2;
inline constexpr std::uint8_t kKeyRequest = 3;
inline constexpr std::uint8_t kKeyResponse = 4;
inline constexpr std::uint8_t kReportRequest = 5;
inline constexpr std::uint8_t kReportResponse = 6;
}  // namespace guest_message_type

// MSG_REPORT_REQ (message version 1).
struct ReportRequest {
  std::uint8_t report_data[64];
  std::uint32_t vmpl;     // VMPL the report names; at least the requester's
  std::uint32_t key_sel;  // bits 1:0: 0 = VLEK if installed else VCEK, 1 = VCEK, 2 = VLEK
  std::uint8_t reserved[24];
};
static_assert(sizeof(ReportRequest) == 0x60);
static_assert(offsetof(ReportRequest, vmpl) == 0x40);
inline constexpr std::uint8_t kReportRequestVersion = 1;

// MSG_REPORT_RSP.
struct ReportResponseHeader {
  std::uint32_t status;       // 0 = success; else an SNP firmware status (INVALID_PARAM 0x16 ...)
  std::uint32_t report_size;  // bytes of report that follow
  std::uint8_t reserved[24];
};
static_assert(sizeof(ReportResponseHeader) == 0x20);
struct ReportResponse {
  ReportResponseHeader header;
  AttestationReport report;
};
static_assert(sizeof(ReportResponse) == 0x20 + 0x4A0);
static_assert(sizeof(ReportResponse) <= kGuestMessageMaxPayload);

// MSG_KEY_REQ (message version 1): a key the PSP derives from a root key (ROOT_KEY_SELECT bit 0:
// 0 = VCEK, 1 = VMRK), the VMPL and the launch's fields GUEST_FIELD_SELECT names. Layout:
// virtee/sev `src/firmware/linux/guest/types.rs` DerivedKeyReq (whose trailing LAUNCH_MIT_VECTOR
// exists only in message version 2), google/go-sev-guest `client/linuxabi/linux_abi.go`
// SnpDerivedKeyReqABI (0x20 bytes). VMPL "must be greater than or equal to the current VMPL",
// GUEST_SVN "must not exceed the guest SVN provided at launch in the ID block", TCB_VERSION "must
// not exceed CommittedTcb" (both sources).
struct KeyRequest {
  std::uint32_t root_key_select;  // bit 0; bits 31:1 reserved
  std::uint32_t reserved;
  std::uint64_t guest_field_select;  // key_field bits
  std::uint32_t vmpl;
  std::uint32_t guest_svn;
  std::uint64_t tcb_version;
};
static_assert(sizeof(KeyRequest) == 0x20);
static_assert(offsetof(KeyRequest, guest_field_select) == 0x08);
static_assert(offsetof(KeyRequest, vmpl) == 0x10);
static_assert(offsetof(KeyRequest, guest_svn) == 0x14);
static_assert(offsetof(KeyRequest, tcb_version) == 0x18);
inline constexpr std::uint8_t kKeyRequestVersion = 1;
inline constexpr std::uint32_t kRootKeyVcek = 0;
inline constexpr std::uint32_t kRootKeyVmrk = 1;

// GUEST_FIELD_SELECT (virtee/sev `src/firmware/guest/types/snp.rs` GuestFieldSelect; go-sev-guest
// `client/client.go` GuestFieldSelect.ABI). Bit 6 exists only in message version 2.
namespace key_field {
inline constexpr std::uint64_t kGuestPolicy = 1ULL << 0;
inline constexpr std::uint64_t kImageId = 1ULL << 1;
inline constexpr std::uint64_t kFamilyId = 1ULL << 2;
inline constexpr std::uint64_t kMeasurement = 1ULL << 3;
inline constexpr std::uint64_t kGuestSvn = 1ULL << 4;
inline constexpr std::uint64_t kTcbVersion = 1ULL << 5;
inline constexpr std::uint64_t kLaunchMitVector = 1ULL << 6;
// The bits message version 1 defines.
inline constexpr std::uint64_t kVersion1Mask = (1ULL << 6) - 1;
}  // namespace key_field

// MSG_KEY_RSP: STATUS (0 success, 0x16 invalid parameters: virtee/sev DerivedKeyRsp, go-sev-guest
// SnpDerivedKeyRespABI.Finish), 28 reserved bytes, the 32-byte key.
struct KeyResponse {
  std::uint32_t status;
  std::uint8_t reserved[28];
  std::uint8_t derived_key[32];
};
static_assert(sizeof(KeyResponse) == 0x40);
static_assert(offsetof(KeyResponse, derived_key) == 0x20);
inline constexpr std::size_t kDerivedKeySize = 32;
inline constexpr std::uint32_t kKeyStatusSuccess = 0;
inline constexpr std::uint32_t kKeyStatusInvalidParameter = 0x16;

inline constexpr std::uint32_t kReportStatusSuccess = 0;
inline constexpr std::uint32_t kReportStatusInvalidParameter = 0x16;
inline constexpr std::uint32_t kReportStatusInvalidKeySelection = 0x27;

}  // namespace cvtpm::formats::snp
