#include "arch/x86_64/paging.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/stacks.h"
#include "libc/shim.h"

namespace cvtpm::fw::x86 {

namespace {

constexpr std::uint64_t kPresent = 1;
constexpr std::uint64_t kWritable = 2;
constexpr std::uint64_t kLarge = 0x80;
constexpr std::uint64_t kUncached = 0x18;  // PCD | PWT
// The chipset's MMIO window below 4 GiB (IOAPIC 0xFEC00000, local APIC 0xFEE00000, ...).
constexpr std::uint64_t kMmioStart = 0xFE00'0000;
constexpr std::uint64_t kMmioEnd = std::uint64_t{1} << 32;
constexpr std::uint64_t kNoExecute = std::uint64_t{1} << 63;
constexpr std::uint64_t kAddressMask = 0x000F'FFFF'FFFF'F000;
constexpr std::uint64_t k2M = 2 * 1024 * 1024;
constexpr std::uint64_t k4K = 4096;

class Builder {
 public:
  Builder(mm::PageAllocator& pages, bool nx, std::uint64_t encryption)
      : pages_(pages), nx_(nx ? kNoExecute : 0), encryption_(encryption) {}

  bool init() { return (root_ = new_table()) != nullptr; }
  std::uint64_t root() const { return reinterpret_cast<std::uint64_t>(root_); }
  std::uint64_t tables() const { return tables_; }
  std::uint64_t no_execute() const { return nx_; }

  bool map_2m(std::uint64_t address, std::uint64_t flags) {
    std::uint64_t* pd = walk(address, 2);
    if (pd == nullptr) return false;
    pd[(address >> 21) & 511] = address | flags | encryption_ | kPresent | kLarge;
    return true;
  }

  bool map_4k(std::uint64_t address, std::uint64_t flags, bool shared = false) {
    std::uint64_t* pt = walk(address, 1);
    if (pt == nullptr) return false;
    pt[(address >> 12) & 511] = address | flags | (shared ? 0 : encryption_) | kPresent;
    return true;
  }

 private:
  std::uint64_t* new_table() {
    const std::uint64_t page = pages_.allocate(1);
    if (page == 0) return nullptr;
    ++tables_;
    auto* table = reinterpret_cast<std::uint64_t*>(page);
    libc::memset(table, 0, k4K);
    return table;
  }

  // The table at `level` (1: PT, 2: PD) that maps `address`, created on the way down.
  std::uint64_t* walk(std::uint64_t address, int level) {
    std::uint64_t* table = root_;
    for (int current = 4; current > level; --current) {
      std::uint64_t& entry = table[(address >> (12 + 9 * (current - 1))) & 511];
      if ((entry & kPresent) == 0) {
        std::uint64_t* next = new_table();
        if (next == nullptr) return nullptr;
        entry = reinterpret_cast<std::uint64_t>(next) | encryption_ | kPresent | kWritable;
      }
      table = reinterpret_cast<std::uint64_t*>(entry & kAddressMask & ~encryption_);
    }
    return table;
  }

  mm::PageAllocator& pages_;
  std::uint64_t nx_;
  std::uint64_t encryption_;
  std::uint64_t* root_ = nullptr;
  std::uint64_t tables_ = 0;
};

bool is_guard_page(std::uint64_t address) {
  const Stack* s = stack_guarded_by(address);
  return s != nullptr;
}

}  // namespace

PagingResult build_and_activate(const PagingPlan& plan, mm::PageAllocator& pages) {
  Builder b(pages, plan.nx, plan.encryption_mask);
  if (!b.init()) return {};
  const std::uint64_t data = kWritable | b.no_execute();

  // Everything outside the firmware region and the first 2 MiB: large pages, data only.
  const std::uint64_t region_first = plan.region_start & ~(k2M - 1);
  const std::uint64_t region_last = (plan.region_end + k2M - 1) & ~(k2M - 1);
  for (std::uint64_t a = k2M; a < plan.identity_limit; a += k2M) {
    if (a >= region_first && a < region_last) continue;
    const std::uint64_t cache = a >= kMmioStart && a < kMmioEnd ? kUncached : 0;
    if (!b.map_2m(a, data | cache)) return {};
  }
  // First 2 MiB without page 0.
  for (std::uint64_t a = k4K; a < k2M; a += k4K) {
    if (!b.map_4k(a, data)) return {};
  }
  // The firmware region (and whatever shares its first and last 2 MiB).
  const mm::ImageLayout& image = plan.image;
  for (std::uint64_t a = region_first; a < region_last; a += k4K) {
    std::uint64_t flags = data;
    if (a >= image.start && a < image.text_end) {
      flags = 0;  // read-only, executable
    } else if (a >= image.text_end && a < image.rodata_end) {
      flags = b.no_execute();
    } else if (a >= image.stacks_start && a < image.stacks_end && is_guard_page(a)) {
      continue;
    }
    bool shared = false;
    for (std::size_t i = 0; i < plan.shared_page_count; ++i) shared |= plan.shared_pages[i] == a;
    if (!b.map_4k(a, flags, shared)) return {};
  }

  if (plan.nx)
    wrmsr(kMsrEfer, (plan.known_efer != 0 ? plan.known_efer : rdmsr(kMsrEfer)) | kEferNxe);
  write_cr3(b.root() | plan.encryption_mask);
  return PagingResult{b.root(), b.tables()};
}

}  // namespace cvtpm::fw::x86
