#include "cvtpm/vtpm/guest_memory.h"

#include <atomic>

namespace cvtpm::vtpm {

bool GuestMemory::owns(std::uint64_t gpa, std::uint64_t size) const {
  if (size == 0 || gpa > UINT64_MAX - size) return false;  // empty or wraps around
  return platform_.guest_owns(gpa, size);
}

SvsmResult GuestMemory::read(std::uint64_t gpa, std::span<std::uint8_t> out) const {
  return access(gpa, out.data(), out.size(), out.size(), Op::kRead);
}

SvsmResult GuestMemory::read_prefix(std::uint64_t gpa, std::uint64_t extent,
                                    std::span<std::uint8_t> out) const {
  if (extent < out.size()) return SvsmResult::kInvalidAddress;
  return access(gpa, out.data(), out.size(), extent, Op::kRead);
}

SvsmResult GuestMemory::write(std::uint64_t gpa, std::span<const std::uint8_t> in) const {
  // Writes never modify `in`: the cast only lets one loop serve reads and writes.
  return access(gpa, const_cast<std::uint8_t*>(in.data()), in.size(), in.size(), Op::kWrite);
}

SvsmResult GuestMemory::zero(std::uint64_t gpa, std::size_t size) const {
  return access(gpa, nullptr, size, size, Op::kZero);
}

SvsmResult GuestMemory::exchange_byte(std::uint64_t gpa, std::uint8_t value,
                                      std::uint8_t& old) const {
  if (!owns(gpa, 1)) return SvsmResult::kInvalidAddress;
  std::uint8_t* mapping = platform_.map_guest(gpa, 1, GuestAccess::kWrite);
  if (mapping == nullptr) return SvsmResult::kInvalidAddress;
  old = std::atomic_ref<std::uint8_t>(*mapping).exchange(value);
  platform_.unmap_guest(mapping, 1);
  return SvsmResult::kSuccess;
}

SvsmResult GuestMemory::access(std::uint64_t gpa, std::uint8_t* data, std::size_t size,
                               std::uint64_t extent, Op op) const {
  if (size == 0) return SvsmResult::kSuccess;
  // The whole range is checked before the first byte moves, so a bad range has no effect.
  if (!owns(gpa, extent)) return SvsmResult::kInvalidAddress;
  const GuestAccess kind = op == Op::kRead ? GuestAccess::kRead : GuestAccess::kWrite;
  std::size_t done = 0;
  while (done < size) {
    // One page at a time: platforms map guest memory page by page.
    const std::uint64_t at = gpa + done;
    const std::size_t in_page = static_cast<std::size_t>(kPageSize - (at & kPageMask));
    const std::size_t chunk = size - done < in_page ? size - done : in_page;
    std::uint8_t* mapping = platform_.map_guest(at, chunk, kind);
    if (mapping == nullptr) return SvsmResult::kInvalidAddress;
    switch (op) {
      case Op::kRead:
        std::memcpy(data + done, mapping, chunk);
        break;
      case Op::kWrite:
        std::memcpy(mapping, data + done, chunk);
        break;
      case Op::kZero:
        std::memset(mapping, 0, chunk);
        break;
    }
    platform_.unmap_guest(mapping, chunk);
    done += chunk;
  }
  return SvsmResult::kSuccess;
}

}  // namespace cvtpm::vtpm
