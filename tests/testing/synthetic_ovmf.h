// Builds OVMF-like flash images byte by byte, independently of the project's parser, so tests
// can feed it both well-formed and deliberately broken metadata.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cvtpm::testing {

// "xxxxxxxx-xxxx-..." to the 16 mixed-endian bytes stored on disk.
std::vector<std::uint8_t> guid_bytes(const std::string& text);

struct SyntheticSection {
  std::uint32_t gpa;
  std::uint32_t size;
  std::uint32_t type;
};

struct SyntheticOvmf {
  std::size_t pages = 4;
  std::uint32_t fill_seed = 1;  // page contents are a deterministic pseudo-random pattern
  bool footer = true;
  std::optional<std::uint32_t> reset_eip = 0x0080B004;
  bool metadata = true;
  std::vector<SyntheticSection> sections = {
      {0x800000, 0x9000, 1}, {0x80A000, 0x3000, 1},  {0x80D000, 0x1000, 2}, {0x80E000, 0x1000, 3},
      {0x80F000, 0x1000, 4}, {0x810000, 0x1000, 16}, {0x811000, 0xF000, 1}};
  std::optional<std::uint32_t> hash_table_gpa = 0x810C00;  // SEV_HASH_TABLE_RV base
  std::optional<std::uint32_t> svsm_info;                  // SVSM_INFO entry offset
  // IGVM metadata (edk2 >= stable202511), as Debian's ovmf-generic 2026.08 carries it: the
  // parameter area with the memory map (8 entries) and the VP count, and the HOB area.
  bool igvm_metadata = true;
  std::vector<SyntheticSection> igvm_sections = {{0x812000, 0x1000, 0x100},
                                                 {0x0, 0xC0, 0x101},
                                                 {0xC0, 0x10, 0x102},
                                                 {0x813000, 0x1000, 0x200}};

  std::vector<std::uint8_t> build() const;

  // Where build() puts things, for tests that corrupt them.
  static constexpr std::size_t kMetadataOffsetFromEnd = 0x800;  // header at size - 0x800
  static constexpr std::size_t kIgvmMetadataOffsetFromEnd = 0x900;
  static std::size_t footer_offset(std::size_t image_size) { return image_size - 32 - 18; }
};

}  // namespace cvtpm::testing
