#include "arch/x86_64/paging.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/stacks.h"

namespace cvtpm::fw::x86 {

namespace {

// Tables in pool pages, reached through the identity map of the boot tables (the pool lies in
// the firmware region, which they map).
class PoolTableMemory final : public PageTableMemory {
 public:
  explicit PoolTableMemory(mm::PageAllocator& pages) : pages_(pages) {}
  std::uint64_t allocate_table() override { return pages_.allocate(1); }
  std::uint64_t* table(std::uint64_t physical) override {
    return reinterpret_cast<std::uint64_t*>(physical);
  }

 private:
  mm::PageAllocator& pages_;
};

}  // namespace

PagingResult build_and_activate(const PagingPlan& plan, const Activation& activation,
                                mm::PageAllocator& pages) {
  PoolTableMemory memory(pages);
  const PagingResult result = build_page_tables(plan, memory);
  if (result.root == 0) return result;
  if (plan.nx) {
    wrmsr(kMsrEfer,
          (activation.known_efer != 0 ? activation.known_efer : rdmsr(kMsrEfer)) | kEferNxe);
  }
  write_cr3(result.root | plan.encryption_mask);
  return result;
}

GuardPages stack_guard_pages() {
  static_assert(kStackCount <= 8);
  GuardPages out{};
  for (int i = 0; i < kStackCount; ++i) out.pages[out.count++] = stack(i).bottom - 4096;
  return out;
}

}  // namespace cvtpm::fw::x86
