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

// Calls move(mapping, offset, chunk) for each page-bounded piece of [gpa, gpa + size), which
// the caller checked: platforms map guest memory page by page.
template <typename Move>
SvsmResult GuestMemory::for_each_page(std::uint64_t gpa, std::size_t size, GuestAccess access,
                                      Move move) const {
  std::size_t done = 0;
  while (done < size) {
    const std::uint64_t at = gpa + done;
    const std::size_t in_page = static_cast<std::size_t>(kPageSize - (at & kPageMask));
    const std::size_t chunk = size - done < in_page ? size - done : in_page;
    std::uint8_t* mapping = platform_.map_guest(at, chunk, access);
    if (mapping == nullptr) return SvsmResult::kInvalidAddress;
    move(mapping, done, chunk);
    platform_.unmap_guest(mapping, chunk);
    done += chunk;
  }
  return SvsmResult::kSuccess;
}

SvsmResult GuestMemory::read_outside(std::uint64_t gpa, std::uint64_t extent,
                                     std::span<std::uint8_t> out) const {
  // The whole range is checked before the first byte moves, so a bad range has no effect.
  if (!platform_owns(gpa, extent)) return SvsmResult::kInvalidAddress;
  std::uint8_t* const to = out.data();
  return for_each_page(gpa, out.size(), GuestAccess::kRead,
                       [to](std::uint8_t* mapping, std::size_t offset, std::size_t chunk) {
                         std::memcpy(to + offset, mapping, chunk);
                       });
}

SvsmResult GuestMemory::write_outside(std::uint64_t gpa, std::span<const std::uint8_t> head,
                                      std::span<const std::uint8_t> tail) const {
  const std::size_t size = head.size() + tail.size();
  if (!platform_owns(gpa, size)) return SvsmResult::kInvalidAddress;
  // Each page gets its part of head || tail.
  return for_each_page(gpa, size, GuestAccess::kWrite,
                       [head, tail](std::uint8_t* to, std::size_t offset, std::size_t chunk) {
                         if (offset < head.size()) {
                           const std::size_t n =
                               chunk < head.size() - offset ? chunk : head.size() - offset;
                           std::memcpy(to, head.data() + offset, n);
                           to += n;
                           offset += n;
                           chunk -= n;
                         }
                         if (chunk != 0)
                           std::memcpy(to, tail.data() + (offset - head.size()), chunk);
                       });
}

SvsmResult GuestMemory::zero_outside(std::uint64_t gpa, std::size_t size) const {
  if (!platform_owns(gpa, size)) return SvsmResult::kInvalidAddress;
  return for_each_page(gpa, size, GuestAccess::kWrite,
                       [](std::uint8_t* mapping, std::size_t, std::size_t chunk) {
                         std::memset(mapping, 0, chunk);
                       });
}

SvsmResult GuestMemory::exchange_byte_outside(std::uint64_t gpa, std::uint8_t value,
                                              std::uint8_t& old) const {
  if (!platform_owns(gpa, 1)) return SvsmResult::kInvalidAddress;
  std::uint8_t* mapping = platform_.map_guest(gpa, 1, GuestAccess::kWrite);
  if (mapping == nullptr) return SvsmResult::kInvalidAddress;
  old = std::atomic_ref<std::uint8_t>(*mapping).exchange(value);
  platform_.unmap_guest(mapping, 1);
  return SvsmResult::kSuccess;
}

}  // namespace cvtpm::vtpm
