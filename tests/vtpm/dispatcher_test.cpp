// Call decoding: unknown protocols and calls, register preservation, the calling-area handshake.
#include <gtest/gtest.h>

#include <algorithm>

#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::ServiceTest;

class DispatcherTest : public ServiceTest {};

class DispatcherWithoutTpmTest : public ServiceTest {
 protected:
  DispatcherWithoutTpmTest() : ServiceTest({}, /*with_tpm=*/false) {}
};

TEST_F(DispatcherWithoutTpmTest, UnknownProtocolsAreUnsupported) {
  for (std::uint32_t protocol : {3u, 4u, 5u, 0x100u, 0xFFFF'FFFFu}) {
    const SvsmRegisters out = call(static_cast<Protocol>(protocol), 0, 1, 2, 3, 4);
    EXPECT_EQ(result(out), SvsmResult::kUnsupportedProtocol) << "protocol " << protocol;
    // Nothing else changes.
    EXPECT_EQ(out.rcx, 1u);
    EXPECT_EQ(out.rdx, 2u);
    EXPECT_EQ(out.r8, 3u);
    EXPECT_EQ(out.r9, 4u);
  }
}

TEST_F(DispatcherWithoutTpmTest, VtpmProtocolIsAbsentWithoutATpm) {
  // Linux probes with SVSM_VTPM_QUERY directly and must see the protocol missing.
  EXPECT_EQ(result(call(Protocol::kVtpm, vtpm_call::kQuery)), SvsmResult::kUnsupportedProtocol);
  EXPECT_EQ(result(call(Protocol::kVtpm, vtpm_call::kCmd, gpa(0x1000))),
            SvsmResult::kUnsupportedProtocol);
  const SvsmRegisters q = call(Protocol::kCore, core_call::kQueryProtocol, 2ull << 32 | 1);
  EXPECT_EQ(result(q), SvsmResult::kSuccess);
  EXPECT_EQ(q.rcx, 0u);
}

TEST_F(DispatcherTest, UnknownCallsOfKnownProtocolsAreUnsupported) {
  struct Case {
    Protocol protocol;
    std::uint32_t call;
  };
  for (const Case& c : {Case{Protocol::kCore, 4}, Case{Protocol::kCore, 5},
                        Case{Protocol::kCore, 8}, Case{Protocol::kCore, 0xFFFF'FFFF},
                        Case{Protocol::kAttestation, 2}, Case{Protocol::kAttestation, 0x8000'0000},
                        Case{Protocol::kVtpm, 2}, Case{Protocol::kVtpm, 0xFFFF'FFFF}}) {
    const SvsmRegisters out = call(c.protocol, c.call, 0x11, 0x22, 0x33, 0x44);
    EXPECT_EQ(result(out), SvsmResult::kUnsupportedCall)
        << "protocol " << static_cast<std::uint32_t>(c.protocol) << " call " << c.call;
    EXPECT_EQ(out.rcx, 0x11u);
    EXPECT_EQ(out.rdx, 0x22u);
    EXPECT_EQ(out.r8, 0x33u);
    EXPECT_EQ(out.r9, 0x44u);
  }
}

TEST_F(DispatcherTest, ServesOnlyWhenCallPendingIsSet) {
  const std::uint64_t caa = platform.vcpus()[0].caa_gpa;
  const CallContext context{0, caa};
  SvsmRegisters regs{call_rax(Protocol::kVtpm, vtpm_call::kQuery), 5, 6, 7, 8};

  platform.guest_bytes(caa, 1)[0] = 0;
  EXPECT_EQ(dispatcher->serve_pending(context, regs), ServeOutcome::kNotPending);
  EXPECT_EQ(regs.rax, call_rax(Protocol::kVtpm, vtpm_call::kQuery));  // untouched
  EXPECT_EQ(regs.rcx, 5u);

  platform.guest_bytes(caa, 1)[0] = 1;
  EXPECT_EQ(dispatcher->serve_pending(context, regs), ServeOutcome::kServed);
  EXPECT_EQ(platform.guest_bytes(caa, 1)[0], 0);  // cleared by the SVSM
  EXPECT_EQ(result(regs), SvsmResult::kSuccess);
  EXPECT_EQ(regs.rcx, kSupportedPlatformCommands);
  EXPECT_EQ(regs.rdx, 0u);
  EXPECT_EQ(regs.r8, 7u);  // not an output of the call
  EXPECT_EQ(regs.r9, 8u);
}

TEST_F(DispatcherTest, CallingAreaOutsideGuestMemoryIsNotServed) {
  SvsmRegisters regs{call_rax(Protocol::kVtpm, vtpm_call::kQuery), 5, 6, 7, 8};
  EXPECT_EQ(dispatcher->serve_pending({0, platform.svsm_base()}, regs),
            ServeOutcome::kNoCallingArea);
  EXPECT_EQ(dispatcher->serve_pending({0, ~std::uint64_t{0}}, regs), ServeOutcome::kNoCallingArea);
  EXPECT_EQ(regs.rcx, 5u);
}

TEST_F(DispatcherTest, ACallingAreaGivenAwayLaterIsNoLongerServed) {
  // The calling area was the guest's when it was registered, but the guest can still give the
  // page away, here as the VMSA of a new vCPU: from then on call_pending is a VMSA byte, which the
  // SVSM must not clear. This is why serve_pending checks ownership on every call on platforms
  // without a fixed window (Platform::fixed_guest_window).
  const std::uint64_t caa = platform.vcpus()[0].caa_gpa;
  auto page = platform.guest_bytes(caa, 4096);
  std::fill(page.begin(), page.end(), 0);
  page[0xCA] = platform.config().guest_vmpl;  // VMSA.vmpl
  page[0xD1] = 0x10;                          // EFER.SVME (bit 12)
  page[0x3B0] = static_cast<std::uint8_t>(platform.config().guest_sev_features);
  ASSERT_EQ(result(call(Protocol::kCore, core_call::kCreateVcpu, caa, gpa(0x30000), 1)),
            SvsmResult::kSuccess);
  page[0] = 1;  // call_pending, as the guest left it
  SvsmRegisters regs{call_rax(Protocol::kVtpm, vtpm_call::kQuery), 5, 6, 7, 8};
  EXPECT_EQ(dispatcher->serve_pending({0, caa}, regs), ServeOutcome::kNoCallingArea);
  EXPECT_EQ(page[0], 1);  // untouched
  EXPECT_EQ(regs.rax, call_rax(Protocol::kVtpm, vtpm_call::kQuery));
  EXPECT_EQ(regs.rcx, 5u);
}

TEST_F(DispatcherTest, VtpmQueryReportsTpmSendCommandOnly) {
  const SvsmRegisters out = call(Protocol::kVtpm, vtpm_call::kQuery, 0xAA, 0xBB, 0xCC);
  EXPECT_EQ(result(out), SvsmResult::kSuccess);
  EXPECT_EQ(out.rcx, 1u << 8);
  EXPECT_EQ(out.rdx, 0u);
  EXPECT_EQ(out.r8, 0xCCu);
}

}  // namespace
}  // namespace cvtpm::vtpm
