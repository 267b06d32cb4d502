// What the hardware does to VMPL0 that an earlier model did not show (issue: "SNP hardware
// readiness"): VMPL0's accesses and the linear addresses of PVALIDATE/RMPADJUST go through its
// page tables, TLBs keep stale translations until an invalidation reaches them, VMSAs must not
// sit at 2 MiB-aligned addresses, and a fault at VMPL0 ends the guest. Each test here failed on
// the firmware before the fix it names.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/vtpm/svsm_abi.h"
#include "snp_fixture.h"
#include "vtpm_testing.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;
namespace vt = vtpm::testing;
using vtpm::SvsmResult;

constexpr std::uint64_t k4K = 4096;

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

}  // namespace
}  // namespace cvtpm::snp::testing
