// SEV-SNP attestation report (SNP Firmware ABI, "ATTESTATION_REPORT Structure"): what the
// firmware's MSG_REPORT_REQ returns, signed by the VCEK/VLEK with ECDSA P-384 over bytes
// [0, 0x2A0). Fields added by later report versions (CPUID identity in v3, mitigation vectors in
// v5) sit in what older versions call reserved, so one layout serves every version. All integers
// are little-endian. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cvtpm/formats/snp/id_block.h"

namespace cvtpm::formats::snp {

// TCB_VERSION of Milan and Genoa (one u64 in the report; Turin orders the bytes differently).
struct TcbVersion {
  std::uint8_t boot_loader;
  std::uint8_t tee;
  std::uint8_t reserved[4];
  std::uint8_t snp;
  std::uint8_t microcode;
};
static_assert(sizeof(TcbVersion) == 8);

// TCB_VERSION of Turin: the same u64 with an FMC (first mutable code) SVN in byte 0 (virtee/sev
// src/firmware/host/types/snp.rs, TcbVersion::from_turin_bytes).
struct TurinTcbVersion {
  std::uint8_t fmc;
  std::uint8_t boot_loader;
  std::uint8_t tee;
  std::uint8_t snp;
  std::uint8_t reserved[3];
  std::uint8_t microcode;
};
static_assert(sizeof(TurinTcbVersion) == 8);

struct AttestationReport {
  std::uint32_t version;         // 0x000: report format version (2 and later)
  std::uint32_t guest_svn;       // 0x004
  std::uint64_t policy;          // 0x008: guest policy (guest_policy:: bits)
  std::uint8_t family_id[16];    // 0x010
  std::uint8_t image_id[16];     // 0x020
  std::uint32_t vmpl;            // 0x030: VMPL that requested the report
  std::uint32_t signature_algo;  // 0x034: kAlgoEcdsaP384Sha384
  TcbVersion current_tcb;        // 0x038
  std::uint64_t platform_info;   // 0x040
  std::uint32_t flags;           // 0x048: bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, 4:2 SIGNING_KEY
  std::uint32_t reserved_04c;
  std::uint8_t report_data[64];        // 0x050: chosen by the requester
  std::uint8_t measurement[48];        // 0x090: launch digest
  std::uint8_t host_data[32];          // 0x0C0
  std::uint8_t id_key_digest[48];      // 0x0E0
  std::uint8_t author_key_digest[48];  // 0x110
  std::uint8_t report_id[32];          // 0x140
  std::uint8_t report_id_ma[32];       // 0x160
  TcbVersion reported_tcb;             // 0x180
  std::uint8_t cpuid_fam_id;           // 0x188 (version 3+)
  std::uint8_t cpuid_mod_id;           // 0x189 (version 3+)
  std::uint8_t cpuid_step;             // 0x18A (version 3+)
  std::uint8_t reserved_18b[21];
  std::uint8_t chip_id[64];    // 0x1A0
  TcbVersion committed_tcb;    // 0x1E0
  std::uint8_t current_build;  // 0x1E8
  std::uint8_t current_minor;  // 0x1E9
  std::uint8_t current_major;  // 0x1EA
  std::uint8_t reserved_1eb;
  std::uint8_t committed_build;  // 0x1EC
  std::uint8_t committed_minor;  // 0x1ED
  std::uint8_t committed_major;  // 0x1EE
  std::uint8_t reserved_1ef;
  TcbVersion launch_tcb;           // 0x1F0
  std::uint8_t reserved_1f8[168];  // 0x1F8: mitigation vectors (version 5+) and reserved
  EcdsaSignature signature;        // 0x2A0: over bytes [0, kSignedBytes)
};
static_assert(sizeof(AttestationReport) == 0x4A0);
static_assert(offsetof(AttestationReport, vmpl) == 0x030);
static_assert(offsetof(AttestationReport, current_tcb) == 0x038);
static_assert(offsetof(AttestationReport, flags) == 0x048);
static_assert(offsetof(AttestationReport, report_data) == 0x050);
static_assert(offsetof(AttestationReport, measurement) == 0x090);
static_assert(offsetof(AttestationReport, host_data) == 0x0C0);
static_assert(offsetof(AttestationReport, id_key_digest) == 0x0E0);
static_assert(offsetof(AttestationReport, author_key_digest) == 0x110);
static_assert(offsetof(AttestationReport, report_id) == 0x140);
static_assert(offsetof(AttestationReport, report_id_ma) == 0x160);
static_assert(offsetof(AttestationReport, reported_tcb) == 0x180);
static_assert(offsetof(AttestationReport, cpuid_fam_id) == 0x188);
static_assert(offsetof(AttestationReport, chip_id) == 0x1A0);
static_assert(offsetof(AttestationReport, committed_tcb) == 0x1E0);
static_assert(offsetof(AttestationReport, current_build) == 0x1E8);
static_assert(offsetof(AttestationReport, committed_build) == 0x1EC);
static_assert(offsetof(AttestationReport, launch_tcb) == 0x1F0);
static_assert(offsetof(AttestationReport, signature) == 0x2A0);

// The signature covers everything before it.
inline constexpr std::size_t kReportSignedBytes = offsetof(AttestationReport, signature);
inline constexpr std::uint32_t kAttestationReportVersion = 2;
// The first version with the CPUID fields at 0x188.
inline constexpr std::uint32_t kReportVersionWithCpuid = 3;
// ECDSA P-384 r and s take 48 of their 72 bytes each; the rest of the signature field is zero
// (go-sev-guest abi/abi.go ReportToProto: "mbz" after r and s).
inline constexpr std::size_t kEcdsaP384ComponentBytes = 48;

// The u32 at 0x048 (go-sev-guest abi/abi.go ParseSignerInfo: bits 31:5 must be zero, SIGNING_KEY
// values 2-6 are reserved).
namespace report_flags {
inline constexpr std::uint32_t kAuthorKeyEn = 1u << 0;
inline constexpr std::uint32_t kMaskChipKey = 1u << 1;
inline constexpr unsigned kSigningKeyShift = 2;
inline constexpr std::uint32_t kSigningKeyMask = 7u << kSigningKeyShift;
inline constexpr std::uint32_t kSigningKeyVcek = 0;
inline constexpr std::uint32_t kSigningKeyVlek = 1;
inline constexpr std::uint32_t kSigningKeyNone = 7;
}  // namespace report_flags

// cvtpm's native platform has no PSP: its reports are unsigned (SIGNATURE_ALGO 0, zero signature)
// and carry this marker, NUL-padded, in HOST_DATA, so verifiers can name what they reject
// (vtpm_fw/runtime/platform/native/vtpm_platform.h writes it, cvtpm-verify reads it).
inline constexpr char kCvtpmNativeNotAttested[] = "cvtpm native: NOT ATTESTED";
static_assert(sizeof kCvtpmNativeNotAttested <= sizeof AttestationReport{}.host_data);

// PLATFORM_INFO bits (SNP Firmware ABI, "ATTESTATION_REPORT Structure").
namespace platform_info {
inline constexpr std::uint64_t kSmtEnabled = 1ULL << 0;
inline constexpr std::uint64_t kTsmeEnabled = 1ULL << 1;
inline constexpr std::uint64_t kEccEnabled = 1ULL << 2;
inline constexpr std::uint64_t kRaplDisabled = 1ULL << 3;
inline constexpr std::uint64_t kCiphertextHidingEnabled = 1ULL << 4;
inline constexpr std::uint64_t kAliasCheckComplete = 1ULL << 5;
}  // namespace platform_info

}  // namespace cvtpm::formats::snp
