// QEMU's tpm-emulator backend as cvtpm-tpm-bridge serves it (QEMU backends/tpm/tpm_emulator.c,
// tpm_ioctl.h; the protocol swtpm serves in src/swtpm/ctrlchannel.c). QEMU connects to a Unix
// control socket and, before anything else, passes one end of a socketpair with CMD_SET_DATAFD
// (SCM_RIGHTS): TPM commands then travel over that descriptor, raw, one at a time. Control
// requests are a big-endian u32 code and the request part of the command's ptm_* union, answered
// by its response part.
//
// This file decides, per complete control request, what the bridge answers itself and what goes
// to the firmware; it holds no sockets, so the fuzzer and the unit tests drive it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "transport/swtpm_control.h"

namespace cvtpm::bridge {

namespace swtpm = fw::transport::swtpm;

// Which control channel a request came from: swtpm's TCP control port (tpm2-tss's TCTI, one
// connection per request) or QEMU's Unix control socket (one connection per VM).
enum class ControlOrigin { kTcp, kQemu };

// The payload QEMU sends per code: sizeof the request part of the ptm_* union, which for
// CMD_SET_LOCALITY (ptm_loc) and CMD_RESET_TPMESTABLISHED (ptm_reset_est) is 4 bytes, the u8
// locality padded to the union's u32 response; every other code as formats::swtpm's layout.
swtpm::RequestLayout qemu_request_layout(std::uint32_t code);

// swtpm result codes the bridge answers with that formats/swtpm does not name (libtpms
// tpm_error.h, as swtpm's ctrlchannel.c uses them).
inline constexpr std::uint32_t kTpmIoError = 0x1F;  // TPM_IOERROR: a data channel is already set

// What happens to one control request.
struct ControlRoute {
  enum class Kind {
    kForward,  // send `request` (code + canonical payload) to the firmware
    kAnswer,   // reply `answer` from the bridge; the firmware never sees the request
  };
  Kind kind = Kind::kAnswer;
  std::vector<std::uint8_t> request;
  std::vector<std::uint8_t> answer;
  // CMD_SET_DATAFD accepted: the descriptor that came with the request is now the data channel.
  bool adopt_data_fd = false;
  // The firmware's CMD_GET_CAPABILITY answer gets the bridge's own capabilities added.
  bool add_bridge_capabilities = false;
  const char* note = nullptr;  // a line for the bridge's log, or none
};

struct ControlContext {
  ControlOrigin origin = ControlOrigin::kTcp;
  bool fd_attached = false;     // SCM_RIGHTS brought a descriptor with this request
  bool data_fd_in_use = false;  // this control connection's data channel is open
};

ControlRoute route_control_request(const swtpm::Request& request, const ControlContext& context);

// The capabilities the bridge adds for QEMU's control socket: CMD_SET_DATAFD, which only the
// bridge can serve (the descriptor lives on the host).
inline constexpr std::uint64_t kBridgeCapabilities = swtpm::capability::kSetDataFd;

// A firmware CMD_GET_CAPABILITY answer (8 bytes, big-endian u64) with `extra` added; any other
// answer is returned unchanged.
std::vector<std::uint8_t> with_capabilities(std::span<const std::uint8_t> answer,
                                            std::uint64_t extra);

}  // namespace cvtpm::bridge
