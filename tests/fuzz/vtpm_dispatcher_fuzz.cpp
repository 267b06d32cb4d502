// Fuzzes the SVSM service with arbitrary register values and guest-memory contents, optionally
// with a "racing" guest vCPU that rewrites memory after every access of the SVSM.
//
// Input: a 40-byte header, then the initial contents of guest RAM (64 KiB at GPA 0x10000,
// followed by 16 KiB of SVSM memory the guest does not own):
//   u8  protocol  the protocol number (0 core, 1 attestation, 2 vTPM, others unknown)
//   u8  flags     bit 0/1/2: map RCX/RDX/R8 into [guest RAM start, end + 12 KiB)
//                 bit 3: serve through vCPU 0's calling area (call_pending from memory)
//                 bit 4: racing guest (flip a byte after every access)
//                 bit 5: the platform offers the first 32 KiB of guest RAM as its fixed window
//                        (the calling area included), so accesses take the core's window path
//                        inside it and the checked path outside
//   u8  PVALIDATE work budget: 1 + value % 64 pages
//   u8  state     bit 0: a persistent state's evidence attached (the attestation adds the cvtpm
//                 state entry to SERVICES and answers its SINGLE_SERVICE from it)
//   u32 call id
//   u64 RCX, RDX, R8, R9 (little-endian)
// The host platform aborts on any contract violation (an access outside guest memory, an
// unchecked PVALIDATE, a bad free); this harness also aborts on an unknown result code and on
// memory the core forgot to free.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "cvtpm/vtpm_host/host_allocator.h"
#include "cvtpm/vtpm_host/host_platform.h"
#include "cvtpm/vtpm_host/windowed_platform.h"

namespace {

using namespace cvtpm::vtpm;

constexpr std::uint64_t kGuestBase = 0x10000;
constexpr std::uint64_t kGuestSize = 0x10000;
constexpr std::uint64_t kWindowSize = 0x8000;
constexpr std::size_t kHeaderSize = 40;

std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

TpmEngine& engine() {
  static host::HostAllocator allocator;
  static TpmEngine tpm(allocator);
  static const bool ready = [] {
    if (!tpm.manufacture({EkAlgorithm::kEccP256})) {
      std::fprintf(stderr, "fuzz: cannot manufacture the TPM\n");
      std::abort();
    }
    return true;
  }();
  (void)ready;
  return tpm;
}

bool known_result(std::uint64_t rax) {
  switch (static_cast<SvsmResult>(rax)) {
    case SvsmResult::kSuccess:
    case SvsmResult::kIncomplete:
    case SvsmResult::kUnsupportedProtocol:
    case SvsmResult::kUnsupportedCall:
    case SvsmResult::kInvalidAddress:
    case SvsmResult::kInvalidFormat:
    case SvsmResult::kInvalidParameter:
    case SvsmResult::kInvalidRequest:
    case SvsmResult::kBusy:
    case SvsmResult::kPvalidateFailInput:
    case SvsmResult::kProtocolFailInUse:
    case SvsmResult::kPvalidateFailSizeMismatch:
    case SvsmResult::kPvalidateFailNoChange:
      return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kHeaderSize) return 0;
  TpmEngine& tpm = engine();
  if (!tpm.powered() && !tpm.power_on()) std::abort();

  host::HostPlatformConfig config;
  config.guest_base = kGuestBase;
  config.guest_size = kGuestSize;
  config.svsm_size = 0x4000;
  config.bsp_caa_gpa = kGuestBase;
  config.certificates.assign(100, 0xCE);
  auto platform = std::make_unique<host::HostPlatform>(config);
  auto memory = platform->guest_bytes(kGuestBase, kGuestSize);
  std::memcpy(memory.data(), data + kHeaderSize,
              size - kHeaderSize < kGuestSize ? size - kHeaderSize : kGuestSize);

  const std::uint32_t protocol = data[0];
  const std::uint8_t flags = data[1];
  std::uint32_t call = 0;
  std::memcpy(&call, data + 4, 4);
  SvsmRegisters regs{std::uint64_t{protocol} << 32 | call, le64(data + 8), le64(data + 16),
                     le64(data + 24), le64(data + 32)};
  auto into_guest = [](std::uint64_t v) { return kGuestBase + v % (kGuestSize + 0x3000); };
  if (flags & 1) regs.rcx = into_guest(regs.rcx);
  if (flags & 2) regs.rdx = into_guest(regs.rdx);
  if (flags & 4) regs.r8 = into_guest(regs.r8);

  std::uint32_t racing_state = static_cast<std::uint32_t>(regs.r9) | 1;
  if (flags & 0x10) {
    platform->after_access = [&](const host::GuestAccessRecord& record) {
      // Another vCPU scribbles over the guest byte right after the SVSM touched it.
      racing_state = racing_state * 1103515245u + 12345u;
      const std::uint64_t at = record.gpa + racing_state % record.size;
      memory[at - kGuestBase] ^= static_cast<std::uint8_t>(racing_state >> 16);
    };
  }

  ServiceConfig service;
  service.pvalidate_budget_pages = 1 + (data[2] % 64);
  host::WindowedPlatform windowed(*platform, kGuestBase, kGuestBase + kWindowSize);
  Platform& served_platform = (flags & 0x20) ? static_cast<Platform&>(windowed) : *platform;
  Dispatcher dispatcher(served_platform, &tpm, service);
  static const StateEvidence kRestored{1, 2, 1, 0, 41, 43, {0xB0}, {0xC0}};
  if (data[3] & 1) dispatcher.set_state_evidence(&kRestored);
  const CallContext context{0, platform->vcpus()[0].caa_gpa};
  bool served = true;
  if (flags & 8) {
    served = dispatcher.serve_pending(context, regs) == ServeOutcome::kServed;
  } else {
    dispatcher.dispatch(context, regs);
  }
  if (served && !known_result(regs.rax)) {
    std::fprintf(stderr, "fuzz: unknown result code 0x%llx\n",
                 static_cast<unsigned long long>(regs.rax));
    std::abort();
  }
  if (platform->host_allocator().live_allocations() != 0) {
    std::fprintf(stderr, "fuzz: the core leaked %zu allocations\n",
                 platform->host_allocator().live_allocations());
    std::abort();
  }
  return 0;
}
