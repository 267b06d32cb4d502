#include "cvtpm/snp/cpuid_table.h"

#include <cstring>

namespace cvtpm::snp {

namespace fs = formats::snp;

namespace {

constexpr std::uint64_t kCr4Osxsave = 1u << 18;
constexpr std::uint64_t kCr4Pke = 1u << 22;
constexpr std::uint32_t kLeaf1EcxOsxsave = 1u << 27;
constexpr std::uint32_t kLeaf7EcxOspke = 1u << 4;

}  // namespace

bool CpuidTable::indexed(std::uint32_t leaf) {
  switch (leaf) {
    case 0x4:
    case 0x7:
    case 0xB:
    case 0xD:
    case 0xF:
    case 0x10:
    case 0x12:
    case 0x14:
    case 0x17:
    case 0x18:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x24:
    case 0x8000'001D:
    case 0x8000'0020:
    case 0x8000'0026:
      return true;
    default:
      return false;
  }
}

SnpStatus CpuidTable::load(const fs::CpuidPage& page) {
  fs::CpuidPage copy;
  std::memcpy(&copy, &page, sizeof copy);  // one read of memory others may write
  if (copy.count == 0 || copy.count > fs::kCpuidMaxFunctions) {
    return SnpError{"CPUID page: bad function count", copy.count};
  }
  page_ = copy;
  loaded_ = true;
  return SnpStatus::success();
}

const fs::CpuidFunction* CpuidTable::find(std::uint32_t leaf, std::uint32_t subleaf) const {
  if (!loaded_) return nullptr;
  const bool by_subleaf = indexed(leaf);
  for (std::uint32_t i = 0; i < page_.count; ++i) {
    const fs::CpuidFunction& f = page_.functions[i];
    if (f.eax_in != leaf) continue;
    if (by_subleaf && f.ecx_in != subleaf) continue;
    // Leaf 0xD values depend on the enabled XSAVE state; the firmware runs with x87 only
    // (XCR0 = 1), which is what the table is asked about.
    if (leaf == 0xD && f.xcr0_in != 0 && f.xcr0_in != 1) continue;
    return &f;
  }
  return nullptr;
}

bool CpuidTable::contains(std::uint32_t leaf, std::uint32_t subleaf) const {
  return find(leaf, subleaf) != nullptr;
}

CpuidValues CpuidTable::lookup(std::uint32_t leaf, std::uint32_t subleaf, std::uint64_t cr4) const {
  const fs::CpuidFunction* f = find(leaf, subleaf);
  if (f == nullptr) return {0, 0, 0, 0};
  CpuidValues v{f->eax, f->ebx, f->ecx, f->edx};
  if (leaf == 0x1) {
    v.ecx = (v.ecx & ~kLeaf1EcxOsxsave) | ((cr4 & kCr4Osxsave) != 0 ? kLeaf1EcxOsxsave : 0);
  } else if (leaf == 0x7 && subleaf == 0) {
    v.ecx = (v.ecx & ~kLeaf7EcxOspke) | ((cr4 & kCr4Pke) != 0 ? kLeaf7EcxOspke : 0);
  }
  return v;
}

std::uint8_t CpuidTable::cbit_position() const {
  const fs::CpuidFunction* f = find(fs::kCpuidMemoryEncryptionLeaf, 0);
  return f == nullptr ? 0 : static_cast<std::uint8_t>(f->ebx & fs::kCpuidCbitMask);
}

}  // namespace cvtpm::snp
