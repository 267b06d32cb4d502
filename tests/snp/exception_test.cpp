// Exceptions at VMPL0 (defect 5 of issue 10): what the hypervisor can inject into the SVSM, and
// what the firmware's exception gate (vtpm_fw/snp/.../exception_gate.h) does with it. The model
// delivers an injected event when VMPL0 resumes from a VMGEXIT and refuses every event but #HV
// for a VMSA with Restricted Injection (APM vol. 2, 15.36.16); the fixture hands it to the boot
// vCPU's gate as the firmware's IDT does.
#include <gtest/gtest.h>

#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/ghcb_msr_protocol.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/ghcb_msr.h"
#include "snp_fixture.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;

constexpr std::uint16_t kCom1 = 0x3F8;

// A #VC the hypervisor claims for an `out dx, al` writing `byte` to COM1.
Machine::Injection injected_port_write(char byte) {
  Machine::Injection vc;
  vc.vector = 29;
  vc.error_code = fs::ghcb_exit::kIoio;
  vc.code = {0xEE};  // out dx, al
  vc.rax = static_cast<std::uint8_t>(byte);
  vc.rdx = kCom1;
  return vc;
}

ImageOptions snp_only() {
  ImageOptions options;
  options.sev_features = fs::sev_features::kSnpActive;
  return options;
}

TEST(SnpExceptions, TheDefaultImageRunsVmpl0WithCoconutsFeatures) {
  SnpBoot b;
  ASSERT_TRUE(b.early());
  // SNP | Restricted Injection | DebugSwap: COCONUT-SVSM's igvmbuilder VMPL0 VMSA.
  EXPECT_EQ(b.launch().vmsa_sev_features, 0x29u);
  EXPECT_EQ(b.firmware().vmpl0_sev_features(), 0x29u);
  EXPECT_FALSE(b.log().contains("without Restricted Injection"));

  SnpBoot plain(snp_only());
  ASSERT_TRUE(plain.early());
  EXPECT_EQ(plain.firmware().vmpl0_sev_features(), fs::sev_features::kSnpActive);
  EXPECT_TRUE(plain.log().contains("without Restricted Injection"));
}

TEST(SnpExceptions, RestrictedInjectionKeepsAnInjectedVcOutOfTheSvsm) {
  SnpBoot b;
  ASSERT_TRUE(b.early());
  b.machine().inject(0, injected_port_write('B'));
  ASSERT_TRUE(b.firmware().ghcb().io_out(kCom1, 1, 'A'));
  EXPECT_EQ(b.machine().refused_injections(), 1u);
  EXPECT_TRUE(b.vc_results().empty());
  EXPECT_FALSE(b.machine().termination().has_value());
  EXPECT_EQ(b.machine().console(), "A");
}

TEST(SnpExceptions, AnInjectedHvIsAcknowledged) {
  SnpBoot b;
  ASSERT_TRUE(b.early());
  Machine::Injection hv;
  hv.vector = 28;
  b.machine().inject(0, hv);
  ASSERT_TRUE(b.firmware().ghcb().io_out(kCom1, 1, 'A'));
  EXPECT_EQ(b.machine().refused_injections(), 0u);
  EXPECT_EQ(b.exceptions().hv_count(), 1u);
  EXPECT_FALSE(b.machine().termination().has_value());
  EXPECT_TRUE(b.machine().faults().empty());
}

TEST(SnpExceptions, WithoutRestrictedInjectionAVcInjectedIntoAGhcbExchangeEndsTheGuest) {
  SnpBoot b(snp_only());
  ASSERT_TRUE(b.early());
  // The console write is between its VMGEXIT and reading the answer when the #VC arrives:
  // emulating the claimed instruction would reuse the GHCB page under that exchange.
  b.machine().inject(0, injected_port_write('B'));
  (void)b.firmware().ghcb().io_out(kCom1, 1, 'A');
  ASSERT_EQ(b.vc_results().size(), 1u);
  EXPECT_EQ(b.vc_results()[0], VcResult::kGhcbBusy);
  ASSERT_TRUE(b.machine().termination().has_value());
  EXPECT_EQ(*b.machine().termination() & fs::ghcb_msr::kInfoMask, fs::ghcb_msr::kTerminateRequest);
  EXPECT_EQ(b.machine().console(), "A") << "the injected instruction was emulated";
}

TEST(SnpExceptions, WithoutRestrictedInjectionAVcInsideAVcEndsTheGuest) {
  SnpBoot b(snp_only());
  ASSERT_TRUE(b.early());
  // The first #VC arrives after a GHCB MSR exchange (the GHCB page is free) and is emulated;
  // the second arrives while the first one's port write is in the hypervisor's hands.
  b.machine().inject(0, injected_port_write('A'));
  b.machine().inject(0, injected_port_write('B'));
  ASSERT_TRUE(msr_protocol::hv_features(b.hardware()));
  ASSERT_EQ(b.vc_results().size(), 2u);
  EXPECT_EQ(b.vc_results()[0], VcResult::kNested) << "the inner #VC completes first";
  ASSERT_TRUE(b.machine().termination().has_value());
  EXPECT_EQ(b.machine().console(), "A") << "the nested #VC was emulated";
}

TEST(SnpExceptions, AVcOutsideAnyExchangeIsStillEmulated) {
  // Without Restricted Injection the firmware still handles the #VC its own instructions raise
  // (and an injected one that interrupts nothing of the firmware's): the gate lets it through.
  SnpBoot b(snp_only());
  ASSERT_TRUE(b.early());
  b.machine().inject(0, injected_port_write('A'));
  ASSERT_TRUE(msr_protocol::hv_features(b.hardware()));
  ASSERT_EQ(b.vc_results().size(), 1u);
  EXPECT_EQ(b.vc_results()[0], VcResult::kHandled);
  EXPECT_FALSE(b.machine().termination().has_value());
  EXPECT_EQ(b.machine().console(), "A");
  EXPECT_FALSE(b.exceptions().in_vc());
}

}  // namespace
}  // namespace cvtpm::snp::testing
