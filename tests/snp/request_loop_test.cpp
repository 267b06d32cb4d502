// The request loop on the model: a guest program at the guest VMPL issues SVSM calls the way
// Linux and OVMF do, through both transports; the tests check the calling-area handshake, the
// registers, the guest VMSA around the run, the core protocol's SNP actions (PVALIDATE,
// REMAP_CA, CREATE_VCPU) and that hostile calls are refused without side effects, with the
// invariants checked after every call.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "snp_fixture.h"
#include "vtpm_testing.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;
using model::GuestError;
using model::RmpEntry;
using vtpm::call_rax;
using vtpm::Protocol;
using vtpm::SvsmRegisters;
using vtpm::SvsmResult;
namespace core_call = vtpm::core_call;

constexpr std::uint64_t k4K = 4096;
constexpr std::uint64_t kScratch = SnpBoot::kGuestScratch;

using RmpSnapshot = std::map<std::uint64_t, RmpEntry>;

RmpSnapshot snapshot(Machine& m) {
  RmpSnapshot out;
  for (std::uint64_t page : m.pages()) out[page] = m.rmp(page);
  return out;
}

// The pages whose RMP entries differ.
std::vector<std::uint64_t> rmp_changes(const RmpSnapshot& before, const RmpSnapshot& after) {
  std::vector<std::uint64_t> changed;
  for (const auto& [page, e] : after) {
    auto it = before.find(page);
    const RmpEntry old = it == before.end() ? RmpEntry{true} : it->second;
    if (old.assigned != e.assigned || old.validated != e.validated || old.vmsa != e.vmsa ||
        old.large != e.large || old.permissions != e.permissions) {
      changed.push_back(page);
    }
  }
  return changed;
}

// What a guest program needs: its CPU, the SVSM fields of its secrets page, a calling area.
struct Guest {
  explicit Guest(GuestCpu& c, SnpBoot& b)
      : cpu(c),
        boot(b),
        secrets(model::read_secrets(c, b.params().guest.secrets_gpa)),
        svsm(c, secrets.caa) {}
  GuestCpu& cpu;
  SnpBoot& boot;
  model::SvsmDiscovery secrets;
  GuestSvsm svsm;
};

class SnpLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    b.boot();
    ASSERT_FALSE(HasFatalFailure());
  }
  // Runs `body` as the guest OS on the boot vCPU, to its end.
  void run(const std::function<void(Guest&)>& body) {
    b.set_guest([this, body](GuestCpu& cpu) {
      Guest g(cpu, b);
      body(g);
    });
    b.run_guest();
  }
  SnpBoot b;
};

TEST_F(SnpLoopTest, GuestDiscoversTheSvsmFromItsSecretsPage) {
  model::SvsmDiscovery found;
  run([&](Guest& g) { found = g.secrets; });
  EXPECT_TRUE(found.present);
  EXPECT_EQ(found.vmpl, 2);
  EXPECT_EQ(found.caa, b.params().guest.caa_gpa);
  EXPECT_EQ(found.base, formats::boot::kFirmwareBase);
  EXPECT_EQ(found.max_version, 1u);
  for (std::uint8_t b0 : found.vmpck[0]) ASSERT_EQ(b0, 0);
}

TEST_F(SnpLoopTest, ServesACallAndReturnsItsRegistersThroughTheVmsa) {
  SvsmRegisters out{};
  std::uint64_t efer_while_guest_runs = 0;
  std::uint8_t pending_seen_by_svsm = 0;
  run([&](Guest& g) {
    efer_while_guest_runs =
        reinterpret_cast<const fs::Vmsa*>(g.boot.machine().raw(g.boot.firmware().boot_vmsa_gpa()))
            ->efer;
    out = g.svsm.call({call_rax(Protocol::kCore, core_call::kQueryProtocol),
                       std::uint64_t{2} << 32 | 1, 0x1111, 0x2222, 0x3333});
    pending_seen_by_svsm = *g.boot.machine().raw(g.svsm.caa());
  });
  EXPECT_EQ(result_of(out), SvsmResult::kSuccess);
  EXPECT_EQ(out.rcx, std::uint64_t{1} << 32 | 1);  // vTPM protocol 1..1
  // Registers a call does not define come back unchanged.
  EXPECT_EQ(out.rdx, 0x1111u);
  EXPECT_EQ(out.r8, 0x2222u);
  EXPECT_EQ(out.r9, 0x3333u);
  EXPECT_EQ(pending_seen_by_svsm, 0) << "the SVSM clears call_pending";
  EXPECT_NE(efer_while_guest_runs & (1u << 12), 0u) << "EFER.SVME is set while the guest runs";
  const auto* vmsa =
      reinterpret_cast<const fs::Vmsa*>(b.machine().raw(b.firmware().boot_vmsa_gpa()));
  EXPECT_EQ(vmsa->efer & (1u << 12), 0u) << "and clear while the SVSM holds the VMSA";
  EXPECT_EQ(b.firmware().loop().calls_served(), 1u);
  expect_invariants(b, "after the call");
}

TEST_F(SnpLoopTest, TheGhcbPageTransportWorksToo) {
  SvsmRegisters out{};
  run([&](Guest& g) {
    g.svsm.setup_ghcb(kScratch + 0x10'0000);  // a guest page never validated: can become shared
    g.svsm.use_transport(model::Transport::kGhcb);
    out = g.svsm.call({call_rax(Protocol::kCore, core_call::kQueryProtocol), 1, 0, 0, 0});
  });
  EXPECT_EQ(result_of(out), SvsmResult::kSuccess);
  EXPECT_EQ(out.rcx, std::uint64_t{1} << 32 | 1);
  expect_invariants(b, "after the call");
}

TEST_F(SnpLoopTest, ACallWithoutCallPendingIsNotServed) {
  GuestSvsm::Round round{};
  run([&](Guest& g) {
    round = g.svsm.call_once({call_rax(Protocol::kCore, core_call::kQueryProtocol), 1, 7, 8, 9},
                             /*set_pending=*/false);
  });
  EXPECT_TRUE(round.transport_ok);
  EXPECT_EQ(round.call_pending_after, 0);
  EXPECT_EQ(round.out.rax, call_rax(Protocol::kCore, core_call::kQueryProtocol))
      << "registers untouched: no result written";
  EXPECT_EQ(round.out.rcx, 1u);
  EXPECT_EQ(b.firmware().loop().calls_served(), 0u);
}

TEST_F(SnpLoopTest, UnknownProtocolsAndCallsAreRefused) {
  SvsmRegisters p{}, c{};
  run([&](Guest& g) {
    p = g.svsm.call({std::uint64_t{9} << 32 | 1, 0, 0, 0, 0});
    c = g.svsm.call({call_rax(Protocol::kCore, 99), 0, 0, 0, 0});
  });
  EXPECT_EQ(result_of(p), SvsmResult::kUnsupportedProtocol);
  EXPECT_EQ(result_of(c), SvsmResult::kUnsupportedCall);
}

TEST_F(SnpLoopTest, PvalidateValidatesZeroesAndGrantsThenRescindsAndRevokes) {
  const std::uint64_t page = kScratch;
  SvsmResult validated{}, rescinded{};
  RmpEntry after_validate{}, after_rescind{};
  bool zeroed = false;
  std::uint64_t flushes_before = 0, flushes_after = 0;
  run([&](Guest& g) {
    Machine& m = g.boot.machine();
    ASSERT_EQ(*m.raw(page), 0xCC) << "a fresh private page holds stale contents";
    validated = model::svsm_pvalidate(g.svsm, std::vector{model::pvalidate_entry(page, true)});
    after_validate = m.rmp(page);
    zeroed = g.cpu.read(page, k4K) == std::vector<std::uint8_t>(k4K, 0);
    g.cpu.write(page, std::vector<std::uint8_t>{1, 2, 3});
    flushes_before = m.tlb_flushes();
    rescinded = model::svsm_pvalidate(g.svsm, std::vector{model::pvalidate_entry(page, false)});
    flushes_after = m.tlb_flushes();
    after_rescind = m.rmp(page);
  });
  EXPECT_EQ(validated, SvsmResult::kSuccess);
  EXPECT_TRUE(after_validate.validated);
  EXPECT_EQ(after_validate.permissions[2], fs::vmpl_permission::kAll);
  EXPECT_TRUE(zeroed);
  EXPECT_EQ(rescinded, SvsmResult::kSuccess);
  EXPECT_FALSE(after_rescind.validated);
  EXPECT_EQ(after_rescind.permissions[2], 0);
  EXPECT_GT(flushes_after, flushes_before) << "revoking access flushes the TLBs";
  expect_invariants(b, "after PVALIDATE");
}

TEST_F(SnpLoopTest, PvalidateReportsNoChangeAndHonoursIgnoreCf) {
  const std::uint64_t flash = b.params().guest.flash_gpa;  // validated at launch
  SvsmResult plain{}, ignored{};
  run([&](Guest& g) {
    plain = model::svsm_pvalidate(g.svsm, std::vector{model::pvalidate_entry(flash, true)});
    ignored = model::svsm_pvalidate(g.svsm,
                                    std::vector{model::pvalidate_entry(flash, true, false, true)});
  });
  EXPECT_EQ(plain, SvsmResult::kPvalidateFailNoChange);
  EXPECT_EQ(ignored, SvsmResult::kSuccess);
}

// The page-size combinations of APM vol. 2 Table 15-40: 2 MiB over a 2 MiB RMP entry validates
// all of it; 4 KiB inside a 2 MiB entry makes the hypervisor PSMASH the entry first (#VMEXIT(NPF)
// with SIZEM) and then succeeds; 2 MiB over 4 KiB entries fails with FAIL_SIZEMISMATCH, which
// the guest answers with 4 KiB entries (OVMF, Linux).
TEST(SnpLoop, Pvalidate2MiBEntriesFollowTheApmsPageSizeTable) {
  SnpBoot probe;
  model::MachineConfig config = default_machine_config(probe.image().ovmf_size);
  config.large_pages = {0x0200'0000, 0x0240'0000};  // guest RAM backed by 2 MiB RMP entries
  SnpBoot b({}, config);
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  SvsmResult large{}, small_in_large{}, large_over_small{};
  b.set_guest([&](GuestCpu& cpu) {
    Guest g(cpu, b);
    large =
        model::svsm_pvalidate(g.svsm, std::vector{model::pvalidate_entry(0x0200'0000, true, true)});
    small_in_large =
        model::svsm_pvalidate(g.svsm, std::vector{model::pvalidate_entry(0x0240'1000, true)});
    large_over_small =
        model::svsm_pvalidate(g.svsm, std::vector{model::pvalidate_entry(0x0240'0000, true, true)});
  });
  b.run_guest();
  EXPECT_EQ(large, SvsmResult::kSuccess);
  for (std::uint64_t a = 0x0200'0000; a < 0x0220'0000; a += k4K) {
    ASSERT_TRUE(b.machine().rmp(a).validated);
    ASSERT_TRUE(b.machine().rmp(a).large);
    ASSERT_EQ(b.machine().rmp(a).permissions[2], fs::vmpl_permission::kAll);
  }
  EXPECT_EQ(small_in_large, SvsmResult::kSuccess);
  EXPECT_TRUE(b.machine().rmp(0x0240'1000).validated);
  EXPECT_FALSE(b.machine().rmp(0x0240'1000).large) << "the hypervisor smashed the 2 MiB entry";
  EXPECT_FALSE(b.machine().rmp(0x0240'2000).validated);
  EXPECT_EQ(large_over_small, SvsmResult::kPvalidateFailSizeMismatch);
  expect_invariants(b, "after PVALIDATE");
}

// --- Hostile calls: refused, nothing changed --------------------------------------------------

struct HostileCase {
  const char* name;
  SvsmResult expected;
  // Builds the call (may write guest memory first); runs in the guest.
  std::function<SvsmRegisters(Guest&)> make;
};

TEST_F(SnpLoopTest, HostileCallsAreRefusedWithoutSideEffects) {
  const formats::boot::BootParams& p = b.params();
  const std::uint64_t firmware = p.firmware.gpa;
  const std::uint64_t vmsa = b.firmware().boot_vmsa_gpa();
  auto pvalidate_list = [](Guest& g, std::vector<std::uint64_t> entries, std::uint16_t count,
                           std::uint16_t next = 0) {
    const std::uint64_t list = g.svsm.caa() + 8;
    std::vector<std::uint8_t> bytes(8 + entries.size() * 8, 0);
    std::memcpy(bytes.data(), &count, 2);
    std::memcpy(bytes.data() + 2, &next, 2);
    std::memcpy(bytes.data() + 8, entries.data(), entries.size() * 8);
    g.cpu.write(list, bytes);
    return SvsmRegisters{call_rax(Protocol::kCore, core_call::kPvalidate), list, 0, 0, 0};
  };
  std::vector<HostileCase> cases = {
      {"PVALIDATE of a firmware page", SvsmResult::kInvalidAddress,
       [&](Guest& g) {
         return pvalidate_list(g, {model::pvalidate_entry(firmware + 0x10000, true)}, 1);
       }},
      {"PVALIDATE rescinding a firmware page", SvsmResult::kInvalidAddress,
       [&](Guest& g) { return pvalidate_list(g, {model::pvalidate_entry(firmware, false)}, 1); }},
      {"PVALIDATE of the boot VMSA", SvsmResult::kInvalidAddress,
       [&](Guest& g) { return pvalidate_list(g, {model::pvalidate_entry(vmsa, false)}, 1); }},
      {"PVALIDATE 2 MiB over the firmware region", SvsmResult::kInvalidAddress,
       [&](Guest& g) {
         return pvalidate_list(g, {model::pvalidate_entry(0x0800'0000, true, true)}, 1);
       }},
      {"PVALIDATE list in firmware memory", SvsmResult::kInvalidAddress,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kCore, core_call::kPvalidate), firmware + 0x1000,
                              0, 0, 0};
       }},
      {"PVALIDATE list unaligned", SvsmResult::kInvalidParameter,
       [&](Guest& g) {
         SvsmRegisters r = pvalidate_list(g, {model::pvalidate_entry(kScratch, true)}, 1);
         r.rcx += 4;
         return r;
       }},
      {"PVALIDATE list with 511 entries", SvsmResult::kInvalidParameter,
       [&](Guest& g) { return pvalidate_list(g, {model::pvalidate_entry(kScratch, true)}, 511); }},
      {"PVALIDATE list with 0 entries", SvsmResult::kInvalidParameter,
       [&](Guest& g) { return pvalidate_list(g, {model::pvalidate_entry(kScratch, true)}, 0); }},
      {"PVALIDATE list with next past the end", SvsmResult::kInvalidParameter,
       [&](Guest& g) { return pvalidate_list(g, {model::pvalidate_entry(kScratch, true)}, 1, 1); }},
      {"PVALIDATE entry with reserved bits", SvsmResult::kInvalidParameter,
       [&](Guest& g) {
         return pvalidate_list(g, {model::pvalidate_entry(kScratch, true) | 0x10}, 1);
       }},
      {"PVALIDATE of a page outside guest RAM", SvsmResult::kInvalidAddress,
       [&](Guest& g) { return pvalidate_list(g, {model::pvalidate_entry(0x8000'0000, true)}, 1); }},
      {"REMAP_CA onto firmware memory", SvsmResult::kInvalidAddress,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kCore, core_call::kRemapCa), firmware + 0x2000, 0,
                              0, 0};
       }},
      {"REMAP_CA onto the boot VMSA", SvsmResult::kInvalidAddress,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kCore, core_call::kRemapCa), vmsa, 0, 0, 0};
       }},
      {"REMAP_CA onto a page that is not validated", SvsmResult::kInvalidAddress,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kCore, core_call::kRemapCa), kScratch + 0x5000, 0,
                              0, 0};
       }},
      {"REMAP_CA unaligned", SvsmResult::kInvalidParameter,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kCore, core_call::kRemapCa), kScratch + 8, 0, 0,
                              0};
       }},
      {"CREATE_VCPU with a VMSA in firmware memory", SvsmResult::kInvalidAddress,
       [&](Guest& g) {
         return SvsmRegisters{call_rax(Protocol::kCore, core_call::kCreateVcpu), firmware + 0x3000,
                              g.svsm.caa(), 1, 0};
       }},
      {"CREATE_VCPU with the calling area in firmware memory", SvsmResult::kInvalidAddress,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kCore, core_call::kCreateVcpu), kScratch, firmware,
                              1, 0};
       }},
      {"DELETE_VCPU of the boot VMSA", SvsmResult::kInvalidParameter,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kCore, core_call::kDeleteVcpu), vmsa, 0, 0, 0};
       }},
      {"vTPM command buffer in firmware memory", SvsmResult::kInvalidAddress,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kVtpm, vtpm::vtpm_call::kCmd), firmware + 0x4000,
                              0, 0, 0};
       }},
      {"vTPM command buffer running into firmware memory", SvsmResult::kInvalidAddress,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kVtpm, vtpm::vtpm_call::kCmd), firmware - 0x800, 0,
                              0, 0};
       }},
      {"attestation op in firmware memory", SvsmResult::kInvalidAddress,
       [&](Guest&) {
         return SvsmRegisters{call_rax(Protocol::kAttestation, 0), firmware + 0x5000, 0, 0, 0};
       }},
  };
  struct Outcome {
    SvsmResult result;
    std::vector<std::uint64_t> rmp_changed;
    std::uint64_t tpm_commands;
    std::vector<std::string> violations;
  };
  std::vector<Outcome> outcomes;
  run([&](Guest& g) {
    accept_memory(g.svsm, kScratch, 4);
    for (const HostileCase& c : cases) {
      const SvsmRegisters in = c.make(g);
      const RmpSnapshot before = snapshot(g.boot.machine());
      const std::uint64_t tpm_before = g.boot.engine()->commands_executed();
      const SvsmRegisters out = g.svsm.call(in);
      outcomes.push_back({result_of(out), rmp_changes(before, snapshot(g.boot.machine())),
                          g.boot.engine()->commands_executed() - tpm_before,
                          invariant_violations(g.boot)});
    }
  });
  ASSERT_EQ(outcomes.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    EXPECT_EQ(outcomes[i].result, cases[i].expected)
        << std::hex << static_cast<std::uint64_t>(outcomes[i].result);
    EXPECT_TRUE(outcomes[i].rmp_changed.empty())
        << "RMP changed at 0x" << std::hex
        << (outcomes[i].rmp_changed.empty() ? 0 : outcomes[i].rmp_changed[0]);
    EXPECT_EQ(outcomes[i].tpm_commands, 0u);
    for (const std::string& v : outcomes[i].violations) ADD_FAILURE() << v;
  }
  // The boot vCPU's calling area is still the same.
  EXPECT_EQ(b.firmware().platform().vcpus()[0].caa_gpa, b.params().guest.caa_gpa);
}

TEST_F(SnpLoopTest, RemapCaMovesTheCallingArea) {
  SvsmResult remapped{};
  SvsmRegisters after{};
  std::uint8_t new_page_first_byte = 0xFF;
  run([&](Guest& g) {
    accept_memory(g.svsm, kScratch, 1);
    g.cpu.write(kScratch, std::vector<std::uint8_t>(16, 0xAB));
    remapped =
        result_of(g.svsm.call({call_rax(Protocol::kCore, core_call::kRemapCa), kScratch, 0, 0, 0}));
    new_page_first_byte = g.cpu.read(kScratch, 1)[0];
    g.svsm.set_caa(kScratch);
    after = g.svsm.call({call_rax(Protocol::kCore, core_call::kQueryProtocol), 1, 0, 0, 0});
  });
  EXPECT_EQ(remapped, SvsmResult::kSuccess);
  EXPECT_EQ(new_page_first_byte, 0) << "the new calling area is zeroed";
  EXPECT_EQ(result_of(after), SvsmResult::kSuccess);
  EXPECT_EQ(b.firmware().platform().vcpus()[0].caa_gpa, kScratch);
  expect_invariants(b, "after REMAP_CA");
}

TEST_F(SnpLoopTest, CreateVcpuRefusesAVmsaForAMorePrivilegedVmpl) {
  // The privilege-escalation attempt: a guest-written VMSA claiming VMPL0 (or the guest's own
  // VMPL without SVME, or other SEV features) must not become a VMSA, and the page goes back.
  struct Try {
    std::uint8_t vmpl;
    std::uint64_t efer;
    std::uint64_t features;
  };
  const Try tries[] = {{0, 0x1000, 1}, {1, 0x1000, 1}, {2, 0, 1}, {2, 0x1000, 0x21}};
  std::vector<SvsmResult> results;
  std::vector<RmpEntry> entries;
  // Not 2 MiB aligned (a VMSA there is refused for another reason: the SNP erratum).
  constexpr std::uint64_t kVmsa = kScratch + k4K;
  run([&](Guest& g) {
    accept_memory(g.svsm, kScratch, 3);
    for (const Try& t : tries) {
      fs::Vmsa v{};
      v.vmpl = t.vmpl;
      v.efer = t.efer;
      v.sev_features = t.features;
      g.cpu.write_object(kVmsa, v);
      results.push_back(result_of(g.svsm.call(
          {call_rax(Protocol::kCore, core_call::kCreateVcpu), kVmsa, kVmsa + k4K, 5, 0})));
      entries.push_back(g.boot.machine().rmp(kVmsa));
      // The guest can still use its page.
      g.cpu.write(kVmsa, std::vector<std::uint8_t>{0});
    }
  });
  for (std::size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(results[i], SvsmResult::kInvalidParameter);
    EXPECT_FALSE(entries[i].vmsa);
    EXPECT_EQ(entries[i].permissions[2], fs::vmpl_permission::kAll);
  }
  EXPECT_EQ(b.firmware().platform().vcpus().count(), 1u);
  expect_invariants(b, "after refused CREATE_VCPU");
}

TEST_F(SnpLoopTest, TheGuestCannotSetTheVmsaFlagOrValidateItself) {
  std::uint32_t adjusted = 0;
  PvalidateOutcome pvalidated{};
  run([&](Guest& g) {
    accept_memory(g.svsm, kScratch, 1);
    adjusted = g.cpu.rmpadjust(kScratch, PageSize::k4K, fs::rmpadjust_attributes(3, 0, true));
    pvalidated = g.cpu.pvalidate(kScratch + k4K, PageSize::k4K, true);
    // RMPADJUST may only give what the caller has, to a less privileged VMPL.
    const std::uint32_t to_vmpl1 =
        g.cpu.rmpadjust(kScratch, PageSize::k4K, fs::rmpadjust_attributes(1, 1, false));
    if (to_vmpl1 != fs::rmp_result::kFailPermission)
      throw std::runtime_error("VMPL1 grant allowed");
  });
  EXPECT_EQ(adjusted, fs::rmp_result::kSuccess) << "allowed, but the VMSA flag is VMPL0's";
  EXPECT_FALSE(b.machine().rmp(kScratch).vmsa);
  EXPECT_EQ(pvalidated.result, fs::rmp_result::kFailInput);
  ASSERT_FALSE(b.machine().faults().empty());
  EXPECT_NE(b.machine().faults().back().find("PVALIDATE at VMPL2"), std::string::npos);
  b.machine().clear_faults();
}

TEST_F(SnpLoopTest, APvalidateListChangedDuringServiceIsReadOnce) {
  // Another vCPU of the guest rewrites the list right after the SVSM read it: the SVSM acts on
  // what it read, and never on the firmware address written in afterwards.
  bool rewritten = false;
  const std::uint64_t firmware_page = b.params().image.gpa + 0x1000;
  run([&](Guest& g) {
    accept_memory(g.svsm, kScratch, 1);
    const std::uint64_t list = g.svsm.caa() + 8;
    g.boot.hardware().after_access = [&](std::uint64_t gpa, std::size_t) {
      if (rewritten || gpa != list + 8) return;  // right after the SVSM fetched the entries
      rewritten = true;
      const std::uint64_t evil = model::pvalidate_entry(firmware_page, false);
      std::memcpy(g.boot.machine().raw(list + 8), &evil, 8);
      std::memcpy(g.boot.machine().raw(list + 16), &evil, 8);
    };
    const SvsmResult r = model::svsm_pvalidate(
        g.svsm, std::vector{model::pvalidate_entry(kScratch + k4K, true),
                            model::pvalidate_entry(kScratch + 2 * k4K, true)});
    g.boot.hardware().after_access = nullptr;
    if (r != SvsmResult::kSuccess) throw std::runtime_error("PVALIDATE failed");
  });
  EXPECT_TRUE(rewritten);
  EXPECT_TRUE(b.machine().rmp(kScratch + k4K).validated);
  EXPECT_TRUE(b.machine().rmp(kScratch + 2 * k4K).validated);
  EXPECT_TRUE(b.machine().rmp(firmware_page).validated);
  EXPECT_EQ(b.machine().rmp(firmware_page).permissions[2], 0);
  expect_invariants(b, "after the racing PVALIDATE");
}

TEST_F(SnpLoopTest, AVtpmCommandChangedDuringServiceRunsAsFirstRead) {
  // Another vCPU swaps the TPM command in the buffer right after the SVSM fetched it: the TPM
  // runs the command as fetched (TPM2_GetRandom of 16 bytes), never the rewritten one.
  std::vector<std::uint8_t> response;
  bool rewritten = false;
  run([&](Guest& g) {
    accept_memory(g.svsm, kScratch, 2);
    model::GuestTpm tpm(g.svsm, kScratch);
    if (vtpm::testing::tpm_rc(tpm.transmit(vtpm::testing::tpm_startup_clear()).response) != 0) {
      throw std::runtime_error("TPM2_Startup failed");
    }
    g.boot.hardware().after_access = [&](std::uint64_t gpa, std::size_t) {
      if (rewritten || gpa != kScratch) return;
      rewritten = true;
      const auto shutdown = vtpm::testing::from_hex("80010000000c000001450000");  // Shutdown(CLEAR)
      std::memcpy(g.boot.machine().raw(kScratch + 9), shutdown.data(), shutdown.size());
    };
    response = tpm.transmit(vtpm::testing::tpm_get_random(16)).response;
    g.boot.hardware().after_access = nullptr;
  });
  EXPECT_TRUE(rewritten);
  ASSERT_EQ(response.size(), 10u + 2 + 16) << "a GetRandom response";
  EXPECT_EQ(vtpm::testing::tpm_rc(response), 0u);
  EXPECT_EQ(vtpm::testing::be16_at(response, 10), 16);
  expect_invariants(b, "after the racing vTPM command");
}

TEST_F(SnpLoopTest, RandomHostileCallsKeepTheInvariants) {
  // A seeded stream of calls with hostile arguments: every protocol and call number, addresses
  // in and around firmware memory, VMSAs and calling areas, garbage in the calling area.
  std::vector<std::string> violations;
  unsigned calls = 0;
  run([&](Guest& g) {
    accept_memory(g.svsm, kScratch, 8);
    const formats::boot::BootParams& p = g.boot.params();
    const std::vector<std::uint64_t> addresses = {0,
                                                  1,
                                                  8,
                                                  p.firmware.gpa,
                                                  p.firmware.gpa + 0x1008,
                                                  p.firmware.gpa + p.firmware.size - k4K,
                                                  p.firmware.gpa - k4K,
                                                  p.secrets_gpa,
                                                  p.cpuid_gpa,
                                                  g.boot.firmware().boot_vmsa_gpa(),
                                                  g.boot.firmware().request_page_gpa(),
                                                  g.boot.ghcb_gpa(),
                                                  p.guest.secrets_gpa,
                                                  p.guest.cpuid_gpa,
                                                  kScratch + 2 * k4K,
                                                  kScratch + 3 * k4K + 0xFF8,
                                                  kScratch + 0x10'0000,
                                                  p.guest.flash_gpa,
                                                  0xFFFF'FFFF'FFFF'F000,
                                                  ~std::uint64_t{0},
                                                  0x4000'0000};
    std::mt19937_64 rng(20261129);
    auto pick = [&] { return addresses[rng() % addresses.size()]; };
    for (int i = 0; i < 400; ++i) {
      // Garbage or crafted PVALIDATE entries in the calling area's buffer (never the CA itself).
      std::vector<std::uint8_t> buffer(64);
      for (auto& byte : buffer) byte = static_cast<std::uint8_t>(rng());
      if (rng() % 2 == 0) {
        const std::uint16_t count = static_cast<std::uint16_t>(1 + rng() % 3);
        std::memcpy(buffer.data(), &count, 2);
        std::memset(buffer.data() + 2, 0, 6);
        for (int e = 0; e < 3; ++e) {
          std::uint64_t a = pick() & ~std::uint64_t{0xFFF};
          if (a == g.svsm.caa()) a = p.guest.cpuid_gpa;  // the guest keeps its calling area
          const std::uint64_t entry = model::pvalidate_entry(a, rng() % 2 == 0, rng() % 4 == 0);
          std::memcpy(buffer.data() + 8 + e * 8, &entry, 8);
        }
      }
      const std::uint64_t caa = g.svsm.caa();
      g.cpu.write(caa + 8, buffer);
      const auto protocol = static_cast<std::uint32_t>(rng() % 4);
      const auto call = static_cast<std::uint32_t>(rng() % 9);
      std::uint64_t rcx = rng() % 3 == 0 ? caa + 8 : pick();
      if (protocol == 0 && call == core_call::kPvalidate && rng() % 2 == 0) rcx = caa + 8;
      if (protocol == 0 && call == core_call::kRemapCa) rcx = pick();  // rarely succeeds
      const SvsmRegisters out =
          g.svsm.call({std::uint64_t{protocol} << 32 | call, rcx, pick(), rng() % 8, pick()});
      ++calls;
      if (protocol == 0 && call == core_call::kRemapCa && result_of(out) == SvsmResult::kSuccess) {
        g.svsm.set_caa(rcx);
      }
      for (const std::string& v : invariant_violations(g.boot)) {
        violations.push_back("call " + std::to_string(i) + ": " + v);
      }
      if (!violations.empty()) return;
    }
  });
  EXPECT_EQ(calls, 400u);
  for (const std::string& v : violations) ADD_FAILURE() << v;
}

}  // namespace
}  // namespace cvtpm::snp::testing
