// cvtpm-tpm-bridge as QEMU's tpm-emulator backend: the test plays QEMU (backends/tpm/
// tpm_emulator.c, tpm_util.c, tpm_ioctl.h) against the bridge and the firmware's real serial
// channel: the descriptor passed with CMD_SET_DATAFD, the TPM 2 probe QEMU answers within one
// second, the capabilities QEMU requires, its request sizes and startup sequence, a guest reset,
// malformed control messages, stray descriptors, and QEMU killed while the bridge keeps serving.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "bridge_fixture.h"
#include "cvtpm/bridge/bridge.h"
#include "cvtpm/bridge/cli.h"
#include "cvtpm/bridge/emulator_control.h"
#include "cvtpm/support/error.h"
#include "ports.h"
#include "temp_dir.h"

namespace cvtpm::bridge {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace)
using formats::load_be;

// QEMU's side of the protocol, one connection as one QEMU process holds it.
class FakeQemu {
 public:
  explicit FakeQemu(const std::filesystem::path& socket) {
    control_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    connected_ = ::connect(control_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~FakeQemu() { kill(); }
  FakeQemu(const FakeQemu&) = delete;
  FakeQemu& operator=(const FakeQemu&) = delete;

  bool connected() const { return connected_; }

  // What QEMU dying does to its descriptors.
  void kill() {
    if (control_ >= 0) ::close(control_);
    if (data_ >= 0) ::close(data_);
    control_ = data_ = -1;
  }

  // tpm_emulator_ctrlcmd: the code and request in one write, then exactly `response` bytes.
  std::optional<Bytes> control(std::uint32_t code, const Bytes& request, std::size_t response,
                               int pass_fd = -1, std::chrono::milliseconds timeout = 5s) {
    Bytes message = be32(code);
    message.insert(message.end(), request.begin(), request.end());
    iovec iov{message.data(), message.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char space[CMSG_SPACE(sizeof(int))] = {};
    if (pass_fd >= 0) {
      msg.msg_control = space;
      msg.msg_controllen = sizeof space;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &pass_fd, sizeof pass_fd);
    }
    if (::sendmsg(control_, &msg, MSG_NOSIGNAL) != static_cast<ssize_t>(message.size())) {
      return std::nullopt;
    }
    return read_exactly(control_, response, timeout);
  }

  // tpm_emulator_prepare_data_fd: a socketpair, one end passed, the other kept.
  std::optional<Bytes> set_data_fd() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return std::nullopt;
    std::optional<Bytes> r = control(swtpm::kSetDataFd, {}, 4, pair[1]);
    ::close(pair[1]);
    data_ = pair[0];
    return r;
  }

  // tpm_util_request: one write, then one read within a second (the probe's rule).
  std::optional<Bytes> probe(const Bytes& command) {
    if (::write(data_, command.data(), command.size()) != static_cast<ssize_t>(command.size())) {
      return std::nullopt;
    }
    pollfd p{data_, POLLIN, 0};
    if (::poll(&p, 1, 1000) != 1) return std::nullopt;
    std::uint8_t buffer[1024];
    const ssize_t n = ::read(data_, buffer, sizeof buffer);
    if (n < 10) return std::nullopt;
    return Bytes(buffer, buffer + n);
  }

  // tpm_emulator_unix_tx_bufs: the command, then the 10-byte header and the rest it announces.
  std::optional<Bytes> command(const Bytes& command, std::chrono::milliseconds timeout = 5s) {
    if (::write(data_, command.data(), command.size()) != static_cast<ssize_t>(command.size())) {
      return std::nullopt;
    }
    std::optional<Bytes> header = read_exactly(data_, 10, timeout);
    if (!header) return std::nullopt;
    const std::uint32_t size = load_be<std::uint32_t>(header->data() + 2);
    if (size < 10) return std::nullopt;
    std::optional<Bytes> rest = read_exactly(data_, size - 10, timeout);
    if (!rest) return std::nullopt;
    header->insert(header->end(), rest->begin(), rest->end());
    return header;
  }

  // tpm_emulator_startup_tpm_resume after tpm_crb_reset's buffer-size query: what QEMU does at
  // every machine reset. Returns the INIT result.
  std::optional<std::uint32_t> reset_tpm() {
    for (std::uint32_t wanted : {0u, 3968u}) {  // query, then CRB_CTRL_CMD_SIZE-bounded size
      if (control(swtpm::kStop, {}, 4) != be32(0)) return std::nullopt;
      if (!control(swtpm::kSetBufferSize, be32(wanted), 16)) return std::nullopt;
    }
    std::optional<Bytes> init = control(swtpm::kInit, be32(0), 4);
    if (!init) return std::nullopt;
    return load_be<std::uint32_t>(init->data());
  }

  // Whether the descriptor's peer was closed (EOF within `timeout`).
  static bool peer_closed(int fd, std::chrono::milliseconds timeout = 2s) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    std::uint8_t b;
    return ::recv(fd, &b, 1, MSG_DONTWAIT) == 0;
  }

  int control_fd() const { return control_; }
  int data_fd() const { return data_; }

 private:
  static std::optional<Bytes> read_exactly(int fd, std::size_t size,
                                           std::chrono::milliseconds timeout) {
    Bytes out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < size) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
        return std::nullopt;
      }
      std::uint8_t buffer[4096];
      const ssize_t n = ::recv(fd, buffer, std::min(sizeof buffer, size - out.size()), 0);
      if (n <= 0) return std::nullopt;
      out.insert(out.end(), buffer, buffer + n);
    }
    return out;
  }

  int control_ = -1;
  int data_ = -1;
  bool connected_ = false;
};

// TPM2_ReadClock with no sessions: QEMU's TPM 2 probe (tpm_util_test_tpmdev).
const Bytes kReadClock = {0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x81};

// What tpm_emulator_check_caps requires of a TPM 2.
constexpr std::uint64_t kQemuRequiredCapabilities =
    swtpm::capability::kInit | swtpm::capability::kShutdown |
    swtpm::capability::kGetTpmEstablished | swtpm::capability::kSetLocality |
    swtpm::capability::kResetTpmEstablished | swtpm::capability::kSetDataFd |
    swtpm::capability::kStop | swtpm::capability::kSetBufferSize;

class QemuProtocol : public BridgeFixture {
 protected:
  void SetUp() override {
    // The firmware's own answer (native_vtpm_test pins it): everything but SET_DATAFD.
    firmware_capabilities = 0x2CAF;
    prepare();
    firmware->tpm.capabilities = firmware_capabilities;
    options.qemu_socket = (dir / "tpm.sock").string();
    start();
  }

  // QEMU's start-up against a fresh connection: SET_DATAFD, the probe, the capabilities, the
  // first machine reset and a locality. Expectations are checked here.
  std::unique_ptr<FakeQemu> boot_qemu() {
    auto qemu = std::make_unique<FakeQemu>(options.qemu_socket);
    EXPECT_TRUE(qemu->connected());
    EXPECT_EQ(qemu->set_data_fd(), be32(0));
    const std::optional<Bytes> probe = qemu->probe(kReadClock);
    EXPECT_TRUE(probe.has_value()) << "no answer to QEMU's probe within one second";
    if (probe) {
      EXPECT_EQ(load_be<std::uint16_t>(probe->data()), 0x8001u);  // a TPM 2
    }
    const std::optional<Bytes> caps = qemu->control(swtpm::kGetCapability, {}, 8);
    EXPECT_TRUE(caps.has_value());
    if (caps) {
      EXPECT_EQ(load_be<std::uint64_t>(caps->data()) & kQemuRequiredCapabilities,
                kQemuRequiredCapabilities);
    }
    EXPECT_EQ(qemu->reset_tpm(), 0u);
    EXPECT_EQ(qemu->control(swtpm::kSetLocality, {0, 0, 0, 0}, 4), be32(0));
    return qemu;
  }
};

TEST_F(QemuProtocol, QemusStartupSequenceReachesTheFirmwareInItsCanonicalForm) {
  auto qemu = boot_qemu();
  EXPECT_EQ(qemu->command(kStartup), (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0}));
  const std::optional<Bytes> random = qemu->command(kGetRandom);
  ASSERT_TRUE(random);
  EXPECT_EQ(random->size(), 20u);
  EXPECT_EQ(qemu->control(swtpm::kResetTpmEstablished, {3, 0xEE, 0xEE, 0xEE}, 4), be32(0));
  EXPECT_EQ(qemu->control(swtpm::kGetTpmEstablished, {}, 8), Bytes(8, 0));
  EXPECT_EQ(qemu->control(swtpm::kShutdown, {}, 4), be32(0));  // QEMU's finalize

  // SET_DATAFD stayed in the bridge; the rest arrived as the serial link carries it: QEMU's
  // padding after the locality byte gone.
  const std::vector<Bytes> expected = {
      be32(swtpm::kGetCapability),
      be32(swtpm::kStop),
      (Bytes{0, 0, 0, 0x11, 0, 0, 0, 0}),
      be32(swtpm::kStop),
      (Bytes{0, 0, 0, 0x11, 0, 0, 0x0F, 0x80}),
      (Bytes{0, 0, 0, 2, 0, 0, 0, 0}),
      (Bytes{0, 0, 0, 5, 0}),
      (Bytes{0, 0, 0, 0x0B, 3}),
      be32(swtpm::kGetTpmEstablished),
      be32(swtpm::kShutdown),
  };
  EXPECT_EQ(firmware->tpm.controls_seen(), expected);
  EXPECT_EQ(firmware->tpm.commands.load(), 3);  // the probe, Startup, GetRandom
  EXPECT_EQ(bridge->stats().data_channels, 1u);
  finish();
  EXPECT_NE(log.str().find("QEMU data channel #"), std::string::npos) << log.str();
}

TEST_F(QemuProtocol, AGuestResetStopsAndRestartsTheTpm) {
  auto qemu = boot_qemu();
  ASSERT_EQ(qemu->command(kStartup), (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0}));
  // tpm_crb_reset at a machine reset: while stopped the TPM answers nothing but failure...
  EXPECT_EQ(qemu->control(swtpm::kStop, {}, 4), be32(0));
  EXPECT_EQ(qemu->command(kGetRandom), (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 1, 1}));
  // ...and after the whole sequence it serves again, on the same data channel.
  EXPECT_EQ(qemu->reset_tpm(), 0u);
  EXPECT_EQ(qemu->command(kStartup), (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0}));
  EXPECT_EQ(qemu->command(kGetRandom)->size(), 20u);
  EXPECT_EQ(bridge->stats().data_channels, 1u);
}

TEST_F(QemuProtocol, ConnectionsWaitForTheFirmwareSoTheProbeIsAnsweredInTime) {
  restart(false);  // no firmware yet: the link cannot come up
  ASSERT_FALSE(bridge->stats().link_up);
  FakeQemu qemu(options.qemu_socket);
  ASSERT_TRUE(qemu.connected());  // the listen backlog takes it; nothing answers yet
  std::thread late([&] {
    std::this_thread::sleep_for(500ms);
    firmware = std::make_unique<FakeFirmware>(dir / "link.sock");
  });
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_EQ(qemu.set_data_fd(), be32(0));  // QEMU blocks in its read, as it does
  EXPECT_GE(std::chrono::steady_clock::now() - asked, 400ms);
  late.join();
  EXPECT_TRUE(qemu.probe(kReadClock).has_value());
}

TEST_F(QemuProtocol, MalformedControlMessagesAreAnsweredAndThatQemuIsDropped) {
  {
    auto qemu = boot_qemu();
    // An unknown code cannot be framed: TPM_BAD_ORDINAL, then both of this QEMU's sockets close.
    EXPECT_EQ(qemu->control(0x00AB'CDEF, {}, 4), be32(swtpm::kBadOrdinal));
    EXPECT_TRUE(FakeQemu::peer_closed(qemu->control_fd()));
    EXPECT_TRUE(FakeQemu::peer_closed(qemu->data_fd()));
  }
  {
    auto qemu = boot_qemu();
    // A state blob longer than the bridge takes: TPM_BAD_PARAMETER, dropped.
    Bytes header(12, 0);
    formats::store_be<std::uint32_t>(header.data() + 8, 1u << 20);
    EXPECT_EQ(qemu->control(swtpm::kSetStateBlob, header, 4), be32(swtpm::kBadParameter));
    EXPECT_TRUE(FakeQemu::peer_closed(qemu->control_fd()));
  }
  // The firmware never saw any of it, and the next QEMU is served.
  const std::size_t before = firmware->tpm.controls_seen().size();
  auto qemu = boot_qemu();
  EXPECT_EQ(qemu->command(kStartup)->size(), 10u);
  EXPECT_EQ(firmware->tpm.controls_seen().size(), before + 7);
  EXPECT_EQ(bridge->stats().local_errors, 2u);
}

TEST_F(QemuProtocol, StateBlobsAreRefusedClearly) {
  auto qemu = boot_qemu();
  const std::optional<Bytes> get =
      qemu->control(swtpm::kGetStateBlob, Bytes{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, 16);
  ASSERT_TRUE(get);
  EXPECT_EQ(load_be<std::uint32_t>(get->data()), swtpm::kBadOrdinal);
  EXPECT_EQ(load_be<std::uint32_t>(get->data() + 8), 0u);  // totlength: nothing follows
  Bytes set(12, 0);
  formats::store_be<std::uint32_t>(set.data() + 8, 3);
  set.insert(set.end(), {1, 2, 3});
  EXPECT_EQ(qemu->control(swtpm::kSetStateBlob, set, 4), be32(swtpm::kBadOrdinal));
  // The connection goes on.
  EXPECT_EQ(qemu->command(kStartup)->size(), 10u);
  for (const Bytes& r : firmware->tpm.controls_seen()) {
    const std::uint32_t code = load_be<std::uint32_t>(r.data());
    EXPECT_NE(code, swtpm::kGetStateBlob);
    EXPECT_NE(code, swtpm::kSetStateBlob);
  }
  finish();
  EXPECT_NE(log.str().find("state blobs refused"), std::string::npos) << log.str();
}

TEST_F(QemuProtocol, DescriptorsNobodyAskedForAreClosed) {
  FakeQemu qemu(options.qemu_socket);
  ASSERT_TRUE(qemu.connected());
  // SET_DATAFD without a descriptor: TPM_BAD_PARAMETER, and the connection goes on.
  EXPECT_EQ(qemu.control(swtpm::kSetDataFd, {}, 4), be32(swtpm::kBadParameter));
  // A descriptor with another request is not kept: its peer sees EOF.
  int stray[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, stray), 0);
  EXPECT_EQ(qemu.control(swtpm::kGetTpmEstablished, {}, 8, stray[1]), Bytes(8, 0));
  ::close(stray[1]);
  EXPECT_TRUE(FakeQemu::peer_closed(stray[0]));
  ::close(stray[0]);
  // The real one, then a second: TPM_IOERROR, the second descriptor closed, the first serving.
  EXPECT_EQ(qemu.set_data_fd(), be32(0));
  int second[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, second), 0);
  EXPECT_EQ(qemu.control(swtpm::kSetDataFd, {}, 4, second[1]), be32(kTpmIoError));
  ::close(second[1]);
  EXPECT_TRUE(FakeQemu::peer_closed(second[0]));
  ::close(second[0]);
  EXPECT_EQ(qemu.command(kStartup)->size(), 10u);
  EXPECT_EQ(bridge->stats().data_channels, 1u);
}

TEST_F(QemuProtocol, QemuKilledMidCommandThenAnotherQemuIsServed) {
  {
    auto qemu = boot_qemu();
    // Half a command, then QEMU dies.
    ASSERT_EQ(::write(qemu->data_fd(), kGetRandom.data(), 6), 6);
  }
  {
    auto qemu = boot_qemu();
    // A command in flight when QEMU dies: the firmware's late answer is dropped.
    firmware->tpm.stall_ms = 300;
    ASSERT_EQ(::write(qemu->data_fd(), kGetRandom.data(), kGetRandom.size()),
              static_cast<ssize_t>(kGetRandom.size()));
    std::this_thread::sleep_for(50ms);
  }
  std::this_thread::sleep_for(400ms);
  firmware->tpm.stall_ms = 0;
  auto qemu = boot_qemu();
  EXPECT_EQ(qemu->command(kStartup), (Bytes{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0}));
  EXPECT_EQ(qemu->command(kGetRandom)->size(), 20u);
  EXPECT_EQ(bridge->stats().qemu_connections, 3u);
  EXPECT_EQ(bridge->stats().stale_frames, 0u);  // the answer's client was gone: dropped
  finish();
  EXPECT_EQ(status, 0);
}

TEST_F(QemuProtocol, TcpClientsAndQemuShareTheTpm) {
  options.port = fw::testing::free_port_pair();
  restart(true);
  auto qemu = boot_qemu();
  EXPECT_EQ(qemu->command(kStartup)->size(), 10u);
  // tpm2-tools' swtpm TCTI on the TCP ports reaches the same TPM; no SET_DATAFD for it.
  EXPECT_EQ(roundtrip(options.port, kGetRandom, 20).size(), 20u);
  const Bytes caps = roundtrip(options.port + 1, be32(swtpm::kGetCapability), 8);
  ASSERT_EQ(caps.size(), 8u);
  EXPECT_EQ(load_be<std::uint64_t>(caps.data()) & swtpm::capability::kSetDataFd, 0u);
  EXPECT_EQ(qemu->command(kGetRandom)->size(), 20u);
}

TEST(QemuSocket, ListenRefusesWhatIsNotASocketAndCleansUpItsOwn) {
  cvtpm::testing::TempDir dir;
  std::ofstream(dir / "file") << "mine";
  BridgeOptions options;
  options.serial = parse_serial_endpoint("unix:" + (dir / "none.sock").string(), "--serial");
  options.qemu_socket = (dir / "file").string();
  std::stringstream log;
  try {
    Bridge(options, log).listen();
    FAIL() << "listened on a regular file";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--qemu-socket: " + (dir / "file").string() + ": exists and is not a socket");
  }
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "file"));
  options.qemu_socket = (dir / "tpm.sock").string();
  {
    Bridge bridge(options, log);
    bridge.listen();
    EXPECT_TRUE(std::filesystem::is_socket(dir / "tpm.sock"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "tpm.sock"));
  options.qemu_socket.clear();
  try {
    Bridge(options, log).listen();
    FAIL() << "a bridge with nothing to serve";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "--port: nothing to serve: give a TCP port or a QEMU socket");
  }
}

TEST(QemuSocket, CommandLineBadInputIsOneLine) {
  cvtpm::testing::TempDir dir;
  std::ofstream(dir / "file") << "mine";
  const std::string file = (dir / "file").string();
  const std::string serial = "unix:" + (dir / "none.sock").string();
  const char* args[] = {"x", "--serial", serial.c_str(), "--qemu-socket", file.c_str()};
  std::ostringstream out, err;
  EXPECT_EQ(run_cli(5, args, out, err), 2);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(),
            "cvtpm-tpm-bridge: error: --qemu-socket: " + file + ": exists and is not a socket\n");
}

}  // namespace
}  // namespace cvtpm::bridge
