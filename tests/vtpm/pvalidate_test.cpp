// SVSM_CORE_PVALIDATE: the request list format, partial completion through `next`, the mapping of
// PVALIDATE outcomes to result codes, and rejection of bad lists without any effect.
#include <gtest/gtest.h>

#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::Bytes;
using testing::ByteWriter;
using testing::ServiceTest;

constexpr std::uint64_t k2M = 2 * 1024 * 1024;

host::HostPlatformConfig config_with_large_page() {
  host::HostPlatformConfig config;
  config.large_pages = {0x40'0000};  // [4 MiB, 6 MiB) has a 2 MiB RMP entry
  return config;
}

std::uint64_t entry(std::uint64_t page_gpa, bool large, bool validate, bool ignore_cf = false) {
  return page_gpa | (ignore_cf ? 8u : 0u) | (validate ? 4u : 0u) | (large ? 1u : 0u);
}

class PvalidateTest : public ServiceTest {
 protected:
  explicit PvalidateTest(ServiceConfig service = {})
      : ServiceTest(config_with_large_page(), /*with_tpm=*/false, service) {}

  // Writes a request list at `list` (header + entries, built byte by byte).
  void write_list(std::uint64_t at, std::uint16_t next, const std::vector<std::uint64_t>& entries,
                  std::uint16_t count_override = 0) {
    ByteWriter w;
    w.le16(count_override != 0 ? count_override : static_cast<std::uint16_t>(entries.size()))
        .le16(next)
        .le32(0);
    for (std::uint64_t e : entries) w.le64(e);
    write_guest(at, w.bytes());
  }
  std::uint16_t next_of(std::uint64_t at) {
    const Bytes b = read_guest(at + 2, 2);
    return static_cast<std::uint16_t>(b[0] | b[1] << 8);
  }
  SvsmResult pvalidate(std::uint64_t at) {
    return result(call(Protocol::kCore, core_call::kPvalidate, at));
  }

  const std::uint64_t list = gpa(0x3000) + 8;  // like the calling-area buffer
};

TEST_F(PvalidateTest, ValidatesAndRescinds4KAnd2MPages) {
  const std::uint64_t page = gpa(0x10000);
  auto bytes = platform.guest_bytes(page, 4096);
  std::fill(bytes.begin(), bytes.end(), 0x5A);
  write_list(list, 0, {entry(page, false, true), entry(0x40'0000, true, true)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kSuccess);
  EXPECT_EQ(next_of(list), 2);
  EXPECT_TRUE(platform.validated(page));
  EXPECT_TRUE(platform.validated(0x40'0000 + k2M - 4096));
  EXPECT_EQ(bytes[100], 0);  // a newly validated page starts zeroed

  write_list(list, 0, {entry(page, false, false), entry(0x40'0000, true, false)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kSuccess);
  EXPECT_FALSE(platform.validated(page));
  EXPECT_FALSE(platform.validated(0x40'0000));
}

TEST_F(PvalidateTest, ProcessingStartsAtNext) {
  const std::uint64_t a = gpa(0x10000), b = gpa(0x11000);
  write_list(list, 1, {entry(a, false, true), entry(b, false, true)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kSuccess);
  EXPECT_FALSE(platform.validated(a));  // before `next`: left alone
  EXPECT_TRUE(platform.validated(b));
  EXPECT_EQ(next_of(list), 2);
}

TEST_F(PvalidateTest, FailuresStopAtTheFailingEntry) {
  const std::uint64_t a = gpa(0x10000), b = gpa(0x11000), c = gpa(0x12000);
  // b is already validated: NO_CHANGE unless the entry says to ignore CF.
  write_list(list, 0, {entry(b, false, true)});
  ASSERT_EQ(pvalidate(list), SvsmResult::kSuccess);
  write_list(list, 0, {entry(a, false, true), entry(b, false, true), entry(c, false, true)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kPvalidateFailNoChange);
  EXPECT_EQ(next_of(list), 1);
  EXPECT_TRUE(platform.validated(a));
  EXPECT_FALSE(platform.validated(c));

  write_list(list, 1, {entry(a, false, true), entry(b, false, true, true), entry(c, false, true)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kSuccess);
  EXPECT_TRUE(platform.validated(c));
}

TEST_F(PvalidateTest, SizeMismatchAndFailInputCarryTheInstructionResult) {
  // A 2M request where the RMP has 4K entries, and a 4K request inside a 2M entry (OVMF then
  // retries the 2M range as 512 4K entries).
  write_list(list, 0, {entry(gpa(0x20'0000) & ~(k2M - 1), true, true)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kPvalidateFailSizeMismatch);
  EXPECT_EQ(next_of(list), 0);
  write_list(list, 0, {entry(0x40'1000, false, true)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kPvalidateFailSizeMismatch);

  platform.pvalidate_fail_input.insert(gpa(0x13000));
  write_list(list, 0, {entry(gpa(0x12000), false, true), entry(gpa(0x13000), false, true)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kPvalidateFailInput);
  EXPECT_EQ(next_of(list), 1);
}

TEST_F(PvalidateTest, BadEntriesStopWithInvalidParameterOrAddress) {
  struct Case {
    std::uint64_t bad;
    SvsmResult expected;
  };
  for (const Case& c : {
           Case{gpa(0x14000) | 2, SvsmResult::kInvalidParameter},              // page size 2
           Case{gpa(0x14000) | 3, SvsmResult::kInvalidParameter},              // page size 3
           Case{gpa(0x14000) | 0x10, SvsmResult::kInvalidParameter},           // reserved bit 4
           Case{gpa(0x14000) | 0x800, SvsmResult::kInvalidParameter},          // reserved bit 11
           Case{entry(0x40'1000, true, true), SvsmResult::kInvalidParameter},  // 2M misaligned
           Case{entry(platform.svsm_base(), false, true), SvsmResult::kInvalidAddress},
           Case{entry(0xFFFF'FFFF'FFE0'0000, true, true), SvsmResult::kInvalidAddress},
           Case{entry(0, false, true), SvsmResult::kInvalidAddress},
       }) {
    const std::uint64_t good = gpa(0x15000);
    write_list(list, 0, {entry(good, false, true, true), c.bad, entry(gpa(0x16000), false, true)});
    const std::size_t calls = platform.pvalidate_calls();
    EXPECT_EQ(pvalidate(list), c.expected) << std::hex << c.bad;
    EXPECT_EQ(next_of(list), 1) << std::hex << c.bad;
    EXPECT_EQ(platform.pvalidate_calls(), calls + 1) << "only the entry before the bad one ran";
    EXPECT_FALSE(platform.validated(gpa(0x16000)));
  }
}

TEST_F(PvalidateTest, A2MPageStraddlingTheEndOfGuestRamIsRefused) {
  // Guest RAM ends at 17 MiB; the 2 MiB page at 16 MiB runs into the SVSM region.
  ASSERT_EQ(platform.guest_end(), 0x110'0000u);
  write_list(list, 0, {entry(0x100'0000, true, true)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kInvalidAddress);
  EXPECT_EQ(platform.pvalidate_calls(), 0u);
}

TEST_F(PvalidateTest, BadListsAreRejectedWithoutEffect) {
  platform.record_accesses(true);
  const std::uint64_t page_end = gpa(0x4000);
  // Misaligned list address.
  EXPECT_EQ(pvalidate(list + 4), SvsmResult::kInvalidParameter);
  // The list is not guest memory (or wraps).
  EXPECT_EQ(pvalidate(platform.svsm_base()), SvsmResult::kInvalidAddress);
  EXPECT_EQ(pvalidate(0xFFFF'FFFF'FFFF'FFF8), SvsmResult::kInvalidAddress);

  struct Case {
    std::uint64_t at;
    std::uint16_t count, next;
  };
  for (const Case& c : {
           Case{list, 0, 0},           // no entries
           Case{list, 3, 3},           // next == entries
           Case{list, 3, 9},           // next past entries
           Case{gpa(0x3000), 512, 0},  // one more than fits a page (511 at offset 0)
           Case{list, 511, 0},         // one more than fits from offset 8 (510)
           Case{page_end - 8, 1, 0},   // header in the page's last 8 bytes: no entries fit
           Case{list, 0xFFFF, 0},
       }) {
    write_list(c.at, c.next, {entry(gpa(0x10000), false, true)}, c.count);
    if (c.count == 0) write_guest(c.at, ByteWriter().le16(0).le16(c.next).bytes());
    platform.clear_accesses();
    EXPECT_EQ(pvalidate(c.at), SvsmResult::kInvalidParameter)
        << "count " << c.count << " next " << c.next;
    for (const auto& a : platform.accesses()) EXPECT_EQ(a.access, GuestAccess::kRead);
  }
  EXPECT_EQ(platform.pvalidate_calls(), 0u);
  EXPECT_FALSE(platform.validated(gpa(0x10000)));
}

TEST_F(PvalidateTest, AFullCallingAreaOfEntriesIsAccepted) {
  // edk2's SVSM_PVALIDATE_MAX_ENTRY: 510 entries after the header in the calling-area buffer.
  std::vector<std::uint64_t> entries;
  for (std::uint64_t i = 0; i < 510; ++i) {
    entries.push_back(entry(gpa(0x80000) + i * 4096, false, true));
  }
  write_list(list, 0, entries);
  EXPECT_EQ(pvalidate(list), SvsmResult::kSuccess);
  EXPECT_EQ(next_of(list), 510);
  EXPECT_TRUE(platform.validated(gpa(0x80000) + 509 * 4096));
}

class PvalidateBudgetTest : public PvalidateTest {
 protected:
  PvalidateBudgetTest() : PvalidateTest(ServiceConfig{/*pvalidate_budget_pages=*/4}) {}
};

TEST_F(PvalidateBudgetTest, LongListsCompleteInSeveralCalls) {
  std::vector<std::uint64_t> entries;
  for (std::uint64_t i = 0; i < 10; ++i)
    entries.push_back(entry(gpa(0x80000) + i * 4096, false, true));
  write_list(list, 0, entries);
  EXPECT_EQ(pvalidate(list), SvsmResult::kIncomplete);
  EXPECT_EQ(next_of(list), 4);
  EXPECT_TRUE(platform.validated(gpa(0x80000) + 3 * 4096));
  EXPECT_FALSE(platform.validated(gpa(0x80000) + 4 * 4096));
  EXPECT_EQ(pvalidate(list), SvsmResult::kIncomplete);  // the guest reissues the same call
  EXPECT_EQ(next_of(list), 8);
  EXPECT_EQ(pvalidate(list), SvsmResult::kSuccess);
  EXPECT_EQ(next_of(list), 10);
  EXPECT_EQ(platform.pvalidate_calls(), 10u);
}

TEST_F(PvalidateBudgetTest, ALargePageAlwaysMakesProgress) {
  // 512 pages exceed the budget of 4, but the first entry of a call always runs.
  write_list(list, 0, {entry(0x40'0000, true, true), entry(gpa(0x80000), false, true)});
  EXPECT_EQ(pvalidate(list), SvsmResult::kIncomplete);
  EXPECT_EQ(next_of(list), 1);
  EXPECT_EQ(pvalidate(list), SvsmResult::kSuccess);
  EXPECT_EQ(next_of(list), 2);
}

TEST_F(PvalidateTest, TheListIsFetchedOnce) {
  // A racing guest vCPU rewrites the list while it is served: the header right after it was
  // read, the entries right after they were read. Only the first fetch of each byte counts.
  const std::uint64_t a = gpa(0x10000), b = gpa(0x11000);
  write_list(list, 0, {entry(a, false, true), entry(b, false, true)});
  int reads = 0;
  platform.after_access = [&](const host::GuestAccessRecord& record) {
    if (record.access != GuestAccess::kRead) return;
    auto bytes = platform.guest_bytes(list, 24);
    if (++reads == 1) {
      bytes[0] = 0xFF;  // entries
      bytes[2] = 0x01;  // next
    } else {
      std::fill(bytes.begin() + 8, bytes.end(), 0);  // both entries: GPA 0, rescind, 4K
    }
  };
  EXPECT_EQ(pvalidate(list), SvsmResult::kSuccess);
  platform.after_access = nullptr;
  EXPECT_EQ(reads, 2);
  EXPECT_TRUE(platform.validated(a));
  EXPECT_TRUE(platform.validated(b));
  EXPECT_EQ(platform.pvalidate_calls(), 2u);
  EXPECT_EQ(next_of(list), 2);
}

}  // namespace
}  // namespace cvtpm::vtpm
