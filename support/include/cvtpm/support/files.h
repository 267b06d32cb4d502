// Whole-file reads and crash-safe writes (temporary file + rename, never a partial output).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cvtpm {

// Immutable bytes shared cheaply between copies: a vector, or a read-only mapping of a large
// file. Mapping the page cache (populated in one call) avoids copying the file into fresh
// memory, whose page faults dominate the run time of a measurement tool on virtualized hosts.
// A mapped file must not be truncated while in use.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(std::vector<std::uint8_t> bytes);  // NOLINT: implicit, vectors are byte buffers
  ByteBuffer(const std::uint8_t* data, std::size_t size);  // copies

  std::span<const std::uint8_t> span() const { return {data_, size_}; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  operator std::span<const std::uint8_t>() const { return span(); }  // NOLINT

  // `size` bytes from `offset`, sharing this buffer's storage (no copy). Throws
  // std::out_of_range if the range is not inside the buffer.
  ByteBuffer slice(std::size_t offset, std::size_t size) const;

 private:
  struct Storage;
  std::shared_ptr<const Storage> storage_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  friend ByteBuffer load_file(const std::filesystem::path& path);
};

// Reads a file into a ByteBuffer (mapped when large). Throws InputError naming the path.
ByteBuffer load_file(const std::filesystem::path& path);

// Reads a regular file (or a character device such as /dev/null) completely.
// Throws InputError naming the path on any failure.
std::vector<std::uint8_t> read_file(const std::filesystem::path& path);

// Writes `bytes` to `path` through a temporary file in the same directory that is renamed over
// the destination only once fully written and flushed; on failure nothing is left behind.
void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
void write_file_atomic(const std::filesystem::path& path, std::string_view text);
// The same for a file written as consecutive pieces (no need to join them in memory first).
void write_file_atomic(const std::filesystem::path& path,
                       std::span<const std::span<const std::uint8_t>> pieces);

}  // namespace cvtpm
