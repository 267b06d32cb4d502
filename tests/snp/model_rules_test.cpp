// The model's own rules, each checked against the processor behaviour its source describes
// (the sources are cited in model/snp_machine.*). The firmware's tests only mean something if the
// model faults where the processor faults; these tests keep it honest without any firmware code
// in the way: they drive the machine directly after a launch.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/ghcb_msr.h"
#include "snp_fixture.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;

constexpr std::uint64_t kScratch = SnpBoot::kGuestScratch;
constexpr std::uint64_t kAbove4G = 0x20'0000'0000;  // guest RAM the boot tables do not map

bool any_fault_mentions(const Machine& m, const std::string& text) {
  for (const std::string& f : m.faults()) {
    if (f.find(text) != std::string::npos) return true;
  }
  return false;
}

class SnpModelRules : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(b_.early()); }
  void TearDown() override { m().clear_faults(); }
  Machine& m() { return b_.machine(); }
  // The page validated by VMPL0 and given to `vmpl` with `permissions`.
  void give(std::uint64_t gpa, std::uint8_t vmpl, std::uint8_t permissions) {
    ASSERT_EQ(m().vmpl0_pvalidate(0, gpa, PageSize::k4K, true).result, fs::rmp_result::kSuccess);
    ASSERT_EQ(m().rmpadjust(0, gpa, PageSize::k4K, fs::rmpadjust_attributes(vmpl, permissions, 0)),
              fs::rmp_result::kSuccess);
  }

  SnpBoot b_;
};

// PVALIDATE takes a linear address (Linux's pvalidate(vaddr), COCONUT's pvalidate on a virtual
// address): VMPL0's page tables translate it, and without a translation it faults.
TEST_F(SnpModelRules, PvalidateAtVmpl0TranslatesItsLinearAddress) {
  const PvalidateOutcome ok = m().vmpl0_pvalidate(0, kScratch, PageSize::k4K, true);
  EXPECT_EQ(ok.result, fs::rmp_result::kSuccess);
  EXPECT_TRUE(ok.changed);
  EXPECT_TRUE(m().rmp(kScratch).validated);
  EXPECT_TRUE(m().faults().empty());
  (void)m().vmpl0_pvalidate(0, kAbove4G, PageSize::k4K, true);
  EXPECT_TRUE(any_fault_mentions(m(), "without a translation"));
}

// PVALIDATE is a VMPL0 instruction: Linux below VMPL0 validates through the SVSM instead
// (arch/x86/coco/sev, svsm_pval_pages), as OVMF does (AmdSvsmLib).
TEST_F(SnpModelRules, PvalidateOutsideVmpl0Faults) {
  (void)m().pvalidate(2, kScratch, PageSize::k4K, true);
  EXPECT_TRUE(any_fault_mentions(m(), "#GP: PVALIDATE at VMPL2"));
  EXPECT_FALSE(m().rmp(kScratch).validated);
}

// APM Table 15-39: a private access to a page that is not validated raises #VC at VMPL0; the
// firmware's guarded copies survive it, a plain access does not.
TEST_F(SnpModelRules, AnUnvalidatedPrivatePageFaultsAndOnlyAGuardedCopySurvives) {
  EXPECT_EQ(m().vmpl0_access(0, kScratch, 8, Encryption::kPrivate, false), nullptr);
  EXPECT_TRUE(any_fault_mentions(m(), "not validated"));
  m().clear_faults();
  EXPECT_EQ(m().vmpl0_guarded(0, kScratch, 8, false), nullptr);
  EXPECT_TRUE(m().faults().empty());
  ASSERT_EQ(m().survived_faults().size(), 1u);
  EXPECT_NE(m().survived_faults()[0].find("PAGE_NOT_VALIDATED"), std::string::npos);
}

// A shared access to a page the guest owns privately is a nested page fault (APM Table 15-39).
TEST_F(SnpModelRules, ASharedAccessToAPrivatePageFaults) {
  EXPECT_EQ(m().access(kScratch, 8, 0, Encryption::kShared, false), nullptr);
  EXPECT_TRUE(any_fault_mentions(m(), "shared access to a private page"));
}

// A lower VMPL reaches a private page only with the permission RMPADJUST gave it (APM 15.36.7).
TEST_F(SnpModelRules, LowerVmplsNeedThePermissionVmpl0Granted) {
  give(kScratch, 2, fs::vmpl_permission::kRead);
  EXPECT_NE(m().guest_access(0, kScratch, 8, 2, Encryption::kPrivate, false), nullptr);
  EXPECT_EQ(m().guest_access(0, kScratch, 8, 2, Encryption::kPrivate, true), nullptr);
  EXPECT_TRUE(any_fault_mentions(m(), "VMPL2 has no write permission"));
  m().clear_faults();
  EXPECT_EQ(m().guest_access(0, kScratch, 8, 3, Encryption::kPrivate, false), nullptr);
  EXPECT_TRUE(any_fault_mentions(m(), "VMPL3 has no read permission"));
}

// APM 15.36.15: a vCPU keeps using a translation it cached before RMPADJUST took the permission
// away, until an invalidation reaches it; INVLPGB + TLBSYNC reaches every vCPU.
TEST_F(SnpModelRules, AStaleTranslationOutlivesRmpadjustUntilInvlpgb) {
  give(kScratch, 2, fs::vmpl_permission::kAll);
  ASSERT_NE(m().guest_access(1, kScratch, 8, 2, Encryption::kPrivate, true), nullptr);
  ASSERT_EQ(m().rmpadjust(0, kScratch, PageSize::k4K, fs::rmpadjust_attributes(2, 0, false)),
            fs::rmp_result::kSuccess);
  EXPECT_NE(m().guest_access(1, kScratch, 8, 2, Encryption::kPrivate, true), nullptr)
      << "vCPU 1 still holds its translation";
  EXPECT_TRUE(m().faults().empty());
  m().invlpgb_tlbsync(0);
  EXPECT_EQ(m().guest_access(1, kScratch, 8, 2, Encryption::kPrivate, true), nullptr);
  EXPECT_TRUE(any_fault_mentions(m(), "VMPL2 has no write permission"));
}

// INVLPGB is only an instruction where the processor offers it to the guest.
TEST(SnpModelRulesHost, InvlpgbWithoutTheProcessorsSupportFaults) {
  SnpBoot probe;
  model::MachineConfig config = default_machine_config(probe.image().ovmf_size);
  config.invlpgb = false;
  SnpBoot b({}, config);
  b.machine().invlpgb_tlbsync(0);
  ASSERT_FALSE(b.machine().faults().empty());
  EXPECT_NE(b.machine().faults()[0].find("INVLPGB"), std::string::npos);
  EXPECT_EQ(b.machine().tlb_flushes(), 0u);
  b.machine().clear_faults();
}

// A VMSA between VMRUN and #VMEXIT is in use (APM 15.36.12): RMPADJUST cannot take its VMSA
// flag away until it stops running.
TEST_F(SnpModelRules, AVmsaInUseKeepsItsFlag) {
  ASSERT_EQ(m().vmpl0_pvalidate(0, kScratch, PageSize::k4K, true).result, fs::rmp_result::kSuccess);
  ASSERT_EQ(m().rmpadjust(0, kScratch, PageSize::k4K, fs::rmpadjust_attributes(2, 0, true)),
            fs::rmp_result::kSuccess);
  ASSERT_TRUE(m().rmp(kScratch).vmsa);
  m().set_vmsa_in_use(kScratch, true);
  EXPECT_EQ(m().rmpadjust(0, kScratch, PageSize::k4K,
                          fs::rmpadjust_attributes(2, fs::vmpl_permission::kAll, false)),
            fs::rmp_result::kFailInUse);
  EXPECT_TRUE(m().rmp(kScratch).vmsa);
  m().set_vmsa_in_use(kScratch, false);
  EXPECT_EQ(m().rmpadjust(0, kScratch, PageSize::k4K,
                          fs::rmpadjust_attributes(2, fs::vmpl_permission::kAll, false)),
            fs::rmp_result::kSuccess);
  EXPECT_FALSE(m().rmp(kScratch).vmsa);
}

// Only VMPL0 sets the VMSA flag, and RMPADJUST only aims at less privileged VMPLs (APM 15.36.7).
TEST_F(SnpModelRules, OnlyVmpl0SetsTheVmsaFlagAndNoVmplRaisesItself) {
  give(kScratch, 1, fs::vmpl_permission::kAll);
  EXPECT_EQ(m().rmpadjust(1, kScratch, PageSize::k4K, fs::rmpadjust_attributes(2, 0, true)),
            fs::rmp_result::kSuccess);
  EXPECT_FALSE(m().rmp(kScratch).vmsa) << "VMPL1 set the VMSA flag";
  EXPECT_EQ(m().rmpadjust(2, kScratch, PageSize::k4K, fs::rmpadjust_attributes(1, 0, false)),
            fs::rmp_result::kFailPermission);
  EXPECT_EQ(m().rmpadjust(0, kScratch, PageSize::k4K, fs::rmpadjust_attributes(0, 0, false)),
            fs::rmp_result::kFailPermission);
}

// With Restricted Injection in VMPL0's SEV_FEATURES only #HV can be injected (APM 15.36.16);
// without it, anything can.
TEST(SnpModelRulesHost, RestrictedInjectionLetsOnlyHvThrough) {
  SnpBoot b;  // cvtpm-igvmgen's default VMPL0 features: SNP | RI | DebugSwap
  for (const std::uint8_t vector : {2, 14, 29, 28}) {
    Machine::Injection event;
    event.vector = vector;
    b.machine().inject(0, event);
  }
  // One event per VMRUN: the refused ones never arrive.
  std::vector<int> delivered;
  for (int vmrun = 0; vmrun < 4; ++vmrun) {
    if (const auto event = b.machine().take_injection(0)) delivered.push_back(event->vector);
  }
  EXPECT_EQ(delivered, std::vector<int>{28});
  EXPECT_EQ(b.machine().refused_injections(), 3u);

  ImageOptions plain;
  plain.sev_features = fs::sev_features::kSnpActive;
  SnpBoot without(plain);
  Machine::Injection vc;
  vc.vector = 29;
  without.machine().inject(0, vc);
  const auto taken = without.machine().take_injection(0);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->vector, 29);
  EXPECT_EQ(without.machine().refused_injections(), 0u);
}

// A page the hypervisor converts back to private holds whatever the memory decrypts to, not
// zeroes (the model writes 0xCC so that code which trusts the contents shows).
TEST_F(SnpModelRules, APageConvertedToPrivateHoldsStaleBytes) {
  ASSERT_TRUE(msr_protocol::page_state_change(b_.hardware(), kScratch, Encryption::kShared));
  std::memset(m().raw(kScratch), 0, 4096);
  ASSERT_TRUE(msr_protocol::page_state_change(b_.hardware(), kScratch, Encryption::kPrivate));
  EXPECT_FALSE(m().rmp(kScratch).validated);
  EXPECT_EQ(m().raw(kScratch)[0], 0xCC);
  EXPECT_EQ(m().raw(kScratch)[4095], 0xCC);
}

}  // namespace
}  // namespace cvtpm::snp::testing
