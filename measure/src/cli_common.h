// Helpers the cvtpm-measure subcommands share (private to measure/src).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"

namespace cvtpm::measure::cli {

using nlohmann::ordered_json;

inline constexpr std::string_view kTool = "cvtpm-measure";

inline std::string hex32(std::uint64_t v, int width = 0) {
  return hex_number(v, width);
}

// A file given on the command line, with what a verifier wants recorded about it.
struct InputFile {
  ByteBuffer bytes;
  ordered_json describe() const { return describe_as(name); }
  ordered_json describe_as(const std::string& file_name) const {
    // Base name only: outputs must not depend on where the caller keeps its files.
    return {{"file", std::filesystem::path(file_name).filename().string()},
            {"size", bytes.size()},
            {"sha256", to_hex(sha256(bytes))}};
  }
  std::string name;
};

inline InputFile load(const std::string& path) {
  return InputFile{load_file(path), path};
}

inline std::string encode_digest(std::span<const std::uint8_t> digest, const std::string& format) {
  return format == "base64" ? to_base64(digest) : to_hex(digest);
}

// A 16-byte family or image ID in hex; zero when not given.
inline std::array<std::uint8_t, 16> parse_id(const std::optional<std::string>& text,
                                             const char* what) {
  std::array<std::uint8_t, 16> id{};
  if (!text) return id;
  auto bytes = parse_hex(*text, what);
  if (bytes.size() != id.size()) {
    throw InputError(what, "must be 16 bytes (32 hex digits), got " + std::to_string(bytes.size()));
  }
  std::copy(bytes.begin(), bytes.end(), id.begin());
  return id;
}

}  // namespace cvtpm::measure::cli
