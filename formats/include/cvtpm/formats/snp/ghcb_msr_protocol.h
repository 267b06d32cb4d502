// The GHCB MSR protocol (AMD GHCB specification, pub. 56421, section 2.3.1 "GHCB MSR
// Protocol"): requests a guest writes into the GHCB MSR before a VMGEXIT, without a GHCB page.
// GHCBInfo is bits 11:0 of the MSR value, GHCBData bits 63:12. Encoders for requests and
// decoders for responses; codes as Linux (asm/sev-common.h) and COCONUT-SVSM use them.
// Freestanding.
#pragma once

#include <cstdint>

namespace cvtpm::formats::snp::ghcb_msr {

inline constexpr std::uint32_t kMsrGhcb = 0xC001'0130;       // the GHCB MSR
inline constexpr std::uint32_t kMsrSevStatus = 0xC001'0131;  // SEV_STATUS (read only)

inline constexpr std::uint64_t kInfoMask = 0xFFF;

constexpr std::uint64_t info(std::uint64_t value) {
  return value & kInfoMask;
}

// GHCBInfo codes.
inline constexpr std::uint64_t kSevInfoResponse = 0x001;
inline constexpr std::uint64_t kSevInfoRequest = 0x002;
inline constexpr std::uint64_t kCpuidRequest = 0x004;
inline constexpr std::uint64_t kCpuidResponse = 0x005;
inline constexpr std::uint64_t kRegisterGhcbRequest = 0x012;
inline constexpr std::uint64_t kRegisterGhcbResponse = 0x013;
inline constexpr std::uint64_t kPageStateRequest = 0x014;
inline constexpr std::uint64_t kPageStateResponse = 0x015;
inline constexpr std::uint64_t kRunVmplRequest = 0x016;
inline constexpr std::uint64_t kRunVmplResponse = 0x017;
inline constexpr std::uint64_t kHvFeaturesRequest = 0x080;
inline constexpr std::uint64_t kHvFeaturesResponse = 0x081;
inline constexpr std::uint64_t kTerminateRequest = 0x100;

// SEV information response: GHCBData[63:48] highest and [47:32] lowest protocol version the
// hypervisor supports, [31:24] the C-bit position.
constexpr std::uint16_t sev_info_max_version(std::uint64_t v) {
  return static_cast<std::uint16_t>(v >> 48);
}
constexpr std::uint16_t sev_info_min_version(std::uint64_t v) {
  return static_cast<std::uint16_t>(v >> 32);
}
constexpr std::uint8_t sev_info_cbit(std::uint64_t v) {
  return static_cast<std::uint8_t>(v >> 24);
}
constexpr std::uint64_t sev_info_response(std::uint16_t min, std::uint16_t max, std::uint8_t cbit) {
  return std::uint64_t{max} << 48 | std::uint64_t{min} << 32 | std::uint64_t{cbit} << 24 |
         kSevInfoResponse;
}

// Hypervisor features: GHCBData = the feature bitmap.
namespace hv_feature {
inline constexpr std::uint64_t kSnp = 1u << 0;
inline constexpr std::uint64_t kSnpApCreation = 1u << 1;
inline constexpr std::uint64_t kSnpRestrictedInjection = 1u << 2;
inline constexpr std::uint64_t kSnpRestrictedInjectionTimer = 1u << 3;
inline constexpr std::uint64_t kApicIdList = 1u << 4;
inline constexpr std::uint64_t kSnpMultiVmpl = 1u << 5;
}  // namespace hv_feature
constexpr std::uint64_t hv_features(std::uint64_t response) {
  return response >> 12;
}

// GHCB GPA registration: GHCBData = GFN of the GHCB; the response echoes it (all ones on error).
constexpr std::uint64_t register_ghcb_request(std::uint64_t ghcb_gpa) {
  return (ghcb_gpa & ~kInfoMask) | kRegisterGhcbRequest;
}

// Page state change of one 4 KiB page: bits 55:52 the operation, bits 51:12 the GFN.
// The response carries an error code in GHCBData[63:32] (0 = success).
inline constexpr std::uint64_t kPageStatePrivate = 1;
inline constexpr std::uint64_t kPageStateShared = 2;
constexpr std::uint64_t page_state_request(std::uint64_t gpa, std::uint64_t operation) {
  return operation << 52 | (gpa & 0x000F'FFFF'FFFF'F000) | kPageStateRequest;
}
constexpr std::uint32_t response_error(std::uint64_t response) {
  return static_cast<std::uint32_t>(response >> 32);
}

// Run a VMPL: GHCBData[39:32] = the VMPL; response error in GHCBData[63:32] (0 = the switch
// happened and the VMPL has since returned control).
constexpr std::uint64_t run_vmpl_request(std::uint8_t vmpl) {
  return std::uint64_t{vmpl} << 32 | kRunVmplRequest;
}

// Termination: GHCBData[15:12] reason code set, [23:16] reason code.
inline constexpr std::uint8_t kReasonSetGeneral = 0;
inline constexpr std::uint8_t kReasonGeneral = 0;
inline constexpr std::uint8_t kReasonProtocolVersion = 1;  // GHCB protocol version unsupported
inline constexpr std::uint8_t kReasonSnpFeatures = 2;      // SNP features unsupported
constexpr std::uint64_t terminate_request(std::uint8_t reason_set, std::uint8_t reason) {
  return std::uint64_t{reason} << 16 | std::uint64_t{reason_set & 0xFu} << 12 | kTerminateRequest;
}

}  // namespace cvtpm::formats::snp::ghcb_msr
