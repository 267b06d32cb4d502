#include "cvtpm/snp/guest_ram.h"

namespace cvtpm::snp {

namespace {

constexpr std::uint64_t kPage = 4096;

bool aligned(std::uint64_t v) {
  return (v & (kPage - 1)) == 0;
}

}  // namespace

SnpStatus GuestRam::init(std::span<const GpaRange> ram, GpaRange excluded,
                         std::span<std::uint64_t> bitmap) {
  count_ = 0;
  top_ = 0;
  bitmap_ = nullptr;
  if (!aligned(excluded.start) || !aligned(excluded.end) || excluded.end < excluded.start) {
    return SnpError{"guest RAM: bad firmware region", excluded.start, excluded.end};
  }
  std::uint64_t previous_end = 0;
  for (const GpaRange& r : ram) {
    if (!aligned(r.start) || !aligned(r.end) || r.end <= r.start || r.start < previous_end ||
        r.end > kMaxTop) {
      return SnpError{"guest RAM: ranges unaligned, unsorted, overlapping or too high", r.start,
                      r.end};
    }
    previous_end = r.end;
    // Cut the firmware region out: at most two pieces per range.
    const GpaRange pieces[2] = {{r.start, r.end < excluded.start ? r.end : excluded.start},
                                {r.start > excluded.end ? r.start : excluded.end, r.end}};
    for (const GpaRange& p : pieces) {
      if (p.end <= p.start) continue;
      if (count_ == kMaxRanges) return SnpError{"guest RAM: too many ranges", count_};
      ranges_[count_++] = p;
    }
  }
  top_ = previous_end;
  if (bitmap.size() < bitmap_words(top_)) {
    return SnpError{"guest RAM: bitmap too small", bitmap.size(), bitmap_words(top_)};
  }
  bitmap_ = bitmap.data();
  return SnpStatus::success();
}

bool GuestRam::contains(std::uint64_t gpa, std::uint64_t size) const {
  if (size == 0 || gpa + size < gpa) return false;
  for (std::size_t i = 0; i < count_; ++i) {
    if (gpa >= ranges_[i].start && gpa + size <= ranges_[i].end) return true;
  }
  return false;
}

bool GuestRam::validated(std::uint64_t gpa, std::uint64_t size) const {
  if (!contains(gpa, size)) return false;
  for (std::uint64_t page = gpa / kPage; page <= (gpa + size - 1) / kPage; ++page) {
    if ((bitmap_[page / 64] >> (page % 64) & 1) == 0) return false;
  }
  return true;
}

void GuestRam::set_validated(std::uint64_t gpa, std::uint64_t size, bool validated) {
  if (!contains(gpa, size)) return;
  for (std::uint64_t page = gpa / kPage; page <= (gpa + size - 1) / kPage; ++page) {
    const std::uint64_t bit = std::uint64_t{1} << (page % 64);
    if (validated) {
      bitmap_[page / 64] |= bit;
    } else {
      bitmap_[page / 64] &= ~bit;
    }
  }
}

}  // namespace cvtpm::snp
