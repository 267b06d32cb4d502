#include "arch/x86_64/page_tables.h"

namespace cvtpm::fw::x86 {

namespace {

constexpr std::uint64_t kPresent = 1;
constexpr std::uint64_t kWritable = 2;
constexpr std::uint64_t kLarge = 0x80;         // PS in a PDPT or PD entry
constexpr std::uint64_t kLargePat = 1u << 12;  // PAT bit of a 2 MiB entry (bit 7 in 4 KiB ones)
constexpr std::uint64_t kUncached = 0x18;      // PCD | PWT
constexpr std::uint64_t kNoExecute = std::uint64_t{1} << 63;
constexpr std::uint64_t kAddressBits = 0x000F'FFFF'FFFF'F000;
// The chipset's MMIO window below 4 GiB (IOAPIC 0xFEC00000, local APIC 0xFEE00000, ...).
constexpr std::uint64_t kMmioStart = 0xFE00'0000;
constexpr std::uint64_t kMmioEnd = std::uint64_t{1} << 32;
constexpr std::uint64_t k2M = 2 * 1024 * 1024;
constexpr std::uint64_t k4K = 4096;

class Builder {
 public:
  Builder(PageTableMemory& memory, bool nx, std::uint64_t encryption)
      : memory_(memory), nx_(nx ? kNoExecute : 0), encryption_(encryption) {}

  bool init() { return (root_ = new_table()) != 0; }
  std::uint64_t root() const { return root_; }
  std::uint64_t tables() const { return tables_; }
  std::uint64_t no_execute() const { return nx_; }

  bool map_2m(std::uint64_t va, std::uint64_t physical, std::uint64_t flags) {
    std::uint64_t* pd = walk(va, 2);
    if (pd == nullptr) return false;
    pd[(va >> 21) & 511] = physical | flags | encryption_ | kPresent | kLarge;
    return true;
  }

  bool map_4k(std::uint64_t address, std::uint64_t flags, bool shared) {
    std::uint64_t* pt = walk(address, 1);
    if (pt == nullptr) return false;
    pt[(address >> 12) & 511] = address | flags | (shared ? 0 : encryption_) | kPresent;
    return true;
  }

 private:
  std::uint64_t new_table() {
    const std::uint64_t page = memory_.allocate_table();
    if (page == 0) return 0;
    ++tables_;
    std::uint64_t* table = memory_.table(page);
    for (int i = 0; i < 512; ++i) table[i] = 0;
    return page;
  }

  // The table at `level` (1: PT, 2: PD) that maps `va`, created on the way down.
  std::uint64_t* walk(std::uint64_t va, int level) {
    std::uint64_t* table = memory_.table(root_);
    for (int current = 4; current > level; --current) {
      std::uint64_t& entry = table[(va >> (12 + 9 * (current - 1))) & 511];
      if ((entry & kPresent) == 0) {
        const std::uint64_t next = new_table();
        if (next == 0) return nullptr;
        entry = next | encryption_ | kPresent | kWritable;
      }
      table = memory_.table(entry & kAddressBits & ~encryption_);
    }
    return table;
  }

  PageTableMemory& memory_;
  std::uint64_t nx_;
  std::uint64_t encryption_;
  std::uint64_t root_ = 0;
  std::uint64_t tables_ = 0;
};

bool listed(const std::uint64_t* pages, std::size_t count, std::uint64_t address) {
  for (std::size_t i = 0; i < count; ++i) {
    if (pages[i] == address) return true;
  }
  return false;
}

}  // namespace

std::uint64_t identity_limit_for(std::uint64_t ram_top) {
  constexpr std::uint64_t k1G = std::uint64_t{1} << 30;
  constexpr std::uint64_t kMin = std::uint64_t{4} << 30;
  constexpr std::uint64_t kMax = std::uint64_t{512} << 30;
  std::uint64_t top = ram_top > kMin ? ram_top : kMin;
  top = top > kMax ? kMax : (top + k1G - 1) & ~(k1G - 1);
  return top;
}

PagingResult build_page_tables(const PagingPlan& plan, PageTableMemory& memory) {
  Builder b(memory, plan.nx, plan.encryption_mask);
  if (!b.init()) return {};
  const std::uint64_t data = kWritable | b.no_execute();

  // Everything outside the firmware region and the first 2 MiB: large pages, data only.
  const std::uint64_t region_first = plan.region_start & ~(k2M - 1);
  const std::uint64_t region_last = (plan.region_end + k2M - 1) & ~(k2M - 1);
  for (std::uint64_t a = k2M; a < plan.identity_limit; a += k2M) {
    if (a >= region_first && a < region_last) continue;
    const std::uint64_t cache = a >= kMmioStart && a < kMmioEnd ? kUncached : 0;
    if (!b.map_2m(a, a, data | cache)) return {};
  }
  // First 2 MiB without page 0.
  for (std::uint64_t a = k4K; a < k2M; a += k4K) {
    if (!b.map_4k(a, data, false)) return {};
  }
  // The firmware region (and whatever shares its first and last 2 MiB).
  const mm::ImageLayout& image = plan.image;
  for (std::uint64_t a = region_first; a < region_last; a += k4K) {
    std::uint64_t flags = data;
    if (a >= image.start && a < image.text_end) {
      flags = 0;  // read-only, executable
    } else if (a >= image.text_end && a < image.rodata_end) {
      flags = b.no_execute();
    } else if (listed(plan.guard_pages, plan.guard_page_count, a)) {
      continue;
    }
    if (!b.map_4k(a, flags, listed(plan.shared_pages, plan.shared_page_count, a))) return {};
  }
  // The guest window: guest memory only, so the firmware region is not in it. Write-back: the
  // guest's RAM and flash are ordinary (private) memory, the MMIO window has no guest pages.
  if (plan.guest_window != 0) {
    for (std::uint64_t a = 0; a < plan.identity_limit; a += k2M) {
      if (a >= region_first && a < region_last) continue;
      if (!b.map_2m(plan.guest_window + a, a, data)) return {};
    }
  }
  return PagingResult{b.root(), b.tables()};
}

bool set_leaf_encryption(PageTableMemory& memory, std::uint64_t root, std::uint64_t va,
                         bool encrypted, std::uint64_t cbit_mask, std::uint64_t spare_table,
                         bool& split) {
  split = false;
  const std::uint64_t address_mask = kAddressBits & ~cbit_mask;
  std::uint64_t* table = memory.table(root & address_mask);
  for (int level = 4; level > 1; --level) {
    std::uint64_t& entry = table[(va >> (12 + 9 * (level - 1))) & 511];
    if ((entry & kPresent) == 0) return false;
    if (level == 3 && (entry & kLarge) != 0) return false;  // 1 GiB pages are never split here
    if (level == 2 && (entry & kLarge) != 0) {
      if (spare_table == 0) return false;
      // Split: 512 4 KiB entries with the large page's attributes (PAT moves from bit 12 to 7).
      const std::uint64_t base = entry & address_mask & ~(k2M - 1);
      std::uint64_t flags = entry & ~address_mask & ~kLarge & ~kLargePat;
      if ((entry & kLargePat) != 0) flags |= kLarge;  // bit 7 = PAT in a 4 KiB entry
      std::uint64_t* spare = memory.table(spare_table);
      for (std::uint64_t i = 0; i < 512; ++i) spare[i] = (base + i * k4K) | flags;
      const std::uint64_t pointer_flags = (entry & (cbit_mask | 0x7)) | kPresent;
      entry = spare_table | pointer_flags;
      split = true;
    }
    table = memory.table(entry & address_mask);
  }
  std::uint64_t& leaf = table[(va >> 12) & 511];
  if ((leaf & kPresent) == 0) return false;
  leaf = encrypted ? (leaf | cbit_mask) : (leaf & ~cbit_mask);
  return true;
}

}  // namespace cvtpm::fw::x86
