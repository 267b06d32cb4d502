// Writes the seed corpora of the IGVM and ELF fuzz targets:
//   igvm_fuzz_corpus_gen tests/fuzz/corpus
// Inputs are small, deterministic, and cover every header type, valid and broken.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cvtpm/formats/elf/elf_image.h"
#include "cvtpm/formats/ovmf/ovmf_image.h"
#include "cvtpm/igvmgen/image_builder.h"
#include "cvtpm/support/files.h"
#include "raw_igvm.h"
#include "synthetic_elf.h"
#include "synthetic_ovmf.h"

namespace {

using namespace cvtpm;
using testing::Bytes;
using testing::RawIgvm;

void write(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
}

// A 4-page OVMF image with a footer table and SEV metadata (secrets, CPUID, CAA, SEC_MEM).
Bytes small_ovmf() {
  Bytes img(4 * 4096, 0xFF);
  const std::size_t footer = img.size() - 32 - 18;
  auto guid = [](const char* text) {
    Bytes be;
    for (const char* p = text; *p; ++p) {
      if (*p == '-') continue;
      be.push_back(static_cast<std::uint8_t>(std::stoul(std::string(p, 2), nullptr, 16)));
      ++p;
    }
    return Bytes{be[3], be[2], be[1],  be[0],  be[5],  be[4],  be[7],  be[6],
                 be[8], be[9], be[10], be[11], be[12], be[13], be[14], be[15]};
  };
  // Entries end at the footer: metadata pointer (22 bytes), then the footer itself.
  const std::size_t meta_entry = footer - 22;
  testing::set_le(img, meta_entry, 0x800, 4);
  testing::set_le(img, meta_entry + 4, 22, 2);
  const Bytes meta_guid = guid("dc886566-984a-4798-a75e-5585a7bf67cc");
  std::copy(meta_guid.begin(), meta_guid.end(),
            img.begin() + static_cast<std::ptrdiff_t>(meta_entry + 6));
  testing::set_le(img, footer, 22 + 18, 2);
  const Bytes footer_guid = guid("96b582de-1fb2-45f7-baea-a366c55a082d");
  std::copy(footer_guid.begin(), footer_guid.end(),
            img.begin() + static_cast<std::ptrdiff_t>(footer + 2));
  const std::size_t at = img.size() - 0x800;
  const std::uint32_t sections[][3] = {
      {0x800000, 0x1000, 1}, {0x801000, 0x1000, 2}, {0x802000, 0x1000, 3}, {0x803000, 0x1000, 4}};
  img[at] = 'A', img[at + 1] = 'S', img[at + 2] = 'E', img[at + 3] = 'V';
  testing::set_le(img, at + 4, 16 + 12 * 4, 4);
  testing::set_le(img, at + 8, 1, 4);
  testing::set_le(img, at + 12, 4, 4);
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 3; ++k) testing::set_le(img, at + 16 + 12 * i + 4 * k, sections[i][k], 4);
  }
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_ROOT\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  const auto igvm_dir = root / "igvm_reader";
  const auto elf_dir = root / "elf_reader";
  const auto ovmf_dir = root / "ovmf_image";
  std::filesystem::create_directories(igvm_dir);
  std::filesystem::create_directories(elf_dir);
  std::filesystem::create_directories(ovmf_dir);
  // An OVMF with the SEV and IGVM metadata of edk2-stable202608 (Debian's ovmf-generic 2026.08).
  write(ovmf_dir / "igvm_metadata.bin", testing::SyntheticOvmf{}.build());

  const Bytes small = testing::pattern_page(1);
  RawIgvm every(2);
  every.platform(1, 2, 2)
      .platform(2, 0)
      .guest_policy(0x30000, 1)
      .required_memory(0x8000000, 3, 0x10000)
      .area(0x2000, 0)
      .usage(0x307, 0, 0)
      .usage(0x313, 0, 4)
      .usage(0x30C, 0, 0x100)
      .insert(0x10000, 3, 0)
      .page(0x20000, 3, 0, 0, small)
      .page(0x21000, 3, 0, 0, std::nullopt)
      .page(0x22000, 1, 2, 0, small)
      .page(0x23000, 1, 0, 1, std::nullopt)
      .page(0x24000, 1, 0, 2, small)
      .page(0x200000, 1, 1, 0, std::nullopt)
      .vp_context(0, 2, 0, Bytes(4096, 0))
      .vp_context(0xFFFFFFFFF000, 1, 0, testing::pattern_page(2))
      .id_block(1, Bytes(48, 0x11));
  write(igvm_dir / "every_page_type.igvm", every.build());

  RawIgvm v1;
  v1.platform(1, 2).page(0x1000, 1, 0, 0, small);
  write(igvm_dir / "v1_snp_one_page.igvm", v1.build());

  Bytes vbs;
  testing::put_le(vbs, 1, 4);
  vbs.resize(36, 0x33);
  RawIgvm others(2);
  others.platform(1, 1, 2)
      .platform(2, 5)
      .platform(4, 4)
      .vp_context(0, 1, 0, vbs)
      .vp_context(0xFFFFFFFFF000, 2, 0, small)
      .page(0x1000, 7, 0, 0, small);
  write(igvm_dir / "vsm_sev_es_sev.igvm", others.build());

  RawIgvm arm(2, 1);
  arm.platform(1, 6).header(0x106, Bytes(32, 0x5A));
  write(igvm_dir / "aarch64_cca.igvm", arm.build());

  Bytes bad_crc = every.build();
  bad_crc[20] ^= 0xFF;
  write(igvm_dir / "bad_crc.igvm", bad_crc);
  Bytes truncated = v1.build();
  truncated.resize(truncated.size() - 1);
  write(igvm_dir / "truncated.igvm", truncated);

  // A real cvtpm image: the test firmware and a small OVMF.
  const auto elf = formats::elf::ElfImage::parse(load_file(CVTPM_TEST_FIRMWARE), "fw.elf");
  const auto ovmf = formats::ovmf::OvmfImage::parse(ByteBuffer(small_ovmf()), "ovmf.fd");
  // (The small OVMF has no IGVM metadata; the seed exercises the IGVM reader, not OVMF.)
  igvmgen::BuildOptions options;
  options.allow_non_svsm_ovmf = true;
  const auto image = igvmgen::build_image(elf, ovmf, options);
  write(igvm_dir / "cvtpm_image.igvm", formats::igvm::write_igvm(image.file));

  write(elf_dir / "test_firmware.elf", read_file(CVTPM_TEST_FIRMWARE));
  testing::SyntheticElf two;
  two.segments.push_back({1, 6, 0x8001000, 0x8001000, Bytes(32, 0xAA), 0x4000});
  write(elf_dir / "two_segments.elf", two.build());
  testing::SyntheticElf dyn;
  dyn.type = 3;
  write(elf_dir / "pie.elf", dyn.build());
  testing::SyntheticElf notes;
  Bytes note;
  testing::put_le(note, 4, 4);
  testing::put_le(note, 4, 4);
  testing::put_le(note, 18, 4);
  for (char c : {'X', 'e', 'n', '\0'}) note.push_back(static_cast<std::uint8_t>(c));
  testing::put_le(note, 0x8000000, 4);
  notes.segments.push_back({4, 4, 0, 0, note, 0});
  write(elf_dir / "pvh_note.elf", notes.build());
  return 0;
}
