#include "mm/heap.h"

#include <cstring>

namespace cvtpm::fw::mm {

namespace {

constexpr std::uint64_t kUsed = 1;
constexpr std::uint64_t kPrevFree = 2;
constexpr std::uint64_t kFlagMask = 15;
constexpr std::size_t kHeaderSize = 16;
// Header + free-list links + footer, rounded to the alignment.
constexpr std::size_t kMinBlock = 48;

constexpr std::size_t round_up(std::size_t value, std::size_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace

// Every block starts with this header. Free blocks also use `next`/`prev` and end with a footer
// holding their size, which lets free() find a free predecessor (kPrevFree) to coalesce with.
struct Heap::Block {
  std::uint64_t size_flags;
  std::uint64_t check;
  Block* next;
  Block* prev;

  std::size_t size() const { return size_flags & ~kFlagMask; }
  bool used() const { return (size_flags & kUsed) != 0; }
  bool prev_free() const { return (size_flags & kPrevFree) != 0; }
  Block* after() { return reinterpret_cast<Block*>(reinterpret_cast<char*>(this) + size()); }
  std::uint64_t* footer() {
    return reinterpret_cast<std::uint64_t*>(reinterpret_cast<char*>(this) + size() - 8);
  }
  void* payload() { return reinterpret_cast<char*>(this) + kHeaderSize; }
};

void Heap::init(GrowFn grow_fn, void* grow_context, ErrorFn on_error, void* error_context,
                std::uint64_t cookie) {
  *this = Heap{};
  grow_ = grow_fn;
  grow_context_ = grow_context;
  on_error_ = on_error;
  error_context_ = error_context;
  cookie_ = cookie;
}

void Heap::error(const char* what, const void* pointer) const {
  if (on_error_ != nullptr) on_error_(error_context_, what, pointer);
}

void Heap::stamp(Block* block, std::size_t size, std::uint64_t flags) const {
  block->size_flags = size | flags;
  block->check = block->size_flags ^ reinterpret_cast<std::uintptr_t>(block) ^ cookie_;
}

bool Heap::header_ok(const Block* block) const {
  return block->check == (block->size_flags ^ reinterpret_cast<std::uintptr_t>(block) ^ cookie_);
}

std::size_t Heap::bin_index(std::size_t block_size) {
  if (block_size <= 1024) return block_size / 16 - 3;
  std::size_t log2 = 63 - static_cast<std::size_t>(__builtin_clzll(block_size));
  return kSmallBins + (log2 - 10);
}

void Heap::link(Block* block) {
  const std::size_t index = bin_index(block->size());
  block->prev = nullptr;
  block->next = bins_[index];
  if (block->next != nullptr) block->next->prev = block;
  bins_[index] = block;
  bin_map_[index / 64] |= std::uint64_t{1} << (index % 64);
}

void Heap::unlink(Block* block) {
  const std::size_t index = bin_index(block->size());
  if (block->prev != nullptr) {
    block->prev->next = block->next;
  } else {
    bins_[index] = block->next;
  }
  if (block->next != nullptr) block->next->prev = block->prev;
  if (bins_[index] == nullptr) bin_map_[index / 64] &= ~(std::uint64_t{1} << (index % 64));
}

Heap::Block* Heap::take_fit(std::size_t need) {
  std::size_t index = bin_index(need);
  if (index >= kSmallBins) {
    // Large classes hold a range of sizes: first fit within the class.
    for (Block* b = bins_[index]; b != nullptr; b = b->next) {
      if (b->size() >= need) {
        unlink(b);
        return b;
      }
    }
    ++index;
  }
  // Any block of this or a larger class fits.
  for (std::size_t word = index / 64; word < 2; ++word) {
    std::uint64_t bits = bin_map_[word];
    if (word == index / 64) bits &= ~std::uint64_t{0} << (index % 64);
    if (bits != 0) {
      Block* b = bins_[word * 64 + static_cast<std::size_t>(__builtin_ctzll(bits))];
      unlink(b);
      return b;
    }
  }
  return nullptr;
}

void Heap::mark_used(Block* block, std::size_t need) {
  const std::size_t size = block->size();
  const std::uint64_t prev_flag = block->size_flags & kPrevFree;
  if (size - need >= kMinBlock) {
    stamp(block, need, kUsed | prev_flag);
    Block* rest = block->after();
    stamp(rest, size - need, 0);
    *rest->footer() = rest->size();
    link(rest);
  } else {
    stamp(block, size, kUsed | prev_flag);
    Block* next = block->after();
    stamp(next, next->size(), next->size_flags & kFlagMask & ~kPrevFree);
  }
  stats_.used_bytes += block->size();
  if (stats_.used_bytes > stats_.peak_used_bytes) stats_.peak_used_bytes = stats_.used_bytes;
  ++stats_.live_allocations;
  ++stats_.total_allocations;
}

bool Heap::add_region(void* start, std::size_t bytes) {
  if (region_count_ == kMaxRegions || start == nullptr) return false;
  const std::uintptr_t raw = reinterpret_cast<std::uintptr_t>(start);
  const std::uintptr_t first = round_up(raw, kAlignment);
  if (bytes < first - raw + kMinBlock + kHeaderSize) return false;
  const std::uintptr_t end = (raw + bytes - kHeaderSize) & ~std::uintptr_t{kAlignment - 1};
  auto* block = reinterpret_cast<Block*>(first);
  auto* sentinel = reinterpret_cast<Block*>(end);
  stamp(block, end - first, 0);
  *block->footer() = block->size();
  stamp(sentinel, 0, kUsed | kPrevFree);
  link(block);
  regions_[region_count_++] = Region{first, end};
  stats_.region_bytes += end + kHeaderSize - first;
  return true;
}

bool Heap::grow(std::size_t need) {
  if (grow_ == nullptr) return false;
  void* start = nullptr;
  std::size_t bytes = 0;
  if (!grow_(grow_context_, need + kHeaderSize + kAlignment, &start, &bytes)) return false;
  return add_region(start, bytes);
}

void* Heap::allocate(std::size_t bytes) {
  if (bytes > (~std::size_t{0} >> 2)) return nullptr;
  std::size_t need = round_up(bytes + kHeaderSize, kAlignment);
  if (need < kMinBlock) need = kMinBlock;
  Block* block = take_fit(need);
  if (block == nullptr) {
    if (!grow(need)) return nullptr;
    block = take_fit(need);
    if (block == nullptr) return nullptr;
  }
  mark_used(block, need);
  return block->payload();
}

void* Heap::allocate_zeroed(std::size_t count, std::size_t size) {
  if (size != 0 && count > (~std::size_t{0} >> 2) / size) return nullptr;
  void* p = allocate(count * size);
  if (p != nullptr) std::memset(p, 0, count * size);
  return p;
}

Heap::Block* Heap::block_of(const void* pointer, Operation operation) const {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);
  bool inside = false;
  for (std::size_t i = 0; i < region_count_ && !inside; ++i) {
    inside = address >= regions_[i].start + kHeaderSize && address < regions_[i].end;
  }
  if (!inside || address % kAlignment != 0) {
    error(operation == Operation::kFree ? "free(): pointer not from the heap"
                                        : "realloc(): pointer not from the heap",
          pointer);
    return nullptr;
  }
  auto* block = reinterpret_cast<Block*>(address - kHeaderSize);
  if (!header_ok(block)) {
    error("heap: invalid pointer or overwritten block header", pointer);
    return nullptr;
  }
  if (!block->used()) {
    error(
        operation == Operation::kFree ? "free(): double free" : "realloc(): pointer already freed",
        pointer);
    return nullptr;
  }
  return block;
}

void Heap::free(void* pointer) {
  if (pointer == nullptr) return;
  Block* block = block_of(pointer, Operation::kFree);
  if (block == nullptr) return;
  std::size_t size = block->size();
  Block* next = block->after();
  if (!header_ok(next)) {
    error("heap: block after a freed block is corrupt (overflow?)", pointer);
    return;
  }
  stats_.used_bytes -= size;
  --stats_.live_allocations;

  if (!next->used()) {
    unlink(next);
    size += next->size();
  }
  if (block->prev_free()) {
    const std::size_t prev_size =
        *reinterpret_cast<std::uint64_t*>(reinterpret_cast<char*>(block) - 8);
    auto* prev = reinterpret_cast<Block*>(reinterpret_cast<char*>(block) - prev_size);
    if (!header_ok(prev) || prev->used() || prev->size() != prev_size) {
      error("heap: free block before a freed block is corrupt", pointer);
      return;
    }
    unlink(prev);
    size += prev_size;
    block = prev;
  }
  stamp(block, size, 0);
  *block->footer() = size;
  link(block);
  Block* after = block->after();
  stamp(after, after->size(), (after->size_flags & kFlagMask) | kPrevFree);
}

void* Heap::reallocate(void* pointer, std::size_t bytes) {
  if (pointer == nullptr) return allocate(bytes);
  if (bytes == 0) {
    free(pointer);
    return nullptr;
  }
  Block* block = block_of(pointer, Operation::kRealloc);
  if (block == nullptr || bytes > (~std::size_t{0} >> 2)) return nullptr;
  std::size_t need = round_up(bytes + kHeaderSize, kAlignment);
  if (need < kMinBlock) need = kMinBlock;
  const std::size_t size = block->size();
  const std::uint64_t prev_flag = block->size_flags & kPrevFree;

  std::size_t available = size;
  Block* next = block->after();
  if (need > size && !next->used() && size + next->size() >= need) {
    unlink(next);
    available = size + next->size();
  }
  if (available >= need) {
    // Shrink in place, or grow into the free neighbour taken above.
    stats_.used_bytes -= size;
    --stats_.live_allocations;
    --stats_.total_allocations;
    stamp(block, available, prev_flag);  // a free block briefly, so mark_used can split it
    mark_used(block, need);
    if (block->size() < available) {
      // mark_used linked the tail; coalesce it with a free block after it.
      Block* tail = block->after();
      Block* after_tail = tail->after();
      if (!after_tail->used()) {
        unlink(tail);
        unlink(after_tail);
        stamp(tail, tail->size() + after_tail->size(), 0);
        *tail->footer() = tail->size();
        link(tail);
      }
      Block* following = tail->after();
      stamp(following, following->size(), (following->size_flags & kFlagMask) | kPrevFree);
    }
    return pointer;
  }
  void* moved = allocate(bytes);
  if (moved == nullptr) return nullptr;
  std::memcpy(moved, pointer, size - kHeaderSize);
  free(pointer);
  return moved;
}

std::size_t Heap::usable_size(const void* pointer) const {
  if (pointer == nullptr) return 0;
  const Block* block = block_of(pointer, Operation::kRealloc);
  return block == nullptr ? 0 : block->size() - kHeaderSize;
}

bool Heap::check() const {
  std::size_t used_bytes = 0;
  std::size_t used_blocks = 0;
  std::size_t free_blocks = 0;
  std::size_t region_bytes = 0;
  for (std::size_t r = 0; r < region_count_; ++r) {
    const Region& region = regions_[r];
    region_bytes += region.end + kHeaderSize - region.start;
    bool previous_free = false;
    auto* block = reinterpret_cast<Block*>(region.start);
    while (reinterpret_cast<std::uintptr_t>(block) < region.end) {
      const std::size_t size = block->size();
      if (!header_ok(block) || size < kMinBlock || size % kAlignment != 0 ||
          reinterpret_cast<std::uintptr_t>(block) + size > region.end ||
          block->prev_free() != previous_free) {
        return false;
      }
      if (block->used()) {
        used_bytes += size;
        ++used_blocks;
      } else {
        if (previous_free || *block->footer() != size) return false;
        ++free_blocks;
      }
      previous_free = !block->used();
      block = block->after();
    }
    if (reinterpret_cast<std::uintptr_t>(block) != region.end || !header_ok(block) ||
        block->size() != 0 || !block->used() || block->prev_free() != previous_free) {
      return false;
    }
  }
  std::size_t listed = 0;
  for (std::size_t index = 0; index < kBins; ++index) {
    const bool marked = (bin_map_[index / 64] >> (index % 64)) & 1;
    if (marked != (bins_[index] != nullptr)) return false;
    const Block* prev = nullptr;
    for (const Block* b = bins_[index]; b != nullptr; b = b->next) {
      if (!header_ok(b) || b->used() || bin_index(b->size()) != index || b->prev != prev) {
        return false;
      }
      prev = b;
      if (++listed > free_blocks) return false;
    }
  }
  return listed == free_blocks && used_bytes == stats_.used_bytes &&
         used_blocks == stats_.live_allocations && region_bytes == stats_.region_bytes;
}

}  // namespace cvtpm::fw::mm
