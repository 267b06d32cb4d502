#include "cvtpm/launch/state_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "cvtpm/formats/state/state_blob.h"
#include "cvtpm/formats/state/state_link.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "transport/serial_link.h"

namespace cvtpm::launch {
namespace {

namespace fs = formats::state;
namespace tp = fw::transport;
using Bytes = std::vector<std::uint8_t>;

constexpr std::size_t kRequestHeader = sizeof(fs::LinkRequestHeader);

Bytes answer(fs::LinkOp op, fs::LinkStatus status, std::uint32_t size = 0,
             std::span<const std::uint8_t> digest = {}, std::span<const std::uint8_t> data = {}) {
  fs::LinkResponseHeader h{};
  h.op = static_cast<std::uint8_t>(op);
  h.status = static_cast<std::uint8_t>(status);
  h.size = size;
  if (digest.size() == sizeof h.digest) std::memcpy(h.digest, digest.data(), sizeof h.digest);
  Bytes out(sizeof h + data.size());
  std::memcpy(out.data(), &h, sizeof h);
  if (!data.empty()) std::memcpy(out.data() + sizeof h, data.data(), data.size());
  return out;
}

Bytes digest_of(std::span<const std::uint8_t> bytes) {
  const Sha256Digest d = sha256(bytes);
  return Bytes(d.begin(), d.end());
}

std::string short_hex(std::span<const std::uint8_t> digest) {
  return to_hex(digest.first(std::min<std::size_t>(8, digest.size())));
}

std::string describe_blob(std::span<const std::uint8_t> blob) {
  const auto summary = summarize_state_blob(blob);
  std::string text = std::to_string(blob.size()) + " bytes, sha256 " + short_hex(digest_of(blob));
  if (summary) text = "generation " + std::to_string(summary->generation) + ", " + text;
  return text;
}

}  // namespace

StateLinkServer::StateLinkServer(StateStore& store, bool reset, std::ostream* log)
    : store_(store), reset_(reset), log_(log) {}

Bytes StateLinkServer::current_digest() {
  if (reset_) return Bytes(32, 0);
  const std::optional<Bytes> stored = store_.load();
  return stored ? digest_of(*stored) : Bytes(32, 0);
}

Bytes StateLinkServer::handle(std::span<const std::uint8_t> request) {
  ++stats_.requests;
  fs::LinkRequestHeader h{};
  const auto reject = [&](fs::LinkStatus status, const std::string& why) {
    ++stats_.rejected;
    if (log_ && !why.empty()) *log_ << "state: refused: " << why << "\n" << std::flush;
    return answer(static_cast<fs::LinkOp>(h.op), status);
  };
  if (request.size() < kRequestHeader) return reject(fs::LinkStatus::kBadRequest, "");
  std::memcpy(&h, request.data(), kRequestHeader);
  const std::span<const std::uint8_t> body = request.subspan(kRequestHeader);
  try {
    switch (static_cast<fs::LinkOp>(h.op)) {
      case fs::LinkOp::kInfo: {
        if (!body.empty()) return reject(fs::LinkStatus::kBadRequest, "");
        snapshot_ = reset_ ? std::nullopt : store_.load();
        if (!snapshot_) return answer(fs::LinkOp::kInfo, fs::LinkStatus::kOk, 0, Bytes(32, 0));
        if (snapshot_->size() > fs::kMaxBlobSize) {
          return reject(fs::LinkStatus::kTooLarge, "the state file is larger than any blob");
        }
        if (log_) *log_ << "state: offering " << describe_blob(*snapshot_) << "\n" << std::flush;
        return answer(fs::LinkOp::kInfo, fs::LinkStatus::kOk,
                      static_cast<std::uint32_t>(snapshot_->size()), digest_of(*snapshot_));
      }
      case fs::LinkOp::kRead: {
        if (!body.empty() || !snapshot_ || h.length == 0 || h.length > fs::kMaxChunk ||
            h.offset > snapshot_->size() || h.length > snapshot_->size() - h.offset) {
          return reject(fs::LinkStatus::kBadRequest, "");
        }
        stats_.bytes_read += h.length;
        return answer(fs::LinkOp::kRead, fs::LinkStatus::kOk, h.length, {},
                      std::span(*snapshot_).subspan(h.offset, h.length));
      }
      case fs::LinkOp::kWriteBegin: {
        fs::WriteBegin begin{};
        if (body.size() != sizeof begin) return reject(fs::LinkStatus::kBadRequest, "");
        std::memcpy(&begin, body.data(), sizeof begin);
        if (begin.total_size == 0 || begin.total_size > fs::kMaxBlobSize) {
          return reject(fs::LinkStatus::kTooLarge, "");
        }
        if (pending_) link_closed();  // a restarted write: the old one is abandoned
        const Bytes now = current_digest();
        if (std::memcmp(now.data(), begin.previous, 32) != 0) {
          return reject(fs::LinkStatus::kConflict,
                        "write of generation " + std::to_string(begin.generation) +
                            " replaces sha256 " + short_hex(begin.previous) +
                            ", but the state file holds sha256 " + short_hex(now) +
                            " (rolled back, replaced or written by another VM); left as it is");
        }
        pending_.emplace();
        pending_->generation = begin.generation;
        pending_->total = begin.total_size;
        std::memcpy(pending_->previous, begin.previous, 32);
        pending_->bytes.reserve(begin.total_size);
        return answer(fs::LinkOp::kWriteBegin, fs::LinkStatus::kOk);
      }
      case fs::LinkOp::kWriteData: {
        if (!pending_ || h.length == 0 || h.length > fs::kMaxChunk || body.size() != h.length ||
            h.offset != pending_->bytes.size() || h.length > pending_->total - h.offset) {
          return reject(fs::LinkStatus::kBadRequest, "");
        }
        pending_->bytes.insert(pending_->bytes.end(), body.begin(), body.end());
        return answer(fs::LinkOp::kWriteData, fs::LinkStatus::kOk);
      }
      case fs::LinkOp::kWriteCommit: {
        fs::WriteCommit commit{};
        if (body.size() != sizeof commit || !pending_ ||
            pending_->bytes.size() != pending_->total) {
          return reject(fs::LinkStatus::kBadRequest, "");
        }
        std::memcpy(&commit, body.data(), sizeof commit);
        const Bytes received = digest_of(pending_->bytes);
        if (std::memcmp(received.data(), commit.digest, 32) != 0) {
          pending_.reset();
          return reject(fs::LinkStatus::kDigestMismatch,
                        "the blob received is not the one announced; the state file is unchanged");
        }
        store_.lock();
        try {
          const Bytes now = current_digest();
          if (std::memcmp(now.data(), pending_->previous, 32) != 0) {
            store_.unlock();
            const std::uint64_t generation = pending_->generation;
            pending_.reset();
            return reject(fs::LinkStatus::kConflict,
                          "commit of generation " + std::to_string(generation) +
                              ": the state file changed since the write began; left as it is");
          }
          store_.replace(pending_->bytes);
        } catch (...) {
          store_.unlock();
          throw;
        }
        store_.unlock();
        reset_ = false;
        ++stats_.commits;
        stats_.bytes_written += pending_->bytes.size();
        if (log_) {
          *log_ << "state: wrote generation " << pending_->generation << " ("
                << pending_->bytes.size() << " bytes, sha256 " << short_hex(received) << ")\n"
                << std::flush;
        }
        pending_.reset();
        return answer(fs::LinkOp::kWriteCommit, fs::LinkStatus::kOk, 0, received);
      }
    }
  } catch (const std::exception& e) {
    pending_.reset();
    return reject(fs::LinkStatus::kIoError, e.what());
  }
  return reject(fs::LinkStatus::kBadRequest, "");
}

void StateLinkServer::link_closed() {
  if (!pending_) return;
  if (log_) {
    *log_ << "state: write of generation " << pending_->generation << " interrupted after "
          << pending_->bytes.size() << " of " << pending_->total
          << " bytes; the state file keeps the previous generation\n"
          << std::flush;
  }
  pending_.reset();
}

void serve_state_link(int fd, StateLinkServer& server, const std::atomic<bool>& stop) {
  tp::LinkReceiver receiver;
  std::vector<std::uint8_t> frame(tp::kMaxLinkFrame);
  std::uint8_t buffer[4096];
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) continue;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // QEMU closed the socket: the VM is gone
    for (ssize_t i = 0; i < n; ++i) {
      if (!receiver.push(buffer[i])) continue;
      const tp::Frame f = receiver.frame();
      if (f.type != tp::FrameType::kStateRequest) continue;
      const Bytes response = server.handle(f.payload);
      const std::size_t size =
          tp::encode_frame(tp::FrameType::kStateResponse, f.sequence, response, frame);
      for (std::size_t done = 0; done < size;) {
        const ssize_t w = ::write(fd, frame.data() + done, size - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          server.link_closed();
          return;
        }
        done += static_cast<std::size_t>(w);
      }
    }
  }
  server.link_closed();
}

int connect_unix_socket(const std::string& path, const std::atomic<bool>& give_up) {
  while (!give_up) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
      ::close(fd);
      return -1;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

StateLinkThread::StateLinkThread(const std::filesystem::path& state_file, bool reset,
                                 std::string socket, std::filesystem::path log_path) {
  auto store = std::make_shared<FileStateStore>(state_file);
  thread_ =
      std::thread([this, store, reset, socket = std::move(socket), log_path = std::move(log_path)] {
        std::ofstream log(log_path, std::ios::app);
        StateLinkServer server(*store, reset, &log);
        const int fd = connect_unix_socket(socket, stop_);
        if (fd < 0) return;
        log << "state: serving " << store->path().string() << (reset ? " (--state-reset)" : "")
            << "\n"
            << std::flush;
        serve_state_link(fd, server, stop_);
        ::close(fd);
      });
}

void StateLinkThread::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace cvtpm::launch
