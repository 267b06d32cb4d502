// OVMF as the SVSM's guest, on the model: its PEI phase pre-validates all its RAM below 4 GiB
// through the SVSM (model/guest_ovmf.h, written from edk2's sources), reading its RAM from the
// IGVM memory map the SVSM writes into OVMF's IGVM parameter area.
#include <gtest/gtest.h>

#include "cvtpm/formats/snp/rmp_instructions.h"
#include "model/guest_ovmf.h"
#include "snp_fixture.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;
constexpr std::uint64_t k4G = std::uint64_t{1} << 32;
constexpr std::uint64_t k4K = 4096;
// 160 MiB of RAM: the firmware region (128..160 MiB) and 128 MiB for the guest.
model::MachineConfig small_machine(std::size_t ovmf_size) {
  model::MachineConfig config;
  config.memory_map = {{0, 0x0A00'0000}};
  config.ram = {{0, 0x0A00'0000}, {k4G - ovmf_size, k4G}};
  return config;
}

// Before the SVSM wrote the IGVM memory map, OVMF fell back to the hypervisor's e820 map, which
// holds the firmware region, pre-validated it through the SVSM, was refused, and terminated in
// PEI (edk2 AmdSvsmLib.c: any SVSM error is SnpTerminate()).
TEST(SnpOvmfGuest, PeiValidatesAllItsRamThroughTheSvsmAndNoneOfTheFirmwareRegion) {
  SnpBoot probe;
  const model::MachineConfig config = small_machine(probe.image().ovmf_size);
  SnpBoot b({}, config);
  b.boot();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  model::OvmfPei pei;
  b.set_guest([&](GuestCpu& cpu) {
    GuestSvsm svsm(cpu, model::read_secrets(cpu, b.params().guest.secrets_gpa).caa);
    // The synthetic OVMF has OvmfPkgX64's layout (the defaults of OvmfBuild).
    pei = model::ovmf_validate_ram(svsm, model::OvmfBuild{}, config.memory_map);
  });
  b.run_guest();
  EXPECT_TRUE(pei.from_igvm_map) << "OVMF fell back to e820";
  ASSERT_EQ(pei.system_ram.size(), 1u);
  EXPECT_EQ(pei.system_ram[0].start, 0u);
  EXPECT_EQ(pei.system_ram[0].end, b.params().firmware.gpa);
  // All of it validated and the guest's, but for [0x800000, 0x830000): what the SVSM prepared
  // before OVMF ran (tested in boot_test.cpp), with OVMF's own GHCB pages, which it shares.
  const model::OvmfBuild layout;
  for (std::uint64_t a = 0; a < b.params().firmware.gpa; a += k4K) {
    if (a >= layout.launch_validated.start && a < layout.launch_validated.end) continue;
    const model::RmpEntry& e = b.machine().rmp(a);
    ASSERT_TRUE(e.validated && e.permissions[2] == fs::vmpl_permission::kAll) << std::hex << a;
  }
  EXPECT_GT(pei.pvalidate_calls, 0u);
  expect_invariants(b, "after OVMF's PEI");
}

}  // namespace
}  // namespace cvtpm::snp::testing
