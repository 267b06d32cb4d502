// What the hardware does to VMPL0 that an earlier model did not show (issue: "SNP hardware
// readiness"): VMPL0's accesses and the linear addresses of PVALIDATE/RMPADJUST go through its
// page tables, TLBs keep stale translations until an invalidation reaches them, VMSAs must not
// sit at 2 MiB-aligned addresses, and a fault at VMPL0 ends the guest. Each test here failed on
// the firmware before the fix it names.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/vmsa_builder.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "snp_fixture.h"
#include "vtpm_testing.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;
namespace vt = vtpm::testing;
using vtpm::call_rax;
using vtpm::Protocol;
using vtpm::SvsmRegisters;
using vtpm::SvsmResult;
namespace core_call = vtpm::core_call;

constexpr std::uint64_t k4K = 4096;
constexpr std::uint64_t kScratch = SnpBoot::kGuestScratch;

fs::Vmsa guest_reset_vmsa() {
  fs::Vmsa vmsa;
  build_reset_vmsa(vmsa, {0xFFFFFFF0, 2, 1, 0x00A00F11});
  return vmsa;
}

// Linux's way of starting an AP under an SVSM (wakeup_cpu_via_vmgexit): a reset-state VMSA at the
// guest's VMPL, SVSM_CORE_CREATE_VCPU, then AP creation through the guest's own GHCB.
SvsmResult start_ap(GuestSvsm& svsm, GuestCpu& cpu, std::uint64_t vmsa_gpa, std::uint64_t caa_gpa,
                    std::uint32_t apic_id) {
  cpu.write_object(vmsa_gpa, guest_reset_vmsa());
  const SvsmResult created = result_of(svsm.call(
      {call_rax(Protocol::kCore, core_call::kCreateVcpu), vmsa_gpa, caa_gpa, apic_id, 0}));
  if (created == SvsmResult::kSuccess) svsm.ap_create(apic_id, vmsa_gpa, 1);
  return created;
}

GuestSvsm discover(SnpBoot& b, GuestCpu& cpu) {
  return GuestSvsm(cpu, model::read_secrets(cpu, b.params().guest.secrets_gpa).caa);
}

// OVMF under an SVSM pre-validates all RAM below 4 GiB through SVSM_CORE_PVALIDATE, page 0
// included (edk2 OvmfPkg/PlatformPei/AmdSev.c AmdSevSnpInitialize), and any guest buffer may lie
// in page 0. Before the guest window, the final page tables left linear page 0 unmapped and
// PVALIDATE took the GPA as its linear address: a #GP/#PF at VMPL0.
TEST(SnpVmpl0Hardware, GuestPageZeroIsValidatedAndUsableThroughTheGuestWindow) {
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  SvsmResult validated{};
  std::uint32_t startup_rc = ~0u;
  std::vector<std::uint8_t> page0_head;
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = discover(b, cpu);
    validated = model::svsm_pvalidate(
        svsm, std::vector{model::pvalidate_entry(0, true), model::pvalidate_entry(k4K, true)});
    page0_head = cpu.read(0, 0x80);
    // Linux's vTPM driver with its buffer at GPA 0x80.
    model::GuestTpm tpm(svsm, 0x80);
    if (!tpm.probe()) throw std::runtime_error("no vTPM");
    const auto ex = tpm.transmit(vt::tpm_startup_clear());
    if (ex.result != SvsmResult::kSuccess) throw std::runtime_error("SVSM_VTPM_CMD failed");
    startup_rc = vt::tpm_rc(ex.response);
  });
  b.run_guest();
  EXPECT_EQ(validated, SvsmResult::kSuccess);
  EXPECT_TRUE(b.machine().rmp(0).validated);
  EXPECT_EQ(b.machine().rmp(0).permissions[2], fs::vmpl_permission::kAll);
  EXPECT_EQ(page0_head, std::vector<std::uint8_t>(0x80, 0))
      << "the SVSM zeroes a page it validates";
  EXPECT_EQ(startup_rc, 0u);
  expect_invariants(b, "after the guest used page 0");
}

// After RMPADJUST takes a page from the guest, every vCPU's TLB must drop its translation (APM
// vol. 2 §15.36.15). Before the fix the SVSM reloaded only its own CR3 when the CPUID page (which
// the hypervisor fills) did not report INVLPGB: another vCPU of the guest kept a writable
// translation of the page it had handed to CREATE_VCPU and rewrote the VMSA after the SVSM had
// checked it — here into a VMPL0 VMSA the hypervisor would then run at VMPL0.
TEST(SnpVmpl0Hardware, ACreateVcpuPageIsOutOfReachOfEveryVcpuOnceChecked) {
  SnpBoot probe;
  model::MachineConfig config = default_machine_config(probe.image().ovmf_size);
  config.cpuid_reports_invlpgb = false;  // the hypervisor leaves it out; the processor has it
  SnpBoot b({}, config);
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ModelVcpuHost host(b);
  b.firmware().platform().set_vcpu_host(&host);
  constexpr std::uint64_t kApVmsa = kScratch + 3 * k4K;
  constexpr std::uint64_t kApCaa = kScratch + 4 * k4K;
  constexpr std::uint64_t kVictim = kScratch + 6 * k4K;  // the AP's page, given to CREATE_VCPU
  constexpr std::uint64_t kVictimCaa = kScratch + 7 * k4K;
  constexpr std::uint64_t kBspGhcb = kScratch + 0x30'0000;

  SvsmResult ap_started{};
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = discover(b, cpu);
    model::accept_memory(svsm, kScratch, 8);
    svsm.setup_ghcb(kBspGhcb);
    ap_started = start_ap(svsm, cpu, kApVmsa, kApCaa, 1);
  });
  b.run_guest();
  ASSERT_EQ(ap_started, SvsmResult::kSuccess);

  // vCPU 1 writes the page (its TLB now holds a writable translation), then calls the SVSM.
  bool rewrite_refused = false;
  b.machine().set_program(1, 2, [&](GuestCpu& cpu) {
    GuestSvsm ap(cpu, kApCaa);
    cpu.write_object(kVictim, guest_reset_vmsa());
    (void)ap.call({call_rax(Protocol::kCore, core_call::kQueryProtocol), 1, 0, 0, 0});
    // Resumed after the boot vCPU's CREATE_VCPU of the page: try to make it a VMPL0 VMSA.
    try {
      const std::uint8_t vmpl0 = 0;
      cpu.write(kVictim + offsetof(fs::Vmsa, vmpl), {&vmpl0, 1});
    } catch (const model::ModelFault&) {
      rewrite_refused = true;
    }
  });
  ApContext* ap = host.context(1);
  ASSERT_NE(ap, nullptr);
  ASSERT_EQ(ap->loop->run_once(), RequestLoop::Step::kServed);

  SvsmResult created{};
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = discover(b, cpu);
    created = result_of(
        svsm.call({call_rax(Protocol::kCore, core_call::kCreateVcpu), kVictim, kVictimCaa, 2, 0}));
  });
  b.run_guest();
  ASSERT_EQ(created, SvsmResult::kSuccess);
  for (int i = 0; i < 10 && !b.machine().program_finished(1, 2); ++i) (void)ap->loop->run_once();
  ASSERT_TRUE(b.machine().program_finished(1, 2));
  EXPECT_TRUE(rewrite_refused) << "vCPU 1 still wrote the page through a stale translation";
  const auto* vmsa = reinterpret_cast<const fs::Vmsa*>(b.machine().raw(kVictim));
  EXPECT_EQ(vmsa->vmpl, 2u);
  // vCPU 1's refused write is the fault the test expects; nothing else may fault.
  b.machine().drop_faults_after(b.machine().faults().empty() ? 0 : b.machine().faults().size() - 1);
  expect_invariants(b, "after the second CREATE_VCPU");
}

// Fail closed: a host where the guest cannot execute INVLPGB (missing, or intercepted by the
// hypervisor) faults at the boot's probe, after a log line that says why; on hardware the fault
// handler then ends the guest. Nothing is served with a TLB invalidation that does not reach
// every vCPU.
TEST(SnpVmpl0Hardware, AHostWithoutInvlpgbStopsTheBootWithAMessage) {
  SnpBoot probe;
  model::MachineConfig config = default_machine_config(probe.image().ovmf_size);
  config.invlpgb = false;
  config.cpuid_reports_invlpgb = false;
  SnpBoot b({}, config);
  ASSERT_TRUE(b.early());
  ASSERT_TRUE(b.accept());
  EXPECT_TRUE(b.machine().faults().empty());
  (void)b.prepare();
  ASSERT_FALSE(b.machine().faults().empty());
  EXPECT_NE(b.machine().faults().front().find("INVLPGB"), std::string::npos);
  EXPECT_TRUE(
      b.log().contains("if the boot stops here, this host does not let the guest use "
                       "them"));
  EXPECT_TRUE(b.log().contains("does not report"));
  b.machine().clear_faults();
}

// VMSAs never sit at a 2 MiB-aligned address (the erratum in the model's vmsa_of). The boot
// VMSA comes from the firmware's page pool: here the pool's next pages are arranged so that the
// page the firmware used to take for it is 2 MiB aligned.
TEST(SnpVmpl0Hardware, TheBootVmsaIsNever2MiBAligned) {
  SnpBoot b;
  ASSERT_TRUE(b.early());
  ASSERT_TRUE(b.accept());
  ASSERT_TRUE(b.activate_paging());
  // prepare() takes the guest-request pages first, then the boot VMSA's.
  constexpr std::uint64_t k2M = 0x20'0000;
  const std::uint64_t boundary = (b.pages().next() + 2 * k4K + k2M - 1) & ~(k2M - 1);
  while (b.pages().next() < boundary - 2 * k4K) ASSERT_NE(b.pages().allocate_page(), 0u);
  ASSERT_TRUE(b.prepare());
  EXPECT_NE(b.firmware().boot_vmsa_gpa() & (k2M - 1), 0u);
  vtpm::TpmEngine& engine = vt::shared_engine(vtpm::EkAlgorithm::kEccP256);
  ASSERT_TRUE(engine.power_on());
  b.firmware().serve(&engine);
  SvsmRegisters out{};
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = discover(b, cpu);
    out = svsm.call({call_rax(Protocol::kCore, core_call::kQueryProtocol), 1, 0, 0, 0});
  });
  b.run_guest();
  EXPECT_EQ(result_of(out), SvsmResult::kSuccess);
  expect_invariants(b, "after the first call");
}

// The firmware takes every VMSA page it allocates itself (the boot VMSA, the APs' VMPL0 VMSAs in
// ap_contexts.cpp) through allocate_vmsa_page.
TEST(SnpVmpl0Hardware, VmsaPagesSkipA2MiBAlignedPageAndGiveItBack) {
  struct Pages final : PageSource {
    std::vector<std::uint64_t> next{0x0820'0000, 0x0820'1000};
    std::vector<std::uint64_t> released;
    std::uint64_t allocate_page() override {
      if (next.empty()) return 0;
      const std::uint64_t p = next.front();
      next.erase(next.begin());
      return p;
    }
    void release_page(std::uint64_t gpa) override { released.push_back(gpa); }
  } pages;
  EXPECT_EQ(allocate_vmsa_page(pages), 0x0820'1000u);
  EXPECT_EQ(pages.released, std::vector<std::uint64_t>{0x0820'0000});
  pages.next = {0x0830'3000};
  EXPECT_EQ(allocate_vmsa_page(pages), 0x0830'3000u);
  pages.next = {0x0840'0000};
  EXPECT_EQ(allocate_vmsa_page(pages), 0u) << "out of pages after the aligned one";
}

// A guest page at a 2 MiB boundary handed to CREATE_VCPU is refused (Linux never does it:
// snp_alloc_vmsa_page takes the second page of an 8 KiB allocation); the page stays the guest's.
TEST(SnpVmpl0Hardware, CreateVcpuRefusesA2MiBAlignedVmsaPage) {
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ModelVcpuHost host(b);
  b.firmware().platform().set_vcpu_host(&host);
  constexpr std::uint64_t kAligned = kScratch;  // 16 MiB
  static_assert(kAligned % 0x20'0000 == 0);
  SvsmResult created{};
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = discover(b, cpu);
    model::accept_memory(svsm, kScratch, 8);
    svsm.setup_ghcb(kScratch + 0x30'0000);
    created = start_ap(svsm, cpu, kAligned, kScratch + 4 * k4K, 1);
  });
  b.run_guest();
  EXPECT_EQ(created, SvsmResult::kInvalidAddress);
  EXPECT_FALSE(b.machine().rmp(kAligned).vmsa);
  EXPECT_EQ(b.machine().rmp(kAligned).permissions[2], fs::vmpl_permission::kAll);
  EXPECT_EQ(host.started(), 0u);
  // Had the page been accepted, vCPU 1 would fault on its first VMRUN.
  if (ApContext* ap = host.context(1)) (void)ap->loop->run_once();
  expect_invariants(b, "after the refused CREATE_VCPU");
}

// The guest can have the hypervisor convert a page it validated through the SVSM (Linux does it
// for its own shared buffers), behind the SVSM's back, and then hand that page to the SVSM. A
// private access to it raises #VC PAGE_NOT_VALIDATED at VMPL0 (APM vol. 2 §15.36.10): before the
// guarded copies that #VC stopped the SVSM (and with it the guest); now the call fails with
// INVALID_ADDRESS, the SVSM forgets the page, and the guest can validate it again and use it.
TEST(SnpVmpl0Hardware, AGuestPageConvertedBehindTheSvsmsBackFailsTheCallNotTheSvsm) {
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  constexpr std::uint64_t kBuffer = kScratch + k4K;
  vtpm::SvsmResult converted_call{};
  bool still_validated = true;
  std::uint32_t startup_rc = ~0u;
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = discover(b, cpu);
    model::accept_memory(svsm, kScratch, 2);
    svsm.page_state_change(kBuffer, true);  // now the hypervisor's, and no longer validated
    model::GuestTpm tpm(svsm, kBuffer);
    // The guest cannot write its command into the shared page privately; whatever it holds, the
    // SVSM must not stop when it reads it.
    converted_call =
        result_of(svsm.call({call_rax(Protocol::kVtpm, vtpm::vtpm_call::kCmd), kBuffer, 0, 0, 0}));
    still_validated = b.firmware().ram().validated(kBuffer, k4K);
    // Back to private, validated again through the SVSM, and usable.
    svsm.page_state_change(kBuffer, false);
    model::accept_memory(svsm, kBuffer, 1);
    const auto ex = tpm.transmit(vt::tpm_startup_clear());
    if (ex.result != SvsmResult::kSuccess) throw std::runtime_error("SVSM_VTPM_CMD failed");
    startup_rc = vt::tpm_rc(ex.response);
  });
  b.run_guest();
  EXPECT_EQ(converted_call, SvsmResult::kInvalidAddress);
  EXPECT_FALSE(still_validated) << "the SVSM forgot the converted page";
  EXPECT_EQ(startup_rc, 0u);
  ASSERT_FALSE(b.machine().survived_faults().empty());
  EXPECT_NE(b.machine().survived_faults().front().find("PAGE_NOT_VALIDATED"), std::string::npos);
  expect_invariants(b, "after the converted page");
}

}  // namespace
}  // namespace cvtpm::snp::testing
