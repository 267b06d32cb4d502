// The one accessor through which the service touches guest memory. Guest memory is hostile:
// another vCPU of the guest may change it at any time, and any address may be a trap. So:
//   - every range is checked for wrap-around and for guest ownership before it is touched;
//   - reads copy into the caller's private buffer, and callers parse only that copy (each guest
//     byte is fetched once, so a racing guest cannot make two fetches disagree);
//   - writes go only to the range the caller names, which callers derive from the buffer the
//     guest named.
// Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "cvtpm/vtpm/platform.h"
#include "cvtpm/vtpm/svsm_abi.h"

namespace cvtpm::vtpm {

class GuestMemory {
 public:
  explicit GuestMemory(Platform& platform) : platform_(platform) {}

  // Whether [gpa, gpa + size) is a non-empty range that does not wrap and that the guest owns.
  bool owns(std::uint64_t gpa, std::uint64_t size) const;

  // Copies guest bytes [gpa, gpa + out.size()) into `out`. kSuccess or kInvalidAddress.
  SvsmResult read(std::uint64_t gpa, std::span<std::uint8_t> out) const;
  // The same, after checking that the guest owns the whole of [gpa, gpa + extent) (extent >=
  // out.size()): the buffer the caller will use beyond what it reads now.
  SvsmResult read_prefix(std::uint64_t gpa, std::uint64_t extent,
                         std::span<std::uint8_t> out) const;
  // Copies `in` to guest bytes [gpa, gpa + in.size()). kSuccess or kInvalidAddress.
  SvsmResult write(std::uint64_t gpa, std::span<const std::uint8_t> in) const;
  // Zeroes guest bytes [gpa, gpa + size). kSuccess or kInvalidAddress.
  SvsmResult zero(std::uint64_t gpa, std::size_t size) const;
  // Atomically replaces the guest byte at gpa with `value` and returns the old one in `old`
  // (the SVSM's half of the guest's xchg on call_pending). kSuccess or kInvalidAddress.
  SvsmResult exchange_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) const;

  // Private copy of a wire struct stored at gpa.
  template <typename T>
  requires std::is_trivially_copyable_v<T> SvsmResult read_object(std::uint64_t gpa, T& out)
  const {
    std::uint8_t bytes[sizeof(T)];
    const SvsmResult result = read(gpa, bytes);
    if (result == SvsmResult::kSuccess) std::memcpy(&out, bytes, sizeof(T));
    return result;
  }

  template <typename T>
  requires std::is_trivially_copyable_v<T> SvsmResult write_object(std::uint64_t gpa,
                                                                   const T& value)
  const {
    std::uint8_t bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    return write(gpa, bytes);
  }

 private:
  enum class Op : std::uint8_t { kRead, kWrite, kZero };
  SvsmResult access(std::uint64_t gpa, std::uint8_t* data, std::size_t size, std::uint64_t extent,
                    Op op) const;

  Platform& platform_;
};

}  // namespace cvtpm::vtpm
