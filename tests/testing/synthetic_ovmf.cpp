#include "synthetic_ovmf.h"

#include <stdexcept>

namespace cvtpm::testing {
namespace {

void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  b[at] = v & 0xFF;
  b[at + 1] = (v >> 8) & 0xFF;
}
void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = (v >> (8 * i)) & 0xFF;
}

}  // namespace

std::vector<std::uint8_t> guid_bytes(const std::string& text) {
  std::string hex;
  for (char c : text) {
    if (c != '-') hex.push_back(c);
  }
  if (hex.size() != 32) throw std::invalid_argument("bad GUID " + text);
  std::vector<std::uint8_t> be(16);
  for (int i = 0; i < 16; ++i)
    be[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  // Data1 (4 bytes), Data2, Data3 (2 bytes each) are little-endian on disk.
  return {be[3], be[2], be[1],  be[0],  be[5],  be[4],  be[7],  be[6],
          be[8], be[9], be[10], be[11], be[12], be[13], be[14], be[15]};
}

std::vector<std::uint8_t> SyntheticOvmf::build() const {
  std::vector<std::uint8_t> img(pages * 4096);
  std::uint32_t x = fill_seed * 2654435761u + 12345;
  for (auto& byte : img) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<std::uint8_t>(x);
  }
  if (!footer) return img;

  // Footer table entries, written backwards from the footer entry.
  std::size_t footer_at = footer_offset(img.size());
  std::size_t end = footer_at;
  auto add_entry = [&](const std::string& guid, const std::vector<std::uint8_t>& data) {
    std::size_t size = data.size() + 18;
    std::size_t start = end - size;
    std::copy(data.begin(), data.end(), img.begin() + static_cast<std::ptrdiff_t>(start));
    put16(img, end - 18, static_cast<std::uint32_t>(size));
    auto g = guid_bytes(guid);
    std::copy(g.begin(), g.end(), img.begin() + static_cast<std::ptrdiff_t>(end - 16));
    end = start;
  };
  auto u32 = [](std::uint32_t v) {
    return std::vector<std::uint8_t>{std::uint8_t(v), std::uint8_t(v >> 8), std::uint8_t(v >> 16),
                                     std::uint8_t(v >> 24)};
  };
  if (reset_eip) add_entry("00f771de-1a7e-4fcb-890e-68c77e2fb44e", u32(*reset_eip));
  if (hash_table_gpa) {
    auto d = u32(*hash_table_gpa);
    auto s = u32(0x400);
    d.insert(d.end(), s.begin(), s.end());
    add_entry("7255371f-3a3b-4b04-927b-1da6efa8d454", d);
  }
  if (svsm_info) add_entry("a789a612-0597-4c4b-a49f-cbb1fe9d1ddd", u32(*svsm_info));
  if (igvm_metadata) {
    add_entry("784fa70e-3176-4677-8a20-04b68699e374", u32(kIgvmMetadataOffsetFromEnd));
  }
  if (metadata) {
    add_entry("dc886566-984a-4798-a75e-5585a7bf67cc", u32(kMetadataOffsetFromEnd));
  }
  auto write_descriptor = [&](std::size_t at, const char* signature,
                              const std::vector<SyntheticSection>& list) {
    for (int i = 0; i < 4; ++i) img[at + i] = static_cast<std::uint8_t>(signature[i]);
    put32(img, at + 4, static_cast<std::uint32_t>(16 + 12 * list.size()));
    put32(img, at + 8, 1);
    put32(img, at + 12, static_cast<std::uint32_t>(list.size()));
    for (std::size_t i = 0; i < list.size(); ++i) {
      put32(img, at + 16 + 12 * i, list[i].gpa);
      put32(img, at + 20 + 12 * i, list[i].size);
      put32(img, at + 24 + 12 * i, list[i].type);
    }
  };
  if (metadata) write_descriptor(img.size() - kMetadataOffsetFromEnd, "ASEV", sections);
  if (igvm_metadata) {
    write_descriptor(img.size() - kIgvmMetadataOffsetFromEnd, "IGVM", igvm_sections);
  }
  // The footer entry itself: size covers every entry plus the footer's own 18 bytes.
  put16(img, footer_at, static_cast<std::uint32_t>(footer_at - end + 18));
  auto g = guid_bytes("96b582de-1fb2-45f7-baea-a366c55a082d");
  std::copy(g.begin(), g.end(), img.begin() + static_cast<std::ptrdiff_t>(footer_at + 2));
  return img;
}

}  // namespace cvtpm::testing
