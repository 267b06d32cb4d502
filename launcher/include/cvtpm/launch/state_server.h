// The host's end of the state link (formats/state/state_link.h, docs/persistence.md): answers the
// firmware's INFO, READ and WRITE_BEGIN/DATA/COMMIT requests from a StateStore. The firmware is
// the client; every request is checked (sizes, order, offsets) before anything is read.
//
// - INFO takes a snapshot of the stored blob; READs are served from that snapshot, so a file that
//   changes between chunks cannot be stitched together.
// - A write names the digest of the blob it replaces (zero: nothing). BEGIN and COMMIT both check
//   it against what is stored (compare-and-swap, under the store's lock at COMMIT): a file rolled
//   back or written by another VM meanwhile is refused with kConflict and left as it is.
// - COMMIT checks the size and SHA-256 of what arrived against what BEGIN/COMMIT announced, then
//   replaces the blob atomically (StateStore::replace) and only then answers.
// - With `reset` the stored blob is presented as absent until the first commit replaces it
//   (`--state-reset`: starting fresh is explicit).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "cvtpm/launch/state_store.h"

namespace cvtpm::launch {

class StateLinkServer {
 public:
  struct Stats {
    std::uint64_t requests = 0;
    std::uint64_t rejected = 0;  // answered with an error status
    std::uint64_t commits = 0;
    std::uint64_t bytes_read = 0;  // served by READ
    std::uint64_t bytes_written = 0;
  };

  // `log` (may be null) gets one line per notable event ("state: wrote generation 7 ...").
  StateLinkServer(StateStore& store, bool reset, std::ostream* log);

  // One request payload in, one response payload out (never empty).
  std::vector<std::uint8_t> handle(std::span<const std::uint8_t> request);

  // Whether a write was begun and not committed (for the log when the link closes).
  bool write_pending() const { return pending_.has_value(); }
  // Logs an interrupted write, if any (the store keeps the previous blob).
  void link_closed();
  const Stats& stats() const { return stats_; }

 private:
  struct Pending {
    std::uint64_t generation;
    std::uint32_t total;
    std::uint8_t previous[32];
    std::vector<std::uint8_t> bytes;
  };
  // The digest of what is stored now (zero when nothing is, or in reset mode before a commit).
  std::vector<std::uint8_t> current_digest();

  StateStore& store_;
  bool reset_;
  std::ostream* log_;
  std::optional<std::vector<std::uint8_t>> snapshot_;  // taken by INFO, served by READ
  std::optional<Pending> pending_;
  Stats stats_;
};

// Serves the state link on a connected stream socket (QEMU's COM3 chardev) until it closes or
// `stop` is set: frames of type kStateRequest are answered with kStateResponse frames carrying
// the same sequence number; anything else on the link is ignored.
void serve_state_link(int fd, StateLinkServer& server, const std::atomic<bool>& stop);

// A Unix socket QEMU listens on (server=on,wait=off), retried until it exists; -1 when `give_up`.
int connect_unix_socket(const std::string& path, const std::atomic<bool>& give_up);

// The host's end of the state link for a QEMU's lifetime (`emulate --state`, `run --state`): on
// its own thread, connects to QEMU's COM3 socket and serves `state_file` (FileStateStore) until
// the link closes or stop(); events go to `log_path`.
class StateLinkThread {
 public:
  StateLinkThread(const std::filesystem::path& state_file, bool reset, std::string socket,
                  std::filesystem::path log_path);
  ~StateLinkThread() { stop(); }
  StateLinkThread(const StateLinkThread&) = delete;
  StateLinkThread& operator=(const StateLinkThread&) = delete;
  void stop();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace cvtpm::launch
