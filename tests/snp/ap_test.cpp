// The guest's other vCPUs on the model: CREATE_VCPU from the boot vCPU (the VMSA page leaves the
// guest and becomes a VMSA; the firmware starts a VMPL0 context for the APIC ID), the guest's own
// AP creation at its VMPL, the AP's calls served by its own VMPL0 loop through its own calling
// area and GHCB, DELETE_VCPU (refused while the processor runs the VMSA), CPU hotplug as Linux
// does it, with the invariants throughout.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

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

GuestSvsm discover_svsm(SnpBoot& b, GuestCpu& cpu) {
  return GuestSvsm(cpu, model::read_secrets(cpu, b.params().guest.secrets_gpa).caa);
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

  // DELETE_VCPU: refused while the processor runs the AP's VMSA (between VMRUN and #VMEXIT on
  // another physical CPU; the model runs one vCPU at a time, so the test marks it), then the
  // page goes back to the guest.
  VcpuTable& table = b.firmware().platform().vcpus();
  ASSERT_NE(table.find_apic(kApicId), VcpuTable::kCapacity);
  SvsmResult in_use{}, deleted{};
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = bsp_svsm(cpu);
    b.machine().set_vmsa_in_use(kApVmsa, true);
    in_use =
        result_of(svsm.call({call_rax(Protocol::kCore, core_call::kDeleteVcpu), kApVmsa, 0, 0, 0}));
    b.machine().set_vmsa_in_use(kApVmsa, false);
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

TEST_F(SnpApTest, CreateVcpuRefusesAVmsaTwiceAndUnknownDeletes) {
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
    results.push_back(create(kApVmsa, kApCaa + 2 * k4K, 7));             // VMSA taken: not guest's
    results.push_back(create(kApVmsa + 2 * k4K, kApVmsa + 2 * k4K, 7));  // VMSA == CAA
    results.push_back(result_of(svsm.call(
        {call_rax(Protocol::kCore, core_call::kDeleteVcpu), kApCaa, 0, 0, 0})));  // no VMSA
    // A second VMSA for the same APIC ID is CPU hotplug (Linux creates the new VMSA before it
    // deletes the old one): it becomes the vCPU's current one, the old stays a VMSA.
    results.push_back(create(kApVmsa + 2 * k4K, kApCaa, kApicId));
  });
  b.run_guest();
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0], SvsmResult::kSuccess);
  EXPECT_EQ(results[1], SvsmResult::kInvalidAddress);
  EXPECT_EQ(results[2], SvsmResult::kInvalidParameter);
  EXPECT_EQ(results[3], SvsmResult::kInvalidParameter);
  EXPECT_EQ(results[4], SvsmResult::kSuccess);
  const VcpuTable& table = b.firmware().platform().vcpus();
  ASSERT_NE(table.find_apic(kApicId), VcpuTable::kCapacity);
  EXPECT_EQ(table[table.find_apic(kApicId)].vmsa_gpa, kApVmsa + 2 * k4K);
  EXPECT_TRUE(b.machine().rmp(kApVmsa).vmsa);
  EXPECT_TRUE(b.machine().rmp(kApVmsa + 2 * k4K).vmsa);
  EXPECT_EQ(host.started(), 1u) << "one VMPL0 context per APIC ID";
  expect_invariants(b, "after the refused calls");
}

// Linux's CPU hotplug under an SVSM. Offline: the AP waits in the hypervisor (sev_es_ap_hlt_loop)
// while its VMPL0 context stays inside its VMGEXIT. Online (wakeup_cpu_via_vmgexit): a new VMSA
// (second page of an 8 KiB allocation), CREATE_VCPU for the same APIC ID, AP creation at the
// guest's VMPL, then DELETE_VCPU of the old VMSA (snp_cleanup_vmsa). Before the fix both the
// CREATE_VCPU (APIC ID in use) and the DELETE_VCPU (the vCPU "running") got FAIL_INUSE, and a
// restarted VMPL0 context leaked a VMSA page. Each AP's VMPL0 runs on a thread of its own.
TEST(SnpApHotplug, LinuxTakesEveryApOfflineAndOnline100TimesWithoutLeaks) {
  constexpr int kCycles = 100;
  constexpr std::uint32_t kAps[] = {1, 2};
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ModelVcpuHost host(b);
  b.firmware().platform().set_vcpu_host(&host);
  Machine& m = b.machine();
  // Per AP: calling area, GHCB and two VMSA pages Linux alternates between (each 8 KiB
  // allocation's second page: never 2 MiB aligned).
  auto caa = [](std::uint32_t apic) { return kScratch + (8 * apic + 0) * k4K; };
  auto ap_ghcb = [](std::uint32_t apic) { return kScratch + 0x40'0000 + apic * k4K; };
  auto vmsa_slot = [](std::uint32_t apic, int i) {
    return kScratch + (8 * apic + 2 + 2 * i) * k4K;
  };
  std::map<std::uint32_t, int> current_slot;
  std::map<std::uint32_t, std::atomic<unsigned>> onlines;
  for (std::uint32_t apic : kAps) onlines[apic] = 0;

  // Linux's AP from its trampoline: its GHCB, one SVSM call, then offline.
  for (std::uint32_t apic : kAps) {
    m.set_program(apic, 2, [&, apic](GuestCpu& cpu) {
      GuestSvsm ap(cpu, caa(apic));
      ap.setup_ghcb(ap_ghcb(apic));
      ap.use_transport(model::Transport::kGhcb);
      const SvsmRegisters q =
          ap.call({call_rax(Protocol::kCore, core_call::kQueryProtocol), 1, 0, 0, 0});
      if (result_of(q) != SvsmResult::kSuccess) throw std::runtime_error("AP's call failed");
      ++onlines[apic];
      ap.ap_hlt_loop();
    });
  }
  SvsmResult booted[2]{};
  m.acquire_turn();
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm = discover_svsm(b, cpu);
    model::accept_memory(svsm, kScratch, 32);
    svsm.setup_ghcb(kBspGhcb);
    for (std::size_t i = 0; i < 2; ++i) {
      const std::uint32_t apic = kAps[i];
      fs::Vmsa vmsa;
      build_reset_vmsa(vmsa, {0xFFFFFFF0, 2, 1, 0x00A00F11});
      cpu.write_object(vmsa_slot(apic, 0), vmsa);
      booted[i] = result_of(svsm.call({call_rax(Protocol::kCore, core_call::kCreateVcpu),
                                       vmsa_slot(apic, 0), caa(apic), apic, 0}));
      if (booted[i] == SvsmResult::kSuccess) svsm.ap_create(apic, vmsa_slot(apic, 0), 1);
      current_slot[apic] = 0;
    }
  });
  b.run_guest();
  m.release_turn();
  ASSERT_EQ(booted[0], SvsmResult::kSuccess);
  ASSERT_EQ(booted[1], SvsmResult::kSuccess);

  std::atomic<bool> stop{false};
  std::vector<std::thread> vcpus;
  for (std::uint32_t apic : kAps) {
    vcpus.emplace_back([&, apic] {
      ApContext* ap = host.context(apic);
      while (!stop) {
        m.acquire_turn();
        (void)ap->loop->run_once();
        m.release_turn();
        std::this_thread::yield();
      }
    });
  }
  // Offline after its `online`-th start: the halt of that start, not of the one before.
  auto wait_offline = [&](std::uint32_t apic, unsigned online) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (onlines[apic] < online || !m.program_halted(apic, 2)) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    return true;
  };

  std::uint64_t pool_after_first_cycle = 0;
  std::vector<std::string> problems;
  for (int cycle = 0; cycle < kCycles && problems.empty(); ++cycle) {
    for (std::uint32_t apic : kAps) {
      if (!wait_offline(apic, static_cast<unsigned>(cycle) + 1)) {
        problems.push_back("APIC ID " + std::to_string(apic) + " never went offline in cycle " +
                           std::to_string(cycle));
        break;
      }
      const std::uint64_t old_vmsa = vmsa_slot(apic, current_slot[apic]);
      const std::uint64_t new_vmsa = vmsa_slot(apic, 1 - current_slot[apic]);
      SvsmResult created{}, deleted{};
      m.acquire_turn();
      b.set_guest([&](GuestCpu& cpu) {
        GuestSvsm svsm = discover_svsm(b, cpu);
        svsm.setup_ghcb(kBspGhcb);
        fs::Vmsa vmsa;
        build_reset_vmsa(vmsa, {0xFFFFFFF0, 2, 1, 0x00A00F11});
        cpu.write_object(new_vmsa, vmsa);
        created = result_of(svsm.call(
            {call_rax(Protocol::kCore, core_call::kCreateVcpu), new_vmsa, caa(apic), apic, 0}));
        if (created != SvsmResult::kSuccess) return;
        svsm.ap_create(apic, new_vmsa, 1);
        deleted = result_of(
            svsm.call({call_rax(Protocol::kCore, core_call::kDeleteVcpu), old_vmsa, 0, 0, 0}));
      });
      b.run_guest();
      m.release_turn();
      if (created != SvsmResult::kSuccess || deleted != SvsmResult::kSuccess) {
        char text[96];
        std::snprintf(text, sizeof text, "cycle %d, APIC ID %u: CREATE_VCPU 0x%x, DELETE_VCPU 0x%x",
                      cycle, apic, static_cast<unsigned>(created), static_cast<unsigned>(deleted));
        problems.emplace_back(text);
        break;
      }
      current_slot[apic] = 1 - current_slot[apic];
    }
    if (cycle == 0) pool_after_first_cycle = b.pages().next();
  }
  for (std::uint32_t apic : kAps) (void)wait_offline(apic, kCycles + 1);
  stop = true;
  m.stop_vcpus();
  for (std::thread& t : vcpus) t.join();

  ASSERT_EQ(problems, std::vector<std::string>{});
  for (std::uint32_t apic : kAps) {
    EXPECT_EQ(onlines[apic], static_cast<unsigned>(kCycles + 1)) << "APIC ID " << apic;
    const std::uint64_t retired = vmsa_slot(apic, 1 - current_slot[apic]);
    EXPECT_FALSE(m.rmp(retired).vmsa) << "the old VMSA went back to the guest";
    EXPECT_EQ(m.rmp(retired).permissions[2], fs::vmpl_permission::kAll);
    EXPECT_TRUE(m.rmp(vmsa_slot(apic, current_slot[apic])).vmsa);
  }
  EXPECT_EQ(b.pages().next(), pool_after_first_cycle) << "firmware pages leaked per cycle";
  EXPECT_EQ(host.started(), 2u) << "one VMPL0 context per AP, reused";
  EXPECT_EQ(b.firmware().platform().vcpus().count(), 3u);
  expect_invariants(b, "after the hotplug cycles");
}

}  // namespace
}  // namespace cvtpm::snp::testing
