// The runtime self-test (PVH command line "selftest" or BootParams kSelfTest): proves the
// bare-metal runtime carries Debian's libcrypto.a and libtpms.a — OpenSSL known answers and
// signatures, libtpms manufacturing a TPM in memory and answering commands — and that the
// runtime's own pieces (heap, C library) hold up. It is a test of the runtime, not of the vTPM
// service: the TPM engine the firmware serves comes from vtpm_fw/core.
#pragma once

namespace cvtpm::fw::selftest {

// Logs one line per check; true if all passed.
bool run();

}  // namespace cvtpm::fw::selftest
