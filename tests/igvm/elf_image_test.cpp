#include "cvtpm/formats/elf/elf_image.h"

#include <gtest/gtest.h>

#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"
#include "raw_igvm.h"
#include "synthetic_elf.h"

namespace cvtpm::formats::elf {
namespace {

using testing::SyntheticElf;
using testing::SyntheticSegment;

ElfImage parse(const SyntheticElf& spec) {
  return ElfImage::parse(ByteBuffer(spec.build()), "fw.elf");
}

// Expects InputError whose message contains every fragment.
void expect_error(const std::vector<std::uint8_t>& bytes,
                  std::initializer_list<const char*> parts) {
  try {
    ElfImage::parse(ByteBuffer(bytes), "fw.elf");
    FAIL() << "parsed";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(msg.starts_with("fw.elf: ")) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const char* part : parts) EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

TEST(ElfImage, ReadsTheTestFirmware) {
  const ElfImage image = ElfImage::parse(load_file(CVTPM_TEST_FIRMWARE), "test_firmware.elf");
  EXPECT_EQ(image.entry(), 0x8000000u);
  ASSERT_EQ(image.segments().size(), 2u);
  const LoadSegment& text = image.segments()[0];
  const LoadSegment& data = image.segments()[1];
  EXPECT_EQ(text.paddr, 0x8000000u);
  EXPECT_EQ(text.flags, kPfRead | kPfExecute);
  EXPECT_EQ(text.file_bytes.size(), text.memsz);
  EXPECT_EQ(data.paddr, 0x8001000u);
  EXPECT_EQ(data.flags, kPfRead | kPfWrite);
  EXPECT_EQ(data.file_bytes.size(), 8u);  // .data; .bss follows in memory only
  EXPECT_EQ(data.memsz, 0x3008u);
  EXPECT_EQ(testing::get_le({data.file_bytes.begin(), data.file_bytes.end()}, 0, 4), 0x12345678u);
  EXPECT_EQ(image.lowest_address(), 0x8000000u);
  EXPECT_EQ(image.highest_address(), 0x8004008u);
  ASSERT_TRUE(image.pvh_entry().has_value());
  EXPECT_GT(*image.pvh_entry(), 0x8000000u);
  EXPECT_LT(*image.pvh_entry(), 0x8000000u + text.memsz);
}

TEST(ElfImage, SortsSegmentsAndTranslatesTheEntryToItsPhysicalAddress) {
  SyntheticElf spec;
  spec.segments = {{1, 6, 0x8010000, 0xFFFF800008010000, {1, 2, 3}, 0x2000},
                   {1, 5, 0x8000000, 0xFFFF800008000000, {0x90, 0x90, 0xF4}, 0}};
  spec.entry = 0xFFFF800008000001;
  const ElfImage image = parse(spec);
  EXPECT_EQ(image.entry(), 0x8000001u);
  ASSERT_EQ(image.segments().size(), 2u);
  EXPECT_EQ(image.segments()[0].paddr, 0x8000000u);
  EXPECT_EQ(image.segments()[1].memsz, 0x2000u);
  EXPECT_EQ(image.highest_address(), 0x8012000u);
  EXPECT_FALSE(image.pvh_entry().has_value());
}

TEST(ElfImage, RejectsWhatIsNotAStaticX8664Executable) {
  SyntheticElf s;
  auto with = [&](auto change) {
    SyntheticElf copy = s;
    change(copy);
    return copy.build();
  };
  expect_error({}, {"0 bytes, too short for an ELF header"});
  expect_error(std::vector<std::uint8_t>(64, 0), {"offset 0x0", "not an ELF file"});
  expect_error(with([](SyntheticElf& e) { e.elf_class = 1; }), {"offset 0x4", "ELFCLASS64"});
  expect_error(with([](SyntheticElf& e) { e.data = 2; }), {"offset 0x5", "little-endian"});
  expect_error(with([](SyntheticElf& e) { e.type = 3; }), {"offset 0x10", "ET_DYN", "static"});
  expect_error(with([](SyntheticElf& e) { e.type = 1; }), {"ET_REL"});
  expect_error(with([](SyntheticElf& e) { e.machine = 3; }), {"offset 0x12", "not x86-64"});
  expect_error(with([](SyntheticElf& e) { e.segments[0].type = 3; }),
               {"offset 0x40", "PT_INTERP", "dynamically linked"});
  expect_error(with([](SyntheticElf& e) {
                 e.segments.push_back({2, 6, 0x8100000, 0x8100000, {0}, 0});
               }),
               {"offset 0x78", "PT_DYNAMIC"});
  expect_error(with([](SyntheticElf& e) { e.segments[0].type = 4; }),
               {"runs past its PT_NOTE segment"});
  expect_error(with([](SyntheticElf& e) { e.entry = 0x9000000; }),
               {"offset 0x18", "entry point 0x9000000", "executable PT_LOAD"});
  expect_error(with([](SyntheticElf& e) { e.segments[0].flags = 6; }),
               {"entry point 0x8000000 is not inside an executable"});
  expect_error(with([](SyntheticElf& e) {
                 e.segments.push_back({1, 6, 0x8000001, 0x8000001, {1}, 0});
               }),
               {"offset 0x78", "overlaps the segment [0x8000000, 0x8000002)"});
  expect_error(with([](SyntheticElf& e) { e.segments[0].type = 0; }), {"no loadable"});
}

TEST(ElfImage, RejectsOffsetsAndSizesOutsideTheFile) {
  const SyntheticElf s;
  auto bytes = s.build();
  auto patched = [&](std::size_t at, std::uint64_t v, int size) {
    auto copy = bytes;
    testing::set_le(copy, at, v, size);
    return copy;
  };
  const std::size_t ph = SyntheticElf::ph_offset(0);
  expect_error(patched(0x20, 0xFFFFFFFFFFFFFF00, 8), {"offset 0x20", "program header table"});
  expect_error(patched(0x38, 0x1000, 2), {"offset 0x20", "runs past the end"});
  expect_error(patched(0x38, 0, 2), {"no program headers"});
  expect_error(patched(0x36, 32, 2), {"offset 0x36", "program header size 32"});
  expect_error(patched(ph + 8, 0x100000, 8), {"offset 0x40", "run past the end of the file"});
  expect_error(patched(ph + 32, 0x100000, 8), {"filesz 0x100000 above memsz"});
  expect_error(patched(ph + 24, 0xFFFFFFFFFFFFFFFF, 8), {"wraps around"});
  // Truncated: the segment's bytes are gone.
  auto cut = bytes;
  cut.resize(bytes.size() - 1);
  expect_error(cut, {"run past the end of the file"});
}

TEST(ElfImage, ReadsNotesAndRejectsOversizedOnes) {
  // A PT_NOTE segment with one "Xen" note of type 18 (PVH entry).
  testing::Bytes note;
  testing::put_le(note, 4, 4);
  testing::put_le(note, 4, 4);
  testing::put_le(note, 18, 4);
  for (char c : {'X', 'e', 'n', '\0'}) note.push_back(static_cast<std::uint8_t>(c));
  testing::put_le(note, 0x8000010, 4);
  SyntheticElf s;
  s.segments.push_back({4, 4, 0, 0, note, 0});
  const ElfImage image = parse(s);
  ASSERT_EQ(image.notes().size(), 1u);
  EXPECT_EQ(image.notes()[0].name, "Xen");
  EXPECT_EQ(image.pvh_entry(), 0x8000010u);

  testing::set_le(s.segments[1].bytes, 4, 0x1000, 4);  // descsz past the segment
  expect_error(s.build(), {"note (namesz 4, descsz 4096) runs past its PT_NOTE segment"});
}

}  // namespace
}  // namespace cvtpm::formats::elf
