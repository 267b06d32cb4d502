// The platform's fixed window of guest memory (Platform::fixed_guest_window): an access inside it
// is checked against its bounds and never reaches guest_owns() or map_guest(); an access that
// leaves it, even by one byte, takes the checked page-by-page path; a range the guest does not
// own is refused whole either way; and the SVSM vTPM path answers the same bytes and the same
// errors through both paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/guest_memory.h"
#include "cvtpm/vtpm_host/host_platform.h"
#include "cvtpm/vtpm_host/windowed_platform.h"
#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::Bytes;

using host::WindowedPlatform;

class FixedWindowTest : public ::testing::Test {
 protected:
  FixedWindowTest() : windowed(host, begin(), end()), memory(windowed) {
    host.record_accesses(true);
  }
  // The window: 64 KiB starting 64 KiB into guest RAM.
  std::uint64_t begin() const { return host.config().guest_base + 0x1'0000; }
  std::uint64_t end() const { return begin() + 0x1'0000; }
  std::span<std::uint8_t> guest(std::uint64_t gpa, std::size_t size) {
    return host.guest_bytes(gpa, size);
  }
  // Nothing asked the platform: no ownership question, no mapping.
  void expect_platform_untouched() {
    EXPECT_EQ(windowed.owns_calls, 0);
    EXPECT_TRUE(host.accesses().empty());
  }

  host::HostPlatform host;
  WindowedPlatform windowed;
  GuestMemory memory;
};

TEST_F(FixedWindowTest, TheHostPlatformHasNoWindow) {
  const GuestWindow none = host.fixed_guest_window();
  EXPECT_EQ(none.begin, none.end);
}

TEST_F(FixedWindowTest, TheWindowedPlatformKeepsTheWindowsPagesTheGuests) {
  // The window's contract: none of its pages can be rescinded or become a VMSA or calling area.
  EXPECT_EQ(windowed.pvalidate(begin(), PageSize::k4K, false), PvalidateStatus::kFailInput);
  EXPECT_EQ(windowed.pvalidate(begin() - 0x1000, PageSize::k2M, false),
            PvalidateStatus::kFailInput);
  EXPECT_EQ(windowed.create_vcpu(end() - 0x1000, end(), 1), SvsmResult::kInvalidParameter);
  EXPECT_EQ(windowed.create_vcpu(end(), begin(), 1), SvsmResult::kInvalidParameter);
  // Outside the window the host platform decides: a guest page there can be rescinded.
  EXPECT_NE(windowed.pvalidate(end(), PageSize::k4K, false), PvalidateStatus::kFailInput);
}

TEST_F(FixedWindowTest, AccessesInsideTheWindowNeverAskThePlatform) {
  const Bytes data = testing::from_hex("0102030405060708090a");
  std::copy(data.begin(), data.end(), guest(begin(), data.size()).begin());
  Bytes copy(data.size());
  ASSERT_EQ(memory.read(begin(), copy), SvsmResult::kSuccess);
  EXPECT_EQ(copy, data);
  guest(begin(), 1)[0] = 0xFF;  // a private copy: the guest's change does not reach it
  EXPECT_EQ(copy[0], 0x01);

  // The last bytes of the window, written as a header and what follows it.
  const Bytes head = testing::from_hex("a1a2a3");
  const Bytes tail = testing::from_hex("b1b2b3b4b5");
  const std::uint64_t last = end() - 8;
  ASSERT_EQ(memory.write(last, head, tail), SvsmResult::kSuccess);
  EXPECT_EQ(Bytes(guest(last, 8).begin(), guest(last, 8).end()),
            testing::from_hex("a1a2a3b1b2b3b4b5"));

  ASSERT_EQ(memory.zero(last + 2, 4), SvsmResult::kSuccess);
  EXPECT_EQ(Bytes(guest(last, 8).begin(), guest(last, 8).end()),
            testing::from_hex("a1a2000000 00b4b5"));

  guest(begin() + 0x100, 1)[0] = 1;
  std::uint8_t old = 0xEE;
  ASSERT_EQ(memory.exchange_byte(begin() + 0x100, 0, old), SvsmResult::kSuccess);
  EXPECT_EQ(old, 1);
  EXPECT_EQ(guest(begin() + 0x100, 1)[0], 0);

  // A prefix read whose extent is the whole window.
  ASSERT_EQ(memory.read_prefix(begin(), end() - begin(), {copy.data(), 4}), SvsmResult::kSuccess);
  EXPECT_TRUE(memory.owns(begin(), end() - begin()));
  expect_platform_untouched();
}

TEST_F(FixedWindowTest, AccessesLeavingTheWindowAreCheckedAndMappedPageByPage) {
  // From the last 16 bytes of the window into the guest memory after it (the host owns both).
  auto bytes = guest(end() - 0x10, 0x20);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i);
  Bytes copy(0x20);
  ASSERT_EQ(memory.read(end() - 0x10, copy), SvsmResult::kSuccess);
  EXPECT_EQ(copy, Bytes(bytes.begin(), bytes.end()));
  EXPECT_EQ(windowed.owns_calls, 1);
  ASSERT_EQ(host.accesses().size(), 2u);  // split at the page boundary that ends the window
  EXPECT_EQ(host.accesses()[0].gpa, end() - 0x10);
  EXPECT_EQ(host.accesses()[1].gpa, end());

  // Starting one byte before the window; a prefix read whose extent leaves the window.
  host.clear_accesses();
  ASSERT_EQ(memory.read(begin() - 1, {copy.data(), 2}), SvsmResult::kSuccess);
  ASSERT_EQ(memory.read_prefix(end() - 0x40, 0x41, {copy.data(), 4}), SvsmResult::kSuccess);
  EXPECT_EQ(windowed.owns_calls, 3);
  EXPECT_EQ(host.accesses().size(), 3u);

  // Write and exchange just outside.
  host.clear_accesses();
  const Bytes head = testing::from_hex("c1c2");
  const Bytes tail = testing::from_hex("d1d2d3");
  ASSERT_EQ(memory.write(end() - 2, head, tail), SvsmResult::kSuccess);
  EXPECT_EQ(Bytes(guest(end() - 2, 5).begin(), guest(end() - 2, 5).end()),
            testing::from_hex("c1c2d1d2d3"));
  std::uint8_t old = 0;
  ASSERT_EQ(memory.exchange_byte(end(), 7, old), SvsmResult::kSuccess);
  EXPECT_EQ(old, 0xD1);
  EXPECT_EQ(windowed.owns_calls, 5);
  ASSERT_EQ(host.accesses().size(), 3u);  // the write split at the window's end, the exchange
  EXPECT_EQ(host.accesses()[0].size, 2u);
  EXPECT_EQ(host.accesses()[1].size, 3u);
}

TEST_F(FixedWindowTest, RangesTheGuestDoesNotOwnAreRefusedWhole) {
  // A window at the very end of guest RAM, followed by the SVSM's memory.
  const std::uint64_t last = host.guest_end() - 0x4000;
  WindowedPlatform at_end(host, last, host.guest_end());
  GuestMemory m(at_end);
  Bytes buffer(0x100, 0xEE);
  const std::uint64_t straddling = host.guest_end() - 0x80;
  auto owned_part = guest(straddling, 0x80);
  std::fill(owned_part.begin(), owned_part.end(), 0x55);
  EXPECT_EQ(m.read(straddling, buffer), SvsmResult::kInvalidAddress);
  EXPECT_EQ(m.write(straddling, buffer), SvsmResult::kInvalidAddress);
  EXPECT_EQ(m.write(straddling, {buffer.data(), 0x80}, {buffer.data(), 1}),
            SvsmResult::kInvalidAddress);
  EXPECT_EQ(m.zero(straddling, buffer.size()), SvsmResult::kInvalidAddress);
  EXPECT_EQ(m.read_prefix(straddling, 0x81, {buffer.data(), 4}), SvsmResult::kInvalidAddress);
  EXPECT_EQ(m.read_prefix(straddling, 4, {buffer.data(), 8}), SvsmResult::kInvalidAddress);
  std::uint8_t old = 0;
  EXPECT_EQ(m.exchange_byte(host.svsm_base(), 0, old), SvsmResult::kInvalidAddress);
  // Wrapping around the address space, and an empty range.
  EXPECT_EQ(m.read(~std::uint64_t{0} - 3, {buffer.data(), 8}), SvsmResult::kInvalidAddress);
  EXPECT_FALSE(m.owns(last, ~std::uint64_t{0}));
  EXPECT_FALSE(m.owns(last, 0));
  EXPECT_EQ(m.read(last, {}), SvsmResult::kSuccess);
  // Nothing moved: not even the owned part was touched, no byte reached the buffer.
  EXPECT_TRUE(host.accesses().empty());
  EXPECT_TRUE(std::all_of(owned_part.begin(), owned_part.end(), [](auto b) { return b == 0x55; }));
  EXPECT_TRUE(std::all_of(buffer.begin(), buffer.end(), [](auto b) { return b == 0xEE; }));
}

// The SVSM itself over the windowed platform: the same TPM, the same calls, the buffer inside the
// window or across its end.
class FixedWindowServiceTest : public FixedWindowTest {
 protected:
  FixedWindowServiceTest() : engine(testing::shared_engine()), dispatcher(windowed, &engine) {}

  void SetUp() override {
    ASSERT_TRUE(engine.power_on());
    ASSERT_EQ(testing::tpm_rc(tpm(testing::tpm_startup_clear(), begin() + 0x1000)), 0u);
    host.clear_accesses();
    windowed.owns_calls = 0;
  }

  // SVSM_VTPM_CMD through the calling-area handshake, the calling area at `caa`.
  SvsmResult send(std::uint64_t caa, std::uint64_t buffer, std::span<const std::uint8_t> request) {
    std::copy(request.begin(), request.end(), guest(buffer, request.size()).begin());
    guest(caa, 1)[0] = 1;
    SvsmRegisters regs{call_rax(Protocol::kVtpm, vtpm_call::kCmd), buffer, 0, 0, 0};
    if (dispatcher.serve_pending({0, caa}, regs) != ServeOutcome::kServed) {
      ADD_FAILURE() << "not served";
      return SvsmResult::kInvalidRequest;
    }
    EXPECT_EQ(guest(caa, 1)[0], 0) << "call_pending not cleared";
    return static_cast<SvsmResult>(regs.rax);
  }
  Bytes tpm(std::span<const std::uint8_t> command, std::uint64_t buffer) {
    const Bytes request = testing::vtpm_send_command_request(
        8, 0, static_cast<std::uint32_t>(command.size()), command);
    EXPECT_EQ(send(begin(), buffer, request), SvsmResult::kSuccess);
    const std::uint32_t size =
        testing::le32_at(Bytes(guest(buffer, 4).begin(), guest(buffer, 4).end()), 0);
    auto response = guest(buffer + 4, size);
    return Bytes(response.begin(), response.end());
  }

  TpmEngine& engine;
  Dispatcher dispatcher;
};

TEST_F(FixedWindowServiceTest, InsideTheWindowTheServiceNeverAsksThePlatform) {
  const Bytes pcr = tpm(testing::tpm_pcr_read_sha256(16), begin() + 0x1000);
  EXPECT_EQ(testing::tpm_rc(pcr), 0u);
  EXPECT_EQ(testing::pcr_value_from_read(pcr), Bytes(32, 0));
  expect_platform_untouched();
}

TEST_F(FixedWindowServiceTest, BuffersInsideAndAcrossTheWindowGetTheSameResponses) {
  const Bytes command = testing::tpm_get_property(testing::kPtMaxCommandSize);
  const Bytes inside = tpm(command, begin() + 0x2000 + 0x123);
  expect_platform_untouched();
  // The buffer starts 16 bytes before the window's end: its request and response cross it, so
  // both are checked with the platform and mapped page by page.
  const Bytes across = tpm(command, end() - 0x10);
  EXPECT_EQ(windowed.owns_calls, 2);  // the whole 4 KiB buffer, then the response
  EXPECT_FALSE(host.accesses().empty());
  EXPECT_EQ(inside, across);
  EXPECT_EQ(testing::tpm_rc(inside), 0u);
  EXPECT_EQ(testing::property_from_response(inside), 4087u);
}

TEST_F(FixedWindowServiceTest, HostileRequestsInsideTheWindowHaveNoEffect) {
  const Bytes command = testing::tpm_get_random(8);
  const std::uint64_t buffer = begin() + 0x3000;
  for (const auto& [platform_command, locality, size, expected] :
       {std::tuple{8u, std::uint8_t{1}, 12u, SvsmResult::kInvalidParameter},
        std::tuple{8u, std::uint8_t{0}, 4088u, SvsmResult::kInvalidParameter},
        std::tuple{8u, std::uint8_t{0}, 0xFFFF'FFFFu, SvsmResult::kInvalidParameter},
        std::tuple{0u, std::uint8_t{0}, 12u, SvsmResult::kInvalidParameter},
        std::tuple{1u, std::uint8_t{0}, 12u, SvsmResult::kUnsupportedCall}}) {
    const Bytes request =
        testing::vtpm_send_command_request(platform_command, locality, size, command);
    const std::uint64_t commands = engine.commands_executed();
    EXPECT_EQ(send(begin(), buffer, request), expected) << platform_command << " " << size;
    EXPECT_EQ(engine.commands_executed(), commands);
    EXPECT_EQ(Bytes(guest(buffer, request.size()).begin(), guest(buffer, request.size()).end()),
              request);  // left as the guest wrote it
  }
  expect_platform_untouched();
}

TEST_F(FixedWindowServiceTest, ABufferRunningOutOfGuestMemoryIsRefusedUntouched) {
  // A window at the very end of guest RAM: the request fits, the 4 KiB buffer does not.
  const std::uint64_t last = host.guest_end() - 0x4000;
  WindowedPlatform at_end(host, last, host.guest_end());
  Dispatcher d(at_end, &engine);
  const Bytes command = testing::tpm_get_random(8);
  const Bytes request =
      testing::vtpm_send_command_request(8, 0, static_cast<std::uint32_t>(command.size()), command);
  const std::uint64_t buffer = host.guest_end() - 4095;
  std::copy(request.begin(), request.end(), guest(buffer, request.size()).begin());
  const std::uint64_t commands = engine.commands_executed();
  SvsmRegisters regs{call_rax(Protocol::kVtpm, vtpm_call::kCmd), buffer, 0, 0, 0};
  d.dispatch({0, last}, regs);
  EXPECT_EQ(static_cast<SvsmResult>(regs.rax), SvsmResult::kInvalidAddress);
  EXPECT_EQ(engine.commands_executed(), commands);
  EXPECT_EQ(Bytes(guest(buffer, request.size()).begin(), guest(buffer, request.size()).end()),
            request);
  EXPECT_TRUE(host.accesses().empty());
}

}  // namespace
}  // namespace cvtpm::vtpm
