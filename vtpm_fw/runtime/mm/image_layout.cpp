#include "mm/image_layout.h"

extern "C" char __image_start[], __text_end[], __rodata_end[], __stacks_start[], __stacks_end[],
    __image_end[];

namespace cvtpm::fw::mm {

ImageLayout image_layout() {
  auto address = [](const char* symbol) { return reinterpret_cast<std::uint64_t>(symbol); };
  return ImageLayout{address(__image_start),  address(__text_end),   address(__rodata_end),
                     address(__stacks_start), address(__stacks_end), address(__image_end)};
}

}  // namespace cvtpm::fw::mm
