// The FS-based thread control block every -fstack-protector function reads its canary from
// (%fs:0x28, the glibc x86-64 TCB layout the Debian archives were compiled for). entry.S points
// FS at it before any C++ runs; set_stack_canary() replaces the zero canary with a random one.
#pragma once

#include <cstdint>

namespace cvtpm::fw::x86 {

// Must be called from a function that never returns (fw_main): frames live at the time of the
// change would fail their canary check on return.
void set_stack_canary(std::uint64_t canary);
std::uint64_t stack_canary();

}  // namespace cvtpm::fw::x86
