// The pieces under the boot flow, on the model: the GHCB MSR protocol, the GHCB page protocol
// (port I/O, MSRs, page state changes), page acceptance, the CPUID table and the #VC emulation
// (instruction decoding checked against hand-assembled encodings).
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/snp/cpuid_page.h"
#include "cvtpm/formats/snp/ghcb.h"
#include "cvtpm/formats/snp/ghcb_msr_protocol.h"
#include "cvtpm/formats/snp/rmp_instructions.h"
#include "cvtpm/snp/cpuid_table.h"
#include "cvtpm/snp/ghcb_client.h"
#include "cvtpm/snp/ghcb_msr.h"
#include "cvtpm/snp/page_state.h"
#include "cvtpm/snp/vc_handler.h"
#include "snp_fixture.h"

namespace cvtpm::snp::testing {
namespace {

namespace fs = formats::snp;
constexpr std::uint64_t k4K = 4096;

// A booted model up to the GHCB (early() done), for the protocol tests.
class GhcbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const SnpStatus s = b.early();
    ASSERT_TRUE(s) << s.error().what;
  }
  GhcbClient& ghcb() { return b.firmware().ghcb(); }
  SnpBoot b;
};

TEST_F(GhcbTest, PortOutputReachesTheDeviceAndInputComesBack) {
  for (char c : std::string("snp!"))
    ASSERT_TRUE(ghcb().io_out(0x3F8, 1, static_cast<std::uint8_t>(c)));
  EXPECT_EQ(b.machine().console(), "snp!");
  const auto lsr = ghcb().io_in(0x3FD, 1);
  ASSERT_TRUE(lsr);
  EXPECT_EQ(lsr.value(), 0x60u);
  const auto wide = ghcb().io_in(0x80, 2);
  ASSERT_TRUE(wide);
  EXPECT_EQ(wide.value(), 0xFFFFu);
  EXPECT_FALSE(ghcb().io_in(0x80, 3)) << "only 1, 2 or 4 bytes";
}

TEST_F(GhcbTest, MsrWritesAndReadsGoThroughTheHypervisor) {
  ASSERT_TRUE(ghcb().write_msr(0xC000'0080, 0x0000'1234'0000'5678));
  const auto v = ghcb().read_msr(0xC000'0080);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value(), 0x0000'1234'0000'5678u);
}

TEST_F(GhcbTest, PageStateChangesUse2MiBEntriesWhereTheyFit) {
  const std::uint64_t start = 0x0400'0000 - 3 * k4K;  // 3 pages, one 2 MiB page, 1 page
  const std::uint64_t size = 3 * k4K + 0x20'0000 + k4K;
  ASSERT_TRUE(ghcb().page_state_change(start, size, Encryption::kShared, true));
  for (std::uint64_t a = start; a < start + size; a += k4K)
    ASSERT_FALSE(b.machine().rmp(a).assigned);
  ASSERT_TRUE(ghcb().page_state_change(start, size, Encryption::kPrivate, true));
  for (std::uint64_t a = start; a < start + size; a += k4K) {
    ASSERT_TRUE(b.machine().rmp(a).assigned);
    ASSERT_FALSE(b.machine().rmp(a).validated);
  }
  EXPECT_FALSE(ghcb().page_state_change(start + 8, k4K, Encryption::kShared, false));
}

TEST_F(GhcbTest, AHypervisorThatCorruptsThePscListIsCaught) {
  // psc_entries_per_exit = 0: no progress at all.
  b.machine().hypervisor().psc_entries_per_exit = 0;
  const SnpStatus s = ghcb().page_state_change(0x0400'0000, 4 * k4K, Encryption::kShared, false);
  ASSERT_FALSE(s);
  EXPECT_STREQ(s.error().what, "GHCB: page state change makes no progress");
}

TEST_F(GhcbTest, AcceptPrivateValidatesAndRefusesDoubleValidation) {
  const std::uint64_t gpa = 0x0500'0000;
  ASSERT_TRUE(accept_private(b.hardware(), &ghcb(), gpa, 2 * k4K));
  EXPECT_TRUE(b.machine().rmp(gpa).validated);
  EXPECT_TRUE(b.machine().rmp(gpa + k4K).validated);
  const SnpStatus again = accept_private(b.hardware(), &ghcb(), gpa, k4K);
  ASSERT_FALSE(again);
  EXPECT_STREQ(again.error().what, "PVALIDATE: page was already validated");
  // Through the MSR protocol (no GHCB) too.
  ASSERT_TRUE(accept_private(b.hardware(), nullptr, gpa + 2 * k4K, k4K));
  EXPECT_TRUE(b.machine().rmp(gpa + 2 * k4K).validated);
}

TEST_F(GhcbTest, MakePageSharedRescindsSharesAndUnmaps) {
  const std::uint64_t gpa = 0x0500'0000;
  ASSERT_TRUE(accept_private(b.hardware(), &ghcb(), gpa, k4K));
  ASSERT_TRUE(make_page_shared(b.hardware(), &ghcb(), gpa));
  EXPECT_FALSE(b.machine().rmp(gpa).assigned);
  EXPECT_TRUE(b.machine().firmware_maps_shared(gpa));
  EXPECT_NE(b.hardware().map(gpa, 8, Encryption::kShared), nullptr);
  EXPECT_EQ(b.hardware().map(gpa, 8, Encryption::kPrivate), nullptr);
  b.machine().clear_faults();
}

TEST_F(GhcbTest, RmpadjustFollowsTheModelsPrivilegeRules) {
  const std::uint64_t gpa = 0x0500'0000;
  ASSERT_TRUE(accept_private(b.hardware(), &ghcb(), gpa, k4K));
  EXPECT_TRUE(
      set_vmpl_permissions(b.hardware(), gpa, k4K, 3, fs::vmpl_permission::kRead, PageSize::k4K));
  EXPECT_EQ(b.machine().rmp(gpa).permissions[3], fs::vmpl_permission::kRead);
  EXPECT_TRUE(revoke_lower_vmpls(b.hardware(), gpa, PageSize::k4K, 1));
  EXPECT_EQ(b.machine().rmp(gpa).permissions[3], 0);
  EXPECT_FALSE(set_vmpl_permissions(b.hardware(), gpa, k4K, 0, 0, PageSize::k4K))
      << "VMPL0 is not a target";
  EXPECT_EQ(b.hardware().rmpadjust(gpa, PageSize::k2M, fs::rmpadjust_attributes(2, 0, false)),
            fs::rmp_result::kFailSizeMismatch)
      << "a 2 MiB request on a 4 KiB RMP entry";
  EXPECT_EQ(b.hardware().rmpadjust(gpa + k4K, PageSize::k2M, fs::rmpadjust_attributes(2, 0, false)),
            fs::rmp_result::kFailInput)
      << "unaligned 2 MiB";
  EXPECT_EQ(b.hardware().rmpadjust(gpa, PageSize::k4K,
                                   fs::rmpadjust_attributes(2, 0, false) | (1u << 20)),
            fs::rmp_result::kFailInput)
      << "reserved attribute bits";
  EXPECT_EQ(
      b.hardware().rmpadjust(0x0500'1000, PageSize::k4K, fs::rmpadjust_attributes(2, 0, false)),
      fs::rmp_result::kFailInput)
      << "not validated";
}

TEST(GhcbMsr, TheMsrProtocolChecksEveryAnswer) {
  SnpBoot b;
  const auto info = msr_protocol::sev_info(b.hardware());
  ASSERT_TRUE(info);
  EXPECT_EQ(info.value().min_version, 1);
  EXPECT_EQ(info.value().max_version, 2);
  EXPECT_EQ(info.value().cbit, 51);
  const auto features = msr_protocol::hv_features(b.hardware());
  ASSERT_TRUE(features);
  EXPECT_EQ(features.value(), 0x23u);
  // A run-VMPL request for a VMPL without a VMSA fails.
  EXPECT_FALSE(msr_protocol::run_vmpl(b.hardware(), 2));
  // Termination reaches the hypervisor with the reason.
  msr_protocol::request_termination(b.hardware(), 0, fs::ghcb_msr::kReasonProtocolVersion);
  ASSERT_TRUE(b.machine().termination());
  EXPECT_EQ(*b.machine().termination(), fs::ghcb_msr::terminate_request(0, 1));
  EXPECT_EQ(fs::ghcb_msr::terminate_request(0, 1), 0x10100u);
}

// --- CPUID table ------------------------------------------------------------------------------

fs::CpuidPage table_with(std::initializer_list<fs::CpuidFunction> functions) {
  fs::CpuidPage page{};
  for (const fs::CpuidFunction& f : functions) page.functions[page.count++] = f;
  return page;
}

TEST(CpuidTable, LooksUpByLeafAndOnlyIndexedLeavesBySubleaf) {
  CpuidTable t;
  ASSERT_TRUE(t.load(table_with({{1, 0, 0, 0, 0x00A00F11, 2, 0x0800'0000 | 1, 4, 0},
                                 {7, 0, 0, 0, 0, 0x40000, 0x10, 0, 0},
                                 {7, 1, 0, 0, 0x11, 0, 0, 0, 0},
                                 {0x8000'001F, 0, 0, 0, 0x1B, 51 | (1 << 6), 0, 0, 0}})));
  EXPECT_EQ(t.lookup(1, 99, 0).eax, 0x00A00F11u) << "leaf 1 ignores ECX";
  EXPECT_EQ(t.lookup(1, 0, 0).ecx, 1u) << "OSXSAVE follows CR4.OSXSAVE (clear)";
  EXPECT_EQ(t.lookup(1, 0, 1u << 18).ecx, 0x0800'0000u | 1) << "OSXSAVE with CR4.OSXSAVE";
  EXPECT_EQ(t.lookup(7, 0, 0).ebx, 0x40000u);
  EXPECT_EQ(t.lookup(7, 0, 0).ecx, 0u) << "OSPKE follows CR4.PKE";
  EXPECT_EQ(t.lookup(7, 0, 1u << 22).ecx, 0x10u);
  EXPECT_EQ(t.lookup(7, 1, 0).eax, 0x11u);
  EXPECT_EQ(t.lookup(7, 2, 0).eax, 0u) << "absent subleaf reads as zeros";
  EXPECT_EQ(t.lookup(0x4000'0000, 0, 0).eax, 0u) << "never the hypervisor's leaves";
  EXPECT_EQ(t.cbit_position(), 51);
}

TEST(CpuidTable, RefusesBadCounts) {
  CpuidTable t;
  fs::CpuidPage page{};
  EXPECT_FALSE(t.load(page));
  page.count = fs::kCpuidMaxFunctions + 1;
  EXPECT_FALSE(t.load(page));
  EXPECT_EQ(t.cbit_position(), 0);
}

// --- #VC
// ------------------------------------------------------------------------------------------

TEST(VcDecoder, DecodesTheInstructionsTheFirmwareTraps) {
  using Kind = VcInstruction::Kind;
  struct Case {
    std::vector<std::uint8_t> bytes;
    Kind kind;
    unsigned length;
    unsigned io_bytes;
    bool dx;
  };
  const Case cases[] = {
      {{0x0F, 0xA2}, Kind::kCpuid, 2, 0, false},
      {{0xEC}, Kind::kIn, 1, 1, true},          // in al, dx
      {{0xED}, Kind::kIn, 1, 4, true},          // in eax, dx
      {{0x66, 0xED}, Kind::kIn, 2, 2, true},    // in ax, dx
      {{0xEE}, Kind::kOut, 1, 1, true},         // out dx, al
      {{0x66, 0xEF}, Kind::kOut, 2, 2, true},   // out dx, ax
      {{0xE4, 0x61}, Kind::kIn, 2, 1, false},   // in al, 0x61
      {{0xE7, 0x43}, Kind::kOut, 2, 4, false},  // out 0x43, eax
      {{0x0F, 0x32}, Kind::kRdmsr, 2, 0, false},
      {{0x0F, 0x30}, Kind::kWrmsr, 2, 0, false},
      {{0x0F, 0x31}, Kind::kRdtsc, 2, 0, false},
      {{0x0F, 0x01, 0xF9}, Kind::kRdtscp, 3, 0, false},
      {{0x48, 0x0F, 0xA2}, Kind::kCpuid, 3, 0, false},  // REX.W prefix
      {{0xF3, 0x6E}, Kind::kStringIo, 2, 0, false},     // rep outsb
      {{0x90}, Kind::kNone, 0, 0, false},
      {{0x0F}, Kind::kNone, 0, 0, false},  // truncated
      {{0xE4}, Kind::kNone, 0, 0, false},  // immediate missing
  };
  for (const Case& c : cases) {
    const VcInstruction i = decode_vc_instruction(c.bytes);
    EXPECT_EQ(i.kind, c.kind) << std::hex << int(c.bytes[0]);
    EXPECT_EQ(i.length, c.length) << std::hex << int(c.bytes[0]);
    if (c.io_bytes != 0) {
      EXPECT_EQ(i.io_bytes, c.io_bytes);
      EXPECT_EQ(i.port_in_dx, c.dx);
    }
  }
  // Sixteen prefixes are no instruction.
  EXPECT_EQ(decode_vc_instruction(std::vector<std::uint8_t>(16, 0x66)).kind, Kind::kNone);
}

TEST_F(GhcbTest, VcEmulatesCpuidPortIoAndMsrs) {
  const CpuidTable& cpuid = b.firmware().cpuid();
  // CPUID from the PSP-checked table, never from the hypervisor.
  VcRegisters regs{0x8000'001F, 0xDEAD, 0, 0xBEEF, 0x1000};
  const std::uint8_t cpuid_insn[] = {0x0F, 0xA2, 0x90};
  ASSERT_EQ(handle_vc(fs::ghcb_exit::kCpuid, cpuid_insn, regs, cpuid, 0, ghcb()),
            VcResult::kHandled);
  EXPECT_EQ(regs.rbx & 0x3F, 51u);
  EXPECT_EQ(regs.rax, 0x1Bu);
  EXPECT_EQ(regs.rdx, 0u);
  EXPECT_EQ(regs.rip, 0x1002u);

  // out dx, al: only AL goes out.
  regs = {0x1234'5641, 0, 0, 0x3F8, 0x2000};
  const std::uint8_t out_al[] = {0xEE};
  ASSERT_EQ(handle_vc(fs::ghcb_exit::kIoio, out_al, regs, cpuid, 0, ghcb()), VcResult::kHandled);
  EXPECT_EQ(b.machine().console(), "A");
  EXPECT_EQ(regs.rip, 0x2001u);
  EXPECT_EQ(regs.rax, 0x1234'5641u);

  // in al, dx merges into AL; in eax, dx zero-extends into RAX.
  regs = {0xAABB'CCDD'1122'3344, 0, 0, 0x3FD, 0x3000};
  const std::uint8_t in_al[] = {0xEC};
  ASSERT_EQ(handle_vc(fs::ghcb_exit::kIoio, in_al, regs, cpuid, 0, ghcb()), VcResult::kHandled);
  EXPECT_EQ(regs.rax, 0xAABB'CCDD'1122'3360u);
  regs = {~std::uint64_t{0} - 5, 0, 0, 0x80, 0x3000};
  const std::uint8_t in_eax[] = {0xED};
  ASSERT_EQ(handle_vc(fs::ghcb_exit::kIoio, in_eax, regs, cpuid, 0, ghcb()), VcResult::kHandled);
  EXPECT_EQ(regs.rax, 0xFFFF'FFFFu);
  regs = {0x1111'2222'3333'4444, 0, 0, 0x80, 0x3000};
  const std::uint8_t in_ax[] = {0x66, 0xED};
  ASSERT_EQ(handle_vc(fs::ghcb_exit::kIoio, in_ax, regs, cpuid, 0, ghcb()), VcResult::kHandled);
  EXPECT_EQ(regs.rax, 0x1111'2222'3333'FFFFu);
  EXPECT_EQ(regs.rip, 0x3002u);

  // wrmsr, then rdmsr of the same MSR.
  regs = {0xFFFF'FFFF'0000'0055, 0, 0x1234, 0xFFFF'FFFF'0000'0066, 0x4000};
  const std::uint8_t wrmsr[] = {0x0F, 0x30};
  ASSERT_EQ(handle_vc(fs::ghcb_exit::kMsr, wrmsr, regs, cpuid, 0, ghcb()), VcResult::kHandled);
  regs = {0, 0, 0x1234, 0, 0x4002};
  const std::uint8_t rdmsr[] = {0x0F, 0x32};
  ASSERT_EQ(handle_vc(fs::ghcb_exit::kMsr, rdmsr, regs, cpuid, 0, ghcb()), VcResult::kHandled);
  EXPECT_EQ(regs.rax, 0x55u);
  EXPECT_EQ(regs.rdx, 0x66u);
  EXPECT_EQ(regs.rip, 0x4004u);

  // Refusals leave RIP alone.
  regs = {0, 0, 0, 0x3F8, 0x5000};
  EXPECT_EQ(handle_vc(fs::ghcb_exit::kIoio, cpuid_insn, regs, cpuid, 0, ghcb()),
            VcResult::kUndecodable);
  const std::uint8_t outsb[] = {0xF3, 0x6E};
  EXPECT_EQ(handle_vc(fs::ghcb_exit::kIoio, outsb, regs, cpuid, 0, ghcb()),
            VcResult::kUnsupportedInstruction);
  EXPECT_EQ(handle_vc(fs::ghcb_exit::kNpf, cpuid_insn, regs, cpuid, 0, ghcb()),
            VcResult::kUnsupportedExit);
  EXPECT_EQ(regs.rip, 0x5000u);
}

}  // namespace
}  // namespace cvtpm::snp::testing
