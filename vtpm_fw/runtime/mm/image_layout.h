// Where link.ld placed the firmware image: its sections, the stacks and the end of the image
// (the start of the page allocator's pool in the firmware region).
#pragma once

#include <cstdint>

namespace cvtpm::fw::mm {

struct ImageLayout {
  std::uint64_t start;         // boot::kFirmwareBase
  std::uint64_t text_end;      // [start, text_end): code, R X
  std::uint64_t rodata_end;    // [text_end, rodata_end): R
  std::uint64_t stacks_start;  // [rodata_end, stacks_start): .data/.bss, R W
  std::uint64_t stacks_end;    // stacks with their guard pages
  std::uint64_t end;           // page aligned end of everything the image occupies
};

ImageLayout image_layout();

}  // namespace cvtpm::fw::mm
