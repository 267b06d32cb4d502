// The host's storage of a persistent vTPM's sealed state (docs/persistence.md): one file, which
// `cvtpm-launch emulate|run --state FILE` serves to the firmware over the state link. Writes are
// never in place: a new blob goes to a temporary file that is fsync'ed and renamed over FILE, and
// the directory is fsync'ed, so FILE always holds a whole blob — the old one or the new one —
// whatever kills QEMU or the launcher. The host cannot decrypt or authenticate the blob; it only
// checks that what arrives is what the firmware announced.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

namespace cvtpm::launch {

// What the state link needs from storage (a file here; memory in tests and the fuzzer).
class StateStore {
 public:
  virtual ~StateStore() = default;
  // The stored blob, or nullopt when nothing is stored. Throws std::runtime_error on I/O errors.
  virtual std::optional<std::vector<std::uint8_t>> load() = 0;
  // Makes `blob` the stored one, atomically (all or nothing, durable on return). Throws
  // std::runtime_error on I/O errors, leaving the previous blob.
  virtual void replace(std::span<const std::uint8_t> blob) = 0;
  // Held around a compare-and-swap, so two writers of one file serialize (no-op in memory).
  virtual void lock() {}
  virtual void unlock() {}
};

class FileStateStore final : public StateStore {
 public:
  explicit FileStateStore(std::filesystem::path path);
  ~FileStateStore() override;
  std::optional<std::vector<std::uint8_t>> load() override;
  void replace(std::span<const std::uint8_t> blob) override;
  // flock() on the state file's directory: it survives the rename, unlike a lock on FILE.
  void lock() override;
  void unlock() override;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int dir_fd_ = -1;
};

class MemoryStateStore final : public StateStore {
 public:
  std::optional<std::vector<std::uint8_t>> load() override { return blob; }
  void replace(std::span<const std::uint8_t> b) override { blob.emplace(b.begin(), b.end()); }
  std::optional<std::vector<std::uint8_t>> blob;
};

// What a blob's header says (unauthenticated: for logs only), or nullopt if it is no blob.
struct StateBlobSummary {
  std::uint64_t generation;
  std::uint32_t binding;
};
std::optional<StateBlobSummary> summarize_state_blob(std::span<const std::uint8_t> blob);

// --state FILE and --state-reset as given to `emulate` or `run`: --state-reset needs --state;
// FILE's directory must exist and FILE, if it exists, be a regular file. Throws InputError.
void check_state_file_options(const std::string& state_file, bool state_reset);

}  // namespace cvtpm::launch
