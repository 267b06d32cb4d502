#include "cvtpm/measure/launch_digest.h"

#include <gtest/gtest.h>

#include "reference_chain.h"

namespace cvtpm::measure {
namespace {

using testing::ReferenceChain;

std::vector<std::uint8_t> pattern(std::size_t size, std::uint8_t seed) {
  std::vector<std::uint8_t> v(size);
  for (std::size_t i = 0; i < size; ++i) v[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return v;
}

TEST(SnpLaunchDigest, StartsAtZeroOrAtTheSeed) {
  EXPECT_EQ(SnpLaunchDigest().digest(), Sha384Digest{});
  Sha384Digest seed{};
  seed[0] = 0xAB;
  EXPECT_EQ(SnpLaunchDigest(seed).digest(), seed);
}

TEST(SnpLaunchDigest, MatchesAnIndependentChainForEveryPageType) {
  const auto data = pattern(3 * 4096, 1);
  const auto vmsa = pattern(4096, 9);
  SnpLaunchDigest ld;
  ReferenceChain ref;

  ld.add_normal_pages(0xFFFFD000, data);
  ref.normal(0xFFFFD000, data);
  EXPECT_EQ(ld.digest(), ref.digest());

  ld.add_empty_pages(0x800000, 0x2000, PageType::kZero);
  ref.pages(0x800000, 0x2000, ReferenceChain::kZero);
  ld.add_empty_pages(0x802000, 0x1000, PageType::kUnmeasured);
  ref.pages(0x802000, 0x1000, ReferenceChain::kUnmeasured);
  ld.add_page(0x803000, PageType::kSecrets);
  ref.page(0x803000, ReferenceChain::kSecrets);
  ld.add_page(0x804000, PageType::kCpuid);
  ref.page(0x804000, ReferenceChain::kCpuid);
  ld.add_vmsa_page(vmsa);
  ref.page(0xFFFFFFFFF000, ReferenceChain::kVmsa, vmsa);
  EXPECT_EQ(ld.digest(), ref.digest());
}

TEST(SnpLaunchDigest, OrderAndGpaChangeTheDigest) {
  const auto page = pattern(4096, 3);
  SnpLaunchDigest a, b, c;
  a.add_normal_pages(0x1000, page);
  a.add_page(0x2000, PageType::kZero);
  b.add_page(0x2000, PageType::kZero);
  b.add_normal_pages(0x1000, page);
  c.add_normal_pages(0x3000, page);
  c.add_page(0x2000, PageType::kZero);
  EXPECT_NE(a.digest(), b.digest());
  EXPECT_NE(a.digest(), c.digest());
}

TEST(SnpLaunchDigest, RejectsContentsThatDoNotMatchThePageType) {
  SnpLaunchDigest ld;
  const auto page = pattern(4096, 0);
  EXPECT_THROW(ld.add_page(0, PageType::kNormal), std::logic_error);
  EXPECT_THROW(ld.add_page(0, PageType::kZero, page), std::logic_error);
  EXPECT_THROW(ld.add_normal_pages(0, pattern(100, 0)), std::logic_error);
  EXPECT_EQ(ld.digest(), Sha384Digest{});  // nothing was added
}

TEST(MeasuredRegions, CoalescesContiguousPagesOfOneType) {
  SnpLaunchDigest ld;
  MeasuredRegions regions;
  ld.record_into(&regions);
  ld.add_normal_pages(0xFFFFE000, pattern(2 * 4096, 0));
  ld.add_empty_pages(0x800000, 0x3000, PageType::kZero);
  ld.add_page(0x803000, PageType::kSecrets);
  ld.add_vmsa_page(pattern(4096, 1));
  ld.add_vmsa_page(pattern(4096, 2));
  EXPECT_EQ(regions.to_text(),
            "gpa 0xffffe000 len 0x2000 (Normal page)\n"
            "gpa 0x800000 len 0x3000 (Zero page)\n"
            "gpa 0x803000 len 0x1000 (Secrets page)\n"
            "gpa 0xfffffffff000 len 0x1000 (VMSA page)\n"
            "gpa 0xfffffffff000 len 0x1000 (VMSA page)\n");
}

}  // namespace
}  // namespace cvtpm::measure
