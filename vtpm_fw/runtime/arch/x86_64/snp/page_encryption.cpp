#include "arch/x86_64/snp/page_encryption.h"

#include "arch/x86_64/cpu.h"

namespace cvtpm::fw::x86::snp {

namespace {

constexpr std::uint64_t kPresent = 1;
constexpr std::uint64_t kLarge = 0x80;
constexpr std::uint64_t kLargePat = 1u << 12;  // PAT bit of a 2 MiB entry (bit 7 for 4 KiB)
constexpr std::uint64_t kAddressBits = 0x000F'FFFF'FFFF'F000;

void invlpg(std::uint64_t va) {
  asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

}  // namespace

bool set_page_encryption(std::uint64_t va, bool encrypted, std::uint64_t cbit_mask,
                         std::uint64_t* spare_table) {
  const std::uint64_t address_mask = kAddressBits & ~cbit_mask;
  auto* table = reinterpret_cast<std::uint64_t*>(read_cr3() & address_mask);
  for (int level = 4; level > 1; --level) {
    std::uint64_t& entry = table[(va >> (12 + 9 * (level - 1))) & 511];
    if ((entry & kPresent) == 0) return false;
    if (level == 2 && (entry & kLarge) != 0) {
      if (spare_table == nullptr) return false;
      // Split: 512 4 KiB entries with the large page's attributes (PAT moves from bit 12 to 7).
      const std::uint64_t base = entry & address_mask & ~std::uint64_t{0x1F'FFFF};
      std::uint64_t flags = entry & ~address_mask & ~kLarge & ~kLargePat;
      if ((entry & kLargePat) != 0) flags |= kLarge;  // bit 7 = PAT in a 4 KiB entry
      for (std::uint64_t i = 0; i < 512; ++i) spare_table[i] = (base + i * 4096) | flags;
      const std::uint64_t pointer_flags = (entry & (cbit_mask | 0x7)) | kPresent;
      entry = reinterpret_cast<std::uint64_t>(spare_table) | pointer_flags;
      write_cr3(read_cr3());  // a large translation may be cached: flush everything
    }
    if (level == 2 && (entry & kLarge) != 0) return false;
    table = reinterpret_cast<std::uint64_t*>(entry & address_mask);
  }
  std::uint64_t& leaf = table[(va >> 12) & 511];
  if ((leaf & kPresent) == 0) return false;
  leaf = encrypted ? (leaf | cbit_mask) : (leaf & ~cbit_mask);
  invlpg(va);
  return true;
}

}  // namespace cvtpm::fw::x86::snp
