#include "cvtpm/formats/ovmf/ovmf_image.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"
#include "synthetic_ovmf.h"

namespace cvtpm::formats::ovmf {
namespace {

using testing::SyntheticOvmf;
using testing::SyntheticSection;

const std::filesystem::path kVectors =
    std::filesystem::path(CVTPM_SOURCE_DIR) / ".." / "shared" / "vectors";

std::string parse_error(const std::vector<std::uint8_t>& bytes) {
  try {
    OvmfImage image = OvmfImage::parse(bytes, "img.fd");
    image.require_sev_metadata();
    image.sev_es_reset_eip();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

TEST(OvmfImage, ParsesThePublishedAmdSevFixture) {
  if (!std::filesystem::exists(kVectors))
    GTEST_SKIP() << "shared vectors folder absent: " << kVectors;
  OvmfImage image = OvmfImage::parse(read_file(kVectors / "ovmf_AmdSev_suffix.bin"), "AmdSev");
  EXPECT_EQ(image.gpa(), 0xFFFFF000u);
  EXPECT_EQ(image.sev_es_reset_eip(), 0x0080B004u);
  auto table = image.sev_hash_table();
  ASSERT_TRUE(table);
  EXPECT_EQ(table->gpa, 0x810C00u);
  EXPECT_EQ(table->size, 0x400u);
  // The sections decoded in ../shared/reference (igvm-and-measurement.md, 2.3).
  const std::vector<std::array<std::uint32_t, 3>> expected = {
      {0x800000, 0x9000, 1}, {0x80A000, 0x3000, 1},  {0x80D000, 0x1000, 2}, {0x80E000, 0x1000, 3},
      {0x80F000, 0x1000, 4}, {0x810000, 0x1000, 16}, {0x811000, 0xF000, 1}};
  ASSERT_EQ(image.sev_sections().size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(image.sev_sections()[i].gpa, expected[i][0]);
    EXPECT_EQ(image.sev_sections()[i].size, expected[i][1]);
    EXPECT_EQ(image.sev_sections()[i].type, expected[i][2]);
  }
}

TEST(OvmfImage, ParsesASyntheticImageLikeTheReal) {
  SyntheticOvmf spec;
  spec.svsm_info = 0x1234;
  OvmfImage image = OvmfImage::parse(spec.build(), "synthetic");
  EXPECT_TRUE(image.has_footer_table());
  EXPECT_TRUE(image.has_sev_metadata());
  EXPECT_EQ(image.gpa(), 0x1'0000'0000u - 4 * 4096);
  EXPECT_EQ(image.sev_es_reset_eip(), 0x0080B004u);
  EXPECT_EQ(image.svsm_entry_offset(), 0x1234u);
  EXPECT_EQ(image.sev_sections().size(), spec.sections.size());
  EXPECT_TRUE(image.has_sev_section(SevSectionType::kSnpKernelHashes));
  EXPECT_EQ(image.footer_entries().size(), 5u);
  ASSERT_TRUE(image.igvm_parameters());
  const formats::ovmf::IgvmParameters& igvm = *image.igvm_parameters();
  EXPECT_EQ(igvm.param_area_gpa, 0x812000u);
  EXPECT_EQ(igvm.param_area_size, 0x1000u);
  EXPECT_EQ(igvm.memory_map_gpa, 0x812000u);
  EXPECT_EQ(igvm.memory_map_size, 0xC0u);
  EXPECT_EQ(igvm.hob_area_gpa, 0x813000u);
  EXPECT_EQ(igvm.hob_area_size, 0x1000u);
}

// The IGVM metadata of edk2 >= stable202511 (OvmfPkg/ResetVector/X64/IgvmMetadata.nasm.inc).
TEST(OvmfImage, IgvmMetadataIsCheckedAndOptional) {
  SyntheticOvmf none;
  none.igvm_metadata = false;
  EXPECT_FALSE(OvmfImage::parse(none.build(), "old").igvm_parameters());

  SyntheticOvmf unknown;
  unknown.igvm_sections.push_back({0x1234, 0x10, 0x7777});  // a type edk2 may add later
  EXPECT_TRUE(OvmfImage::parse(unknown.build(), "new").igvm_parameters());

  auto error_for = [](std::vector<SyntheticSection> sections) {
    SyntheticOvmf spec;
    spec.igvm_sections = std::move(sections);
    return parse_error(spec.build());
  };
  EXPECT_EQ(error_for({{0x0, 0xC0, 0x101}, {0x812000, 0x1000, 0x100}}),
            "img.fd: IGVM metadata section 0 (offset 0x3710): a memory map before the parameter "
            "area");
  EXPECT_EQ(error_for({{0x812000, 0x1000, 0x100}, {0xF80, 0xC0, 0x101}}),
            "img.fd: IGVM metadata section 1 (offset 0x371c): the memory map (offset 0xf80, size "
            "0xc0) is not inside the parameter area");
  EXPECT_EQ(error_for({{0x812000, 0x1000, 0x100}, {0x813000, 0x1000, 0x100}}),
            "img.fd: IGVM metadata section 1 (offset 0x371c) repeats the parameter area");
  EXPECT_EQ(error_for({{0x812800, 0x1000, 0x100}}),
            "img.fd: IGVM metadata section 0 (offset 0x3710) is not a page-aligned area below 4 "
            "GiB (start 0x812800, size 0x1000)");
  EXPECT_EQ(error_for({{0x812000, 0x1000, 0x100}, {0xFF8, 0x10, 0x102}}),
            "img.fd: IGVM metadata section 1 (offset 0x371c): the VP count is not inside the "
            "parameter area");

  auto bad_signature = SyntheticOvmf{}.build();
  bad_signature[bad_signature.size() - SyntheticOvmf::kIgvmMetadataOffsetFromEnd] = 'X';
  EXPECT_EQ(parse_error(bad_signature),
            "img.fd: IGVM metadata at offset 0x3700 has a wrong signature (expected \"IGVM\")");
}

TEST(OvmfImage, DebianOvmfHasSevMetadataWithoutKernelHashes) {
  const char* path = "/usr/share/OVMF/OVMF_CODE.fd";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " absent (Debian package ovmf)";
  OvmfImage image = OvmfImage::parse(read_file(path), path);
  image.require_sev_metadata();
  EXPECT_FALSE(image.has_sev_section(SevSectionType::kSnpKernelHashes));
  EXPECT_FALSE(image.sev_hash_table());  // the entry exists but its base is zero
}

TEST(OvmfImage, ImageWithoutFooterParsesButCannotLaunchSnp) {
  SyntheticOvmf spec;
  spec.footer = false;
  OvmfImage image = OvmfImage::parse(spec.build(), "plain.fd");
  EXPECT_FALSE(image.has_footer_table());
  EXPECT_EQ(parse_error(spec.build()),
            "img.fd: no OVMF footer table (GUID 96b582de-1fb2-45f7-baea-a366c55a082d) before the "
            "last 32 bytes: not an OVMF image with SEV support");
}

TEST(OvmfImage, MissingMetadataOrResetBlockIsNamed) {
  SyntheticOvmf no_meta;
  no_meta.metadata = false;
  EXPECT_EQ(parse_error(no_meta.build()),
            "img.fd: OVMF footer table has no SEV metadata entry: this OVMF build cannot launch "
            "SEV-SNP guests");
  SyntheticOvmf no_reset;
  no_reset.reset_eip.reset();
  EXPECT_EQ(parse_error(no_reset.build()),
            "img.fd: OVMF footer table has no SEV_ES_RESET_BLOCK entry");
}

TEST(OvmfImage, RejectsSizesThatAreNotFlashImages) {
  EXPECT_EQ(parse_error({}), "img.fd: is empty, not an OVMF image");
  EXPECT_EQ(parse_error(std::vector<std::uint8_t>(4095)),
            "img.fd: size 4095 is not a multiple of 4096 (not a flash image)");
}

TEST(OvmfImage, FooterTableLargerThanTheImage) {
  auto img = SyntheticOvmf{}.build();
  std::size_t footer = SyntheticOvmf::footer_offset(img.size());
  img[footer] = 0xFF;
  img[footer + 1] = 0xFF;
  EXPECT_EQ(
      parse_error(img),
      "img.fd: OVMF footer table at offset 0x3fce claims size 65535, which does not fit the image");
}

TEST(OvmfImage, FooterEntryWithImpossibleSize) {
  auto img = SyntheticOvmf{}.build();
  std::size_t footer = SyntheticOvmf::footer_offset(img.size());
  // The first entry walked is the one right below the footer; give it size 3 (< 18).
  img[footer - 18] = 3;
  img[footer - 17] = 0;
  EXPECT_NE(parse_error(img).find("has invalid size 3"), std::string::npos) << parse_error(img);
}

TEST(OvmfImage, MetadataOffsetOutsideTheImage) {
  SyntheticOvmf spec;
  auto img = spec.build();
  // The SEV metadata entry is the last one written: its data sits at the table start.
  std::size_t footer = SyntheticOvmf::footer_offset(img.size());
  std::size_t table_start = footer - (img[footer] | img[footer + 1] << 8) + 18;
  put32(img, table_start, 0x100000);
  EXPECT_EQ(parse_error(img), "img.fd: SEV metadata offset 0x100000 points outside the image");
}

TEST(OvmfImage, MetadataSignatureVersionAndCount) {
  auto base = SyntheticOvmf{}.build();
  std::size_t at = base.size() - SyntheticOvmf::kMetadataOffsetFromEnd;
  auto bad_sig = base;
  bad_sig[at] = 'X';
  EXPECT_EQ(parse_error(bad_sig),
            "img.fd: SEV metadata at offset 0x3800 has a wrong signature (expected \"ASEV\")");
  auto bad_version = base;
  put32(bad_version, at + 8, 2);
  EXPECT_EQ(parse_error(bad_version),
            "img.fd: SEV metadata at offset 0x3800 has unsupported version 2");
  auto huge_count = base;
  put32(huge_count, at + 12, 0x40000000);
  EXPECT_EQ(
      parse_error(huge_count),
      "img.fd: SEV metadata at offset 0x3800 declares 1073741824 sections in 100 bytes, which "
      "does not fit");
}

TEST(OvmfImage, SectionsThatOverlapOverflowOrMisalign) {
  auto error_for = [](std::vector<SyntheticSection> sections) {
    SyntheticOvmf spec;
    spec.sections = std::move(sections);
    return parse_error(spec.build());
  };
  EXPECT_EQ(
      error_for({{0x800000, 0x2000, 1}, {0x801000, 0x1000, 2}}),
      "img.fd: SEV metadata section 1 (offset 0x381c) overlaps section 0 ([0x801000, +0x1000) "
      "and [0x800000, +0x2000))");
  EXPECT_EQ(error_for({{0xFFFFF000, 0x2000, 1}}),
            "img.fd: SEV metadata section 0 (offset 0x3810) overflows 4 GiB (gpa 0xfffff000, size "
            "0x2000)");
  EXPECT_EQ(error_for({{0x800800, 0x1000, 1}}),
            "img.fd: SEV metadata section 0 (offset 0x3810) is not page aligned (gpa 0x800800, "
            "size 0x1000)");
  EXPECT_EQ(error_for({{0x800000, 0, 1}}),
            "img.fd: SEV metadata section 0 (offset 0x3810) is empty");
  EXPECT_EQ(error_for({{0x800000, 0x1000, 7}}),
            "img.fd: SEV metadata section 0 (offset 0x3810) has unknown type 7");
}

}  // namespace
}  // namespace cvtpm::formats::ovmf
