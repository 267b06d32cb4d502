// The one accessor through which the service touches guest memory. Guest memory is hostile:
// another vCPU of the guest may change it at any time, and any address may be a trap. So:
//   - every range is checked for wrap-around and for guest ownership before it is touched;
//   - reads copy into the caller's private buffer, and callers parse only that copy (each guest
//     byte is fetched once, so a racing guest cannot make two fetches disagree);
//   - writes go only to the range the caller names, which callers derive from the buffer the
//     guest named.
// Ownership is checked on every access, because it can change between two (a page given away as
// a VMSA, a page no longer validated), and the platform copies each page itself, so an access
// that faults fails the call instead of the SVSM (Platform::read_guest). The one exception is the
// platform's fixed window (Platform::fixed_guest_window): memory the platform guarantees stays the
// guest's and mapped, so its bounds are the ownership check. Accesses inside it are inline: they
// are the vTPM's per-command path (docs/PERFORMANCE.md). Every other access asks guest_owns() and
// then copies the range page by page through the platform. Freestanding.
#pragma once

#include <atomic>
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
  // Reads the platform's fixed window once: the platform must be fully constructed.
  explicit GuestMemory(Platform& platform);

  // Whether [gpa, gpa + size) is a non-empty range that does not wrap and that the guest owns.
  bool owns(std::uint64_t gpa, std::uint64_t size) const {
    if (size == 0 || gpa > UINT64_MAX - size) return false;  // empty or wraps around
    return in_window(gpa, size) || platform_.guest_owns(gpa, size);
  }

  // Copies guest bytes [gpa, gpa + out.size()) into `out`. kSuccess or kInvalidAddress.
  SvsmResult read(std::uint64_t gpa, std::span<std::uint8_t> out) const {
    return read_prefix(gpa, out.size(), out);
  }
  // The same, after checking that the guest owns the whole of [gpa, gpa + extent) (extent >=
  // out.size()): the buffer the caller will use beyond what it reads now.
  SvsmResult read_prefix(std::uint64_t gpa, std::uint64_t extent,
                         std::span<std::uint8_t> out) const {
    if (extent < out.size()) return SvsmResult::kInvalidAddress;
    if (out.empty()) return SvsmResult::kSuccess;
    // The whole range is checked before the first byte moves, so a bad range has no effect.
    if (!in_window(gpa, extent)) return read_outside(gpa, extent, out);
    std::memcpy(out.data(), window_pointer(gpa), out.size());
    return SvsmResult::kSuccess;
  }
  // Copies `in` to guest bytes [gpa, gpa + in.size()). kSuccess or kInvalidAddress.
  SvsmResult write(std::uint64_t gpa, std::span<const std::uint8_t> in) const {
    return write(gpa, in, {});
  }
  // Copies `head` and then `tail` to guest bytes [gpa, gpa + head.size() + tail.size()): one
  // write of two private buffers (a header and what follows it) with one ownership check.
  SvsmResult write(std::uint64_t gpa, std::span<const std::uint8_t> head,
                   std::span<const std::uint8_t> tail) const {
    const std::size_t size = head.size() + tail.size();
    if (size == 0) return SvsmResult::kSuccess;
    if (!in_window(gpa, size)) {
      return write_outside(gpa, head, tail);
    }
    std::uint8_t* const to = window_pointer(gpa);
    // memcpy needs valid pointers even for 0 bytes, and an empty span's data() may be null.
    if (!head.empty()) std::memcpy(to, head.data(), head.size());
    if (!tail.empty()) std::memcpy(to + head.size(), tail.data(), tail.size());
    return SvsmResult::kSuccess;
  }
  // Zeroes guest bytes [gpa, gpa + size). kSuccess or kInvalidAddress.
  SvsmResult zero(std::uint64_t gpa, std::size_t size) const;
  // Atomically replaces the guest byte at gpa with `value` and returns the old one in `old`
  // (the SVSM's half of the guest's xchg on call_pending). kSuccess or kInvalidAddress.
  SvsmResult exchange_byte(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) const {
    if (!in_window(gpa, 1)) return exchange_byte_outside(gpa, value, old);
    old = std::atomic_ref<std::uint8_t>(*window_pointer(gpa)).exchange(value);
    return SvsmResult::kSuccess;
  }

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
  // Whether [gpa, gpa + size) (size > 0) lies inside the fixed window; never true if the range
  // wraps or the window is empty.
  bool in_window(std::uint64_t gpa, std::uint64_t size) const {
    return gpa >= window_.begin && gpa < window_.end && size <= window_.end - gpa;
  }
  // Only for ranges in_window() accepted.
  std::uint8_t* window_pointer(std::uint64_t gpa) const {
    return reinterpret_cast<std::uint8_t*>(window_.base + static_cast<std::uintptr_t>(gpa));
  }
  // Accesses outside the fixed window (size > 0): each checks that the guest owns the whole
  // range (for a read: all of [gpa, gpa + extent)), then moves the bytes one page at a
  // time. A write copies `head`, then `tail`.
  SvsmResult read_outside(std::uint64_t gpa, std::uint64_t extent,
                          std::span<std::uint8_t> out) const;
  SvsmResult write_outside(std::uint64_t gpa, std::span<const std::uint8_t> head,
                           std::span<const std::uint8_t> tail) const;
  SvsmResult zero_outside(std::uint64_t gpa, std::size_t size) const;
  SvsmResult exchange_byte_outside(std::uint64_t gpa, std::uint8_t value, std::uint8_t& old) const;
  // The part of owns() for ranges outside the window.
  bool platform_owns(std::uint64_t gpa, std::uint64_t size) const {
    return size != 0 && gpa <= UINT64_MAX - size && platform_.guest_owns(gpa, size);
  }
  template <typename Move>
  SvsmResult for_each_page(std::uint64_t gpa, std::size_t size, Move move) const;

  Platform& platform_;
  const GuestWindow window_;
};

}  // namespace cvtpm::vtpm
