#include "cvtpm/verify/fetch.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cvtpm/formats/swtpm/control_channel.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/tcp.h"
#include "cvtpm/vtpm/protocol_attest.h"

namespace cvtpm::verify {
namespace {

namespace swtpm = formats::swtpm;
using Clock = std::chrono::steady_clock;

std::uint64_t be(std::span<const std::uint8_t> bytes) {
  std::uint64_t v = 0;
  for (std::uint8_t b : bytes) v = v << 8 | b;
  return v;
}

// Reads and writes one connection against a deadline, reporting problems as bad input of `what`.
class Connection {
 public:
  Connection(UniqueFd fd, Clock::time_point deadline, std::string what)
      : fd_(std::move(fd)), deadline_(deadline), what_(std::move(what)) {}

  void send(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
      wait(POLLOUT);
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail(std::string("sending the request failed: ") + std::strerror(errno));
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
  }

  // Exactly `size` bytes, or `allow_short` and whatever came before the peer closed.
  std::vector<std::uint8_t> receive(std::size_t size, bool allow_short = false) {
    std::vector<std::uint8_t> out(size);
    std::size_t done = 0;
    while (done < size) {
      wait(POLLIN);
      const ssize_t n = ::recv(fd_.get(), out.data() + done, size - done, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 && allow_short) {
        out.resize(done);
        break;
      }
      if (n <= 0) {
        fail("the vTPM closed the connection after " + std::to_string(done) + " of " +
             std::to_string(size) + " reply bytes");
      }
      done += static_cast<std::size_t>(n);
    }
    return out;
  }

  [[noreturn]] void fail(const std::string& problem) const { throw InputError(what_, problem); }

 private:
  void wait(short events) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) fail("no answer from the vTPM in time");
      pollfd p{fd_.get(), events, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready > 0) return;
      if (ready < 0 && errno != EINTR) fail(std::string("poll: ") + std::strerror(errno));
    }
  }

  UniqueFd fd_;
  Clock::time_point deadline_;
  std::string what_;
};

}  // namespace

SwtpmEndpoint parse_swtpm_tcti(const std::string& text, const std::string& what) {
  constexpr std::string_view kPrefix = "swtpm";
  if (text.rfind(kPrefix, 0) != 0 ||
      (text.size() > kPrefix.size() && text[kPrefix.size()] != ':')) {
    throw InputError(what, "\"" + text + "\": expected swtpm:host=HOST,port=PORT");
  }
  SwtpmEndpoint endpoint;
  std::string config = text.size() > kPrefix.size() ? text.substr(kPrefix.size() + 1) : "";
  while (!config.empty()) {
    const std::size_t comma = config.find(',');
    const std::string item = config.substr(0, comma);
    config = comma == std::string::npos ? "" : config.substr(comma + 1);
    const std::size_t equals = item.find('=');
    const std::string key = item.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : item.substr(equals + 1);
    if (key == "host" && !value.empty()) {
      endpoint.host = value;
    } else if (key == "port" && !value.empty()) {
      endpoint.port = static_cast<std::uint16_t>(parse_uint(value, what, 65534));
      if (endpoint.port == 0) throw InputError(what, "port 0");
    } else {
      throw InputError(what, "\"" + item + "\": expected host=HOST or port=PORT");
    }
  }
  return endpoint;
}

FetchedEvidence fetch_attestation(const SwtpmEndpoint& endpoint,
                                  std::span<const std::uint8_t, 64> nonce, AttestMode mode,
                                  std::chrono::milliseconds timeout, const std::string& what) {
  const std::uint16_t control_port = static_cast<std::uint16_t>(endpoint.port + 1);
  const std::string where = endpoint.host + ":" + std::to_string(control_port);
  std::string why;
  UniqueFd fd = connect_tcp(endpoint.host, control_port, &why);
  if (!fd) throw InputError(what, "cannot connect to the control channel at " + where + ": " + why);
  Connection c(std::move(fd), Clock::now() + timeout, what + " (" + where + ")");

  std::vector<std::uint8_t> request(4 + swtpm::kCvtpmAttestPayload);
  for (int i = 0; i < 4; ++i) {
    request[i] = static_cast<std::uint8_t>(swtpm::kCvtpmAttest >> (24 - 8 * i));
  }
  request[4] = static_cast<std::uint8_t>(mode);
  std::copy(nonce.begin(), nonce.end(), request.begin() + 5);
  c.send(request);

  // BE32 result, BE64 SVSM RAX, BE32 report, manifest and certificates sizes, then the three.
  const std::vector<std::uint8_t> result = c.receive(4);
  if (const std::uint64_t code = be(result); code != swtpm::kSuccess) {
    const std::vector<std::uint8_t> rax = c.receive(8, true);
    std::string detail = "the vTPM refused the attestation: control result " + hex_number(code);
    if (code == swtpm::kBadOrdinal) detail += " (unknown command: not a cvtpm vTPM?)";
    if (rax.size() == 8) detail += ", SVSM result " + hex_number(be(rax));
    c.fail(detail);
  }
  const std::vector<std::uint8_t> head = c.receive(8 + 3 * 4);
  const std::uint64_t rax = be(std::span(head).first(8));
  const std::size_t report_size = be(std::span(head).subspan(8, 4));
  const std::size_t manifest_size = be(std::span(head).subspan(12, 4));
  const std::size_t certificates_size = be(std::span(head).subspan(16, 4));
  if (rax != 0) c.fail("success with SVSM result " + hex_number(rax));
  if (report_size == 0 || report_size > vtpm::kMaxReportSize ||
      manifest_size > vtpm::kMaxManifestSize || certificates_size > vtpm::kMaxCertificatesSize) {
    c.fail("implausible sizes: report " + std::to_string(report_size) + ", manifest " +
           std::to_string(manifest_size) + ", certificates " + std::to_string(certificates_size));
  }
  FetchedEvidence evidence;
  evidence.report = c.receive(report_size);
  evidence.manifest = c.receive(manifest_size);
  evidence.certificates = c.receive(certificates_size);
  return evidence;
}

}  // namespace cvtpm::verify
