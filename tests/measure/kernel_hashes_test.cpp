#include "cvtpm/measure/kernel_hashes.h"

#include <gtest/gtest.h>

#include <cstring>

#include "reference_chain.h"
#include "synthetic_ovmf.h"

namespace cvtpm::measure {
namespace {

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(KernelHashes, HashesFilesAndTheNulTerminatedCommandLine) {
  const std::string kernel = "kernel image", initrd = "initrd image";
  KernelHashes h = kernel_hashes(bytes(kernel), bytes(initrd), "console=ttyS0");
  EXPECT_EQ(h.kernel, testing::reference_sha256(bytes(kernel)));
  EXPECT_EQ(h.initrd, testing::reference_sha256(bytes(initrd)));
  EXPECT_EQ(h.cmdline, testing::reference_sha256(bytes(std::string_view("console=ttyS0\0", 14))));

  KernelHashes none = kernel_hashes(bytes(kernel), std::nullopt, std::nullopt);
  EXPECT_EQ(none.initrd, testing::reference_sha256({}));
  EXPECT_EQ(none.cmdline, testing::reference_sha256(bytes(std::string_view("\0", 1))));
}

TEST(KernelHashes, PageHoldsTheTableAtItsOffset) {
  KernelHashes h{};
  for (int i = 0; i < 32; ++i) {
    h.cmdline[i] = static_cast<std::uint8_t>(i);
    h.initrd[i] = static_cast<std::uint8_t>(0x40 + i);
    h.kernel[i] = static_cast<std::uint8_t>(0x80 + i);
  }
  auto page = kernel_hashes_page(h, 0xC00);

  // Build the expected page from raw offsets: header GUID, u16 168, then three 50-byte entries.
  std::array<std::uint8_t, 4096> expected{};
  std::size_t at = 0xC00;
  auto put_guid = [&](const char* text) {
    auto g = testing::guid_bytes(text);
    std::copy(g.begin(), g.end(), expected.begin() + static_cast<std::ptrdiff_t>(at));
    at += 16;
  };
  auto put_u16 = [&](std::uint16_t v) {
    expected[at++] = v & 0xFF;
    expected[at++] = v >> 8;
  };
  put_guid("9438d606-4f22-4cc9-b479-a793d411fd21");
  put_u16(168);
  const std::pair<const char*, const Sha256Digest*> entries[] = {
      {"97d02dd8-bd20-4c94-aa78-e7714d36ab2a", &h.cmdline},
      {"44baf731-3a2f-4bd7-9af1-41e29169781d", &h.initrd},
      {"4de79437-abd2-427f-b835-d5b172d2045b", &h.kernel}};
  for (auto [guid, digest] : entries) {
    put_guid(guid);
    put_u16(50);
    std::copy(digest->begin(), digest->end(), expected.begin() + static_cast<std::ptrdiff_t>(at));
    at += 32;
  }
  EXPECT_EQ(at, 0xC00u + 168);
  EXPECT_EQ(page, expected);
}

TEST(KernelHashes, TableMustFitItsPage) {
  EXPECT_NO_THROW(kernel_hashes_page(KernelHashes{}, 4096 - 176));
  EXPECT_THROW(kernel_hashes_page(KernelHashes{}, 4096 - 175), std::invalid_argument);
}

}  // namespace
}  // namespace cvtpm::measure
