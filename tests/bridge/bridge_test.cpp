// cvtpm-tpm-bridge against the firmware's real serial channel, run on the host over a unix
// socket with QEMU's one-send-per-byte behaviour (socket_uart.h): raw clients on both ports,
// malformed input, disconnects, concurrency, stale and late responses, and tpm2-tools' own swtpm
// TCTI. Also the command line's bad-input handling.
#include <gtest/gtest.h>

#include <sstream>

#include "bridge_fixture.h"
#include "cvtpm/bridge/bridge.h"
#include "cvtpm/bridge/cli.h"
#include "ports.h"
#include "process.h"
#include "temp_dir.h"

namespace cvtpm::bridge {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace)
using fw::testing::free_port_pair;

class BridgeTest : public BridgeFixture {
 protected:
  void SetUp() override {
    prepare();
    options.port = free_port_pair();
    start();
  }
};

TEST_F(BridgeTest, ForwardsTpmCommandsAndControlRequests) {
  ASSERT_TRUE(bridge->stats().link_up);
  EXPECT_EQ(roundtrip(options.port, kGetRandom, 20),
            (Bytes{0x80, 0x01, 0, 0, 0, 20, 0, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 1}));
  EXPECT_EQ(roundtrip(options.port, kStartup, 10), (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0}));
  EXPECT_EQ(roundtrip(options.port + 1, {0, 0, 0, 5, 0}, 4), be32(0));
  EXPECT_EQ(roundtrip(options.port + 1, {0, 0, 0, 5, 2}, 4), be32(tp::swtpm::kBadLocality));
  EXPECT_EQ(roundtrip(options.port + 1, be32(tp::swtpm::kGetCapability), 8),
            (Bytes{0, 0, 0, 0, 0, 0, 0, 8}));
  // A 4 KiB command streams through the byte-at-a-time link.
  Bytes big(4096, 0);
  big[0] = 0x80;
  big[1] = 0x01;
  formats::store_be<std::uint32_t>(big.data() + 2, 4096);
  formats::store_be<std::uint32_t>(big.data() + 6, 0x15b);
  EXPECT_EQ(roundtrip(options.port, big, 10), (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 1, 1}));
  EXPECT_EQ(bridge->stats().requests, 6u);
  EXPECT_EQ(bridge->stats().responses, 6u);
  finish();  // the log is the bridge thread's until then
  EXPECT_NE(log.str().find("cvtpm-tpm-bridge: firmware link up ("), std::string::npos) << log.str();
  EXPECT_EQ(status, 0);
}

TEST_F(BridgeTest, AnswersMalformedInputItselfAndKeepsServing) {
  EXPECT_EQ(roundtrip(options.port, {0x00, 0xc1, 0, 0, 0, 10, 0, 0, 0, 0x99}, 10),
            (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0x1e}));  // TPM_RC_BAD_TAG
  EXPECT_EQ(roundtrip(options.port, {0x80, 0x01, 0x10, 0, 0, 0}, 10),
            (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x42}));  // TPM_RC_COMMAND_SIZE
  EXPECT_EQ(roundtrip(options.port + 1, be32(0x1234), 4), be32(tp::swtpm::kBadOrdinal));
  EXPECT_EQ(firmware->tpm.commands.load(), 0);
  EXPECT_EQ(firmware->tpm.controls.load(), 0);
  EXPECT_EQ(bridge->stats().local_errors, 3u);
  EXPECT_EQ(roundtrip(options.port, kStartup, 10).size(), 10u);
}

TEST_F(BridgeTest, ClientThatLeavesMidCommandAffectsNobody) {
  const int fd = fw::testing::connect_loopback(options.port);
  ::send(fd, kGetRandom.data(), 7, MSG_NOSIGNAL);
  ::close(fd);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(roundtrip(options.port, kGetRandom, 20).size(), 20u);
  EXPECT_EQ(firmware->tpm.commands.load(), 1);
}

TEST_F(BridgeTest, ManyClientsAtOnceAreSerialized) {
  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      for (int k = 0; k < 10; ++k) {
        const Bytes r = roundtrip(options.port, kGetRandom, 20);
        if (r.size() == 20 && r[9] == 0 && r[11] == 8) ++good;
        const Bytes c = roundtrip(options.port + 1, {0, 0, 0, 5, 0}, 4);
        if (c == be32(0)) ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), 160);
  EXPECT_EQ(firmware->tpm.commands.load(), 80);
  EXPECT_EQ(bridge->stats().stale_frames, 0u);
}

TEST_F(BridgeTest, SlowFirmwareTimesOutWithTpmFailureThenRecovers) {
  options.port = free_port_pair();
  options.request_timeout = 300ms;
  restart(true);
  firmware->tpm.stall_ms = 800;
  EXPECT_EQ(roundtrip(options.port, kGetRandom, 10, 5s),
            (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 1, 1}));  // TPM_RC_FAILURE from the bridge
  EXPECT_EQ(bridge->stats().timeouts, 1u);
  firmware->tpm.stall_ms = 0;
  // The late answer is discarded as stale; the link is reset and serves again.
  EXPECT_EQ(roundtrip(options.port, kGetRandom, 20, 5s).size(), 20u);
  EXPECT_GE(bridge->stats().stale_frames, 1u);
}

TEST_F(BridgeTest, Tpm2ToolsSwtpmTctiGetsThrough) {
  const std::string tcti = "swtpm:host=127.0.0.1,port=" + std::to_string(options.port);
  for (int i = 0; i < 10; ++i) {
    const auto r = cvtpm::testing::run_process({"tpm2_startup", "-c", "-T", tcti}, {}, 30s);
    if (r.exit_code == 127) GTEST_SKIP() << "tpm2_startup (tpm2-tools) is not installed";
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("tcti"), std::string::npos) << r.err;
  }
  // Each run: SET_LOCALITY on the control port, then TPM2_Startup.
  EXPECT_EQ(firmware->tpm.controls.load(), 10);
  EXPECT_EQ(firmware->tpm.commands.load(), 10);
}

TEST(BridgeRun, GivesUpWhenTheSerialSocketNeverAppears) {
  cvtpm::testing::TempDir dir;
  BridgeOptions options;
  options.serial = parse_serial_endpoint("unix:" + (dir / "nobody.sock").string(), "--serial");
  options.port = free_port_pair();
  options.connect_timeout = 300ms;
  std::stringstream log;
  Bridge bridge(options, log);
  bridge.listen();
  std::atomic<bool> stop{false};
  EXPECT_EQ(bridge.run(stop), 1);
  EXPECT_NE(log.str().find("cannot connect"), std::string::npos) << log.str();
}

TEST(BridgeRun, EndsWhenTheVmGoesAway) {
  cvtpm::testing::TempDir dir;
  auto firmware = std::make_unique<FakeFirmware>(dir / "vm.sock");
  BridgeOptions options;
  options.serial = parse_serial_endpoint("unix:" + (dir / "vm.sock").string(), "--serial");
  options.port = free_port_pair();
  std::stringstream log;
  Bridge bridge(options, log);
  bridge.listen();
  std::atomic<bool> stop{false};
  int status = -1;
  std::thread t([&] { status = bridge.run(stop); });
  for (int i = 0; i < 1000 && !bridge.stats().link_up; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(bridge.stats().link_up);
  firmware.reset();  // closes the connection like an exiting QEMU
  t.join();
  EXPECT_EQ(status, 0);
  EXPECT_NE(log.str().find("closed: the VM is gone"), std::string::npos) << log.str();
}

TEST(BridgeCli, BadInputIsOneLineAndStatusTwo) {
  struct Case {
    std::vector<const char*> args;
    const char* message;
  };
  const Case cases[] = {
      {{"x", "--port", "2321"}, "cvtpm-tpm-bridge: error: --serial is required (see --help)\n"},
      {{"x", "--serial", "com2"},
       "cvtpm-tpm-bridge: error: --serial: \"com2\": expected unix:PATH or tcp:HOST:PORT\n"},
      {{"x", "--serial", "tcp:localhost"},
       "cvtpm-tpm-bridge: error: --serial: \"tcp:localhost\": expected tcp:HOST:PORT\n"},
      {{"x", "--serial", "unix:"},
       "cvtpm-tpm-bridge: error: --serial: \"unix:\": empty socket path\n"},
      {{"x", "--serial", "unix:/s", "--port", "65535"}, nullptr},
      {{"x", "--serial", "unix:/s", "--port", "0"},
       "cvtpm-tpm-bridge: error: --port: 0 is not a port\n"},
  };
  for (const Case& c : cases) {
    std::ostringstream out, err;
    const int status = run_cli(static_cast<int>(c.args.size()), c.args.data(), out, err);
    EXPECT_EQ(status, 2) << err.str();
    EXPECT_EQ(out.str(), "");
    const std::string text = err.str();
    if (c.message != nullptr) {
      EXPECT_EQ(text, c.message);
    }
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  }
  std::ostringstream out, err;
  const char* version[] = {"x", "--version"};
  EXPECT_EQ(run_cli(2, version, out, err), 0);
  EXPECT_EQ(out.str().rfind("cvtpm-tpm-bridge ", 0), 0u);
}

}  // namespace
}  // namespace cvtpm::bridge
