#include "model/page_walk.h"

#include <cstdio>

namespace cvtpm::snp::model {

namespace {

constexpr std::uint64_t kPresent = 1;
constexpr std::uint64_t kWritable = 2;
constexpr std::uint64_t kPageSizeBit = 0x80;
// Bits 51:12 hold the next table's or the page's address (APM vol. 2, Figure 5-18 ff.).
constexpr std::uint64_t kAddressField = 0x000F'FFFF'FFFF'F000;

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* level_name(int level) {
  switch (level) {
    case 4:
      return "PML4E";
    case 3:
      return "PDPTE";
    case 2:
      return "PDE";
    default:
      return "PTE";
  }
}

}  // namespace

WalkResult walk_long_mode(std::uint64_t cr3, std::uint64_t linear, bool write,
                          std::uint8_t cbit_position, const EntryReader& read_entry) {
  WalkResult r;
  const std::uint64_t cbit = std::uint64_t{1} << cbit_position;
  const std::uint64_t address_mask = kAddressField & ~cbit;
  const auto upper = static_cast<std::int64_t>(linear) >> 47;
  if (upper != 0 && upper != -1) {
    r.fault = "#GP: non-canonical linear address " + hex(linear);
    return r;
  }
  std::uint64_t table = cr3 & address_mask;
  for (int level = 4; level >= 1; --level) {
    const unsigned shift = 12 + 9 * static_cast<unsigned>(level - 1);
    const std::uint64_t entry_gpa = table + ((linear >> shift) & 511) * 8;
    const std::optional<std::uint64_t> entry = read_entry(entry_gpa);
    if (!entry) {
      r.fault = std::string("page walk: the ") + level_name(level) + " at " + hex(entry_gpa) +
                " cannot be read privately (for " + hex(linear) + ")";
      return r;
    }
    if ((*entry & kPresent) == 0) {
      r.fault = std::string("#PF: ") + level_name(level) + " not present for linear " + hex(linear);
      return r;
    }
    if (write && (*entry & kWritable) == 0) {
      r.fault = std::string("#PF: write to ") + hex(linear) + " through a read-only " +
                level_name(level) + " (CR0.WP = 1)";
      return r;
    }
    const bool leaf = level == 1 || ((level == 2 || level == 3) && (*entry & kPageSizeBit) != 0);
    if (leaf) {
      const std::uint64_t size = std::uint64_t{1} << shift;
      r.ok = true;
      r.page_size = size;
      r.encrypted = (*entry & cbit) != 0;
      r.gpa = (*entry & address_mask & ~(size - 1)) | (linear & (size - 1));
      return r;
    }
    table = *entry & address_mask;
  }
  r.fault = "page walk: no leaf";  // unreachable: level 1 is always a leaf
  return r;
}

}  // namespace cvtpm::snp::model
