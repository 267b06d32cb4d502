#include "bridge/bridge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "cvtpm/formats/endian.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/unique_fd.h"
#include "transport/serial_link.h"
#include "transport/swtpm_control.h"
#include "transport/tpm_stream.h"

namespace cvtpm::bridge {

namespace tp = fw::transport;
using Clock = std::chrono::steady_clock;

SerialEndpoint parse_serial_endpoint(const std::string& text, const std::string& what) {
  SerialEndpoint e;
  e.text = text;
  if (text.rfind("unix:", 0) == 0) {
    e.kind = SerialEndpoint::Kind::kUnix;
    e.path = text.substr(5);
    if (e.path.empty()) throw InputError(what, "\"" + text + "\": empty socket path");
    if (e.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      throw InputError(what, "\"" + text + "\": socket path longer than the system allows");
    }
    return e;
  }
  if (text.rfind("tcp:", 0) == 0) {
    const std::string rest = text.substr(4);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      throw InputError(what, "\"" + text + "\": expected tcp:HOST:PORT");
    }
    e.kind = SerialEndpoint::Kind::kTcp;
    e.host = rest.substr(0, colon);
    e.port = static_cast<std::uint16_t>(parse_uint(rest.substr(colon + 1), what, 65535));
    if (e.port == 0) throw InputError(what, "\"" + text + "\": port 0");
    return e;
  }
  throw InputError(what, "\"" + text + "\": expected unix:PATH or tcp:HOST:PORT");
}

namespace {

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Writes everything, waiting (bounded) for room: responses are at most a few KiB.
bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n > 0) {
      data += n;
      size -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && Clock::now() < deadline) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    return false;
  }
  return true;
}

UniqueFd connect_serial(const SerialEndpoint& e) {
  if (e.kind == SerialEndpoint::Kind::kUnix) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, e.path.c_str(), e.path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return UniqueFd();
    set_nonblocking(fd.get());
    return fd;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (::getaddrinfo(e.host.c_str(), std::to_string(e.port).c_str(), &hints, &list) != 0) {
    return UniqueFd();
  }
  UniqueFd result;
  for (addrinfo* a = list; a != nullptr && !result; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd && ::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) result = std::move(fd);
  }
  ::freeaddrinfo(list);
  if (result) {
    const int one = 1;
    ::setsockopt(result.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_nonblocking(result.get());
  }
  return result;
}

UniqueFd listen_tcp(const std::string& address, std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    throw std::runtime_error("listen address " + address + " is not an IPv4 address");
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port) + ": " +
                             std::strerror(errno));
  }
  set_nonblocking(fd.get());
  return fd;
}

enum class Channel { kData, kControl };

struct Client {
  std::uint64_t id;
  Channel channel;
  UniqueFd fd;
  std::vector<std::uint8_t> buffer;
  std::unique_ptr<tp::TpmCommandAssembler> data;
  std::unique_ptr<tp::swtpm::ControlAssembler> control;
  bool closed = false;

  Client(std::uint64_t client_id, Channel c, UniqueFd socket)
      : id(client_id), channel(c), fd(std::move(socket)) {
    if (channel == Channel::kData) {
      buffer.resize(tp::kMaxTpmCommand);
      data = std::make_unique<tp::TpmCommandAssembler>(std::span<std::uint8_t>(buffer));
    } else {
      buffer.resize(tp::swtpm::ControlAssembler::kBufferSize);
      control = std::make_unique<tp::swtpm::ControlAssembler>(std::span<std::uint8_t>(buffer));
    }
  }
};

struct Request {
  std::uint64_t client_id;
  Channel channel;
  std::vector<std::uint8_t> payload;
};

std::string describe(const Request& r) {
  char text[96];
  if (r.channel == Channel::kData) {
    const std::uint32_t code =
        r.payload.size() >= 10 ? formats::load_be<std::uint32_t>(r.payload.data() + 6) : 0;
    std::snprintf(text, sizeof text, "TPM command 0x%x (%zu bytes)", code, r.payload.size());
  } else {
    const std::uint32_t code =
        r.payload.size() >= 4 ? formats::load_be<std::uint32_t>(r.payload.data()) : 0;
    std::snprintf(text, sizeof text, "control request %u (%zu bytes)", code, r.payload.size());
  }
  return text;
}

}  // namespace

struct Bridge::State {
  BridgeOptions options;
  std::ostream& log;
  BridgeStats stats;
  UniqueFd data_listener;
  UniqueFd control_listener;
  UniqueFd serial;
  tp::LinkReceiver receiver;
  std::list<Client> clients;
  std::deque<Request> queue;
  std::optional<Request> in_flight;
  Clock::time_point in_flight_since;
  std::uint8_t sequence = 0;
  std::uint8_t reset_sequence = 0;
  bool link_up = false;
  Clock::time_point last_reset;
  Clock::time_point started = Clock::now();
  std::uint64_t next_client_id = 1;
  std::string last_connect_error = "not tried";

  State(BridgeOptions o, std::ostream& l) : options(std::move(o)), log(l) {}

  void note(const std::string& line) { log << "cvtpm-tpm-bridge: " << line << std::endl; }

  Client* find_client(std::uint64_t id) {
    for (Client& c : clients) {
      if (c.id == id && !c.closed) return &c;
    }
    return nullptr;
  }

  bool send_frame(tp::FrameType type, std::uint8_t seq, std::span<const std::uint8_t> payload) {
    std::vector<std::uint8_t> frame(tp::kMaxLinkFrame);
    const std::size_t size = tp::encode_frame(type, seq, payload, frame);
    return size != 0 && write_all(serial.get(), frame.data(), size);
  }

  void reply(std::uint64_t client_id, std::span<const std::uint8_t> bytes) {
    if (Client* c = find_client(client_id)) {
      if (!write_all(c->fd.get(), bytes.data(), bytes.size())) c->closed = true;
    }
  }

  // Answers a request the firmware could not (timeout, link lost).
  void fail(const Request& r) {
    std::uint8_t out[16];
    const std::size_t n = r.channel == Channel::kData
                              ? tp::encode_error_response(tp::kTpmRcFailure, out)
                              : tp::swtpm::encode_result(tp::swtpm::kFail, out);
    reply(r.client_id, std::span<const std::uint8_t>(out, n));
  }

  void send_reset() {
    reset_sequence = ++sequence;
    send_frame(tp::FrameType::kReset, reset_sequence, {});
    last_reset = Clock::now();
  }

  void start_next() {
    if (!link_up || in_flight || queue.empty()) return;
    in_flight = std::move(queue.front());
    queue.pop_front();
    if (find_client(in_flight->client_id) == nullptr) {  // the client left while queued
      in_flight.reset();
      return start_next();
    }
    ++sequence;
    if (sequence == reset_sequence) ++sequence;
    const auto type = in_flight->channel == Channel::kData ? tp::FrameType::kTpmCommand
                                                           : tp::FrameType::kControlRequest;
    if (options.verbose) note("-> #" + std::to_string(sequence) + " " + describe(*in_flight));
    ++stats.requests;
    in_flight_since = Clock::now();
    if (!send_frame(type, sequence, in_flight->payload)) {
      fail(*in_flight);
      in_flight.reset();
    }
  }

  void on_frame(const tp::Frame& f) {
    if (f.type == tp::FrameType::kResetAck && f.sequence == reset_sequence) {
      if (!link_up) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
        note("firmware link up (" + std::to_string(ms.count()) + " ms after start)");
      }
      link_up = true;
      stats.link_up = true;
      return;
    }
    const bool expected_type =
        in_flight &&
        ((in_flight->channel == Channel::kData && f.type == tp::FrameType::kTpmResponse) ||
         (in_flight->channel == Channel::kControl && f.type == tp::FrameType::kControlResponse));
    if (!expected_type || f.sequence != sequence) {
      ++stats.stale_frames;
      return;
    }
    if (options.verbose) {
      const auto us =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - in_flight_since);
      note("<- #" + std::to_string(f.sequence) + " " + std::to_string(f.payload.size()) +
           " bytes after " + std::to_string(us.count()) + " us");
    }
    ++stats.responses;
    const std::uint64_t client = in_flight->client_id;
    in_flight.reset();
    reply(client, f.payload);
  }

  // Feeds client bytes through its assembler; complete requests join the queue.
  void on_client_bytes(Client& c, const std::uint8_t* data, std::size_t size) {
    for (std::size_t i = 0; i < size && !c.closed; ++i) {
      tp::StreamEvent event = c.data ? c.data->push(data[i]) : c.control->push(data[i]);
      if (event == tp::StreamEvent::kCommand) {
        Request r{c.id, c.channel, {}};
        if (c.data) {
          const auto cmd = c.data->command();
          r.payload.assign(cmd.begin(), cmd.end());
        } else {
          const tp::swtpm::Request req = c.control->request();
          r.payload.resize(4 + req.payload.size());
          formats::store_be<std::uint32_t>(r.payload.data(), req.code);
          std::copy(req.payload.begin(), req.payload.end(), r.payload.begin() + 4);
        }
        queue.push_back(std::move(r));
      }
    }
    // Bytes the assembler refused (bad tag, size or control code) never become a request:
    // answer them as swtpm would and drop the connection, the TCTI opens a new one per request.
    if (c.closed || !(c.data ? c.data->rejected() : c.control->rejected())) return;
    std::uint8_t out[16];
    std::size_t n = 0;
    if (c.data) {
      c.data->idle();
      n = tp::encode_error_response(c.data->error_code(), out);
    } else {
      c.control->idle();
      n = tp::swtpm::encode_result(c.control->error_code(), out);
    }
    ++stats.local_errors;
    reply(c.id, std::span<const std::uint8_t>(out, n));
    c.closed = true;
  }

  void on_client_closed(Client& c) { c.closed = true; }
};

Bridge::Bridge(BridgeOptions options, std::ostream& log)
    : state_(new State(std::move(options), log)) {}
Bridge::~Bridge() {
  delete state_;
}
const BridgeStats& Bridge::stats() const {
  return state_->stats;
}

void Bridge::listen() {
  State& s = *state_;
  if (s.options.port == 0 || s.options.port == 65535) {
    throw InputError("--port",
                     std::to_string(s.options.port) + " leaves no room for the control port");
  }
  s.data_listener = listen_tcp(s.options.listen_address, s.options.port);
  s.control_listener =
      listen_tcp(s.options.listen_address, static_cast<std::uint16_t>(s.options.port + 1));
  s.note("listening on " + s.options.listen_address + ":" + std::to_string(s.options.port) +
         " (TPM) and :" + std::to_string(s.options.port + 1) + " (control); serial " +
         s.options.serial.text);
}

int Bridge::run(const std::atomic<bool>& stop) {
  State& s = *state_;
  s.started = Clock::now();
  auto last_attempt = Clock::time_point{};
  std::vector<std::uint8_t> buffer(16384);

  while (!stop.load()) {
    const auto now = Clock::now();
    if (!s.serial) {
      if (now - s.started > s.options.connect_timeout) {
        s.note("error: serial " + s.options.serial.text + ": cannot connect (" +
               s.last_connect_error + ")");
        return 1;
      }
      if (now - last_attempt >= std::chrono::milliseconds(50)) {
        last_attempt = now;
        s.serial = connect_serial(s.options.serial);
        if (s.serial) {
          s.note("connected to serial " + s.options.serial.text);
        } else {
          s.last_connect_error = std::strerror(errno);
        }
      }
    }
    if (s.serial && !s.link_up) {
      if (now - s.started > s.options.connect_timeout) {
        s.note("error: the firmware did not answer on serial " + s.options.serial.text);
        return 1;
      }
      // Until the firmware answers: a reset every 20 ms. Before the firmware runs, QEMU holds
      // them in the socket; each is acknowledged once it does, so the link is up as soon as the
      // firmware polls.
      if (now - s.last_reset >= std::chrono::milliseconds(20)) s.send_reset();
    }
    if (s.in_flight && now - s.in_flight_since > s.options.request_timeout) {
      ++s.stats.timeouts;
      s.note("timeout: no answer to " + describe(*s.in_flight) + "; resetting the link");
      s.fail(*s.in_flight);
      s.in_flight.reset();
      s.link_up = false;
      s.stats.link_up = false;
    }
    s.start_next();

    std::vector<pollfd> fds;
    fds.push_back({s.data_listener.get(), POLLIN, 0});
    fds.push_back({s.control_listener.get(), POLLIN, 0});
    fds.push_back({s.serial ? s.serial.get() : -1, POLLIN, 0});
    for (Client& c : s.clients) fds.push_back({c.fd.get(), POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), 20);
    if (ready < 0 && errno != EINTR) {
      s.note(std::string("error: poll: ") + std::strerror(errno));
      return 1;
    }
    if (ready <= 0) continue;

    if (s.serial && (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(s.serial.get(), buffer.data(), buffer.size(), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        s.note("serial " + s.options.serial.text + " closed: the VM is gone");
        if (s.in_flight) s.fail(*s.in_flight);
        for (const Request& r : s.queue) s.fail(r);
        return 0;
      }
      for (ssize_t k = 0; k < n; ++k) {
        if (s.receiver.push(buffer[static_cast<std::size_t>(k)])) s.on_frame(s.receiver.frame());
      }
    }
    std::size_t index = 3;
    for (Client& c : s.clients) {
      const short revents = fds[index++].revents;
      if (c.closed || (revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::recv(c.fd.get(), buffer.data(), buffer.size(), 0);
      if (n > 0) {
        s.on_client_bytes(c, buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        s.on_client_closed(c);
      }
    }
    // New connections last: `fds` has entries only for the clients polled above.
    for (int i = 0; i < 2; ++i) {
      if ((fds[static_cast<std::size_t>(i)].revents & POLLIN) == 0) continue;
      const int listener = i == 0 ? s.data_listener.get() : s.control_listener.get();
      for (;;) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        s.clients.emplace_back(s.next_client_id++, i == 0 ? Channel::kData : Channel::kControl,
                               UniqueFd(fd));
      }
    }
    s.clients.remove_if([](const Client& c) { return c.closed; });
  }
  s.note("stopping");
  return 0;
}

}  // namespace cvtpm::bridge
