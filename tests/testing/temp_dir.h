// A private scratch directory for one test, removed afterwards.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cvtpm::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

  // Writes a file inside the directory and returns its path.
  std::filesystem::path write(std::string_view name, std::span<const std::uint8_t> bytes) const;
  std::filesystem::path write(std::string_view name, std::string_view text) const;

  // The names of the directory's entries, sorted (to show a failed command left nothing).
  std::vector<std::string> entries() const;

 private:
  std::filesystem::path path_;
};

}  // namespace cvtpm::testing
