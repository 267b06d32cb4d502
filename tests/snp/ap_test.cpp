// The guest's other vCPUs on the model: CREATE_VCPU from the boot vCPU (the VMSA page leaves the
// guest and becomes a VMSA; the firmware starts a VMPL0 context for the APIC ID), the guest's own
// AP creation at its VMPL, the AP's calls served by its own VMPL0 loop through its own calling
// area and GHCB, DELETE_VCPU (refused while the vCPU runs), with the invariants throughout.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/vmsa_builder.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "snp_fixture.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;
using vtpm::call_rax;
using vtpm::Protocol;
using vtpm::SvsmRegisters;
using vtpm::SvsmResult;
namespace core_call = vtpm::core_call;

constexpr std::uint64_t k4K = 4096;
constexpr std::uint64_t kScratch = SnpBoot::kGuestScratch;
constexpr std::uint64_t kApVmsa = kScratch + 3 * k4K;
constexpr std::uint64_t kApCaa = kScratch + 4 * k4K;
constexpr std::uint64_t kBspGhcb = kScratch + 0x30'0000;  // never validated: can become shared
constexpr std::uint32_t kApicId = 1;

SvsmResult result_of(const SvsmRegisters& r) {
  return static_cast<SvsmResult>(r.rax);
}

class SnpApTest : public ::testing::Test {
 protected:
  void SetUp() override {
    b.boot();
    ASSERT_FALSE(HasFatalFailure());
    b.firmware().platform().set_vcpu_host(&host);
  }
  GuestSvsm bsp_svsm(GuestCpu& cpu) {
    return GuestSvsm(cpu, model::read_secrets(cpu, b.params().guest.secrets_gpa).caa);
  }
  // Runs the AP's VMPL0 loop until the AP's guest program ends.
  void run_ap() {
    ApContext* ap = host.context(kApicId);
    ASSERT_NE(ap, nullptr);
    for (int i = 0; i < 10000 && !b.machine().program_finished(kApicId, 2); ++i) {
      const RequestLoop::Step step = ap->loop->run_once();
      ASSERT_NE(step, RequestLoop::Step::kRunFailed) << ap->loop->last_error().what;
      ASSERT_NE(step, RequestLoop::Step::kNoGuest);
    }
    EXPECT_EQ(b.machine().program_failure(kApicId, 2), "");
  }
  SnpBoot b;
  ModelVcpuHost host{b};
};

TEST_F(SnpApTest, TheGuestStartsAnApAndItsCallsAreServedOnItsOwnVcpu) {
  SvsmResult created{};
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = bsp_svsm(cpu);
    model::accept_memory(svsm, kScratch, 8);
    // Linux's wakeup_cpu_via_vmgexit: the AP's VMSA in the reset state at the guest's VMPL.
    fs::Vmsa vmsa;
    build_reset_vmsa(vmsa, {0xFFFFFFF0, 2, 1, 0x00A00F11});
    cpu.write_object(kApVmsa, vmsa);
    created = result_of(svsm.call(
        {call_rax(Protocol::kCore, core_call::kCreateVcpu), kApVmsa, kApCaa, kApicId, 0}));
    if (created != SvsmResult::kSuccess) return;
    // The VMSA page is no longer the guest's.
    try {
      cpu.write(kApVmsa, std::vector<std::uint8_t>{0});
      throw std::runtime_error("the guest could still write its AP's VMSA");
    } catch (const model::ModelFault&) {
    }
    b.machine().drop_faults_after(b.machine().faults().size() - 1);
    svsm.setup_ghcb(kBspGhcb);
    svsm.ap_create(kApicId, kApVmsa, 1);
  });
  b.run_guest();
  ASSERT_EQ(created, SvsmResult::kSuccess);
  ASSERT_EQ(host.started(), 1u);
  EXPECT_TRUE(b.machine().rmp(kApVmsa).vmsa);
  EXPECT_EQ(b.machine().rmp(kApVmsa).permissions[2], 0);
  EXPECT_EQ(b.machine().vcpu(kApicId).vmsa_gpa[2], kApVmsa);
  EXPECT_NE(b.machine().vcpu(kApicId).registered_ghcb[0], 0u) << "the AP's VMPL0 GHCB";
  EXPECT_FALSE(b.firmware().platform().guest_owns(kApVmsa, k4K));
  expect_invariants(b, "after CREATE_VCPU");

  // The AP's guest: calls through its own calling area, from vCPU 1.
  SvsmRegisters query{};
  SvsmResult validated{};
  b.machine().set_program(kApicId, 2, [&](GuestCpu& cpu) {
    GuestSvsm ap(cpu, kApCaa);
    query = ap.call({call_rax(Protocol::kCore, core_call::kQueryProtocol), 1, 0, 0, 0});
    validated =
        model::svsm_pvalidate(ap, std::vector{model::pvalidate_entry(kScratch + 0x10000, true)});
  });
  run_ap();
  EXPECT_EQ(result_of(query), SvsmResult::kSuccess);
  EXPECT_EQ(query.rcx, std::uint64_t{1} << 32 | 1);
  EXPECT_EQ(validated, SvsmResult::kSuccess);
  EXPECT_EQ(host.context(kApicId)->loop->calls_served(), 2u);
  EXPECT_EQ(b.firmware().loop().calls_served(), 2u) << "the boot vCPU served only its own calls";
  expect_invariants(b, "after the AP's calls");

  // DELETE_VCPU: refused while the AP runs, then the page goes back to the guest.
  VcpuTable& table = b.firmware().platform().vcpus();
  const std::size_t slot = table.find_apic(kApicId);
  ASSERT_NE(slot, VcpuTable::kCapacity);
  SvsmResult in_use{}, deleted{};
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = bsp_svsm(cpu);
    table[slot].running = true;
    in_use =
        result_of(svsm.call({call_rax(Protocol::kCore, core_call::kDeleteVcpu), kApVmsa, 0, 0, 0}));
    table[slot].running = false;
    deleted =
        result_of(svsm.call({call_rax(Protocol::kCore, core_call::kDeleteVcpu), kApVmsa, 0, 0, 0}));
    cpu.write(kApVmsa, std::vector<std::uint8_t>{0});  // the guest's page again
  });
  b.run_guest();
  EXPECT_EQ(in_use, SvsmResult::kProtocolFailInUse);
  EXPECT_EQ(deleted, SvsmResult::kSuccess);
  EXPECT_FALSE(b.machine().rmp(kApVmsa).vmsa);
  EXPECT_EQ(b.machine().rmp(kApVmsa).permissions[2], fs::vmpl_permission::kAll);
  const auto* vmsa = reinterpret_cast<const fs::Vmsa*>(b.machine().raw(kApVmsa));
  EXPECT_EQ(vmsa->efer & kEferSvme, 0u) << "EFER.SVME cleared: the VMSA cannot be entered";
  EXPECT_EQ(table.count(), 1u);
  EXPECT_EQ(host.context(kApicId)->loop->run_once(), RequestLoop::Step::kNoGuest);
  expect_invariants(b, "after DELETE_VCPU");
}

TEST_F(SnpApTest, CreateVcpuRefusesDuplicatesAndUnknownDeletes) {
  std::vector<SvsmResult> results;
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = bsp_svsm(cpu);
    model::accept_memory(svsm, kScratch, 8);
    fs::Vmsa vmsa;
    build_reset_vmsa(vmsa, {0xFFFFFFF0, 2, 1, 0});
    cpu.write_object(kApVmsa, vmsa);
    cpu.write_object(kApVmsa + 2 * k4K, vmsa);
    auto create = [&](std::uint64_t v, std::uint64_t caa, std::uint32_t apic) {
      return result_of(
          svsm.call({call_rax(Protocol::kCore, core_call::kCreateVcpu), v, caa, apic, 0}));
    };
    results.push_back(create(kApVmsa, kApCaa, kApicId));
    results.push_back(create(kApVmsa + 2 * k4K, kApCaa, kApicId));       // APIC ID taken
    results.push_back(create(kApVmsa, kApCaa + 2 * k4K, 7));             // VMSA taken: not guest's
    results.push_back(create(kApVmsa + 2 * k4K, kApVmsa + 2 * k4K, 7));  // VMSA == CAA
    results.push_back(result_of(svsm.call(
        {call_rax(Protocol::kCore, core_call::kDeleteVcpu), kApCaa, 0, 0, 0})));  // no VMSA
  });
  b.run_guest();
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0], SvsmResult::kSuccess);
  EXPECT_EQ(results[1], SvsmResult::kProtocolFailInUse);
  EXPECT_EQ(results[2], SvsmResult::kInvalidAddress);
  EXPECT_EQ(results[3], SvsmResult::kInvalidParameter);
  EXPECT_EQ(results[4], SvsmResult::kInvalidParameter);
  EXPECT_FALSE(b.machine().rmp(kApVmsa + 2 * k4K).vmsa);
  EXPECT_EQ(b.machine().rmp(kApVmsa + 2 * k4K).permissions[2], fs::vmpl_permission::kAll);
  expect_invariants(b, "after the refused calls");
}

}  // namespace
}  // namespace cvtpm::snp::testing
