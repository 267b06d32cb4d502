#include "cvtpm/launch/state_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "cvtpm/formats/state/state_blob.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"

namespace cvtpm::launch {
namespace {

namespace fs = std::filesystem;

std::runtime_error io_error(const fs::path& path, const std::string& what) {
  return std::runtime_error(path.string() + ": " + what + ": " + std::strerror(errno));
}

fs::path directory_of(const fs::path& path) {
  return path.parent_path().empty() ? fs::path(".") : path.parent_path();
}

}  // namespace

FileStateStore::FileStateStore(fs::path path) : path_(std::move(path)) {
  dir_fd_ = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) throw io_error(directory_of(path_), "cannot open the state file's directory");
}

FileStateStore::~FileStateStore() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

std::optional<std::vector<std::uint8_t>> FileStateStore::load() {
  std::error_code ec;
  if (!fs::exists(path_, ec)) return std::nullopt;
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw io_error(path_, "cannot open");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) throw io_error(path_, "cannot read");
  return bytes;
}

void FileStateStore::replace(std::span<const std::uint8_t> blob) {
  try {
    write_file_atomic(path_, blob);  // temporary file, fsync, rename
  } catch (const InputError& e) {
    throw std::runtime_error(e.what());
  }
  // The rename itself is durable only once the directory is.
  if (::fsync(dir_fd_) != 0) throw io_error(directory_of(path_), "cannot flush the directory");
}

void FileStateStore::lock() {
  while (::flock(dir_fd_, LOCK_EX) != 0) {
    if (errno != EINTR) throw io_error(directory_of(path_), "cannot lock");
  }
}

void FileStateStore::unlock() {
  (void)::flock(dir_fd_, LOCK_UN);
}

std::optional<StateBlobSummary> summarize_state_blob(std::span<const std::uint8_t> blob) {
  formats::state::BlobHeader h{};
  if (blob.size() < sizeof h) return std::nullopt;
  std::memcpy(&h, blob.data(), sizeof h);
  if (std::memcmp(h.magic, formats::state::kBlobMagic, sizeof h.magic) != 0) return std::nullopt;
  return StateBlobSummary{h.generation, h.binding};
}

void check_state_file_options(const std::string& state_file, bool state_reset) {
  if (state_file.empty()) {
    if (state_reset) throw InputError("--state-reset", "needs --state");
    return;
  }
  const std::filesystem::path file(state_file);
  const std::filesystem::path dir =
      file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw InputError("--state", dir.string() + ": no such directory");
  }
  if (std::filesystem::exists(file, ec) && !std::filesystem::is_regular_file(file, ec)) {
    throw InputError("--state", state_file + ": not a regular file");
  }
}

}  // namespace cvtpm::launch
