// Core protocol calls other than PVALIDATE (pvalidate_test.cpp): QUERY_PROTOCOL, CONFIGURE_VTOM,
// REMAP_CA, CREATE_VCPU, DELETE_VCPU, and the calls nobody implements.
#include <gtest/gtest.h>

#include <algorithm>

#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::Bytes;
using testing::ServiceTest;

class CoreProtocolTest : public ServiceTest {
 protected:
  CoreProtocolTest() : ServiceTest({}, /*with_tpm=*/false) {}

  // A VMSA page the platform accepts for the guest (VMPL, EFER.SVME, SEV features).
  void write_vmsa(std::uint64_t at, std::uint8_t vmpl, bool svme, std::uint64_t sev_features) {
    auto page = platform.guest_bytes(at, 4096);
    std::fill(page.begin(), page.end(), 0);
    page[0xCA] = vmpl;
    page[0xD1] = svme ? 0x10 : 0;  // EFER bit 12
    for (int i = 0; i < 8; ++i)
      page[0x3B0 + i] = static_cast<std::uint8_t>(sev_features >> (8 * i));
  }
  void write_good_vmsa(std::uint64_t at) {
    write_vmsa(at, platform.config().guest_vmpl, true, platform.config().guest_sev_features);
  }
};

TEST_F(CoreProtocolTest, QueryProtocolReportsVersionRanges) {
  struct Case {
    std::uint64_t rcx;
    std::uint64_t expected;
  };
  for (const Case& c : {Case{0ull << 32 | 1, 1ull << 32 | 1},  // core v1
                        Case{1ull << 32 | 1, 1ull << 32 | 1},  // attestation v1
                        Case{0ull << 32 | 0, 0},               // version below the range
                        Case{0ull << 32 | 2, 0},               // above
                        Case{1ull << 32 | 0xFFFF'FFFF, 0}, Case{2ull << 32 | 1, 0},  // no vTPM here
                        Case{3ull << 32 | 1, 0},  // unknown protocols
                        Case{0xFFFF'FFFFull << 32 | 1, 0}}) {
    const SvsmRegisters out = call(Protocol::kCore, core_call::kQueryProtocol, c.rcx, 9, 9, 9);
    EXPECT_EQ(result(out), SvsmResult::kSuccess) << std::hex << c.rcx;
    EXPECT_EQ(out.rcx, c.expected) << std::hex << c.rcx;
    EXPECT_EQ(out.rdx, 9u);
  }
}

class CoreProtocolWithTpmTest : public ServiceTest {};

TEST_F(CoreProtocolWithTpmTest, QueryProtocolReportsTheVtpm) {
  const SvsmRegisters out = call(Protocol::kCore, core_call::kQueryProtocol, 2ull << 32 | 1);
  EXPECT_EQ(result(out), SvsmResult::kSuccess);
  EXPECT_EQ(out.rcx, 1ull << 32 | 1);
}

TEST_F(CoreProtocolTest, DepositAndWithdrawMemoryAreUnsupported) {
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kDepositMem, gpa(0))),
            SvsmResult::kUnsupportedCall);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kWithdrawMem, gpa(0))),
            SvsmResult::kUnsupportedCall);
}

TEST_F(CoreProtocolTest, ConfigureVtomOnlyAnswersQueries) {
  const SvsmRegisters query = call(Protocol::kCore, core_call::kConfigureVtom, 1);
  EXPECT_EQ(result(query), SvsmResult::kSuccess);
  EXPECT_EQ(query.rcx, 0u);
  const SvsmRegisters set = call(Protocol::kCore, core_call::kConfigureVtom, 0x8000'0000'0000'0000);
  EXPECT_EQ(result(set), SvsmResult::kInvalidRequest);
  EXPECT_EQ(set.rcx, 0x8000'0000'0000'0000u);
}

TEST_F(CoreProtocolTest, RemapCaMovesTheCallingAreaAndZeroesIt) {
  const std::uint64_t new_caa = gpa(0x8000);
  auto page = platform.guest_bytes(new_caa, 4096);
  std::fill(page.begin(), page.end(), 0xAA);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kRemapCa, new_caa)), SvsmResult::kSuccess);
  EXPECT_EQ(platform.vcpus()[0].caa_gpa, new_caa);
  EXPECT_TRUE(std::all_of(page.begin(), page.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST_F(CoreProtocolTest, RemapCaToTheCurrentAreaIsANoOp) {
  const std::uint64_t caa = platform.vcpus()[0].caa_gpa;
  platform.guest_bytes(caa + 8, 1)[0] = 0x77;  // arguments in the calling area survive
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kRemapCa, caa)), SvsmResult::kSuccess);
  EXPECT_EQ(platform.guest_bytes(caa + 8, 1)[0], 0x77);
}

TEST_F(CoreProtocolTest, RemapCaRejectsBadAddressesWithoutEffect) {
  const std::uint64_t caa = platform.vcpus()[0].caa_gpa;
  platform.record_accesses(true);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kRemapCa, gpa(0x8008))),
            SvsmResult::kInvalidParameter);  // not page aligned
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kRemapCa, platform.svsm_base())),
            SvsmResult::kInvalidAddress);  // the SVSM's memory
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kRemapCa, platform.guest_end())),
            SvsmResult::kInvalidAddress);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kRemapCa, 0xFFFF'FFFF'FFFF'F000)),
            SvsmResult::kInvalidAddress);  // the page would wrap
  EXPECT_EQ(platform.vcpus()[0].caa_gpa, caa);
  EXPECT_TRUE(platform.accesses().empty());
}

TEST_F(CoreProtocolTest, CreateAndDeleteVcpu) {
  const std::uint64_t vmsa = gpa(0x20000);
  const std::uint64_t caa = gpa(0x21000);
  write_good_vmsa(vmsa);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kCreateVcpu, vmsa, caa, 0xFFFF'FFFF'0000'0007)),
            SvsmResult::kSuccess);
  ASSERT_EQ(platform.vcpus().size(), 2u);
  EXPECT_EQ(platform.vcpus()[1].apic_id, 7u);  // R8[31:0] only
  EXPECT_EQ(platform.vcpus()[1].vmsa_gpa, vmsa);
  EXPECT_EQ(platform.vcpus()[1].caa_gpa, caa);
  // The VMSA page is no longer the guest's: a second CREATE_VCPU on it is refused.
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kCreateVcpu, vmsa, gpa(0x22000), 8)),
            SvsmResult::kInvalidAddress);
  // A running vCPU cannot be deleted.
  platform.set_running(vmsa, true);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kDeleteVcpu, vmsa)),
            SvsmResult::kProtocolFailInUse);
  platform.set_running(vmsa, false);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kDeleteVcpu, vmsa)), SvsmResult::kSuccess);
  EXPECT_EQ(platform.vcpus().size(), 1u);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kDeleteVcpu, vmsa)),
            SvsmResult::kInvalidParameter);  // not a VMSA any more
}

TEST_F(CoreProtocolTest, CreateVcpuRejectsBadArgumentsWithoutEffect) {
  const std::uint64_t vmsa = gpa(0x20000);
  write_good_vmsa(vmsa);
  struct Case {
    std::uint64_t vmsa, caa;
    SvsmResult expected;
  };
  for (const Case& c : {
           Case{vmsa + 8, gpa(0x21000), SvsmResult::kInvalidParameter},  // unaligned VMSA
           Case{vmsa, gpa(0x21010), SvsmResult::kInvalidParameter},      // unaligned CAA
           Case{vmsa, vmsa, SvsmResult::kInvalidParameter},              // one page for both
           Case{platform.svsm_base(), gpa(0x21000), SvsmResult::kInvalidAddress},
           Case{vmsa, platform.guest_end(), SvsmResult::kInvalidAddress},
           Case{0xFFFF'FFFF'FFFF'F000, gpa(0x21000), SvsmResult::kInvalidAddress},
       }) {
    EXPECT_EQ(result(call(Protocol::kCore, core_call::kCreateVcpu, c.vmsa, c.caa, 1)), c.expected)
        << std::hex << c.vmsa << " " << c.caa;
  }
  EXPECT_EQ(platform.vcpus().size(), 1u);
}

TEST_F(CoreProtocolTest, CreateVcpuRejectsVmsaContentsThePlatformRefuses) {
  const std::uint64_t vmsa = gpa(0x20000);
  const auto& config = platform.config();
  write_vmsa(vmsa, static_cast<std::uint8_t>(config.guest_vmpl - 1), true,
             config.guest_sev_features);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kCreateVcpu, vmsa, gpa(0x21000), 1)),
            SvsmResult::kInvalidParameter);  // a VMSA for another VMPL
  write_vmsa(vmsa, config.guest_vmpl, false, config.guest_sev_features);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kCreateVcpu, vmsa, gpa(0x21000), 1)),
            SvsmResult::kInvalidParameter);  // EFER.SVME clear
  write_vmsa(vmsa, config.guest_vmpl, true, config.guest_sev_features | 0x80);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kCreateVcpu, vmsa, gpa(0x21000), 1)),
            SvsmResult::kInvalidParameter);  // other SEV features
  EXPECT_EQ(platform.vcpus().size(), 1u);
  EXPECT_TRUE(platform.guest_owns(vmsa, 4096));  // given back to the guest
}

TEST_F(CoreProtocolTest, DeleteVcpuRejectsUnalignedAndUnknownVmsas) {
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kDeleteVcpu, gpa(0x20010))),
            SvsmResult::kInvalidParameter);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kDeleteVcpu, gpa(0x20000))),
            SvsmResult::kInvalidParameter);
  EXPECT_EQ(result(call(Protocol::kCore, core_call::kDeleteVcpu, 0)),
            SvsmResult::kInvalidParameter);
  EXPECT_EQ(platform.vcpus().size(), 1u);
}

}  // namespace
}  // namespace cvtpm::vtpm
