// The firmware's SNP boot on the model: every step in the firmware's order, the state it leaves
// (RMP, secrets, CPUID and calling-area pages, the guest's VMSA), the invariants, and boots a
// hostile or broken hypervisor or a bad image must refuse.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/snp/cpuid_page.h"
#include "cvtpm/formats/snp/ghcb_msr_protocol.h"
#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/formats/snp/secrets_page.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/snp/boot.h"
#include "cvtpm/snp/guest_setup.h"
#include "snp_fixture.h"
#include "synthetic_ovmf.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;
namespace boot = formats::boot;

constexpr std::uint64_t k4K = 4096;

bool all_bytes(const std::uint8_t* p, std::size_t n, std::uint8_t value) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != value) return false;
  }
  return true;
}

TEST(SnpBoot, LeavesTheFirmwareRegionValidatedAndPrivate) {
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  Machine& m = b.machine();
  const boot::BootParams& p = b.params();
  const std::uint64_t shared[] = {b.ghcb_gpa(), b.firmware().request_page_gpa(),
                                  b.firmware().response_page_gpa()};
  for (std::uint64_t page = p.firmware.gpa; page < p.firmware.gpa + p.firmware.size; page += k4K) {
    const model::RmpEntry& e = m.rmp(page);
    const bool is_shared =
        std::find(std::begin(shared), std::end(shared), page) != std::end(shared);
    if (is_shared) {
      EXPECT_FALSE(e.assigned) << std::hex << page;
      EXPECT_TRUE(m.firmware_maps_shared(page)) << std::hex << page;
    } else {
      ASSERT_TRUE(e.assigned && e.validated) << "firmware page not validated: " << std::hex << page;
      EXPECT_FALSE(m.firmware_maps_shared(page)) << std::hex << page;
    }
    for (int vmpl = 1; vmpl <= 3; ++vmpl) EXPECT_EQ(e.permissions[vmpl], 0) << std::hex << page;
  }
  // The hypervisor sees only ciphertext of firmware memory, e.g. the firmware's secrets.
  const auto seen = m.hypervisor_read(p.secrets_gpa + offsetof(fs::SecretsPage, vmpck), 32);
  EXPECT_NE(0, std::memcmp(seen.data(), m.psp().vmpck(0).data(), 32));
  EXPECT_EQ(m.vcpu(0).registered_ghcb[0], b.ghcb_gpa());
  expect_invariants(b, "after boot");
}

TEST(SnpBoot, PreparesOvmfsPages) {
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  Machine& m = b.machine();
  const boot::BootParams& p = b.params();
  const boot::GuestFirmwareInfo& g = p.guest;
  const std::uint8_t vmpl = p.guest_vmpl;
  ASSERT_EQ(vmpl, 2);
  auto expect_guest_page = [&](std::uint64_t page, const char* what) {
    const model::RmpEntry& e = m.rmp(page);
    EXPECT_TRUE(e.assigned && e.validated) << what << std::hex << " 0x" << page;
    EXPECT_EQ(e.permissions[vmpl], fs::vmpl_permission::kAll) << what << std::hex << " 0x" << page;
    EXPECT_FALSE(e.vmsa);
  };
  ASSERT_GT(g.prevalidated_count, 0u);
  const std::uint64_t map_page = p.guest_memory_map.gpa & ~(k4K - 1);
  for (std::uint32_t i = 0; i < g.prevalidated_count; ++i) {
    for (std::uint64_t a = g.prevalidated[i].gpa;
         a < g.prevalidated[i].gpa + g.prevalidated[i].size; a += k4K) {
      expect_guest_page(a, "pre-validated");
      if (a != map_page) {
        EXPECT_TRUE(all_bytes(m.raw(a), k4K, 0)) << "not zeroed: " << std::hex << a;
      }
    }
  }
  // OVMF's IGVM memory map: the guest's RAM without the firmware region (the model's 1 GiB of
  // RAM, the region at 128 MiB), then an empty entry; 24-byte IGVM_VHS_MEMORY_MAP_ENTRYs.
  ASSERT_EQ(p.guest_memory_map.gpa, 0x812000u);
  ASSERT_EQ(p.guest_memory_map.size, 0xC0u);
  const std::uint64_t expected_map[] = {0,      0x8000,  0,  // page 0, 32768 pages, memory
                                        0xA000, 0x36000, 0, 0, 0, 0};
  for (std::size_t i = 0; i < std::size(expected_map); ++i) {
    std::uint64_t word;
    std::memcpy(&word, m.raw(0x812000 + 8 * i), 8);
    EXPECT_EQ(word, expected_map[i]) << "memory map word " << i;
  }
  EXPECT_TRUE(all_bytes(m.raw(0x812000 + sizeof expected_map), k4K - sizeof expected_map, 0));
  expect_guest_page(g.caa_gpa, "calling area");
  EXPECT_TRUE(all_bytes(m.raw(g.caa_gpa), k4K, 0));
  expect_guest_page(g.cpuid_gpa, "CPUID page");
  EXPECT_EQ(0, std::memcmp(m.raw(g.cpuid_gpa), m.raw(p.cpuid_gpa), sizeof(fs::CpuidPage)))
      << "the guest's CPUID page must be the PSP-checked table";
  expect_guest_page(g.secrets_gpa, "secrets page");
  for (std::uint64_t a = g.flash_gpa; a < g.flash_gpa + g.flash_size; a += k4K) {
    expect_guest_page(a, "flash");
  }
  // Flash contents are OVMF's, untouched.
  cvtpm::testing::SyntheticOvmf ovmf;
  const auto bytes = ovmf.build();
  EXPECT_EQ(0, std::memcmp(m.raw(g.flash_gpa), bytes.data(), k4K));

  // The guest's secrets page, field by field against the PSP's keys.
  fs::SecretsPage s;
  std::memcpy(&s, m.raw(g.secrets_gpa), sizeof s);
  const std::vector<std::uint8_t> zero(32, 0);
  EXPECT_EQ(0, std::memcmp(s.vmpck[0], zero.data(), 32));
  EXPECT_EQ(0, std::memcmp(s.vmpck[1], zero.data(), 32));
  EXPECT_EQ(0, std::memcmp(s.vmpck[2], m.psp().vmpck(2).data(), 32));
  EXPECT_EQ(0, std::memcmp(s.vmpck[3], m.psp().vmpck(3).data(), 32));
  EXPECT_EQ(s.svsm_base, boot::kFirmwareBase);
  EXPECT_EQ(s.svsm_size, boot::kFirmwareRegionSize);
  EXPECT_EQ(s.svsm_caa, g.caa_gpa);
  EXPECT_EQ(s.svsm_max_version, 1u);
  EXPECT_EQ(s.svsm_guest_vmpl, 2);
  EXPECT_EQ(s.version, 3u);  // copied from the PSP's page
  EXPECT_EQ(s.fms, b.machine().config().cpu_signature);
  expect_invariants(b, "after boot");
}

TEST(SnpBoot, CreatesTheGuestVmsaInTheResetStateAtTheGuestVmpl) {
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  Machine& m = b.machine();
  const std::uint64_t gpa = b.firmware().boot_vmsa_gpa();
  fs::Vmsa v;
  std::memcpy(&v, m.raw(gpa), sizeof v);
  // AMD APM vol. 2 "Processor Initialization State", as COCONUT-SVSM gives OVMF.
  EXPECT_EQ(v.cs.selector, 0xF000);
  EXPECT_EQ(v.cs.attrib, 0x9B);
  EXPECT_EQ(v.cs.limit, 0xFFFFu);
  EXPECT_EQ(v.cs.base, 0xFFFF0000u);
  EXPECT_EQ(v.rip, 0xFFF0u);
  for (const fs::VmcbSegment* s : {&v.ds, &v.es, &v.fs, &v.gs, &v.ss}) {
    EXPECT_EQ(s->selector, 0);
    EXPECT_EQ(s->attrib, 0x93);
    EXPECT_EQ(s->limit, 0xFFFFu);
    EXPECT_EQ(s->base, 0u);
  }
  EXPECT_EQ(v.gdtr.limit, 0xFFFFu);
  EXPECT_EQ(v.idtr.limit, 0xFFFFu);
  EXPECT_EQ(v.ldtr.attrib, 0x82);
  EXPECT_EQ(v.tr.attrib, 0x8B);
  EXPECT_EQ(v.cr0, 0x60000010u);
  EXPECT_EQ(v.cr3, 0u);
  EXPECT_EQ(v.cr4, 0u);
  EXPECT_EQ(v.efer, 0x1000u);  // EFER.SVME only
  EXPECT_EQ(v.dr6, 0xFFFF0FF0u);
  EXPECT_EQ(v.dr7, 0x400u);
  EXPECT_EQ(v.rflags, 2u);
  EXPECT_EQ(v.g_pat, 0x0007040600070406u);
  EXPECT_EQ(v.xcr0, 1u);
  EXPECT_EQ(v.mxcsr, 0x1F80u);
  EXPECT_EQ(v.x87_ftw, 0x5555);
  EXPECT_EQ(v.x87_fcw, 0x40);
  EXPECT_EQ(v.rdx, m.config().cpu_signature);  // CPUID(1).EAX from the CPUID page
  EXPECT_EQ(v.vmpl, 2);
  EXPECT_EQ(v.cpl, 0);
  EXPECT_EQ(v.sev_features, 1u);
  EXPECT_EQ(v.rax, 0u);
  EXPECT_EQ(v.rsp, 0u);
  // A VMSA page of the firmware, flagged, registered for the boot vCPU at the guest VMPL.
  EXPECT_TRUE(m.rmp(gpa).vmsa);
  EXPECT_EQ(m.rmp(gpa).permissions[2], 0);
  EXPECT_GE(gpa, boot::kFirmwareBase);
  EXPECT_LT(gpa, boot::kFirmwareBase + boot::kFirmwareRegionSize);
  EXPECT_EQ(m.vcpu(0).vmsa_gpa[2], gpa);
  EXPECT_EQ(m.vcpu(0).vmsa_features[2], 1u);
  expect_invariants(b, "after boot");
}

class GuestVmplTest : public ::testing::TestWithParam<int> {};

TEST_P(GuestVmplTest, ZeroesExactlyTheKeysAboveTheGuest) {
  ImageOptions options;
  options.guest_vmpl = static_cast<std::uint8_t>(GetParam());
  SnpBoot b(options);
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  fs::SecretsPage s;
  std::memcpy(&s, b.machine().raw(b.params().guest.secrets_gpa), sizeof s);
  for (int i = 0; i < 4; ++i) {
    const bool kept = i >= GetParam();
    EXPECT_EQ(kept, 0 == std::memcmp(s.vmpck[i], b.machine().psp().vmpck(i).data(), 32)) << i;
    EXPECT_EQ(!kept, all_bytes(s.vmpck[i], 32, 0)) << i;
  }
  EXPECT_EQ(s.svsm_guest_vmpl, GetParam());
  fs::Vmsa v;
  std::memcpy(&v, b.machine().raw(b.firmware().boot_vmsa_gpa()), sizeof v);
  EXPECT_EQ(v.vmpl, GetParam());
  EXPECT_EQ(b.machine().rmp(b.params().guest.caa_gpa).permissions[GetParam()],
            fs::vmpl_permission::kAll);
  expect_invariants(b, "after boot");
}
INSTANTIATE_TEST_SUITE_P(Vmpls, GuestVmplTest, ::testing::Values(1, 2, 3));

TEST(SnpBoot, TheInvariantCheckFindsViolations) {
  SnpBoot b;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  Machine& m = b.machine();
  const std::uint64_t firmware_page = b.params().image.gpa + 0x1000;
  m.rmp(firmware_page).permissions[2] = fs::vmpl_permission::kRead;
  EXPECT_NONFATAL_FAILURE(expect_invariants(b, "granted"), "permissions on firmware page");
  m.rmp(firmware_page).permissions[2] = 0;
  m.rmp(b.firmware().boot_vmsa_gpa()).vmsa = false;
  EXPECT_NONFATAL_FAILURE(expect_invariants(b, "unflagged"), "lacks the VMSA flag");
  m.rmp(b.firmware().boot_vmsa_gpa()).vmsa = true;
  std::memcpy(m.raw(b.params().guest.secrets_gpa + offsetof(fs::SecretsPage, vmpck)),
              m.psp().vmpck(0).data(), 32);
  EXPECT_NONFATAL_FAILURE(expect_invariants(b, "leaked"), "VMPCK0 is readable outside VMPL0");
}

TEST(SnpBoot, BootsWith2MiBRmpEntries) {
  // The hypervisor backs a free part of the firmware region and some guest RAM with 2 MiB
  // entries: the firmware validates those with 2 MiB PVALIDATEs, the rest with 4 KiB ones.
  SnpBoot probe;
  const std::size_t ovmf = probe.image().ovmf_size;
  model::MachineConfig config = default_machine_config(ovmf);
  config.large_pages = {0x0980'0000, 0x09E0'0000};
  SnpBoot b({}, config);
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (std::uint64_t large : config.large_pages) {
    for (std::uint64_t a = large; a < large + 0x20'0000; a += k4K) {
      ASSERT_TRUE(b.machine().rmp(a).validated) << std::hex << a;
      ASSERT_TRUE(b.machine().rmp(a).large) << std::hex << a;
    }
  }
  expect_invariants(b, "after boot");
}

TEST(SnpBoot, TheRealFirmwareImageBootsOnTheModel) {
  if (!real_firmware_available()) GTEST_SKIP() << "cvtpm-fw.elf is not built in this configuration";
  ImageOptions options;
  options.real_firmware = true;
  SnpBoot b(options);
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  expect_invariants(b, "after boot");
}

// --- The hypervisor misbehaves at boot
// ------------------------------------------------------------

TEST(SnpBootHostile, RefusesAHypervisorWithoutGhcbVersion2) {
  SnpBoot b;
  b.machine().hypervisor().ghcb_max_version = 1;
  const SnpStatus s = b.early();
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "the hypervisor does not support GHCB protocol version 2");
}

TEST(SnpBootHostile, RefusesAHypervisorWithoutSnp) {
  SnpBoot b;
  b.machine().hypervisor().features = formats::snp::ghcb_msr::hv_feature::kSnpMultiVmpl;
  const SnpStatus s = b.early();
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "the hypervisor does not advertise SEV-SNP support");
}

TEST(SnpBootHostile, MultiVmplIsRequiredOnlyWhenAsked) {
  {
    SnpBoot b;
    b.machine().hypervisor().features = formats::snp::ghcb_msr::hv_feature::kSnp;
    NegotiateOptions strict;
    strict.require_multi_vmpl = true;
    const SnpStatus s = b.early(strict);
    ASSERT_FALSE(s);
    EXPECT_STREQ(s.error().what, "the hypervisor does not advertise multi-VMPL support");
  }
  SnpBoot b;
  b.machine().hypervisor().features = formats::snp::ghcb_msr::hv_feature::kSnp;
  ASSERT_TRUE(b.early());
  EXPECT_FALSE(b.firmware().hypervisor().multi_vmpl);
}

TEST(SnpBootHostile, RefusesWhenTheGhcbCannotBeRegistered) {
  SnpBoot b;
  b.machine().hypervisor().refuse_ghcb_registration = true;
  const SnpStatus s = b.early();
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "GHCB MSR protocol: the hypervisor refused the GHCB page");
}

TEST(SnpBootHostile, RefusesWhenPageStateChangesFail) {
  SnpBoot b;
  ASSERT_TRUE(b.early());
  b.machine().hypervisor().refuse_page_state_change = true;
  const SnpStatus s = b.accept();
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "GHCB: page state change refused");
}

TEST(SnpBootHostile, RefusesFirmwareMemoryThatIsAlreadyValidated) {
  // Only the launch validates pages before the firmware: a validated page outside the image is
  // what a hypervisor remapping a validated page there would produce.
  SnpBoot b;
  ASSERT_TRUE(b.early());
  const std::uint64_t page = b.params().image.gpa + b.params().image.size + 0x5000;
  b.machine().rmp(page).validated = true;
  const SnpStatus s = b.accept();
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "PVALIDATE: page was already validated");
  EXPECT_EQ(s.error().value1, page);
}

TEST(SnpBootHostile, TrustsTheCpuidPageNotTheHypervisorForTheCbit) {
  SnpBoot b;
  b.machine().hypervisor().claimed_cbit = 47;
  ASSERT_TRUE(b.early());
  EXPECT_EQ(b.firmware().cpuid().cbit_position(), 51);
  EXPECT_TRUE(b.log().contains("the hypervisor claims C-bit 47, the CPUID page says 51"));
}

TEST(SnpBootHostile, ProgressesThroughPartialPageStateChanges) {
  SnpBoot b;
  b.machine().hypervisor().psc_entries_per_exit = 7;
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  expect_invariants(b, "after boot");
}

TEST(SnpBootHostile, RefusesAHypervisorThatStopsPageStateChanges) {
  SnpBoot b;
  ASSERT_TRUE(b.early());
  b.machine().hypervisor().psc_entries_per_exit = 0;
  const SnpStatus s = b.accept();
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "GHCB: page state change makes no progress");
}

TEST(SnpBootHostile, RefusesAMemoryMapWithoutOvmfsPages) {
  // The loader's (unmeasured) memory map decides what guest RAM is: without OVMF's pages in it,
  // the firmware refuses rather than validating memory outside guest RAM.
  SnpBoot probe;
  model::MachineConfig config = default_machine_config(probe.image().ovmf_size);
  config.memory_map = {{0, 0x0080'0000}, {0x0800'0000, 0x4000'0000}};  // below OVMF's 8 MiB pages
  SnpBoot b({}, config);
  ASSERT_TRUE(b.early());
  ASSERT_TRUE(b.accept());
  const SnpStatus s = b.prepare();
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "guest firmware: secrets, CPUID or calling-area page bad");
}

TEST(SnpBootHostile, RefusesAnOvmfWithoutAnIgvmMemoryMap) {
  // It would take its RAM from the e820 map and pre-validate the firmware region.
  ImageOptions options;
  options.ovmf_igvm_metadata = false;
  SnpBoot b(options);
  ASSERT_TRUE(b.early());
  ASSERT_TRUE(b.accept());
  const SnpStatus s = b.prepare();
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what,
               "guest firmware: no IGVM memory map (an OVMF older than edk2-stable202511 would "
               "pre-validate the firmware region and stop)");
}

TEST(GuestMemoryMap, TheLoadersRamWithoutTheFirmwareRegion) {
  const GpaRange region{0x0800'0000, 0x0A00'0000};
  GuestMemoryMapEntry entries[4];
  const GpaRange ram[] = {{0, 0x8'0000}, {0x10'0000, 0x8000'0000}, {0x1'0000'0000, 0x2'0000'0000}};
  const auto n = build_guest_memory_map(ram, region, entries);
  ASSERT_TRUE(n);
  ASSERT_EQ(n.value(), 4u);
  const std::uint64_t expected[4][2] = {
      {0, 0x80}, {0x100, 0x8000 - 0x100}, {0xA000, 0x80000 - 0xA000}, {0x100000, 0x100000}};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(entries[i].starting_gpa_page_number, expected[i][0]) << i;
    EXPECT_EQ(entries[i].number_of_pages, expected[i][1]) << i;
    EXPECT_EQ(entries[i].entry_type, 0) << i;
  }
  GuestMemoryMapEntry three[3];
  EXPECT_FALSE(build_guest_memory_map(ram, region, three)) << "four entries do not fit in three";
  GuestMemoryMapEntry room[8];
  std::memset(room, 0xFF, sizeof room);
  const GpaRange one[] = {{0, 0x0800'0000}};
  ASSERT_EQ(build_guest_memory_map(one, region, room).value(), 1u);
  EXPECT_EQ(room[1].number_of_pages, 0u) << "an empty entry ends the map";
}

// --- BootParams checks ---------------------------------------------------------------------------

class BootParamsTest : public ::testing::Test {
 protected:
  BootParamsTest() {
    params.magic = boot::kBootParamsMagic;
    params.version = boot::kBootParamsVersion;
    params.size = sizeof params;
    params.firmware = {boot::kFirmwareBase, boot::kFirmwareRegionSize};
    params.image = {boot::kFirmwareBase, 0x10'0000};
    params.secrets_gpa = boot::kFirmwareBase + 0x8000;
    params.cpuid_gpa = boot::kFirmwareBase + 0x9000;
    params.vp_count_gpa = boot::kFirmwareBase + 0xA000;
    params.environment_gpa = boot::kFirmwareBase + 0xA004;
    params.memory_map_gpa = boot::kFirmwareBase + 0xB000;
    params.memory_map_size = 0x1000;
    params.guest_vmpl = 2;
    params.guest_sev_features = 1;
  }
  std::string problem() {
    const SnpStatus s = check_boot_params(params);
    return s ? "" : s.error().what;
  }
  boot::BootParams params{};
};

TEST_F(BootParamsTest, AcceptsTheValidLayout) {
  EXPECT_EQ(problem(), "");
}

TEST_F(BootParamsTest, RefusesEachBadField) {
  const boot::BootParams good = params;
  struct Case {
    const char* expected;
    void (*mutate)(boot::BootParams&);
  };
  const Case cases[] = {
      {"BootParams: bad magic", [](boot::BootParams& p) { p.magic ^= 1; }},
      {"BootParams: unsupported version", [](boot::BootParams& p) { p.version = 0; }},
      {"BootParams: size does not cover the guest memory map",
       [](boot::BootParams& p) { p.size = offsetof(boot::BootParams, image); }},
      {"BootParams: size does not cover the guest memory map",
       [](boot::BootParams& p) { p.size = offsetof(boot::BootParams, guest_memory_map); }},
      {"BootParams: not the firmware region this firmware is linked for",
       [](boot::BootParams& p) { p.firmware.gpa += 0x20'0000; }},
      {"BootParams: image range outside the firmware region",
       [](boot::BootParams& p) { p.image.size = boot::kFirmwareRegionSize + 0x1000; }},
      {"BootParams: image range outside the firmware region",
       [](boot::BootParams& p) { p.image.gpa = 0x1000; }},
      {"BootParams: image range outside the firmware region",
       [](boot::BootParams& p) { p.image.size = 0x1234; }},
      {"BootParams: secrets or CPUID page not a page of the image",
       [](boot::BootParams& p) { p.secrets_gpa = 0x0100'0000; }},
      {"BootParams: secrets or CPUID page not a page of the image",
       [](boot::BootParams& p) { p.cpuid_gpa += 8; }},
      {"BootParams: secrets and CPUID page coincide",
       [](boot::BootParams& p) { p.cpuid_gpa = p.secrets_gpa; }},
      {"BootParams: parameter outside the image",
       [](boot::BootParams& p) { p.vp_count_gpa = 0x0100'0000; }},
      {"BootParams: memory map outside the image",
       [](boot::BootParams& p) { p.memory_map_size = 0x2000'0000; }},
      {"BootParams: guest VMPL not 1..3", [](boot::BootParams& p) { p.guest_vmpl = 0; }},
      {"BootParams: guest VMPL not 1..3", [](boot::BootParams& p) { p.guest_vmpl = 4; }},
      {"BootParams: guest SEV features need SNP and no vTOM",
       [](boot::BootParams& p) { p.guest_sev_features = 0; }},
      {"BootParams: guest SEV features need SNP and no vTOM",
       [](boot::BootParams& p) { p.guest_sev_features = 3; }},
      {"BootParams: unknown EK algorithm", [](boot::BootParams& p) { p.ek_algorithm = 3; }},
  };
  for (const Case& c : cases) {
    params = good;
    c.mutate(params);
    EXPECT_EQ(problem(), c.expected);
  }
}

TEST(GuestSecrets, CopyZeroesTheMorePrivilegedKeysAndSetsTheSvsmFields) {
  fs::SecretsPage firmware{};
  for (int i = 0; i < 4; ++i) std::memset(firmware.vmpck[i], 0x10 + i, 32);
  firmware.version = 3;
  std::memset(firmware.os_area, 0x77, sizeof firmware.os_area);
  fs::SecretsPage out;
  build_guest_secrets(firmware, 1, 0x0800'0000, 0x0200'0000, 0x80F000, out);
  EXPECT_TRUE(all_bytes(out.vmpck[0], 32, 0));
  EXPECT_TRUE(all_bytes(out.vmpck[1], 32, 0x11));
  EXPECT_TRUE(all_bytes(out.vmpck[3], 32, 0x13));
  EXPECT_TRUE(all_bytes(out.os_area, sizeof out.os_area, 0x77));
  EXPECT_EQ(out.version, 3u);
  EXPECT_EQ(out.svsm_base, 0x0800'0000u);
  EXPECT_EQ(out.svsm_size, 0x0200'0000u);
  EXPECT_EQ(out.svsm_caa, 0x80F000u);
  EXPECT_EQ(out.svsm_max_version, 1u);
  EXPECT_EQ(out.svsm_guest_vmpl, 1);
  // Byte offsets as Linux and OVMF read them (independent of the struct).
  const auto* raw = reinterpret_cast<const std::uint8_t*>(&out);
  std::uint64_t caa;
  std::memcpy(&caa, raw + 0x150, 8);
  EXPECT_EQ(caa, 0x80F000u);
  EXPECT_EQ(raw[0x15C], 1);
}

}  // namespace
}  // namespace cvtpm::snp::testing
