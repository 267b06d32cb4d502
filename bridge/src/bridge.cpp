#include "cvtpm/bridge/bridge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

#include "cvtpm/bridge/emulator_control.h"
#include "cvtpm/formats/endian.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/tcp.h"
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
  UniqueFd result = connect_tcp(e.host, e.port);
  if (result) set_nonblocking(result.get());
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
    throw InputError("--listen-address", address + " is not an IPv4 address");
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    throw InputError("--port", "cannot listen on " + address + ":" + std::to_string(port) + ": " +
                                   std::strerror(errno));
  }
  set_nonblocking(fd.get());
  return fd;
}

// QEMU connects as a client (`-chardev socket,path=...` without server=on). A socket left by an
// earlier bridge is replaced; any other file there is not ours to remove.
UniqueFd listen_unix(const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    throw InputError("--qemu-socket", "\"" + path + "\": not a usable socket path");
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw InputError("--qemu-socket", path + ": exists and is not a socket");
    }
    ::unlink(path.c_str());
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd.get(), 4) != 0) {
    throw InputError("--qemu-socket", path + ": cannot listen: " + std::strerror(errno));
  }
  set_nonblocking(fd.get());
  return fd;
}

// Reads from a QEMU control connection with the descriptors SCM_RIGHTS brought. Returns what
// recv() would; descriptors go to `fds` (closed on exec, owned by the caller).
ssize_t receive_with_fds(int socket, std::uint8_t* data, std::size_t size,
                         std::vector<UniqueFd>& fds) {
  iovec iov{data, size};
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  return n;
}

// kData: raw TPM commands (a TCP client, or the descriptor QEMU passed); kControl: swtpm control
// requests (a TCP client, or QEMU's control connection).
enum class Channel { kData, kControl };

struct Client {
  std::uint64_t id;
  Channel channel;
  ControlOrigin origin;
  UniqueFd fd;
  std::vector<std::uint8_t> buffer;
  std::unique_ptr<tp::TpmCommandAssembler> data;
  std::unique_ptr<tp::swtpm::ControlAssembler> control;
  bool closed = false;
  // QEMU's control connection: the descriptor that came with the request being assembled, and
  // the data channel it made (closed with it: both belong to one QEMU).
  UniqueFd received_fd;
  std::optional<std::uint64_t> data_client;

  Client(std::uint64_t client_id, Channel c, ControlOrigin o, UniqueFd socket)
      : id(client_id), channel(c), origin(o), fd(std::move(socket)) {
    if (channel == Channel::kData) {
      buffer.resize(tp::kMaxTpmCommand);
      data = std::make_unique<tp::TpmCommandAssembler>(std::span<std::uint8_t>(buffer));
    } else {
      buffer.resize(tp::swtpm::ControlAssembler::kBufferSize);
      control = std::make_unique<tp::swtpm::ControlAssembler>(
          std::span<std::uint8_t>(buffer),
          origin == ControlOrigin::kQemu ? qemu_request_layout : tp::swtpm::request_layout);
    }
  }
};

struct Request {
  std::uint64_t client_id;
  Channel channel;
  std::vector<std::uint8_t> payload;
  bool add_bridge_capabilities = false;
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
  UniqueFd qemu_listener;
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
    const bool add_capabilities = in_flight->add_bridge_capabilities;
    in_flight.reset();
    if (add_capabilities) {
      reply(client, with_capabilities(f.payload, kBridgeCapabilities));
    } else {
      reply(client, f.payload);
    }
  }

  // Feeds client bytes through its assembler; complete requests join the queue.
  void on_client_bytes(Client& c, const std::uint8_t* data, std::size_t size) {
    for (std::size_t i = 0; i < size && !c.closed; ++i) {
      tp::StreamEvent event = c.data ? c.data->push(data[i]) : c.control->push(data[i]);
      if (event != tp::StreamEvent::kCommand) continue;
      if (c.data) {
        const auto cmd = c.data->command();
        queue.push_back(Request{c.id, c.channel, {cmd.begin(), cmd.end()}});
      } else {
        on_control_request(c, c.control->request());
      }
    }
    // Bytes the assembler refused (bad tag, size or control code) never become a request:
    // answer them as swtpm would and drop the connection: a byte stream cannot be resynchronized
    // after them. The TCTI opens a new connection per request; QEMU, which never sends such
    // bytes, loses its TPM (its next command gets TPM_FAIL from QEMU itself).
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
    on_client_closed(c);
  }

  // A complete control request: answered here (emulator_control.h) or queued for the firmware.
  void on_control_request(Client& c, const tp::swtpm::Request& request) {
    const Client* data = c.data_client ? find_client(*c.data_client) : nullptr;
    const ControlContext context{c.origin, static_cast<bool>(c.received_fd), data != nullptr};
    ControlRoute route = route_control_request(request, context);
    if (route.note != nullptr) note(route.note);
    if (route.adopt_data_fd) {
      set_nonblocking(c.received_fd.get());
      Client& channel = clients.emplace_back(next_client_id++, Channel::kData, ControlOrigin::kQemu,
                                             std::move(c.received_fd));
      c.data_client = channel.id;
      ++stats.data_channels;
      note("QEMU data channel #" + std::to_string(channel.id) + " set (CMD_SET_DATAFD)");
    }
    // A descriptor no request asked for is not kept.
    c.received_fd.reset();
    if (route.kind == ControlRoute::Kind::kAnswer) {
      ++stats.local_answers;
      reply(c.id, route.answer);
      return;
    }
    queue.push_back(
        Request{c.id, Channel::kControl, std::move(route.request), route.add_bridge_capabilities});
  }

  // A QEMU whose control connection closes is gone: its data channel is closed with it.
  void on_client_closed(Client& c) {
    c.closed = true;
    for (Client& other : clients) {
      if (c.data_client && other.id == *c.data_client) other.closed = true;
    }
    if (c.origin == ControlOrigin::kQemu && c.channel == Channel::kControl) {
      note("QEMU control connection #" + std::to_string(c.id) + " closed");
    }
  }
};

Bridge::Bridge(BridgeOptions options, std::ostream& log)
    : state_(new State(std::move(options), log)) {}
Bridge::~Bridge() {
  // The QEMU socket is this bridge's; leave no stale file for the next one to find.
  if (state_->qemu_listener) ::unlink(state_->options.qemu_socket.c_str());
  delete state_;
}
const BridgeStats& Bridge::stats() const {
  return state_->stats;
}

void Bridge::listen() {
  State& s = *state_;
  if (s.options.port == 0 && s.options.qemu_socket.empty()) {
    throw InputError("--port", "nothing to serve: give a TCP port or a QEMU socket");
  }
  std::string where;
  if (s.options.port != 0) {
    if (s.options.port == 65535) {
      throw InputError("--port", "65535 leaves no room for the control port");
    }
    s.data_listener = listen_tcp(s.options.listen_address, s.options.port);
    s.control_listener =
        listen_tcp(s.options.listen_address, static_cast<std::uint16_t>(s.options.port + 1));
    where = s.options.listen_address + ":" + std::to_string(s.options.port) +
            " (TPM) and :" + std::to_string(s.options.port + 1) + " (control)";
  }
  if (!s.options.qemu_socket.empty()) {
    s.qemu_listener = listen_unix(s.options.qemu_socket);
    where += (where.empty() ? "" : ", ") + s.options.qemu_socket + " (QEMU tpm-emulator)";
  }
  s.note("listening on " + where + "; serial " + s.options.serial.text);
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

    // poll() skips negative descriptors: absent listeners, and QEMU's until the link is up.
    std::vector<pollfd> fds;
    fds.push_back({s.data_listener ? s.data_listener.get() : -1, POLLIN, 0});
    fds.push_back({s.control_listener ? s.control_listener.get() : -1, POLLIN, 0});
    fds.push_back({s.qemu_listener && s.link_up ? s.qemu_listener.get() : -1, POLLIN, 0});
    fds.push_back({s.serial ? s.serial.get() : -1, POLLIN, 0});
    for (Client& c : s.clients) fds.push_back({c.fd.get(), POLLIN, 0});
    const std::size_t polled_clients = s.clients.size();
    const int ready = ::poll(fds.data(), fds.size(), 20);
    if (ready < 0 && errno != EINTR) {
      s.note(std::string("error: poll: ") + std::strerror(errno));
      return 1;
    }
    if (ready <= 0) continue;

    if (s.serial && (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
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
    // Only the clients polled above: a CMD_SET_DATAFD adds its data channel to the list.
    std::size_t index = 4;
    auto client = s.clients.begin();
    for (std::size_t k = 0; k < polled_clients; ++k, ++client) {
      Client& c = *client;
      const short revents = fds[index++].revents;
      if (c.closed || (revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      std::vector<UniqueFd> received;
      const ssize_t n = c.origin == ControlOrigin::kQemu && c.channel == Channel::kControl
                            ? receive_with_fds(c.fd.get(), buffer.data(), buffer.size(), received)
                            : ::recv(c.fd.get(), buffer.data(), buffer.size(), 0);
      // QEMU passes one descriptor, with CMD_SET_DATAFD; any others close here.
      if (!received.empty()) c.received_fd = std::move(received.front());
      if (n > 0) {
        s.on_client_bytes(c, buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        s.on_client_closed(c);
      }
    }
    // New connections last.
    struct Listener {
      std::size_t poll_index;
      Channel channel;
      ControlOrigin origin;
      int fd;
    };
    const Listener listeners[] = {
        {0, Channel::kData, ControlOrigin::kTcp, s.data_listener.get()},
        {1, Channel::kControl, ControlOrigin::kTcp, s.control_listener.get()},
        {2, Channel::kControl, ControlOrigin::kQemu, s.qemu_listener.get()},
    };
    for (const Listener& l : listeners) {
      if ((fds[l.poll_index].revents & POLLIN) == 0) continue;
      for (;;) {
        const int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        Client& c = s.clients.emplace_back(s.next_client_id++, l.channel, l.origin, UniqueFd(fd));
        if (l.origin == ControlOrigin::kQemu) {
          ++s.stats.qemu_connections;
          s.note("QEMU control connection #" + std::to_string(c.id) + " accepted");
        }
      }
    }
    s.clients.remove_if([](const Client& c) { return c.closed; });
  }
  s.note("stopping");
  return 0;
}

}  // namespace cvtpm::bridge
