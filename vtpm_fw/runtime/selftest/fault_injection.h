// Deliberate faults for the QEMU fault tests (PVH command line fault=...): each must end in a
// clean panic report, never a triple fault or a hang.
#pragma once

#include "platform/native/boot_info.h"

namespace cvtpm::fw::selftest {

// Triggers `fault`; returns only if the fault did not happen (the caller then panics).
void trigger_fault(native::FaultTest fault);
const char* fault_name(native::FaultTest fault);

}  // namespace cvtpm::fw::selftest
