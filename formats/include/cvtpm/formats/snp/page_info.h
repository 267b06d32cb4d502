// SEV-SNP launch measurement: the PAGE_INFO structure hashed for every page added to a guest
// (SNP Firmware ABI, "PAGE_INFO", launch digest chaining). Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::snp {

inline constexpr std::size_t kPageSize = 4096;
inline constexpr std::size_t kDigestSize = 48;  // SHA-384

// PAGE_TYPE values of SNP_LAUNCH_UPDATE.
enum class PageType : std::uint8_t {
  kNormal = 0x1,
  kVmsa = 0x2,
  kZero = 0x3,
  kUnmeasured = 0x4,
  kSecrets = 0x5,
  kCpuid = 0x6,
};

// new_digest = SHA-384(PageInfo{digest_cur = old_digest, ...}).
struct PageInfo {
  std::uint8_t digest_cur[kDigestSize];
  std::uint8_t contents[kDigestSize];  // SHA-384 of the page for NORMAL/VMSA, else zero
  std::uint16_t length;                // always sizeof(PageInfo)
  std::uint8_t page_type;
  std::uint8_t imi_page;
  std::uint8_t vmpl3_perms;
  std::uint8_t vmpl2_perms;
  std::uint8_t vmpl1_perms;
  std::uint8_t reserved;
  std::uint64_t gpa;
};
static_assert(sizeof(PageInfo) == 0x70);
static_assert(offsetof(PageInfo, contents) == 0x30);
static_assert(offsetof(PageInfo, length) == 0x60);
static_assert(offsetof(PageInfo, page_type) == 0x62);
static_assert(offsetof(PageInfo, imi_page) == 0x63);
static_assert(offsetof(PageInfo, vmpl3_perms) == 0x64);
static_assert(offsetof(PageInfo, gpa) == 0x68);

// KVM places every VMSA at this GPA when measuring it ((u64)-1, page aligned, bits above 51
// cleared).
inline constexpr std::uint64_t kVmsaGpa = 0xFFFFFFFFF000ULL;

}  // namespace cvtpm::formats::snp
