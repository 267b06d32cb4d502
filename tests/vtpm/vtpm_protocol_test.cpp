// SVSM_VTPM_QUERY and SVSM_VTPM_CMD: byte-exact requests as Linux and OVMF write them, the TPM
// behind them, and every transport error with its exact code and no side effect.
#include <gtest/gtest.h>

#include <algorithm>

#include "cvtpm/support/digest.h"
#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::Bytes;
using testing::ByteWriter;
using testing::le32_at;
using testing::ServiceTest;
using testing::tpm_rc;

class VtpmProtocolTest : public ServiceTest {
 protected:
  void SetUp() override { start_tpm(); }

  // Writes a request (built byte by byte) at `at` and issues SVSM_VTPM_CMD.
  SvsmResult send(std::uint64_t at, std::uint32_t platform_command, std::uint8_t locality,
                  std::uint32_t size, std::span<const std::uint8_t> command) {
    write_guest(at, testing::vtpm_send_command_request(platform_command, locality, size, command));
    return result(call(Protocol::kVtpm, vtpm_call::kCmd, at));
  }
  Bytes response_at(std::uint64_t at) { return read_guest(at + 4, le32_at(read_guest(at, 4), 0)); }

  Bytes pcr16() {
    return testing::pcr_value_from_read(tpm(testing::tpm_pcr_read_sha256(16), buffer));
  }

  // Checks a rejected request changed nothing: no TPM command ran, no guest byte was written.
  void expect_no_effect(std::uint64_t commands_before) {
    EXPECT_EQ(engine->commands_executed(), commands_before) << "the TPM ran a command";
    for (const auto& access : platform.accesses()) {
      EXPECT_EQ(access.access, GuestAccess::kRead) << "wrote to 0x" << std::hex << access.gpa;
    }
  }

  const std::uint64_t buffer = gpa(0x1000);
};

TEST_F(VtpmProtocolTest, GetRandomRoundTrip) {
  const Bytes command = testing::tpm_get_random(16);
  platform.record_accesses(true);
  ASSERT_EQ(send(buffer, 8, 0, static_cast<std::uint32_t>(command.size()), command),
            SvsmResult::kSuccess);
  const Bytes response = response_at(buffer);
  // TPM2_GetRandom response: header, TPM2B_DIGEST of 16 bytes.
  ASSERT_EQ(response.size(), 10u + 2u + 16u);
  EXPECT_EQ(testing::be16_at(response, 0), 0x8001);
  EXPECT_EQ(testing::be32_at(response, 2), response.size());
  EXPECT_EQ(tpm_rc(response), 0u);
  EXPECT_EQ(testing::be16_at(response, 10), 16);
  // One read of the header with the start of the command (a short command: all of it), one
  // write of size + response over the request.
  ASSERT_EQ(platform.accesses().size(), 2u);
  EXPECT_EQ(platform.accesses()[0].access, GuestAccess::kRead);
  EXPECT_EQ(platform.accesses()[0].gpa, buffer);
  EXPECT_EQ(platform.accesses()[0].size, 64u);
  EXPECT_EQ(platform.accesses()[1].access, GuestAccess::kWrite);
  EXPECT_EQ(platform.accesses()[1].gpa, buffer);
  EXPECT_EQ(platform.accesses()[1].size, 4 + response.size());
}

TEST_F(VtpmProtocolTest, TheTpmWaitsForTheGuestsStartup) {
  ASSERT_TRUE(engine->power_on());  // _TPM_Init: what the guest finds at boot
  EXPECT_EQ(tpm_rc(tpm(testing::tpm_get_random(8), buffer)), 0x100u);  // TPM_RC_INITIALIZE
  EXPECT_EQ(tpm_rc(tpm(testing::tpm_startup_clear(), buffer)), 0u);
  EXPECT_EQ(tpm_rc(tpm(testing::tpm_startup_clear(), buffer)), 0x100u);  // only once
  EXPECT_EQ(tpm_rc(tpm(testing::tpm_get_random(8), buffer)), 0u);
}

TEST_F(VtpmProtocolTest, TheEkComputationLeavesOneTpmResetBehind) {
  // TPM2_ReadClock: TPMS_TIME_INFO = time, clock, resetCount, restartCount, safe. A freshly
  // manufactured TPM shows resetCount 1 after its first TPM2_Startup; the EK computation at
  // manufacture (docs/vtpm-service.md) adds one.
  ASSERT_TRUE(engine->manufacture({engine->ek_algorithm()}));
  ASSERT_EQ(tpm_rc(tpm(testing::tpm_startup_clear(), buffer)), 0u);
  const Bytes clock = tpm(testing::from_hex("8001 0000000a 00000181"), buffer);
  ASSERT_EQ(tpm_rc(clock), 0u);
  EXPECT_EQ(testing::be32_at(clock, 26), 2u);
  EXPECT_EQ(testing::be32_at(clock, 30), 0u);  // restartCount
}

TEST_F(VtpmProtocolTest, BufferSizesMatchTheSvsmBuffer) {
  const Bytes max_command = tpm(testing::tpm_get_property(testing::kPtMaxCommandSize), buffer);
  ASSERT_EQ(tpm_rc(max_command), 0u);
  EXPECT_EQ(testing::property_from_response(max_command), 4087u);
  const Bytes max_response = tpm(testing::tpm_get_property(testing::kPtMaxResponseSize), buffer);
  ASSERT_EQ(tpm_rc(max_response), 0u);
  EXPECT_EQ(testing::property_from_response(max_response), 4087u);
}

TEST_F(VtpmProtocolTest, PcrExtendAndRead) {
  std::array<std::uint8_t, 32> digest;
  digest.fill(0x11);
  const Bytes before = pcr16();
  EXPECT_EQ(before, Bytes(32, 0));
  EXPECT_EQ(tpm_rc(tpm(testing::tpm_pcr_extend_sha256(16, digest), buffer)), 0u);
  EXPECT_NE(pcr16(), before);
}

TEST_F(VtpmProtocolTest, UnalignedBufferIsFine) {
  const std::uint64_t unaligned = gpa(0x2000) + 0x123;
  const Bytes command = testing::tpm_get_random(4);
  ASSERT_EQ(send(unaligned, 8, 0, static_cast<std::uint32_t>(command.size()), command),
            SvsmResult::kSuccess);
  EXPECT_EQ(tpm_rc(response_at(unaligned)), 0u);
}

TEST_F(VtpmProtocolTest, NonZeroLocalityIsRejectedWithoutEffect) {
  std::array<std::uint8_t, 32> digest;
  digest.fill(0x22);
  const Bytes extend = testing::tpm_pcr_extend_sha256(16, digest);
  const Bytes pcr_before = pcr16();
  for (int locality : {1, 2, 3, 4, 5, 0x80, 0xFF}) {
    const std::uint64_t commands = engine->commands_executed();
    platform.record_accesses(true);
    platform.clear_accesses();
    EXPECT_EQ(send(buffer, 8, static_cast<std::uint8_t>(locality),
                   static_cast<std::uint32_t>(extend.size()), extend),
              SvsmResult::kInvalidParameter)
        << "locality " << locality;
    expect_no_effect(commands);
    platform.record_accesses(false);
  }
  EXPECT_EQ(pcr16(), pcr_before);
}

TEST_F(VtpmProtocolTest, CommandSizeLimits) {
  // 0 bytes and exactly the maximum reach the TPM, which rejects them in its response.
  ASSERT_EQ(send(buffer, 8, 0, 0, {}), SvsmResult::kSuccess);
  EXPECT_EQ(response_at(buffer).size(), 10u);
  EXPECT_EQ(tpm_rc(response_at(buffer)), 0x9Au);  // TPM_RC_INSUFFICIENT: not even a header

  Bytes largest = testing::tpm_get_random(8);
  largest.resize(kMaxTpmCommandSize, 0);
  largest[2] = 0, largest[3] = 0, largest[4] = 0x0F, largest[5] = 0xF7;  // header size 4087
  const std::uint64_t before = engine->commands_executed();
  ASSERT_EQ(send(buffer, 8, 0, 4087, largest), SvsmResult::kSuccess);
  EXPECT_EQ(engine->commands_executed(), before + 1);
  EXPECT_EQ(tpm_rc(response_at(buffer)), 0x95u);  // TPM_RC_SIZE: trailing bytes after the count

  // One past the maximum never reaches the TPM, and the buffer is left as the guest wrote it.
  for (std::uint32_t size : {4088u, 4096u, 0x1'0000u, 0xFFFF'FFFFu}) {
    largest.resize(4087);
    const std::uint64_t commands = engine->commands_executed();
    platform.record_accesses(true);
    platform.clear_accesses();
    EXPECT_EQ(send(buffer, 8, 0, size, largest), SvsmResult::kInvalidParameter) << size;
    expect_no_effect(commands);
    EXPECT_EQ(le32_at(read_guest(buffer + 5, 4), 0), size);
    platform.record_accesses(false);
  }
}

TEST_F(VtpmProtocolTest, BuffersThatAreNotGuestMemoryAreRejectedUntouched) {
  const Bytes command = testing::tpm_get_random(8);
  const Bytes request =
      testing::vtpm_send_command_request(8, 0, static_cast<std::uint32_t>(command.size()), command);
  // The request itself fits below the end of guest RAM, but the 4 KiB buffer the response may
  // fill does not: refused before anything is read.
  const std::uint64_t straddling = platform.guest_end() - 4095;
  write_guest(straddling, request);
  platform.record_accesses(true);
  const std::uint64_t commands = engine->commands_executed();
  EXPECT_EQ(result(call(Protocol::kVtpm, vtpm_call::kCmd, straddling)),
            SvsmResult::kInvalidAddress);
  // The last whole 4 KiB of guest RAM is a valid buffer (holding zeros: platform command 0).
  EXPECT_EQ(result(call(Protocol::kVtpm, vtpm_call::kCmd, platform.guest_end() - 4096)),
            SvsmResult::kInvalidParameter);
  EXPECT_EQ(result(call(Protocol::kVtpm, vtpm_call::kCmd, platform.svsm_base())),
            SvsmResult::kInvalidAddress);
  EXPECT_EQ(result(call(Protocol::kVtpm, vtpm_call::kCmd, platform.config().guest_base - 8)),
            SvsmResult::kInvalidAddress);
  EXPECT_EQ(result(call(Protocol::kVtpm, vtpm_call::kCmd, ~std::uint64_t{0} - 100)),
            SvsmResult::kInvalidAddress);
  EXPECT_EQ(result(call(Protocol::kVtpm, vtpm_call::kCmd, 0)), SvsmResult::kInvalidParameter);
  expect_no_effect(commands);
}

TEST_F(VtpmProtocolTest, PlatformCommandsOtherThanSendCommand) {
  const Bytes command = testing::tpm_get_random(8);
  for (std::uint32_t pc : {1u,  2u,  3u,  4u,  5u,  6u,  7u,  9u,  10u, 11u, 12u,
                           13u, 14u, 15u, 16u, 17u, 18u, 20u, 21u, 25u, 26u, 30u}) {
    const std::uint64_t commands = engine->commands_executed();
    EXPECT_EQ(send(buffer, pc, 0, static_cast<std::uint32_t>(command.size()), command),
              SvsmResult::kUnsupportedCall)
        << "platform command " << pc;
    EXPECT_EQ(engine->commands_executed(), commands);
  }
  for (std::uint32_t pc : {0u, 19u, 22u, 23u, 24u, 27u, 31u, 0x108u, 0xFFFF'FFFFu}) {
    const std::uint64_t commands = engine->commands_executed();
    EXPECT_EQ(send(buffer, pc, 0, static_cast<std::uint32_t>(command.size()), command),
              SvsmResult::kInvalidParameter)
        << "platform command " << pc;
    EXPECT_EQ(engine->commands_executed(), commands);
  }
}

TEST_F(VtpmProtocolTest, PoweredOffTpmIsAnInvalidRequest) {
  engine->power_off();
  const Bytes command = testing::tpm_get_random(8);
  EXPECT_EQ(send(buffer, 8, 0, static_cast<std::uint32_t>(command.size()), command),
            SvsmResult::kInvalidRequest);
  ASSERT_TRUE(engine->power_on());
}

TEST_F(VtpmProtocolTest, BusyTpmAsksTheGuestToRetry) {
  const Bytes command = testing::tpm_get_random(8);
  ASSERT_TRUE(engine->try_lock());  // another vCPU's command is running
  const std::uint64_t commands = engine->commands_executed();
  platform.record_accesses(true);
  EXPECT_EQ(send(buffer, 8, 0, static_cast<std::uint32_t>(command.size()), command),
            SvsmResult::kBusy);
  EXPECT_TRUE(platform.accesses().empty());
  EXPECT_EQ(engine->commands_executed(), commands);
  engine->unlock();
  EXPECT_EQ(send(buffer, 8, 0, static_cast<std::uint32_t>(command.size()), command),
            SvsmResult::kSuccess);
}

TEST_F(VtpmProtocolTest, ARequestChangedWhileServedIsServedAsFirstRead) {
  // TPM2_Hash of 500 bytes: longer than the first fetch, so the SVSM reads the guest twice.
  // Right after each read the guest (another vCPU) rewrites what was just read: the header
  // (platform command, locality, size) and the data. The TPM must hash exactly the first data.
  Bytes data(500);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 13);
  ByteWriter hash;
  hash.be16(0x8001).be32(10 + 2 + 500 + 2 + 4).be32(0x17D);
  hash.be16(500).raw(data).be16(0x000B).be32(0x40000007);  // SHA-256, TPM_RH_NULL
  const Bytes command = hash.bytes();
  write_guest(buffer, testing::vtpm_send_command_request(
                          8, 0, static_cast<std::uint32_t>(command.size()), command));
  int reads = 0;
  platform.after_access = [&](const host::GuestAccessRecord& record) {
    if (record.access != GuestAccess::kRead) return;
    ++reads;
    auto bytes = platform.guest_bytes(record.gpa, record.size);
    std::fill(bytes.begin(), bytes.end(), 0xFF);  // 0xFFFFFFFF platform command, locality 0xFF...
  };
  EXPECT_EQ(result(call(Protocol::kVtpm, vtpm_call::kCmd, buffer)), SvsmResult::kSuccess);
  platform.after_access = nullptr;
  EXPECT_EQ(reads, 2);
  const Bytes response = response_at(buffer);
  ASSERT_EQ(tpm_rc(response), 0u);
  ASSERT_EQ(testing::be16_at(response, 10), 32);
  const auto expected = cvtpm::sha256(data);
  EXPECT_EQ(Bytes(response.begin() + 12, response.begin() + 44),
            Bytes(expected.begin(), expected.end()));
}

TEST_F(VtpmProtocolTest, ResponsesLargerThanTheRequestStayInTheBuffer) {
  // TPM2_GetCapability(TPM_CAP_COMMANDS): a response much longer than its 22-byte request.
  const Bytes command = testing::from_hex("8001 00000016 0000017a 00000002 00000000 00000100");
  const std::uint64_t at = gpa(0x6000);
  auto around = platform.guest_bytes(at - 16, 4096 + 32);
  std::fill(around.begin(), around.end(), 0xCD);
  platform.record_accesses(true);
  ASSERT_EQ(send(at, 8, 0, static_cast<std::uint32_t>(command.size()), command),
            SvsmResult::kSuccess);
  const Bytes response = response_at(at);
  EXPECT_EQ(tpm_rc(response), 0u);
  EXPECT_GT(response.size(), 200u);
  for (const auto& a : platform.accesses()) {
    if (a.access == GuestAccess::kWrite) {
      EXPECT_GE(a.gpa, at);
      EXPECT_LE(a.gpa + a.size, at + 4096);
    }
  }
  EXPECT_TRUE(std::all_of(around.begin(), around.begin() + 16, [](auto b) { return b == 0xCD; }));
  EXPECT_TRUE(std::all_of(around.end() - 16, around.end(), [](auto b) { return b == 0xCD; }));
}

}  // namespace
}  // namespace cvtpm::vtpm
