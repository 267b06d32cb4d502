// Which guest-physical memory belongs to the guest OS, and which of it is validated: RAM from
// the loader's memory map plus the guest firmware's flash, minus the firmware region (the
// SVSM's own memory), each 4 KiB page with a validated bit. The guest runs below VMPL0 and
// cannot execute PVALIDATE, so every validation of its memory goes through the SVSM (or
// happened at launch), and the bitmap is exact unless the hypervisor takes a page away — in
// which case the SVSM's access faults, a denial of service the hypervisor can cause anyway.
// The memory map is written by the host's loader and not measured: it only narrows what the
// guest may name; it never makes firmware memory guest memory. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/snp/status.h"

namespace cvtpm::snp {

struct GpaRange {
  std::uint64_t start;
  std::uint64_t end;  // exclusive
};

class GuestRam {
 public:
  static constexpr std::size_t kMaxRanges = 32;
  // Highest guest-physical address the bitmap covers: 256 GiB (a 8 MiB bitmap at most).
  static constexpr std::uint64_t kMaxTop = std::uint64_t{256} << 30;

  // Words of bitmap storage for memory up to `top`.
  static constexpr std::size_t bitmap_words(std::uint64_t top) {
    return static_cast<std::size_t>((top / 4096 + 63) / 64);
  }

  // `ram`: sorted, non-overlapping ranges (page aligned, below kMaxTop); `excluded`: the firmware
  // region. `bitmap` must hold bitmap_words(top of ram) zeroed words and outlive this object.
  SnpStatus init(std::span<const GpaRange> ram, GpaRange excluded, std::span<std::uint64_t> bitmap);

  // Whether [gpa, gpa + size) (size > 0, not wrapping) lies entirely in guest memory.
  bool contains(std::uint64_t gpa, std::uint64_t size) const;
  // Whether every page touching [gpa, gpa + size) is validated.
  bool validated(std::uint64_t gpa, std::uint64_t size) const;
  void set_validated(std::uint64_t gpa, std::uint64_t size, bool validated);

  std::span<const GpaRange> ranges() const { return {ranges_, count_}; }
  std::uint64_t top() const { return top_; }

 private:
  GpaRange ranges_[kMaxRanges] = {};
  std::size_t count_ = 0;
  std::uint64_t top_ = 0;
  std::uint64_t* bitmap_ = nullptr;
};

}  // namespace cvtpm::snp
