// Fuzzes the ELF64 reader (firmware images for cvtpm-igvmgen).
#include <cstdint>
#include <cstdlib>

#include "cvtpm/formats/elf/elf_image.h"
#include "cvtpm/support/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cvtpm;
  try {
    const auto image = formats::elf::ElfImage::parse(ByteBuffer(data, size), "fuzz");
    std::uint64_t sum = image.entry();
    for (const auto& s : image.segments()) {
      if (s.file_bytes.size() > s.memsz) std::abort();
      for (std::uint8_t b : s.file_bytes) sum += b;
    }
    for (const auto& n : image.notes()) sum += n.desc.size() + n.name.size();
    (void)image.pvh_entry();
    if (image.highest_address() < image.lowest_address()) std::abort();
    (void)sum;
  } catch (const InputError&) {
  }
  return 0;
}
