#include "daemon_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace cvtpm::vtpm::testing {
namespace {

constexpr int kIoTimeoutMs = 20'000;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

bool port_free(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in a = loopback(port);
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

bool wait_fd(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, kIoTimeoutMs) == 1;
}

}  // namespace

std::uint16_t free_port_pair() {
  std::random_device random;
  std::uniform_int_distribution<int> pick(20000, 60000);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<std::uint16_t>(pick(random));
    if (port_free(port) && port_free(static_cast<std::uint16_t>(port + 1))) return port;
  }
  throw std::runtime_error("no two consecutive free loopback ports");
}

Client::Client(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_in a = loopback(port);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    const std::string why = std::strerror(errno);
    close();
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
}

Client::~Client() {
  close();
}

void Client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Client::send(std::span<const std::uint8_t> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    if (!wait_fd(fd_, POLLOUT)) throw std::runtime_error("send timed out");
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

std::vector<std::uint8_t> Client::receive(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  std::size_t done = 0;
  while (done < n) {
    if (!wait_fd(fd_, POLLIN)) throw std::runtime_error("receive timed out");
    const ssize_t got = ::recv(fd_, out.data() + done, n - done, 0);
    if (got <= 0) {
      throw std::runtime_error("connection closed after " + std::to_string(done) + " of " +
                               std::to_string(n) + " bytes");
    }
    done += static_cast<std::size_t>(got);
  }
  return out;
}

std::vector<std::uint8_t> Client::receive_until_closed() {
  std::vector<std::uint8_t> out;
  std::uint8_t chunk[4096];
  while (wait_fd(fd_, POLLIN)) {
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) return out;
    out.insert(out.end(), chunk, chunk + got);
  }
  throw std::runtime_error("the peer did not close the connection");
}

std::vector<std::uint8_t> Client::receive_tpm_response() {
  std::vector<std::uint8_t> response = receive(10);
  const std::uint32_t size = std::uint32_t{response[2]} << 24 | std::uint32_t{response[3]} << 16 |
                             std::uint32_t{response[4]} << 8 | response[5];
  if (size < 10 || size > 8192) throw std::runtime_error("bad TPM response size");
  const std::vector<std::uint8_t> rest = receive(size - 10);
  response.insert(response.end(), rest.begin(), rest.end());
  return response;
}

DaemonProcess::DaemonProcess(const std::filesystem::path& binary, std::vector<std::string> extra) {
  // Another process may take the ports between the check and the daemon's bind: then it exits
  // with status 2 ("in use") and we try other ports.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = free_port_pair();
    std::vector<std::string> args = {binary.string(), "--port", std::to_string(port_)};
    args.insert(args.end(), extra.begin(), extra.end());
    ChildProcess::Options options;
    options.stdout_file = dir_ / "daemon.out";
    options.stderr_file = dir_ / "daemon.log";
    child_ = std::make_unique<ChildProcess>(args, options);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline && running()) {
      if (log().find("serving TPM commands") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (running()) {
      child_->stop(SIGKILL, std::chrono::milliseconds(0));
      throw std::runtime_error("cvtpm-vtpmd did not become ready: " + log());
    }
    if (child_->poll() != 2 || log().find("in use") == std::string::npos) {
      throw std::runtime_error("cvtpm-vtpmd exited with status " + std::to_string(child_->poll()) +
                               ": " + log());
    }
  }
  throw std::runtime_error("cvtpm-vtpmd found no free ports");
}

void DaemonProcess::signal(int signal_number) {
  if (running()) ::kill(child_->pid(), signal_number);
}

std::optional<int> DaemonProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return child_->poll();
}

std::string DaemonProcess::log() const {
  std::ifstream in(dir_ / "daemon.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::uint8_t> DaemonProcess::control(std::uint32_t code,
                                                 std::span<const std::uint8_t> payload,
                                                 std::size_t reply_size) {
  Client c(static_cast<std::uint16_t>(port_ + 1));
  std::vector<std::uint8_t> message = {
      static_cast<std::uint8_t>(code >> 24), static_cast<std::uint8_t>(code >> 16),
      static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
  message.insert(message.end(), payload.begin(), payload.end());
  c.send(message);
  return c.receive(reply_size);
}

}  // namespace cvtpm::vtpm::testing
