// The socket protocol of swtpm that tpm2-tss' "swtpm" TCTI speaks (tpm2-tss
// src/tss2-tcti/tcti-swtpm.c; swtpm include/swtpm/tpm_ioctl.h "Commands used by the non-CUSE
// TPMs"; swtpm src/swtpm/ctrlchannel.c):
//   data port N      raw TPM 2.0 commands in, raw responses out. The TCTI may open a connection
//                    per command (and once without any, as a reachability check).
//   control port N+1 big-endian u32 command code + payload in; big-endian u32 result (+ payload)
//                    out. The TCTI sends CMD_SET_LOCALITY(0) when it starts and CMD_INIT to
//                    reset the TPM.
// The control channel's definitions are shared with the firmware (formats/swtpm/control_channel.h);
// this file holds the two parsers of client bytes (both bounds-checked and
// fuzzed: tests/fuzz/vtpmd_protocol_fuzz.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/formats/swtpm/control_channel.h"

namespace cvtpm::vtpm::host::swtpm {

// The control channel's codes, capability bits and result codes.
using namespace formats::swtpm;  // NOLINT(google-build-using-namespace)

// --- Data channel ---------------------------------------------------------------------------

// Where the next TPM command in a client's buffered bytes ends.
struct CommandFrame {
  enum class Kind : std::uint8_t {
    kNeedMore,  // the header or the rest of the command has not arrived yet
    kComplete,  // the first `size` bytes are one command
    kBadSize,   // the header's size is below the header or above the largest command: the
                // stream cannot be resynchronized
  };
  Kind kind;
  std::size_t size;  // kComplete: the command's size; kBadSize: the size the header claimed
};

// `max_command` is the largest command accepted (the SVSM buffer's 4087 bytes).
CommandFrame next_command(std::span<const std::uint8_t> buffered, std::size_t max_command);

// --- Control channel ------------------------------------------------------------------------

struct ControlFrame {
  enum class Kind : std::uint8_t {
    kNeedMore,     // the code or its payload has not arrived yet
    kComplete,     // `code` with `payload` occupies the first `size` bytes
    kUndelimited,  // a command whose payload length cvtpm-vtpmd does not know (unknown or
                   // variable-length and unsupported): answer, then close the connection
  };
  Kind kind;
  std::uint32_t code;
  std::span<const std::uint8_t> payload;
  std::size_t size;
};

ControlFrame next_control(std::span<const std::uint8_t> buffered);

}  // namespace cvtpm::vtpm::host::swtpm
