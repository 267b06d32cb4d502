#include "cvtpm/support/files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "cvtpm/support/error.h"
#include "cvtpm/support/unique_fd.h"

namespace cvtpm {
namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

constexpr std::size_t kMapThreshold = 256 * 1024;

// Opens `path` for reading and returns its descriptor and status; rejects directories.
UniqueFd open_input(const std::string& name, struct stat& st) {
  UniqueFd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw InputError(name, "cannot open: " + errno_text(errno));
  if (::fstat(fd.get(), &st) != 0) throw InputError(name, "cannot stat: " + errno_text(errno));
  if (S_ISDIR(st.st_mode)) throw InputError(name, "is a directory, not a file");
  return fd;
}

// Reads until `size` bytes or end of file; returns the count read.
std::size_t read_up_to(int fd, const std::string& name, std::uint8_t* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw InputError(name, "cannot read: " + errno_text(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

std::vector<std::uint8_t> read_all(int fd, const std::string& name, const struct stat& st) {
  std::vector<std::uint8_t> data;
  // Regular files are read in one go; devices and pipes in chunks until end of file.
  std::size_t chunk = S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) + 1 : 1 << 16;
  for (;;) {
    std::size_t old_size = data.size();
    data.resize(old_size + chunk);
    std::size_t n = read_up_to(fd, name, data.data() + old_size, chunk);
    data.resize(old_size + n);
    if (n < chunk) break;
  }
  return data;
}

}  // namespace

struct ByteBuffer::Storage {
  std::vector<std::uint8_t> vector;
  void* mapping = nullptr;
  std::size_t mapping_size = 0;
  ~Storage() {
    if (mapping) ::munmap(mapping, mapping_size);
  }
};

ByteBuffer::ByteBuffer(std::vector<std::uint8_t> bytes) {
  auto storage = std::make_shared<Storage>();
  storage->vector = std::move(bytes);
  data_ = storage->vector.data();
  size_ = storage->vector.size();
  storage_ = std::move(storage);
}

ByteBuffer::ByteBuffer(const std::uint8_t* data, std::size_t size)
    : ByteBuffer(std::vector<std::uint8_t>(data, data + size)) {}

ByteBuffer ByteBuffer::slice(std::size_t offset, std::size_t size) const {
  if (offset > size_ || size > size_ - offset) throw std::out_of_range("ByteBuffer::slice");
  ByteBuffer part;
  part.storage_ = storage_;
  part.data_ = data_ + offset;
  part.size_ = size;
  return part;
}

ByteBuffer load_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  struct stat st {};
  UniqueFd fd = open_input(name, st);
  const auto size = static_cast<std::size_t>(st.st_size);
  if (!S_ISREG(st.st_mode) || size < kMapThreshold) return ByteBuffer(read_all(fd.get(), name, st));
  // Mapping the page cache directly: no copy and no fresh zeroed pages.
  void* mem = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (mem == MAP_FAILED) return ByteBuffer(read_all(fd.get(), name, st));
  auto storage = std::make_shared<ByteBuffer::Storage>();
  storage->mapping = mem;
  storage->mapping_size = size;
  ByteBuffer buffer;
  buffer.data_ = static_cast<const std::uint8_t*>(mem);
  buffer.size_ = size;
  buffer.storage_ = std::move(storage);
  return buffer;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  struct stat st {};
  UniqueFd fd = open_input(name, st);
  return read_all(fd.get(), name, st);
}

void write_file_atomic(const std::filesystem::path& path,
                       std::span<const std::span<const std::uint8_t>> pieces) {
  const std::string name = path.string();
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  // Hidden and in the same directory, so the final rename never crosses file systems.
  std::string temp_name = ".";
  temp_name += path.filename().string();
  temp_name += ".tmp-XXXXXX";
  std::string tmpl = (dir / temp_name).string();
  UniqueFd fd(::mkstemp(tmpl.data()));
  if (fd.get() < 0) throw InputError(name, "cannot create a temporary file: " + errno_text(errno));

  auto fail = [&](const std::string& what) {
    int err = errno;
    ::unlink(tmpl.c_str());
    throw InputError(name, what + ": " + errno_text(err));
  };
  for (std::span<const std::uint8_t> bytes : pieces) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("cannot write");
      }
      done += static_cast<std::size_t>(n);
    }
  }
  // mkstemp creates 0600; outputs are ordinary files, so honour the umask like any writer.
  mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd.get(), 0666 & ~mask) != 0) fail("cannot set permissions");
  if (::fsync(fd.get()) != 0) fail("cannot flush");
  if (::close(fd.release()) != 0) fail("cannot close");
  if (::rename(tmpl.c_str(), path.c_str()) != 0) fail("cannot rename into place");
}

void write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  write_file_atomic(path, std::span<const std::span<const std::uint8_t>>(&bytes, 1));
}

void write_file_atomic(const std::filesystem::path& path, std::string_view text) {
  write_file_atomic(path,
                    std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace cvtpm
