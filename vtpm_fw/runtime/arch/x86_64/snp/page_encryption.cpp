#include "arch/x86_64/snp/page_encryption.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/page_tables.h"

namespace cvtpm::fw::x86::snp {

namespace {

// The live tables: identity mapped (they lie in the firmware region).
class LiveTableMemory final : public PageTableMemory {
 public:
  std::uint64_t allocate_table() override { return 0; }
  std::uint64_t* table(std::uint64_t physical) override {
    return reinterpret_cast<std::uint64_t*>(physical);
  }
};

}  // namespace

bool set_page_encryption(std::uint64_t va, bool encrypted, std::uint64_t cbit_mask,
                         std::uint64_t* spare_table, bool& spare_used) {
  LiveTableMemory memory;
  bool split = false;
  const bool ok = set_leaf_encryption(memory, read_cr3(), va, encrypted, cbit_mask,
                                      reinterpret_cast<std::uint64_t>(spare_table), split);
  spare_used = split;
  if (split) {
    write_cr3(read_cr3());  // a large translation may be cached: flush everything
  } else if (ok) {
    asm volatile("invlpg (%0)" : : "r"(va) : "memory");
  }
  return ok;
}

}  // namespace cvtpm::fw::x86::snp
