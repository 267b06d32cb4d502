// Error messages shared by the IGVM reader, validator and writer: every problem names the file,
// the header (index in file order and type) and, when known, its byte offset.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/support/error.h"

namespace cvtpm::formats::igvm::detail {

inline std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Where a header sits, for messages.
struct HeaderLocation {
  std::size_t index;
  std::uint32_t type;
  std::span<const std::size_t> offsets;  // empty when checking a model built in memory

  std::string describe() const {
    std::string s = "header " + std::to_string(index) + " (" + header_type_name(type) + ")";
    if (index < offsets.size()) s += " at offset " + hex(offsets[index]);
    return s;
  }
};

[[noreturn]] inline void fail(const std::string& name, const HeaderLocation& at,
                              const std::string& problem) {
  throw InputError(name, at.describe() + ": " + problem);
}

}  // namespace cvtpm::formats::igvm::detail
