#include "cvtpm/vtpm/guest_memory.h"

namespace cvtpm::vtpm {

GuestMemory::GuestMemory(Platform& platform)
    : platform_(platform), window_(platform.fixed_guest_window()) {}

SvsmResult GuestMemory::zero(std::uint64_t gpa, std::size_t size) const {
  if (size == 0) return SvsmResult::kSuccess;
  if (!in_window(gpa, size)) return zero_outside(gpa, size);
  std::memset(window_pointer(gpa), 0, size);
  return SvsmResult::kSuccess;
}

namespace {

// What a zeroing write copies from.
constexpr std::uint8_t kZeroPage[kPageSize] = {};

}  // namespace

// Calls move(at, offset, chunk) for each page-bounded piece of [gpa, gpa + size), which the
// caller checked, until one fails: platforms copy guest memory page by page.
template <typename Move>
SvsmResult GuestMemory::for_each_page(std::uint64_t gpa, std::size_t size, Move move) const {
  std::size_t done = 0;
  while (done < size) {
    const std::uint64_t at = gpa + done;
    const std::size_t in_page = static_cast<std::size_t>(kPageSize - (at & kPageMask));
    const std::size_t chunk = size - done < in_page ? size - done : in_page;
    if (!move(at, done, chunk)) return SvsmResult::kInvalidAddress;
    done += chunk;
  }
  return SvsmResult::kSuccess;
}

SvsmResult GuestMemory::read_outside(std::uint64_t gpa, std::uint64_t extent,
                                     std::span<std::uint8_t> out) const {
  // The whole range is checked before the first byte moves, so a bad range has no effect.
  if (!platform_owns(gpa, extent)) return SvsmResult::kInvalidAddress;
  return for_each_page(gpa, out.size(), [&](std::uint64_t at, std::size_t offset, std::size_t n) {
    return platform_.read_guest(at, out.subspan(offset, n));
  });
}

SvsmResult GuestMemory::write_outside(std::uint64_t gpa, std::span<const std::uint8_t> head,
                                      std::span<const std::uint8_t> tail) const {
  const std::size_t size = head.size() + tail.size();
  if (!platform_owns(gpa, size)) return SvsmResult::kInvalidAddress;
  // Each page gets its part of head || tail, in one access.
  return for_each_page(gpa, size, [&](std::uint64_t at, std::size_t offset, std::size_t chunk) {
    std::span<const std::uint8_t> from_head;
    if (offset < head.size()) {
      from_head = head.subspan(offset, chunk < head.size() - offset ? chunk : head.size() - offset);
    }
    const std::size_t rest = chunk - from_head.size();
    // Only a chunk that reaches past the head takes from the tail (else the offset would wrap).
    std::span<const std::uint8_t> from_tail;
    if (rest != 0) from_tail = tail.subspan(offset + from_head.size() - head.size(), rest);
    return platform_.write_guest(at, from_head, from_tail);
  });
}

SvsmResult GuestMemory::zero_outside(std::uint64_t gpa, std::size_t size) const {
  if (!platform_owns(gpa, size)) return SvsmResult::kInvalidAddress;
  return for_each_page(gpa, size, [&](std::uint64_t at, std::size_t, std::size_t chunk) {
    return platform_.write_guest(at, {kZeroPage, chunk});
  });
}

SvsmResult GuestMemory::exchange_byte_outside(std::uint64_t gpa, std::uint8_t value,
                                              std::uint8_t& old) const {
  if (!platform_owns(gpa, 1)) return SvsmResult::kInvalidAddress;
  return platform_.exchange_guest_byte(gpa, value, old) ? SvsmResult::kSuccess
                                                        : SvsmResult::kInvalidAddress;
}

}  // namespace cvtpm::vtpm
