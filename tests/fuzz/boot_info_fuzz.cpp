// Fuzzes the native platform's boot-information parser (vtpm_fw/runtime/platform/native):
// the input is guest memory from GPA 0x1000 on, parsed both as a PVH start (hvm_start_info at
// 0x1000) and as an IGVM native start (BootParams at 0x1000); everything it points to must be
// read through the bounds-checked accessor. Under SNP the memory map comes from the untrusted
// host. Checks that a successful parse describes sorted, disjoint RAM holding the firmware region.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cvtpm/formats/boot/boot_params.h"
#include "platform/native/boot_info.h"

namespace native = cvtpm::fw::native;
namespace boot = cvtpm::formats::boot;

namespace {

constexpr std::uint64_t kBase = 0x1000;

class InputMemory final : public native::PhysicalMemory {
 public:
  InputMemory(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool read(std::uint64_t gpa, void* out, std::size_t length) const override {
    if (gpa < kBase || gpa - kBase > size_ || length > size_ - (gpa - kBase)) return false;
    std::memcpy(out, data_ + (gpa - kBase), length);
    return true;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

void check_result(const native::BootInfo& info) {
  if (info.ram_count == 0 || info.ram_count > native::BootInfo::kMaxRam) std::abort();
  for (std::size_t i = 0; i < info.ram_count; ++i) {
    if (info.ram[i].start >= info.ram[i].end) std::abort();
    if (i > 0 && info.ram[i].start <= info.ram[i - 1].end) std::abort();  // sorted, merged
  }
  if (!native::ram_contains(info, boot::kFirmwareBase,
                            boot::kFirmwareBase + boot::kFirmwareRegionSize)) {
    std::abort();
  }
  if (std::strlen(info.command_line) >= native::BootInfo::kCommandLineMax) std::abort();
  if (info.reserved_count > native::BootInfo::kMaxReserved) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const InputMemory memory(data, size);
  native::BootInfo info;
  native::BootError error;
  if (native::read_boot_info(boot::kEntryMagic | 1, 0, kBase, memory, info, error)) {
    check_result(info);
  } else if (error.message[0] == '\0') {
    std::abort();  // a failure always says why
  }
  if (native::read_boot_info(boot::kEntryMagic | 2, kBase, 0, memory, info, error)) {
    check_result(info);
  } else if (error.message[0] == '\0') {
    std::abort();
  }
  (void)native::early_console_port(boot::kEntryMagic | 2, kBase, memory);
  return 0;
}
