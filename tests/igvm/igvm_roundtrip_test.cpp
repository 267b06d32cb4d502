// The canonical writer: parse(write(m)) == m, write(parse(f)) == f, identical blobs stored once.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/support/error.h"
#include "raw_igvm.h"

namespace cvtpm::formats::igvm {
namespace {

using testing::Bytes;

FileData blob(const Bytes& b) {
  return FileData{ByteBuffer(b)};
}

// One model with every x86-64 header type the format defines.
IgvmFile every_header_type() {
  IgvmFile f;
  f.format_version = kFormatVersion2;
  f.platforms = {{0x1, 2, static_cast<std::uint8_t>(PlatformType::kSevSnp), 1, 0},
                 {0x2, 0, static_cast<std::uint8_t>(PlatformType::kNative), 1, 0},
                 {0x4, 2, static_cast<std::uint8_t>(PlatformType::kVsmIsolation), 1, 0},
                 {0x8, 0, static_cast<std::uint8_t>(PlatformType::kSevEs), 1, 0}};
  f.initialization.emplace_back(GuestPolicy{0x30000, 0x1, 0});
  f.initialization.emplace_back(RelocatableRegion{0x4, 0, 2, relocatable_region_flags::kApplyPc,
                                                  0x200000, 0x200000, 0x200000, 0x200000,
                                                  0x40000000});
  f.initialization.emplace_back(PageTableRelocation{0x4, 0, 2, 0, 0x1000000, 0x10000, 0x3000});
  f.initialization.emplace_back(CorimDocument{0x1, blob({0xA1, 0x01, 0x02})});
  f.initialization.emplace_back(CorimSignature{0x1, blob({0xD2, 0x84, 0x43, 0xA1})});

  f.directives.emplace_back(RequiredMemory{0x8000000, 0x3, 0x2000000, 0, 0});
  f.directives.emplace_back(ParameterAreaDirective{0x2000, 5, blob(Bytes(0x2000, 0x5A))});
  f.directives.emplace_back(ParameterAreaDirective{0x1000, 6, {}});
  const HeaderType usages[] = {HeaderType::kVpCountParameter,
                               HeaderType::kSrat,
                               HeaderType::kMadt,
                               HeaderType::kMmioRanges,
                               HeaderType::kMemoryMap,
                               HeaderType::kCommandLine,
                               HeaderType::kSlit,
                               HeaderType::kPptt,
                               HeaderType::kDeviceTree,
                               HeaderType::kEnvironmentInfoParameter};
  std::uint32_t offset = 0;
  for (HeaderType t : usages) {
    f.directives.emplace_back(ParameterUsage{t, {6, offset}});
    offset += 0x100;
  }
  f.directives.emplace_back(ParameterInsert{0x100000, 0x3, 5});
  f.directives.emplace_back(ParameterInsert{0x110000, 0x3, 6});
  f.directives.emplace_back(
      PageDirective{0x200000, 0x3, 0, PageDataType::kNormal, blob(testing::pattern_page(1))});
  f.directives.emplace_back(PageDirective{0x201000, 0x3, 0, PageDataType::kNormal, {}});
  f.directives.emplace_back(PageDirective{0x202000, 0x1, page_data_flags::kUnmeasured,
                                          PageDataType::kNormal, blob(testing::pattern_page(2))});
  f.directives.emplace_back(PageDirective{0x203000, 0x1, 0, PageDataType::kSecrets, {}});
  f.directives.emplace_back(
      PageDirective{0x204000, 0x1, 0, PageDataType::kCpuidData, blob(testing::pattern_page(3))});
  f.directives.emplace_back(PageDirective{0x205000, 0x1, 0, PageDataType::kCpuidXf, {}});
  f.directives.emplace_back(
      PageDirective{0x400000, 0x2, page_data_flags::kIs2MbPage, PageDataType::kNormal, {}});
  f.directives.emplace_back(PageDirective{0x206000, 0x2, page_data_flags::kShared,
                                          PageDataType::kNormal, blob(testing::pattern_page(4))});
  f.directives.emplace_back(ErrorRange{0x300000, 0x1, 0x2000});
  f.directives.emplace_back(
      VpContextDirective{0xFFFFFFFFF000, 0x1, 0, blob(testing::pattern_page(5))});
  f.directives.emplace_back(
      VpContextDirective{0xFFFFFFFFF000, 0x8, 0, blob(testing::pattern_page(6))});
  Bytes native(4096, 0);
  std::memset(native.data(), 0x11, sizeof(NativeVpContextX64));
  f.directives.emplace_back(VpContextDirective{0, 0x2, 0, blob(native)});
  Bytes vbs;
  testing::put_le(vbs, 2, 4);
  for (int i = 0; i < 64; ++i) vbs.push_back(static_cast<std::uint8_t>(i));
  f.directives.emplace_back(VpContextDirective{0, 0x4, 0, blob(vbs)});
  SnpIdBlock id{};
  id.compatibility_mask = 0x1;
  id.ld[0] = 0xAB;
  id.version = 1;
  f.directives.emplace_back(id);
  VbsMeasurement vbs_m{};
  vbs_m.compatibility_mask = 0x4;
  vbs_m.version = 1;
  vbs_m.boot_measurement_digest[63] = 7;
  f.directives.emplace_back(vbs_m);
  return f;
}

TEST(IgvmRoundTrip, ModelSurvivesWriteAndParse) {
  const IgvmFile model = every_header_type();
  const Bytes bytes = write_igvm(model);
  const IgvmFile parsed = parse_igvm(ByteBuffer(bytes), "m.igvm");
  EXPECT_EQ(parsed, model);
  EXPECT_EQ(write_igvm(parsed), bytes);
  // The checksum is what an independent CRC-32 computes.
  Bytes recomputed = bytes;
  testing::fix_crc(recomputed);
  EXPECT_EQ(recomputed, bytes);
}

TEST(IgvmRoundTrip, VersionOneAndAArch64Models) {
  IgvmFile v1;
  v1.platforms = {{0x1, 0, static_cast<std::uint8_t>(PlatformType::kSevSnp), 1, 0}};
  v1.directives.emplace_back(PageDirective{0, 0x1, 0, PageDataType::kNormal, {}});
  const Bytes b1 = write_igvm(v1);
  EXPECT_EQ(testing::get_le(b1, 8, 4), 24u);  // variable headers right after the v1 header
  EXPECT_EQ(parse_igvm(ByteBuffer(b1), "v1"), v1);

  IgvmFile arm;
  arm.format_version = kFormatVersion2;
  arm.architecture = Architecture::kAArch64;
  arm.platforms = {{0x1, 0, static_cast<std::uint8_t>(PlatformType::kCca), 1, 0}};
  CcaPolicy cca;
  cca.bytes.fill(0x42);
  arm.initialization.emplace_back(cca);
  const Bytes b2 = write_igvm(arm);
  EXPECT_EQ(testing::get_le(b2, 0x18, 4), 1u);
  EXPECT_EQ(testing::get_le(b2, 0x1C, 4), 4096u);
  EXPECT_EQ(parse_igvm(ByteBuffer(b2), "arm"), arm);
}

TEST(IgvmRoundTrip, AFileFromAnotherWriterIsReproducedByteForByte) {
  // raw_igvm.h lays files out the canonical way (no duplicate blobs here).
  testing::RawIgvm raw(2);
  raw.platform(1, 2, 2)
      .platform(2, 0)
      .guest_policy(0x30000, 1)
      .area(0x1000, 0)
      .usage(0x307, 0, 0)
      .usage(0x313, 0, 4)
      .insert(0x8000000, 3, 0)
      .page(0x8001000, 3, 0, 0, testing::pattern_page(1))
      .page(0x8002000, 1, 0, 1, std::nullopt)
      .vp_context(0xFFFFFFFFF000, 1, 0, testing::pattern_page(2));
  const Bytes file = raw.build();
  EXPECT_EQ(write_igvm(parse_igvm(ByteBuffer(file), "raw")), file);
}

TEST(IgvmRoundTrip, IdenticalBlobsAreStoredOnce) {
  IgvmFile f;
  f.platforms = {{0x1, 0, static_cast<std::uint8_t>(PlatformType::kSevSnp), 1, 0}};
  const Bytes ff(4096, 0xFF);
  for (int i = 0; i < 10; ++i) {
    f.directives.emplace_back(PageDirective{0x1000u * i, 0x1, 0, PageDataType::kNormal,
                                            blob(i == 5 ? testing::pattern_page(9) : ff)});
  }
  const Bytes bytes = write_igvm(f);
  const std::size_t headers = 24 + 24 + 10 * 32;
  EXPECT_EQ(bytes.size(), headers + 2 * 4096);  // the 0xFF page once, the pattern page once
  for (int i = 0; i < 10; ++i) {
    const std::uint64_t offset = testing::get_le(bytes, 24 + 24 + 32 * i + 8 + 12, 4);
    EXPECT_EQ(offset, i == 5 ? headers + 4096 : headers) << i;
  }
  EXPECT_EQ(parse_igvm(ByteBuffer(bytes), "dedup"), f);
}

TEST(IgvmRoundTrip, AFileWithoutDataGetsAMinimalDataSection) {
  IgvmFile f;
  f.platforms = {{0x1, 0, static_cast<std::uint8_t>(PlatformType::kSevSnp), 1, 0}};
  f.directives.emplace_back(PageDirective{0x1000, 0x1, 0, PageDataType::kSecrets, {}});
  const Bytes bytes = write_igvm(f);
  EXPECT_EQ(bytes.size(), 24u + 24 + 32 + 8);
  EXPECT_EQ(parse_igvm(ByteBuffer(bytes), "empty"), f);
}

TEST(IgvmRoundTrip, TheWriterRefusesModelsTheReaderWouldReject) {
  IgvmFile f;
  f.platforms = {{0x1, 0, static_cast<std::uint8_t>(PlatformType::kSevSnp), 1, 0}};
  f.directives.emplace_back(PageDirective{0x1234, 0x1, 0, PageDataType::kNormal, {}});
  try {
    write_igvm(f, "out.igvm");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "out.igvm: header 1 (PAGE_DATA): gpa 0x1234 is not 4 KiB aligned");
  }
  IgvmFile short_page = f;
  std::get<PageDirective>(short_page.directives[0]) =
      PageDirective{0x1000, 0x1, 0, PageDataType::kNormal, blob(Bytes(100, 1))};
  EXPECT_THROW(write_igvm(short_page), InputError);
}

TEST(IgvmRoundTrip, EqualityComparesContentsNotStorage) {
  const Bytes page = testing::pattern_page(7);
  const ByteBuffer big(Bytes(3 * 4096, 0));
  Bytes with_page(3 * 4096, 0);
  std::copy(page.begin(), page.end(), with_page.begin() + 4096);
  const ByteBuffer shared(with_page);
  EXPECT_EQ(FileData{shared.slice(4096, 4096)}, blob(page));
  EXPECT_NE(FileData{big.slice(4096, 4096)}, blob(page));
}

}  // namespace
}  // namespace cvtpm::formats::igvm
