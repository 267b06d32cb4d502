// Loopback TCP for the tests that talk to cvtpm-tpm-bridge: a pair of consecutive ports that are
// free right now (swtpm's data/control pair), and a blocking client with a timeout on every
// operation.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

namespace cvtpm::fw::testing {

std::uint16_t free_port_pair();

// A connected socket to 127.0.0.1:port, or -1.
int connect_loopback(std::uint16_t port);

class LoopbackClient {
 public:
  // Throws std::runtime_error if 127.0.0.1:port does not accept.
  LoopbackClient(std::uint16_t port, std::chrono::seconds timeout);
  ~LoopbackClient();
  LoopbackClient(const LoopbackClient&) = delete;
  LoopbackClient& operator=(const LoopbackClient&) = delete;

  void send(std::span<const std::uint8_t> bytes);
  // Exactly n bytes; throws std::runtime_error on timeout or if the peer closes first.
  std::vector<std::uint8_t> receive(std::size_t n);

 private:
  int fd_ = -1;
};

}  // namespace cvtpm::fw::testing
