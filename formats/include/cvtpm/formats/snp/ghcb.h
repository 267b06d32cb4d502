// The Guest-Hypervisor Communication Block (AMD "SEV-ES Guest-Hypervisor Communication Block
// Standardization", pub. 56421, version 2): the shared 4 KiB page an SEV-ES/SNP guest fills
// before a VMGEXIT, section 2.3 "GHCB Layout" (save-area fields the guest passes and the
// valid bitmap), section 4 "GHCB Protocol" (the non-automatic-exit codes and their exit
// information) and the SNP-specific events of section 4.1: page state change (4.1.6), guest
// request (4.1.7/4.1.8), AP creation (4.1.9) and running a VMPL (4.1.15). Layout as Linux
// (struct ghcb) and COCONUT-SVSM read it. All integers are little-endian. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::snp {

inline constexpr std::size_t kGhcbSharedBufferSize = 0x7F0;

struct Ghcb {
  std::uint8_t reserved_000[0xCB];
  std::uint8_t cpl;  // 0x0CB
  std::uint8_t reserved_0cc[0x74];
  std::uint64_t xss;  // 0x140
  std::uint8_t reserved_148[0x18];
  std::uint64_t dr7;  // 0x160
  std::uint8_t reserved_168[0x90];
  std::uint64_t rax;  // 0x1F8
  std::uint8_t reserved_200[0x108];
  std::uint64_t rcx;  // 0x308
  std::uint64_t rdx;  // 0x310
  std::uint64_t rbx;  // 0x318
  std::uint8_t reserved_320[0x70];
  std::uint64_t sw_exit_code;    // 0x390
  std::uint64_t sw_exit_info_1;  // 0x398
  std::uint64_t sw_exit_info_2;  // 0x3A0
  std::uint64_t sw_scratch;      // 0x3A8: GPA of the request data (inside the shared buffer)
  std::uint8_t reserved_3b0[0x38];
  std::uint64_t xcr0;             // 0x3E8
  std::uint64_t valid_bitmap[2];  // 0x3F0: one bit per quadword of 0x000..0x3FF
  std::uint64_t x87_state_gpa;    // 0x400
  std::uint8_t reserved_408[0x3F8];
  std::uint8_t shared_buffer[kGhcbSharedBufferSize];  // 0x800
  std::uint8_t reserved_ff0[0xA];
  std::uint16_t protocol_version;  // 0xFFA
  std::uint32_t ghcb_usage;        // 0xFFC: 0 = the standard format above
};
static_assert(sizeof(Ghcb) == 0x1000);
static_assert(offsetof(Ghcb, cpl) == 0x0CB);
static_assert(offsetof(Ghcb, xss) == 0x140);
static_assert(offsetof(Ghcb, dr7) == 0x160);
static_assert(offsetof(Ghcb, rax) == 0x1F8);
static_assert(offsetof(Ghcb, rcx) == 0x308);
static_assert(offsetof(Ghcb, rdx) == 0x310);
static_assert(offsetof(Ghcb, rbx) == 0x318);
static_assert(offsetof(Ghcb, sw_exit_code) == 0x390);
static_assert(offsetof(Ghcb, sw_exit_info_1) == 0x398);
static_assert(offsetof(Ghcb, sw_exit_info_2) == 0x3A0);
static_assert(offsetof(Ghcb, sw_scratch) == 0x3A8);
static_assert(offsetof(Ghcb, xcr0) == 0x3E8);
static_assert(offsetof(Ghcb, valid_bitmap) == 0x3F0);
static_assert(offsetof(Ghcb, x87_state_gpa) == 0x400);
static_assert(offsetof(Ghcb, shared_buffer) == 0x800);
static_assert(offsetof(Ghcb, protocol_version) == 0xFFA);
static_assert(offsetof(Ghcb, ghcb_usage) == 0xFFC);

inline constexpr std::uint16_t kGhcbProtocolVersion = 2;  // the version SNP requires
inline constexpr std::uint32_t kGhcbUsageStandard = 0;

// The valid bitmap marks which save-area quadwords the writer filled: bit n covers the quadword
// at offset 8 * n. The field's own quadwords are marked valid too.
constexpr std::size_t ghcb_valid_bit(std::size_t field_offset) {
  return field_offset / 8;
}
static_assert(ghcb_valid_bit(offsetof(Ghcb, rax)) == 63);
static_assert(ghcb_valid_bit(offsetof(Ghcb, sw_exit_code)) == 114);

// Exit codes (sw_exit_code): SVM intercept codes for events the guest forwards, and the
// VMGEXIT-only codes.
namespace ghcb_exit {
inline constexpr std::uint64_t kRdtsc = 0x6E;
inline constexpr std::uint64_t kCpuid = 0x72;
inline constexpr std::uint64_t kHlt = 0x78;
inline constexpr std::uint64_t kIoio = 0x7B;
inline constexpr std::uint64_t kMsr = 0x7C;
inline constexpr std::uint64_t kVmmcall = 0x81;
inline constexpr std::uint64_t kRdtscp = 0x87;
inline constexpr std::uint64_t kNpf = 0x400;
inline constexpr std::uint64_t kVmgexit = 0x403;  // what a VMSA's guest_exit_code holds after one
inline constexpr std::uint64_t kMmioRead = 0x8000'0001;
inline constexpr std::uint64_t kMmioWrite = 0x8000'0002;
// An AP with nothing to do waits in the hypervisor until it is woken (Linux sev_es_ap_hlt_loop,
// SVM_VMGEXIT_AP_HLT_LOOP in arch/x86/include/uapi/asm/svm.h); sw_exit_info_2 != 0 on return is
// the wake-up.
inline constexpr std::uint64_t kApHltLoop = 0x8000'0004;
inline constexpr std::uint64_t kPageStateChange = 0x8000'0010;
inline constexpr std::uint64_t kGuestRequest = 0x8000'0011;
inline constexpr std::uint64_t kExtGuestRequest = 0x8000'0012;
inline constexpr std::uint64_t kApCreation = 0x8000'0013;
inline constexpr std::uint64_t kRunVmpl = 0x8000'0018;
inline constexpr std::uint64_t kHvFeatures = 0x8000'FFFD;
inline constexpr std::uint64_t kTerminate = 0x8000'FFFE;
}  // namespace ghcb_exit

// IOIO exit_info_1 (the SVM IOIO intercept information).
namespace ghcb_ioio {
inline constexpr std::uint64_t kIn = 1u << 0;  // 0 = OUT
inline constexpr std::uint64_t kString = 1u << 2;
inline constexpr std::uint64_t kRep = 1u << 3;
inline constexpr std::uint64_t kSize8 = 1u << 4;
inline constexpr std::uint64_t kSize16 = 1u << 5;
inline constexpr std::uint64_t kSize32 = 1u << 6;
inline constexpr unsigned kPortShift = 16;
}  // namespace ghcb_ioio

// MSR exit_info_1.
inline constexpr std::uint64_t kGhcbMsrRead = 0;
inline constexpr std::uint64_t kGhcbMsrWrite = 1;

// Page State Change request (section 4.1.6), in the shared buffer, pointed to by sw_scratch.
struct PscHeader {
  std::uint16_t cur_entry;  // first entry to process; the hypervisor advances it
  std::uint16_t end_entry;  // last entry (inclusive)
  std::uint32_t reserved;
};
static_assert(sizeof(PscHeader) == 8);
inline constexpr std::size_t kPscMaxEntries = (kGhcbSharedBufferSize - sizeof(PscHeader)) / 8;
static_assert(kPscMaxEntries == 253);

namespace psc_entry {
inline constexpr std::uint64_t kCurPageMask = 0xFFF;              // bits 11:0
inline constexpr std::uint64_t kGfnMask = 0x000F'FFFF'FFFF'F000;  // bits 51:12 (the GPA)
inline constexpr unsigned kOperationShift = 52;                   // bits 55:52
inline constexpr std::uint64_t kOperationMask = std::uint64_t{0xF} << 52;
inline constexpr std::uint64_t kPageSize2M = std::uint64_t{1} << 56;  // bit 56
inline constexpr std::uint64_t kOpPrivate = 1;
inline constexpr std::uint64_t kOpShared = 2;
}  // namespace psc_entry

// AP creation (section 4.1.9): exit_info_1 = request | vmpl << 16 | apic_id << 32,
// exit_info_2 = GPA of the VMSA, RAX = its SEV_FEATURES.
namespace ap_creation {
inline constexpr std::uint64_t kCreateOnInit = 0;
inline constexpr std::uint64_t kCreate = 1;
inline constexpr std::uint64_t kDestroy = 2;
constexpr std::uint64_t exit_info_1(std::uint64_t request, std::uint8_t vmpl,
                                    std::uint32_t apic_id) {
  return request | std::uint64_t{vmpl & 0xFu} << 16 | std::uint64_t{apic_id} << 32;
}
}  // namespace ap_creation

// Guest request (section 4.1.7): exit_info_1 = request page GPA, exit_info_2 = response page
// GPA (both shared). On return sw_exit_info_2 = firmware error in bits 31:0, hypervisor error in
// bits 63:32.
namespace guest_request_error {
inline constexpr std::uint32_t kVmmInvalidLength = 1;  // extended request: buffer too small
inline constexpr std::uint32_t kVmmBusy = 2;           // the request was not sent; retry it
constexpr std::uint32_t vmm(std::uint64_t exit_info_2) {
  return static_cast<std::uint32_t>(exit_info_2 >> 32);
}
constexpr std::uint32_t firmware(std::uint64_t exit_info_2) {
  return static_cast<std::uint32_t>(exit_info_2);
}
}  // namespace guest_request_error

}  // namespace cvtpm::formats::snp
