// The native platform's machine services (bare metal, plain QEMU or a non-confidential IGVM
// boot): identity-mapped physical memory for the boot structures, the QEMU test exit, and the
// serial ports it uses.
#pragma once

#include <cstdint>

#include "platform/native/boot_info.h"

namespace cvtpm::fw::native {

// COM1 is the console (or BootParams.debug_serial_port); the vTPM's serial link
// (transport/serial_link.h) is on COM2.
inline constexpr std::uint16_t kTpmLinkPort = 0x2F8;

// QEMU's isa-debug-exit device, as the tests configure it
// (-device isa-debug-exit,iobase=0xf4,iosize=0x04): QEMU exits with status (value << 1) | 1.
inline constexpr std::uint16_t kDebugExitPort = 0xF4;
inline constexpr std::uint32_t kExitPassValue = 0x10;  // QEMU exit status 33
inline constexpr std::uint32_t kExitFailValue = 0x11;  // QEMU exit status 35

// Physical memory below the boot page tables' limit (4 GiB), read directly.
class IdentityMappedMemory final : public PhysicalMemory {
 public:
  bool read(std::uint64_t gpa, void* out, std::size_t length) const override;
};

// In test mode, stopping the firmware exits QEMU with the pass/fail status; otherwise (and if
// the device is absent) it halts.
void enable_test_exit();
[[noreturn]] void stop(bool failed);
// Terminate hook for the panic path.
void terminate_hook(bool failed);

}  // namespace cvtpm::fw::native
