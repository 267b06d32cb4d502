#include "platform/native/native_platform.h"

#include "arch/x86_64/cpu.h"
#include "libc/shim.h"

namespace cvtpm::fw::native {

namespace {
bool g_test_exit = false;
constexpr std::uint64_t kBootMapLimit = std::uint64_t{4} << 30;
}  // namespace

bool IdentityMappedMemory::read(std::uint64_t gpa, void* out, std::size_t length) const {
  // Used while the boot page tables (identity map of 4 GiB, page 0 included: QEMU puts the PVH
  // structures in low memory) are live.
  if (gpa >= kBootMapLimit || length > kBootMapLimit - gpa) return false;
  libc::memcpy(out, reinterpret_cast<const void*>(gpa), length);
  return true;
}

void enable_test_exit() {
  g_test_exit = true;
}

void terminate_hook(bool failed) {
  if (g_test_exit) x86::outl(kDebugExitPort, failed ? kExitFailValue : kExitPassValue);
}

void stop(bool failed) {
  terminate_hook(failed);
  x86::halt_forever();
}

}  // namespace cvtpm::fw::native
