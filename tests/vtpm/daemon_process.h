// Runs cvtpm-vtpmd in the background on free loopback ports for a test, and talks to it like a
// client: raw TPM commands on the data port, swtpm control messages on the control port, and the
// real tpm2-tools through the swtpm TCTI.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cvtpm/support/process.h"
#include "temp_dir.h"

namespace cvtpm::vtpm::testing {

// A connected loopback TCP socket with timeouts on every operation.
class Client {
 public:
  explicit Client(std::uint16_t port);  // throws std::runtime_error if it cannot connect
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(std::span<const std::uint8_t> bytes);
  // Exactly n bytes; throws on timeout or if the peer closes first.
  std::vector<std::uint8_t> receive(std::size_t n);
  // Everything until the peer closes (or the timeout).
  std::vector<std::uint8_t> receive_until_closed();
  // One TPM response: the header, then the rest by its size field.
  std::vector<std::uint8_t> receive_tpm_response();
  void close();

 private:
  int fd_ = -1;
};

class DaemonProcess {
 public:
  // Starts `binary` with `--port P` (P and P+1 free) and `extra` arguments, and waits until it
  // logs that it serves. Throws std::runtime_error if it does not within the timeout.
  DaemonProcess(const std::filesystem::path& binary, std::vector<std::string> extra = {});
  ~DaemonProcess() = default;  // the child is killed if still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  std::uint16_t port() const { return port_; }
  std::string tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(port_); }
  void signal(int signal_number);
  // The exit status (128 + signal if killed), or nullopt if it is still running at the timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running() { return child_->poll() < 0; }
  std::string log() const;  // everything it wrote to stderr
  const cvtpm::testing::TempDir& dir() const { return dir_; }

  // A control-channel exchange on a fresh connection (as the TCTI does): returns the reply.
  std::vector<std::uint8_t> control(std::uint32_t code, std::span<const std::uint8_t> payload,
                                    std::size_t reply_size);

 private:
  cvtpm::testing::TempDir dir_;
  std::unique_ptr<ChildProcess> child_;
  std::uint16_t port_ = 0;
};

// Two consecutive free loopback ports P, P+1 (free when asked).
std::uint16_t free_port_pair();

}  // namespace cvtpm::vtpm::testing
