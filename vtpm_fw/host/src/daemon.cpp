#include "cvtpm/vtpm_host/daemon.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cvtpm/formats/endian.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/tool_main.h"
#include "cvtpm/support/unique_fd.h"
#include "cvtpm/vtpm/tpm2_wire.h"
#include "cvtpm/vtpm_host/host_vtpm.h"
#include "cvtpm/vtpm_host/swtpm_protocol.h"

namespace cvtpm::vtpm::host {
namespace {

constexpr std::string_view kTool = "cvtpm-vtpmd";
constexpr std::size_t kMaxConnections = 64;
constexpr std::size_t kReadChunk = 4096;

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

struct DaemonOptions {
  std::uint16_t port = 0;
  EkAlgorithm ek = EkAlgorithm::kRsa2048;
  LogLevel log_level = LogLevel::kInfo;
};

class Logger {
 public:
  Logger(std::ostream& err, LogLevel level) : err_(err), level_(level) {}
  bool enabled(LogLevel level) const { return level <= level_; }
  void log(LogLevel level, const std::string& message) {
    static constexpr const char* kNames[] = {"error", "warning", "info", "debug"};
    if (!enabled(level)) return;
    err_ << kTool << ": " << kNames[static_cast<int>(level)] << ": " << message << std::endl;
  }

 private:
  std::ostream& err_;
  LogLevel level_;
};

std::string hex32(std::uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%08llx", static_cast<unsigned long long>(v));
  return text;
}

// SIGINT/SIGTERM reach the poll loop through a pipe (the handler only writes one byte).
int g_signal_pipe_write = -1;

extern "C" void on_stop_signal(int signal_number) {
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  const int saved_errno = errno;
  [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe_write, &byte, 1);
  errno = saved_errno;
}

UniqueFd listen_on_loopback(std::uint16_t port, const std::string& what) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // never reachable from other hosts
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw InputError("--port",
                     what + " 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
  }
  if (::listen(fd.get(), 16) != 0)
    throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
  return fd;
}

std::vector<std::uint8_t> tpm_error_response(std::uint32_t rc) {
  std::vector<std::uint8_t> response(tpm2::kHeaderSize);
  formats::store_be<std::uint16_t>(response.data(), tpm2::kStNoSessions);
  formats::store_be<std::uint32_t>(response.data() + 2, tpm2::kHeaderSize);
  formats::store_be<std::uint32_t>(response.data() + 6, rc);
  return response;
}

class Reply {
 public:
  Reply& u8(std::uint8_t v) {
    bytes_.push_back(v);
    return *this;
  }
  Reply& u32(std::uint32_t v) {
    std::uint8_t b[4];
    formats::store_be<std::uint32_t>(b, v);
    bytes_.insert(bytes_.end(), b, b + 4);
    return *this;
  }
  Reply& u64(std::uint64_t v) {
    std::uint8_t b[8];
    formats::store_be<std::uint64_t>(b, v);
    bytes_.insert(bytes_.end(), b, b + 8);
    return *this;
  }
  Reply& bytes(std::span<const std::uint8_t> b) {
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

class Daemon {
 public:
  Daemon(const DaemonOptions& options, std::ostream& err)
      : options_(options), log_(err, options.log_level) {}

  int run();

 private:
  enum class Channel { kData, kControl };
  struct Connection {
    UniqueFd fd;
    Channel channel;
    std::uint64_t id;
    std::vector<std::uint8_t> in;
    std::vector<std::uint8_t> out;
    std::size_t out_offset = 0;
    bool close_after_write = false;
    bool stop_after_write = false;
    bool closed = false;
  };

  void accept_all(int listener, Channel channel);
  void read_from(Connection& c);
  void write_to(Connection& c);
  void flush(Connection& c);
  void process(Connection& c);
  void process_data(Connection& c);
  void process_control(Connection& c);
  std::vector<std::uint8_t> execute(std::span<const std::uint8_t> command, std::uint64_t id);
  std::vector<std::uint8_t> control(std::uint32_t code, std::span<const std::uint8_t> payload,
                                    Connection& c);
  std::vector<std::uint8_t> attest(std::span<const std::uint8_t> payload);
  void close(Connection& c, const char* why);
  std::string name(const Connection& c) const {
    return (c.channel == Channel::kData ? "data client " : "control client ") +
           std::to_string(c.id);
  }

  DaemonOptions options_;
  Logger log_;
  std::unique_ptr<HostVtpm> vtpm_;
  std::list<Connection> connections_;
  std::uint64_t next_id_ = 1;
  std::uint8_t locality_ = 0;
  bool stop_ = false;
};

int Daemon::run() {
  // Ports first: a busy port is reported before the TPM is manufactured.
  UniqueFd data_listener = listen_on_loopback(options_.port, "data port");
  UniqueFd control_listener =
      listen_on_loopback(static_cast<std::uint16_t>(options_.port + 1), "control port");

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  UniqueFd signal_read(pipe_fds[0]);
  UniqueFd signal_write(pipe_fds[1]);
  g_signal_pipe_write = signal_write.get();
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a client gone mid-response is an EPIPE, not a crash

  HostVtpmOptions vtpm_options;
  vtpm_options.ek_algorithm = options_.ek;
  vtpm_ = std::make_unique<HostVtpm>(vtpm_options);
  log_.log(LogLevel::kInfo, "TPM manufactured (EK " + std::string(ek_algorithm_name(options_.ek)) +
                                ", " + std::to_string(vtpm_->engine().ek_public().size()) +
                                "-byte TPMT_PUBLIC); serving TPM commands on 127.0.0.1:" +
                                std::to_string(options_.port) +
                                ", control on 127.0.0.1:" + std::to_string(options_.port + 1));

  std::vector<pollfd> fds;
  std::vector<Connection*> polled;
  while (!stop_) {
    fds.clear();
    polled.clear();
    fds.push_back({signal_read.get(), POLLIN, 0});
    fds.push_back({data_listener.get(), POLLIN, 0});
    fds.push_back({control_listener.get(), POLLIN, 0});
    for (Connection& c : connections_) {
      const short events = c.out.empty() ? POLLIN : POLLOUT;
      fds.push_back({c.fd.get(), events, 0});
      polled.push_back(&c);
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents != 0) {
      unsigned char signal_number = 0;
      if (::read(signal_read.get(), &signal_number, 1) == 1) {
        log_.log(LogLevel::kInfo, "signal " + std::to_string(signal_number) + ", shutting down");
      }
      break;
    }
    if (fds[1].revents != 0) accept_all(data_listener.get(), Channel::kData);
    if (fds[2].revents != 0) accept_all(control_listener.get(), Channel::kControl);
    for (std::size_t i = 0; i < polled.size(); ++i) {
      Connection& c = *polled[i];
      const short revents = fds[3 + i].revents;
      if (revents == 0 || c.closed) continue;
      if ((revents & POLLOUT) != 0) {
        write_to(c);
      } else if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        read_from(c);
      }
    }
    connections_.remove_if([](const Connection& c) { return c.closed; });
  }

  const std::size_t open = connections_.size();
  connections_.clear();
  vtpm_.reset();
  g_signal_pipe_write = -1;
  log_.log(LogLevel::kInfo, "stopped (" + std::to_string(open) + " client connections closed)");
  return 0;
}

void Daemon::accept_all(int listener, Channel channel) {
  while (true) {
    UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd.get() < 0) return;  // EAGAIN: no more waiting; other errors: the client is gone
    if (connections_.size() >= kMaxConnections) {
      log_.log(LogLevel::kWarn,
               "too many clients (" + std::to_string(kMaxConnections) + "), refusing a connection");
      continue;
    }
    Connection& c = connections_.emplace_back();
    c.fd = std::move(fd);
    c.channel = channel;
    c.id = next_id_++;
    log_.log(LogLevel::kDebug, name(c) + " connected");
  }
}

void Daemon::close(Connection& c, const char* why) {
  if (c.closed) return;
  log_.log(LogLevel::kDebug, name(c) + " " + why);
  c.fd.reset();
  c.closed = true;
}

void Daemon::read_from(Connection& c) {
  std::uint8_t chunk[kReadChunk];
  const ssize_t n = ::recv(c.fd.get(), chunk, sizeof chunk, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) {
    if (!c.in.empty()) {
      log_.log(LogLevel::kInfo, name(c) + " disconnected in the middle of a command (" +
                                    std::to_string(c.in.size()) + " bytes dropped)");
    }
    close(c, n == 0 ? "disconnected" : "failed");
    return;
  }
  c.in.insert(c.in.end(), chunk, chunk + n);
  process(c);
}

// POLLOUT: the socket takes more of a pending response.
void Daemon::write_to(Connection& c) {
  flush(c);
  process(c);
}

// Sends what the socket takes now; once the whole response is out, applies its after-effects.
void Daemon::flush(Connection& c) {
  while (c.out_offset < c.out.size()) {
    const ssize_t n =
        ::send(c.fd.get(), c.out.data() + c.out_offset, c.out.size() - c.out_offset, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // later, on POLLOUT
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log_.log(LogLevel::kInfo, name(c) + " went away before reading its response");
      close(c, "closed");
      return;
    }
    c.out_offset += static_cast<std::size_t>(n);
  }
  c.out.clear();
  c.out_offset = 0;
  if (c.stop_after_write) stop_ = true;
  if (c.close_after_write) close(c, "closed after an unrecoverable request");
}

// Answers the complete requests buffered so far, one at a time: the next is taken only once
// the previous response is fully sent.
void Daemon::process(Connection& c) {
  while (!c.closed && !c.close_after_write && c.out.empty()) {
    if (c.channel == Channel::kData) {
      process_data(c);
    } else {
      process_control(c);
    }
    if (c.out.empty()) return;  // waiting for more bytes
    flush(c);
  }
}

void Daemon::process_data(Connection& c) {
  const swtpm::CommandFrame frame = swtpm::next_command(c.in, kMaxTpmCommandSize);
  switch (frame.kind) {
    case swtpm::CommandFrame::Kind::kNeedMore:
      return;
    case swtpm::CommandFrame::Kind::kBadSize:
      // Not a TPM command the SVSM buffer can carry (or not a TPM command at all): answer like
      // a TPM and hang up, since the stream has no other framing to recover by.
      log_.log(LogLevel::kWarn, name(c) + " sent a TPM header claiming " +
                                    std::to_string(frame.size) + " bytes (allowed: 10.." +
                                    std::to_string(kMaxTpmCommandSize) +
                                    "); answering TPM_RC_COMMAND_SIZE and closing");
      c.out = tpm_error_response(tpm2::kRcCommandSize);
      c.in.clear();
      c.close_after_write = true;
      return;
    case swtpm::CommandFrame::Kind::kComplete:
      c.out = execute({c.in.data(), frame.size}, c.id);
      c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(frame.size));
      return;
  }
}

std::vector<std::uint8_t> Daemon::execute(std::span<const std::uint8_t> command, std::uint64_t id) {
  GuestTpmDriver::Exchange exchange;
  try {
    exchange = vtpm_->tpm().transmit(command, locality_);
  } catch (const GuestError& e) {
    log_.log(LogLevel::kError, std::string("the SVSM misbehaved: ") + e.what());
    return tpm_error_response(tpm2::kRcFailure);
  }
  std::vector<std::uint8_t> response;
  if (exchange.result == SvsmResult::kSuccess && exchange.response.size() >= tpm2::kHeaderSize) {
    response = std::move(exchange.response);
  } else if (exchange.result == SvsmResult::kInvalidParameter && locality_ != 0) {
    response = tpm_error_response(tpm2::kRcLocality);  // the SVSM carries locality 0 only
  } else {
    response = tpm_error_response(tpm2::kRcFailure);
  }
  if (log_.enabled(LogLevel::kDebug)) {
    const std::uint32_t cc = formats::load_be<std::uint32_t>(command.data() + 6);
    std::ostringstream line;
    line << "data client " << id << ": TPM_CC " << hex32(cc) << ", " << command.size()
         << " bytes, locality " << unsigned{locality_}
         << " -> SVSM_VTPM_CMD RAX=" << hex32(call_rax(Protocol::kVtpm, vtpm_call::kCmd))
         << " RCX=" << hex32(vtpm_->tpm().buffer_gpa()) << " request header "
         << to_hex(vtpm_->tpm().last_request_header()) << " -> " << describe(exchange.result)
         << ", response " << response.size() << " bytes, TPM_RC "
         << hex32(tpm2::response_code(response));
    log_.log(LogLevel::kDebug, line.str());
  }
  return response;
}

void Daemon::process_control(Connection& c) {
  const swtpm::ControlFrame frame = swtpm::next_control(c.in);
  switch (frame.kind) {
    case swtpm::ControlFrame::Kind::kNeedMore:
      return;
    case swtpm::ControlFrame::Kind::kUndelimited: {
      const bool known = frame.code == swtpm::kHashData || frame.code == swtpm::kSetStateBlob;
      log_.log(LogLevel::kWarn, name(c) + ": " + (known ? "unsupported" : "unknown") +
                                    " control command " + hex32(frame.code) + ", closing");
      c.out = Reply().u32(known ? swtpm::kFail : swtpm::kBadOrdinal).take();
      c.in.clear();
      c.close_after_write = true;
      return;
    }
    case swtpm::ControlFrame::Kind::kComplete:
      c.out = control(frame.code, frame.payload, c);
      log_.log(LogLevel::kDebug, name(c) + ": control command " + hex32(frame.code) +
                                     " -> result " +
                                     hex32(formats::load_be<std::uint32_t>(c.out.data())));
      c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(frame.size));
      return;
  }
}

std::vector<std::uint8_t> Daemon::control(std::uint32_t code, std::span<const std::uint8_t> payload,
                                          Connection& c) {
  namespace cap = swtpm::capability;
  switch (code) {
    case swtpm::kGetCapability:  // the answer is a bare u64, without a result
      return Reply()
          .u64(cap::kInit | cap::kShutdown | cap::kGetTpmEstablished | cap::kSetLocality |
               cap::kCancelTpmCommand | cap::kStop | cap::kGetConfig | cap::kSetBufferSize)
          .take();
    case swtpm::kInit: {
      // _TPM_Init with the NV state kept (a platform reset; the SVSM protocol has no such
      // call). There is no volatile state to delete: nothing is ever saved across resets.
      const Status<EngineError> on = vtpm_->engine().power_on();
      log_.log(on ? LogLevel::kInfo : LogLevel::kError,
               on ? "TPM reset (CMD_INIT): waiting for TPM2_Startup"
                  : std::string("TPM reset failed: ") + describe(on.error().failure));
      return Reply().u32(on ? swtpm::kSuccess : swtpm::kFail).take();
    }
    case swtpm::kShutdown:
      vtpm_->engine().power_off();
      log_.log(LogLevel::kInfo, "CMD_SHUTDOWN: stopping");
      c.stop_after_write = true;
      return Reply().u32(swtpm::kSuccess).take();
    case swtpm::kStop:
      vtpm_->engine().power_off();
      log_.log(LogLevel::kInfo, "CMD_STOP: TPM powered off until CMD_INIT");
      return Reply().u32(swtpm::kSuccess).take();
    case swtpm::kGetTpmEstablished:
      // No locality 3/4 ever reaches this TPM, so tpmEstablished is never set.
      return Reply().u32(swtpm::kSuccess).u8(0).u8(0).u8(0).u8(0).take();
    case swtpm::kSetLocality:
      if (payload[0] > 4) return Reply().u32(swtpm::kBadLocality).take();
      // Kept and sent in each request's locality byte; the SVSM refuses all but 0.
      locality_ = payload[0];
      return Reply().u32(swtpm::kSuccess).take();
    case swtpm::kCancelTpmCommand:
      return Reply().u32(swtpm::kSuccess).take();  // commands run to completion in turn
    case swtpm::kGetConfig:
      return Reply().u32(swtpm::kSuccess).u32(0).take();
    case swtpm::kSetBufferSize:
      // Fixed by the SVSM buffer: report it whatever is asked.
      return Reply()
          .u32(swtpm::kSuccess)
          .u32(TpmEngine::kBufferSize)
          .u32(TpmEngine::kBufferSize)
          .u32(TpmEngine::kBufferSize)
          .take();
    case swtpm::kCvtpmAttest:
      return attest(payload);
    default:
      // Hashing (locality 4 H-CRTM), state blobs, volatile state, data fd, info: no SVSM path.
      log_.log(LogLevel::kWarn, name(c) + ": unsupported control command " + hex32(code));
      return Reply().u32(swtpm::kFail).take();
  }
}

std::vector<std::uint8_t> Daemon::attest(std::span<const std::uint8_t> payload) {
  const std::uint8_t mode = payload[0];
  if (mode > 1) return Reply().u32(swtpm::kBadParameter).take();
  std::array<std::uint8_t, kAttestNonceSize> nonce;
  std::copy(payload.begin() + 1, payload.end(), nonce.begin());
  GuestAttestation::Outcome outcome;
  try {
    outcome = vtpm_->attestation().attest(
        nonce, mode == 1 ? std::optional<formats::Guid>(kVtpmServiceGuid) : std::nullopt);
  } catch (const GuestError& e) {
    log_.log(LogLevel::kError, std::string("the SVSM misbehaved: ") + e.what());
    return Reply().u32(swtpm::kFail).u64(0).take();
  }
  log_.log(LogLevel::kDebug, std::string("attestation (") + (mode ? "single service" : "services") +
                                 ") -> " + describe(outcome.result));
  const AttestationEvidence& e = outcome.evidence;
  return Reply()
      .u32(outcome.result == SvsmResult::kSuccess ? swtpm::kSuccess : swtpm::kFail)
      .u64(static_cast<std::uint64_t>(outcome.result))
      .u32(static_cast<std::uint32_t>(e.report.size()))
      .u32(static_cast<std::uint32_t>(e.manifest.size()))
      .u32(static_cast<std::uint32_t>(e.certificates.size()))
      .bytes(e.report)
      .bytes(e.manifest)
      .bytes(e.certificates)
      .take();
}

std::optional<LogLevel> parse_log_level(const std::string& text) {
  if (text == "error") return LogLevel::kError;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "info") return LogLevel::kInfo;
  if (text == "debug") return LogLevel::kDebug;
  return std::nullopt;
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  init_tool_crypto();
  CLI::App app{
      "The SVSM vTPM service on the host: serves swtpm's socket protocol on 127.0.0.1 (TPM "
      "commands on PORT, control on PORT+1) for tpm2-tools' swtpm TCTI, passing every command "
      "through the SVSM vTPM protocol exactly as a guest would.",
      std::string(kTool)};
  app.set_version_flag("--version", version_line(kTool));
  std::string port_text;
  std::string ek = "rsa2048";
  std::string level = "info";
  app.add_option("--port", port_text, "TCP port for TPM commands (control channel: PORT+1)")
      ->required()
      ->type_name("N");
  app.add_option("--ek", ek, "Endorsement key: rsa2048 (TCG L-1), ecc-p256 (L-2), ecc-p384 (H-3)")
      ->check(CLI::IsMember({"rsa2048", "ecc-p256", "ecc-p384"}));
  app.add_option("--log-level", level, "error, warn, info or debug (debug logs every request)")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
  if (auto status = parse_command_line(app, kTool, argc, argv, out, err)) return *status;

  return run_guarded(kTool, err, [&] {
    DaemonOptions options;
    options.port = static_cast<std::uint16_t>(parse_uint(port_text, "--port", 65534));
    if (options.port == 0) throw InputError("--port", "must be between 1 and 65534");
    options.ek = ek == "ecc-p256"   ? EkAlgorithm::kEccP256
                 : ek == "ecc-p384" ? EkAlgorithm::kEccP384
                                    : EkAlgorithm::kRsa2048;
    options.log_level = *parse_log_level(level);
    return Daemon(options, err).run();
  });
}

}  // namespace cvtpm::vtpm::host
