// The IGVM reader on well-formed and malformed files built byte by byte (raw_igvm.h).
#include <gtest/gtest.h>

#include <functional>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/formats/snp/vmsa.h"
#include "cvtpm/support/error.h"
#include "raw_igvm.h"

namespace cvtpm::formats::igvm {
namespace {

using testing::Bytes;
using testing::RawIgvm;

constexpr std::uint32_t kSnp = 0x1, kNative = 0x2;

// SNP + native platforms, a policy, one page for both, a parameter area with an insert, and the
// SNP VMSA: a small file exercising every section.
RawIgvm base_file() {
  RawIgvm f(2);
  f.platform(kSnp, 2, 2)
      .platform(kNative, 0)
      .guest_policy(0x30000, kSnp)
      .area(0x1000, 0)
      .usage(0x307, 0, 0)
      .insert(0x10000, kSnp | kNative, 0)
      .page(0x20000, kSnp | kNative, 0, 0, testing::pattern_page(1))
      .vp_context(0xFFFFFFFFF000, kSnp, 0, testing::pattern_page(2));
  return f;
}

IgvmFile parse(const Bytes& bytes) {
  return parse_igvm(ByteBuffer(bytes), "t.igvm");
}

std::string error_of(const Bytes& bytes) {
  try {
    parse(bytes);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(parsed)";
}

// The error names the file, is one line and contains every fragment.
#define EXPECT_IGVM_ERROR(bytes, ...)                                                            \
  do {                                                                                           \
    const std::string msg_ = error_of(bytes);                                                    \
    EXPECT_TRUE(msg_.starts_with("t.igvm: ")) << msg_;                                           \
    EXPECT_EQ(msg_.find('\n'), std::string::npos) << msg_;                                       \
    for (const std::string& part_ : std::initializer_list<std::string>{__VA_ARGS__}) {           \
      EXPECT_NE(msg_.find(part_), std::string::npos) << "missing '" << part_ << "' in " << msg_; \
    }                                                                                            \
  } while (0)

std::string hex(std::size_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%zx", v);
  return buf;
}

TEST(IgvmReader, ReadsEverySectionOfAWellFormedFile) {
  const IgvmFile f = parse(base_file().build());
  EXPECT_EQ(f.format_version, 2u);
  EXPECT_EQ(f.architecture, Architecture::kX64);
  ASSERT_EQ(f.platforms.size(), 2u);
  EXPECT_EQ(f.platforms[0].platform_type, 2);
  EXPECT_EQ(f.platforms[0].highest_vtl, 2);
  EXPECT_EQ(f.declared_mask(), 3u);
  ASSERT_NE(f.platform(PlatformType::kNative), nullptr);
  EXPECT_EQ(f.platform(PlatformType::kNative)->compatibility_mask, kNative);
  EXPECT_EQ(f.platform(PlatformType::kTdx), nullptr);
  ASSERT_EQ(f.initialization.size(), 1u);
  EXPECT_EQ(std::get<GuestPolicy>(f.initialization[0]).policy, 0x30000u);
  ASSERT_EQ(f.directives.size(), 5u);
  const auto& area = std::get<ParameterAreaDirective>(f.directives[0]);
  EXPECT_EQ(area.number_of_bytes, 0x1000u);
  EXPECT_TRUE(area.initial_data.empty());
  const auto& usage = std::get<ParameterUsage>(f.directives[1]);
  EXPECT_EQ(usage.type, HeaderType::kVpCountParameter);
  const auto& page = std::get<PageDirective>(f.directives[3]);
  EXPECT_EQ(page.gpa, 0x20000u);
  EXPECT_EQ(page.compatibility_mask, 3u);
  EXPECT_EQ(page.data, FileData{ByteBuffer(testing::pattern_page(1))});
  const auto& vp = std::get<VpContextDirective>(f.directives[4]);
  EXPECT_EQ(vp.gpa, 0xFFFFFFFFF000u);
  EXPECT_EQ(vp.data, FileData{ByteBuffer(testing::pattern_page(2))});
  EXPECT_EQ(f.header_count(), 8u);
}

TEST(IgvmReader, DataLessPagesHaveNoData) {
  RawIgvm f;
  f.platform(kSnp, 2).page(0x1000, kSnp, 0, 1, std::nullopt);
  const IgvmFile file = parse(f.build());
  const auto& p = std::get<PageDirective>(file.directives[0]);
  EXPECT_TRUE(p.data.empty());
  EXPECT_EQ(p.data_type, PageDataType::kSecrets);
}

TEST(IgvmReader, RejectsBrokenFixedHeaders) {
  const Bytes good = base_file().build();
  auto patched = [&](std::size_t at, std::uint64_t v, int size, bool crc = true) {
    Bytes b = good;
    testing::set_le(b, at, v, size);
    if (crc) testing::fix_crc(b);
    return b;
  };
  EXPECT_IGVM_ERROR(Bytes{}, "0 bytes, too short");
  EXPECT_IGVM_ERROR(Bytes(good.begin(), good.begin() + 20), "20 bytes, too short for the 32-byte");
  EXPECT_IGVM_ERROR(patched(0, 0x12345678, 4), "offset 0x0", "not an IGVM file");
  EXPECT_IGVM_ERROR(patched(4, 3, 4), "offset 0x4", "format version 3");
  EXPECT_IGVM_ERROR(patched(0x18, 7, 4), "offset 0x18", "unknown architecture 7");
  EXPECT_IGVM_ERROR(patched(0x1C, 0x2000, 4), "offset 0x1c", "page size 8192");
  // Truncated or extended files no longer match total_file_size.
  Bytes cut(good.begin(), good.end() - 1);
  EXPECT_IGVM_ERROR(cut, "offset 0x10", "does not match the file size");
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_IGVM_ERROR(longer, "offset 0x10", "truncated or extended");
  EXPECT_IGVM_ERROR(patched(8, 0x24, 4), "offset 0x8", "variable_header_offset 0x24");
  EXPECT_IGVM_ERROR(patched(8, 0x10, 4), "offset 0x8", "variable_header_offset 0x10");
  EXPECT_IGVM_ERROR(patched(12, good.size(), 4), "offset 0xc", "run past the end of the file");
  EXPECT_IGVM_ERROR(patched(20, 0xDEADBEEF, 4, false), "offset 0x14", "checksum 0xdeadbeef",
                    "does not match the CRC-32");
}

TEST(IgvmReader, TheChecksumCoversFixedAndVariableHeadersButNotFileData) {
  const RawIgvm raw = base_file();
  Bytes b = raw.build();
  b[raw.header_offset(6) + 8] ^= 1;  // a byte of the PAGE_DATA header
  EXPECT_IGVM_ERROR(b, "offset 0x14", "checksum");
  Bytes d = raw.build();
  d[d.size() - 1] ^= 0xFF;  // file data is not covered
  EXPECT_NO_THROW(parse(d));
}

TEST(IgvmReader, RejectsAnEmptyDataSection) {
  RawIgvm raw;
  raw.platform(kSnp, 2);
  Bytes b = raw.build();
  b.resize(b.size() - 8);
  testing::set_le(b, 16, b.size(), 4);
  testing::fix_crc(b);
  EXPECT_IGVM_ERROR(b, "offset 0xc", "the file data section is empty");
}

TEST(IgvmReader, RejectsBadTlvStructure) {
  // Non-zero padding after a 20-byte VP_CONTEXT header.
  {
    const RawIgvm raw = base_file();
    Bytes b = raw.build();
    const std::size_t pad = raw.header_offset(7) + 8 + 20;
    b[pad + 2] = 0xAA;
    testing::fix_crc(b);
    EXPECT_IGVM_ERROR(b, ("offset " + hex(pad + 2)).c_str(),
                      "padding byte after a header is not zero");
  }
  // Unknown type, with and without the optional bit.
  for (std::uint32_t type : {0x999u, 0x80000302u, 0x306u, 0x200u}) {
    RawIgvm raw;
    raw.platform(kSnp, 2).header(type, Bytes(8, 0));
    EXPECT_IGVM_ERROR(raw.build(), "header 1", ("offset " + hex(raw.header_offset(1))).c_str(),
                      "unknown header type");
  }
  // A length that is not the structure's size.
  {
    RawIgvm raw;
    raw.platform(kSnp, 2).header(0x303, Bytes(24, 0));
    EXPECT_IGVM_ERROR(raw.build(), "header 1 (PARAMETER_INSERT) at offset 0x30",
                      "length 24 is not 16");
  }
  // Section order: a platform header after a directive.
  {
    RawIgvm raw;
    raw.platform(kSnp, 2).page(0, kSnp, 0, 0, std::nullopt).platform(kNative, 0);
    EXPECT_IGVM_ERROR(raw.build(), "header 2 (SUPPORTED_PLATFORM)",
                      "platform header after the directive section");
  }
  // The section ends inside a header.
  {
    const RawIgvm raw = base_file();
    Bytes b = raw.build();
    testing::set_le(b, 12, raw.header_offset(7) + 16 - 32, 4);
    testing::fix_crc(b);
    EXPECT_IGVM_ERROR(b, "header 7 (VP_CONTEXT)", "runs past the variable header section");
  }
  {
    const RawIgvm raw = base_file();
    Bytes b = raw.build();
    testing::set_le(b, 12, raw.header_offset(7) + 4 - 32, 4);
    testing::fix_crc(b);
    EXPECT_IGVM_ERROR(b, ("offset " + hex(raw.header_offset(7))).c_str(),
                      "inside a type/length pair");
  }
}

TEST(IgvmReader, RejectsFileOffsetsOutsideTheDataSection) {
  const RawIgvm raw = base_file();
  const Bytes good = raw.build();
  const std::size_t page_header = raw.header_offset(6);
  auto with_offset = [&](std::uint64_t offset) {
    Bytes b = good;
    testing::set_le(b, page_header + 8 + 12, offset, 4);
    testing::fix_crc(b);
    return b;
  };
  EXPECT_IGVM_ERROR(with_offset(good.size() - 100), "header 6 (PAGE_DATA)",
                    ("offset " + hex(page_header)).c_str(), "is not inside the file data section");
  EXPECT_IGVM_ERROR(with_offset(0xFFFFFFFF), "page data [0xffffffff");
  EXPECT_IGVM_ERROR(with_offset(40), "page data [0x28");  // inside the headers
}

TEST(IgvmReader, RejectsHugeCounts) {
  {
    RawIgvm raw;
    raw.platform(kSnp, 2).area(1ULL << 40, 0);
    EXPECT_IGVM_ERROR(raw.build(), "header 1 (PARAMETER_AREA)",
                      "size 0x10000000000 exceeds the limit");
  }
  {
    RawIgvm raw;
    raw.platform(kSnp, 2).area(0x2000, 0, testing::pattern_page(1));  // 8 KiB claimed, 4 KiB there
    EXPECT_IGVM_ERROR(raw.build(), "initial data", "is not inside the file data section");
  }
  {
    // A VBS context claiming 2^32-1 registers.
    Bytes vbs;
    testing::put_le(vbs, 0xFFFFFFFF, 4);
    RawIgvm raw;
    raw.platform(0x1, 1).vp_context(0, 0x1, 0, vbs);
    EXPECT_IGVM_ERROR(raw.build(), "header 1 (VP_CONTEXT)", "VP context data");
  }
}

struct SemanticCase {
  const char* what;
  std::function<void(RawIgvm&)> add;
  std::vector<const char*> expected;
};

TEST(IgvmReader, RejectsSemanticErrorsWithTheHeaderIndex) {
  const Bytes vmsa = testing::pattern_page(3);
  Bytes native(4096, 0);
  native[300] = 1;
  const std::vector<SemanticCase> cases = {
      {"no platform", [](RawIgvm& f) { f.guest_policy(0x30000, 1); }, {"declares no platform"}},
      {"two-bit platform mask",
       [](RawIgvm& f) { f.platform(3, 2); },
       {"header 0 (SUPPORTED_PLATFORM) at offset 0x18", "exactly one bit"}},
      {"mask reused",
       [](RawIgvm& f) { f.platform(1, 2).platform(1, 0); },
       {"header 1", "already used"}},
      {"platform twice",
       [](RawIgvm& f) { f.platform(1, 2).platform(2, 2); },
       {"header 1", "sev-snp is declared twice"}},
      {"bad vtl", [](RawIgvm& f) { f.platform(1, 2, 1); }, {"highest_vtl 1"}},
      {"unknown platform", [](RawIgvm& f) { f.platform(1, 9); }, {"unknown platform type 9"}},
      {"cca on x64", [](RawIgvm& f) { f.platform(1, 6); }, {"cca exists only on AArch64"}},
      {"policy for undeclared platform",
       [](RawIgvm& f) { f.platform(1, 2).guest_policy(0x30000, 2); },
       {"header 1 (GUEST_POLICY)", "names undeclared platforms"}},
      {"zero mask",
       [](RawIgvm& f) { f.platform(1, 2).page(0, 0, 0, 0, std::nullopt); },
       {"header 1 (PAGE_DATA)", "compatibility mask is 0"}},
      {"unaligned page",
       [](RawIgvm& f) { f.platform(1, 2).page(0x1001, 1, 0, 0, std::nullopt); },
       {"header 1 (PAGE_DATA) at offset 0x30", "gpa 0x1001 is not 4 KiB aligned"}},
      {"unaligned 2 MiB page",
       [](RawIgvm& f) { f.platform(1, 2).page(0x1000, 1, 1, 0, std::nullopt); },
       {"gpa 0x1000 is not 2 MiB aligned"}},
      {"2 MiB page with data",
       [](RawIgvm& f) { f.platform(1, 2).page(0x200000, 1, 1, 0, testing::pattern_page(1)); },
       {"2 MiB page with file data"}},
      {"unknown page flag",
       [](RawIgvm& f) { f.platform(1, 2).page(0, 1, 8, 0, std::nullopt); },
       {"unknown flags 0x8"}},
      {"unknown data type",
       [](RawIgvm& f) { f.platform(1, 2).page(0, 1, 0, 4, std::nullopt); },
       {"unknown data type 4"}},
      {"overlapping pages",
       [](RawIgvm& f) {
         f.platform(1, 2)
             .platform(2, 0)
             .page(0x5000, 3, 0, 0, std::nullopt)
             .page(0x5000, 1, 0, 0, std::nullopt);
       },
       {"header 3 (PAGE_DATA)", "[0x5000, 0x6000) overlaps header 2", "sev-snp"}},
      {"page inside an inserted area",
       [](RawIgvm& f) {
         f.platform(1, 2)
             .area(0x3000, 7)
             .insert(0x10000, 1, 7)
             .page(0x12000, 1, 0, 0, std::nullopt);
       },
       {"header 3 (PAGE_DATA)", "overlaps header 2 [0x10000, 0x13000)"}},
      {"undeclared area",
       [](RawIgvm& f) { f.platform(1, 2).insert(0, 1, 4); },
       {"header 1 (PARAMETER_INSERT)", "parameter area 4 is not declared"}},
      {"area inserted twice",
       [](RawIgvm& f) { f.platform(1, 2).area(0x1000, 0).insert(0, 1, 0).insert(0x1000, 1, 0); },
       {"header 3", "already inserted"}},
      {"usage after insert",
       [](RawIgvm& f) { f.platform(1, 2).area(0x1000, 0).insert(0, 1, 0).usage(0x307, 0, 0); },
       {"header 3 (VP_COUNT_PARAMETER)", "already inserted"}},
      {"usage outside the area",
       [](RawIgvm& f) { f.platform(1, 2).area(0x1000, 0).usage(0x30C, 0, 0xFF0); },
       {"header 2 (MEMORY_MAP)", "leaves no room for 24 bytes"}},
      {"area declared twice",
       [](RawIgvm& f) { f.platform(1, 2).area(0x1000, 0).area(0x1000, 0); },
       {"header 2 (PARAMETER_AREA)", "declared twice"}},
      {"area not page sized",
       [](RawIgvm& f) { f.platform(1, 2).area(0x1800, 0); },
       {"size 0x1800 is not a non-zero multiple of 4 KiB"}},
      {"vp context for two platforms",
       [&](RawIgvm& f) { f.platform(1, 2).platform(2, 0).vp_context(0, 3, 0, vmsa); },
       {"header 2 (VP_CONTEXT)", "does not name exactly one declared platform"}},
      {"vp context twice",
       [&](RawIgvm& f) {
         f.platform(1, 2)
             .vp_context(0xFFFFFFFFF000, 1, 0, vmsa)
             .vp_context(0xFFFFFFFFF000, 1, 0, vmsa);
       },
       {"header 2 (VP_CONTEXT)", "a second VP context for vp_index 0"}},
      {"native context with junk",
       [&](RawIgvm& f) { f.platform(2, 0).vp_context(0, 2, 0, native); },
       {"bytes after the 232-byte native VP context are not zero"}},
      {"native context with a gpa",
       [&](RawIgvm& f) { f.platform(2, 0).vp_context(0x1000, 2, 0, Bytes(4096, 0)); },
       {"gpa must be 0 for platform native"}},
      {"tdx context",
       [&](RawIgvm& f) { f.platform(4, 3).vp_context(0, 4, 0, vmsa); },
       {"architectural reset state"}},
      {"unaligned required memory",
       [](RawIgvm& f) { f.platform(1, 2).required_memory(0x8000000, 1, 0x1234); },
       {"header 1 (REQUIRED_MEMORY)", "not 4 KiB aligned"}},
      {"id block for undeclared platform",
       [](RawIgvm& f) { f.platform(1, 2).id_block(4, Bytes(48, 0)); },
       {"header 1 (SNP_ID_BLOCK)", "undeclared"}},
      {"page reserved field",
       [](RawIgvm& f) {
         Bytes body(24, 0);
         testing::set_le(body, 8, 1, 4);
         testing::set_le(body, 22, 1, 2);
         f.platform(1, 2).header(0x302, body);
       },
       {"header 1 (PAGE_DATA)", "reserved field is not 0"}},
  };
  for (const SemanticCase& c : cases) {
    SCOPED_TRACE(c.what);
    RawIgvm raw;
    c.add(raw);
    const std::string msg = error_of(raw.build());
    EXPECT_TRUE(msg.starts_with("t.igvm: ")) << msg;
    for (const char* part : c.expected) {
      EXPECT_NE(msg.find(part), std::string::npos) << "missing '" << part << "' in " << msg;
    }
  }
}

TEST(IgvmReader, AcceptsPagesAtOneGpaForDisjointPlatforms) {
  RawIgvm raw;
  raw.platform(1, 2)
      .platform(2, 0)
      .page(0x5000, 1, 0, 0, testing::pattern_page(1))
      .page(0x5000, 2, 0, 0, testing::pattern_page(2));
  EXPECT_EQ(parse(raw.build()).directives.size(), 2u);
}

TEST(IgvmReader, ReadsVersion1AndAArch64Files) {
  RawIgvm v1(1);
  v1.platform(1, 2).page(0, 1, 0, 0, std::nullopt);
  EXPECT_EQ(parse(v1.build()).format_version, 1u);
  RawIgvm arm(2, 1);
  arm.platform(1, 6).header(0x106, Bytes(32, 0xAB));
  const IgvmFile f = parse(arm.build());
  EXPECT_EQ(f.architecture, Architecture::kAArch64);
  EXPECT_EQ(std::get<CcaPolicy>(f.initialization[0]).bytes[31], 0xAB);
  RawIgvm snp_on_arm(2, 1);
  snp_on_arm.platform(1, 2);
  EXPECT_IGVM_ERROR(snp_on_arm.build(), "sev-snp exists only on X64");
}

}  // namespace
}  // namespace cvtpm::formats::igvm
