// The one guest-memory accessor: ranges that wrap, leave guest RAM or enter the SVSM's memory
// are refused before any byte moves; accesses are split at page boundaries.
#include <gtest/gtest.h>

#include <algorithm>

#include "cvtpm/vtpm/guest_memory.h"
#include "cvtpm/vtpm_host/host_platform.h"
#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::Bytes;

class GuestMemoryTest : public ::testing::Test {
 protected:
  GuestMemoryTest() : memory(platform) { platform.record_accesses(true); }
  std::uint64_t base() const { return platform.config().guest_base; }
  host::HostPlatform platform;
  GuestMemory memory;
};

TEST_F(GuestMemoryTest, OwnsOnlyNonEmptyRangesInsideGuestRam) {
  EXPECT_TRUE(memory.owns(base(), 1));
  EXPECT_TRUE(memory.owns(base(), platform.config().guest_size));
  EXPECT_FALSE(memory.owns(base(), 0));
  EXPECT_FALSE(memory.owns(base() - 1, 2));                // starts below guest RAM
  EXPECT_FALSE(memory.owns(platform.guest_end() - 1, 2));  // runs into the SVSM region
  EXPECT_FALSE(memory.owns(platform.svsm_base(), 1));      // the SVSM's own memory
  EXPECT_FALSE(memory.owns(~std::uint64_t{0} - 3, 8));     // wraps around
  EXPECT_FALSE(memory.owns(base(), ~std::uint64_t{0}));
  EXPECT_TRUE(platform.accesses().empty());
}

TEST_F(GuestMemoryTest, ReadCopiesIntoPrivateMemory) {
  const Bytes data = testing::from_hex("0102030405060708");
  auto guest = platform.guest_bytes(base() + 0x10, data.size());
  std::copy(data.begin(), data.end(), guest.begin());
  Bytes copy(8);
  ASSERT_EQ(memory.read(base() + 0x10, copy), SvsmResult::kSuccess);
  EXPECT_EQ(copy, data);
  guest[0] = 0xFF;  // the guest changes its memory afterwards: the copy stays
  EXPECT_EQ(copy[0], 0x01);
}

TEST_F(GuestMemoryTest, AccessesAreSplitAtPageBoundaries) {
  Bytes copy(0x20);
  const std::uint64_t at = base() + 0x1000 - 0x10;
  ASSERT_EQ(memory.read(at, copy), SvsmResult::kSuccess);
  ASSERT_EQ(platform.accesses().size(), 2u);
  EXPECT_EQ(platform.accesses()[0].gpa, at);
  EXPECT_EQ(platform.accesses()[0].size, 0x10u);
  EXPECT_EQ(platform.accesses()[1].gpa, base() + 0x1000);
  EXPECT_EQ(platform.accesses()[1].size, 0x10u);
}

TEST_F(GuestMemoryTest, RangesLeavingGuestRamAreRefusedWhole) {
  Bytes buffer(0x100, 0xEE);
  // Straddling the end of guest RAM: nothing is read or written, not even the owned part.
  const std::uint64_t straddling = platform.guest_end() - 0x80;
  EXPECT_EQ(memory.read(straddling, buffer), SvsmResult::kInvalidAddress);
  EXPECT_EQ(memory.write(straddling, buffer), SvsmResult::kInvalidAddress);
  EXPECT_EQ(memory.zero(straddling, buffer.size()), SvsmResult::kInvalidAddress);
  EXPECT_EQ(memory.read(~std::uint64_t{0} - 0x10, buffer), SvsmResult::kInvalidAddress);
  EXPECT_EQ(memory.write(0, buffer), SvsmResult::kInvalidAddress);
  EXPECT_TRUE(platform.accesses().empty());
  EXPECT_EQ(platform.guest_bytes(straddling, 0x80)[0], 0);  // untouched
}

TEST_F(GuestMemoryTest, WriteAndZeroStayInsideTheNamedRange) {
  auto guest = platform.guest_bytes(base() + 0x2000, 0x30);
  std::fill(guest.begin(), guest.end(), 0x55);
  const Bytes data(0x10, 0xAB);
  ASSERT_EQ(memory.write(base() + 0x2008, data), SvsmResult::kSuccess);
  ASSERT_EQ(memory.zero(base() + 0x2020, 4), SvsmResult::kSuccess);
  for (std::size_t i = 0; i < guest.size(); ++i) {
    const std::uint8_t expected = i >= 8 && i < 0x18 ? 0xAB : (i >= 0x20 && i < 0x24 ? 0 : 0x55);
    EXPECT_EQ(guest[i], expected) << "byte " << i;
  }
}

TEST_F(GuestMemoryTest, AWriteOfTwoPartsIsOneAccessSplitOnlyAtPageBoundaries) {
  // A header and what follows it, for every position of the page boundary relative to the two
  // parts (inside the header, at its end, inside the rest, after both).
  const Bytes head = testing::from_hex("a1a2a3a4");
  const Bytes tail = testing::from_hex("b1b2b3b4b5b6");
  const Bytes both = testing::from_hex("a1a2a3a4b1b2b3b4b5b6");
  const std::uint64_t page = base() + 0x3000;
  for (std::uint64_t before_boundary = 1; before_boundary <= both.size(); ++before_boundary) {
    const std::uint64_t at = page - before_boundary;
    auto guest = platform.guest_bytes(at - 1, both.size() + 2);
    std::fill(guest.begin(), guest.end(), 0x55);
    platform.clear_accesses();
    ASSERT_EQ(memory.write(at, head, tail), SvsmResult::kSuccess);
    EXPECT_EQ(Bytes(guest.begin() + 1, guest.end() - 1), both) << before_boundary;
    EXPECT_EQ(guest.front(), 0x55);
    EXPECT_EQ(guest.back(), 0x55);
    const std::size_t pages = before_boundary < both.size() ? 2 : 1;
    ASSERT_EQ(platform.accesses().size(), pages) << before_boundary;
    EXPECT_EQ(platform.accesses()[0].size, before_boundary);
    EXPECT_EQ(platform.accesses()[0].access, GuestAccess::kWrite);
  }
  // Either part may be empty.
  platform.clear_accesses();
  ASSERT_EQ(memory.write(page, {}, tail), SvsmResult::kSuccess);
  ASSERT_EQ(memory.write(page + 0x10, head, {}), SvsmResult::kSuccess);
  EXPECT_EQ(memory.write(page, {}, {}), SvsmResult::kSuccess);
  EXPECT_EQ(platform.accesses().size(), 2u);
  EXPECT_EQ(platform.guest_bytes(page, 6)[5], 0xB6);
  EXPECT_EQ(platform.guest_bytes(page + 0x10, 4)[0], 0xA1);
}

TEST_F(GuestMemoryTest, ZeroLengthAccessTouchesNothing) {
  EXPECT_EQ(memory.read(0, {}), SvsmResult::kSuccess);
  EXPECT_TRUE(platform.accesses().empty());
}

TEST_F(GuestMemoryTest, VmsaPagesAreNotGuestMemory) {
  host::HostPlatformConfig config;
  host::HostPlatform p(config);
  GuestMemory m(p);
  const std::uint64_t vmsa = config.guest_base + 0x5000;
  auto page = p.guest_bytes(vmsa, 4096);
  page[0xCA] = config.guest_vmpl;  // VMSA.vmpl
  page[0xD1] = 0x10;               // EFER.SVME (bit 12)
  page[0x3B0] = static_cast<std::uint8_t>(config.guest_sev_features);
  ASSERT_EQ(p.create_vcpu(vmsa, config.guest_base + 0x6000, 1), SvsmResult::kSuccess);
  Bytes b(8);
  EXPECT_FALSE(m.owns(vmsa, 1));
  EXPECT_EQ(m.read(vmsa + 8, b), SvsmResult::kInvalidAddress);
  EXPECT_FALSE(m.owns(vmsa - 4, 8));  // overlapping its first bytes
  EXPECT_TRUE(m.owns(vmsa - 4, 4));
}

}  // namespace
}  // namespace cvtpm::vtpm
