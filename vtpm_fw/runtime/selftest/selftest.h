// The firmware self-test (PVH command line "selftest" or BootParams kSelfTest), run after the
// boot manufactured the TPM: the runtime (heap, C library), libcrypto (known answers, the trimmed
// provider offering every algorithm libtpms uses and nothing it was trimmed of), and the vTPM
// service as a guest reaches it — TPM commands through SVSM_VTPM_CMD and the dispatcher into
// the engine, the attestation manifest and REPORT_DATA, hostile requests refused — then the
// runtime again (the libraries' allocations must leave the heap sound).
#pragma once

#include "platform/native/native_vtpm.h"

namespace cvtpm::fw::selftest {

// Logs one line per check; true if all passed.
bool run(native::NativeVtpm& vtpm);

}  // namespace cvtpm::fw::selftest
