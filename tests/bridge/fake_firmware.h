// The firmware side of cvtpm-tpm-bridge's tests: the firmware's real serial channel
// (transport/serial_channel.h) on a Unix socket that sends byte by byte as QEMU's chardev does
// (tests/firmware/socket_uart.h), in front of a small scripted TPM; and helpers for TCP clients.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cvtpm/formats/endian.h"
#include "ports.h"
#include "socket_uart.h"
#include "transport/serial_channel.h"

namespace cvtpm::bridge::test_support {

namespace tp = fw::transport;
using Bytes = std::vector<std::uint8_t>;
using namespace std::chrono_literals;

inline Bytes be32(std::uint32_t v) {
  Bytes b(4);
  formats::store_be<std::uint32_t>(b.data(), v);
  return b;
}

inline const Bytes kGetRandom = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                                 0x00, 0x00, 0x01, 0x7b, 0x00, 0x08};
inline const Bytes kStartup = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c,
                               0x00, 0x00, 0x01, 0x44, 0x00, 0x00};

// Succeeds TPM2_Startup, answers GetRandom with 8 bytes derived from a counter, TPM_RC_FAILURE
// otherwise (and for everything while stopped); locality 0 only. Optionally stalls. Records the
// control requests it is given, as the firmware would receive them.
class TestTpm final : public tp::TpmTransportHandler {
 public:
  std::size_t execute(std::span<const std::uint8_t> command, std::span<std::uint8_t> out) override {
    ++commands;
    if (stall_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(stall_ms.load()));
    const std::uint32_t code = formats::load_be<std::uint32_t>(command.data() + 6);
    if (stopped) return tp::encode_error_response(tp::kTpmRcFailure, out);
    if (code == 0x144) return tp::encode_error_response(0, out);
    if (code == 0x17b) {
      const Bytes r = {
          0x80, 0x01, 0, 0, 0, 20, 0, 0, 0, 0,
          0,    8,    1, 2, 3, 4,  5, 6, 7, static_cast<std::uint8_t>(commands.load())};
      std::copy(r.begin(), r.end(), out.begin());
      return r.size();
    }
    return tp::encode_error_response(tp::kTpmRcFailure, out);
  }
  std::size_t control(const tp::swtpm::Request& r, std::span<std::uint8_t> out) override {
    ++controls;
    {
      std::lock_guard<std::mutex> lock(mutex);
      Bytes request = be32(r.code);
      request.insert(request.end(), r.payload.begin(), r.payload.end());
      control_log.push_back(request);
    }
    switch (r.code) {
      case tp::swtpm::kSetLocality:
        return tp::swtpm::encode_result(r.payload[0] == 0 ? 0 : tp::swtpm::kBadLocality, out);
      case tp::swtpm::kResetTpmEstablished:
        return tp::swtpm::encode_result(r.payload[0] <= 4 ? 0 : tp::swtpm::kBadLocality, out);
      case tp::swtpm::kGetCapability:
        return tp::swtpm::encode_capability(capabilities, out);
      case tp::swtpm::kStop:
      case tp::swtpm::kShutdown:
        stopped = true;
        return tp::swtpm::encode_result(0, out);
      case tp::swtpm::kInit:
        stopped = false;
        return tp::swtpm::encode_result(0, out);
      case tp::swtpm::kSetBufferSize:
        return tp::swtpm::encode_buffer_size(0, 4087, 4087, 4087, out);
      case tp::swtpm::kGetTpmEstablished:
        return tp::swtpm::encode_established(0, false, out);
      default:
        return tp::swtpm::encode_result(tp::swtpm::kBadOrdinal, out);
    }
  }
  // The control requests received so far (code + payload), oldest first.
  std::vector<Bytes> controls_seen() {
    std::lock_guard<std::mutex> lock(mutex);
    return control_log;
  }
  std::atomic<int> commands{0};
  std::atomic<int> controls{0};
  std::atomic<int> stall_ms{0};
  std::atomic<bool> stopped{false};
  std::uint64_t capabilities = tp::swtpm::capability::kSetLocality;

 private:
  std::mutex mutex;
  std::vector<Bytes> control_log;
};

// The firmware side: listens on a unix socket (as QEMU's chardev server does) and runs the real
// SerialChannel on the accepted connection.
class FakeFirmware {
 public:
  explicit FakeFirmware(std::filesystem::path socket_path) : path_(std::move(socket_path)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeFirmware() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
    ::unlink(path_.c_str());
  }
  TestTpm tpm;
  std::atomic<bool> garble_next_response{false};

 private:
  void serve() {
    pollfd p{listener_, POLLIN, 0};
    while (!stop_ && ::poll(&p, 1, 20) <= 0) {
    }
    if (stop_) return;
    const int fd = ::accept(listener_, nullptr, nullptr);
    fw::testing::SocketUart io(0x2F8, fd);
    fw::console::Uart16550 uart(io, 0x2F8);
    uart.init();
    tp::SerialChannel channel(uart, tpm);
    while (!stop_) {
      if (!channel.poll()) std::this_thread::sleep_for(200us);
    }
    ::close(fd);
  }
  std::filesystem::path path_;
  int listener_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

// Sends `request` on a fresh connection and reads `expect` bytes (or until EOF / timeout).
inline Bytes roundtrip(std::uint16_t port, const Bytes& request, std::size_t expect,
                       std::chrono::milliseconds timeout = 10s) {
  const int fd = fw::testing::connect_loopback(port);
  if (fd < 0) return {};
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  Bytes out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < expect && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    std::uint8_t buffer[8192];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.insert(out.end(), buffer, buffer + n);
  }
  ::close(fd);
  return out;
}

}  // namespace cvtpm::bridge::test_support
