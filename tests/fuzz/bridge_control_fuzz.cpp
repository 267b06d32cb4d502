// Fuzzes what cvtpm-tpm-bridge does with control bytes from a client it does not trust: QEMU's
// tpm-emulator control socket (QEMU's request sizes, descriptors passed with SCM_RIGHTS) or
// tpm2-tss's TCP control port, through the assembler and the bridge's routing
// (bridge/include/cvtpm/bridge/emulator_control.h). Checks the invariants, not just the absence
// of crashes: whatever goes to the firmware is a request the serial link's check accepts
// unchanged, every local answer has the size of the response QEMU reads for that code, a
// descriptor becomes a data channel only with CMD_SET_DATAFD and only once per connection.
//
// Input layout: byte 0 bit 0 = the client is QEMU (else TCP); bits 1..7 = which requests carry a
// descriptor (request i carries one if bit 1 + i % 7 is set); then the control stream, where
// 0xFF 0xFF stands for an idle line.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cvtpm/bridge/emulator_control.h"
#include "cvtpm/formats/endian.h"

namespace tp = cvtpm::fw::transport;
namespace swtpm = tp::swtpm;
using cvtpm::bridge::ControlContext;
using cvtpm::bridge::ControlOrigin;
using cvtpm::bridge::ControlRoute;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// The response sizes QEMU's tpm_emulator_ctrlcmd reads for the codes the bridge answers.
std::size_t qemu_response_size(std::uint32_t code) {
  return code == swtpm::kGetStateBlob ? 16 : 4;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool qemu = (data[0] & 1) != 0;
  const ControlOrigin origin = qemu ? ControlOrigin::kQemu : ControlOrigin::kTcp;
  std::vector<std::uint8_t> buffer(swtpm::ControlAssembler::kBufferSize);
  swtpm::ControlAssembler assembler(
      buffer, qemu ? cvtpm::bridge::qemu_request_layout : swtpm::request_layout);
  bool data_fd_in_use = false;
  std::size_t requests = 0;
  for (std::size_t i = 1; i < size; ++i) {
    if (i > 1 && data[i] == 0xFF && data[i - 1] == 0xFF) {
      if (assembler.idle() == tp::StreamEvent::kError) {
        check(assembler.error_code() == swtpm::kBadOrdinal ||
              assembler.error_code() == swtpm::kBadParameter);
      }
      continue;
    }
    if (assembler.push(data[i]) != tp::StreamEvent::kCommand) continue;
    const swtpm::Request request = assembler.request();
    const bool fd_attached = ((data[0] >> (1 + requests % 7)) & 1) != 0;
    ++requests;
    const ControlRoute route = cvtpm::bridge::route_control_request(
        request, ControlContext{origin, fd_attached, data_fd_in_use});
    if (route.kind == ControlRoute::Kind::kForward) {
      swtpm::Request parsed{};
      check(swtpm::check_request(route.request, parsed) == swtpm::kSuccess);
      check(parsed.code == request.code);
      check(!route.adopt_data_fd);
      check(route.answer.empty());
      check(route.add_bridge_capabilities == (qemu && request.code == swtpm::kGetCapability));
    } else {
      check(route.request.empty());
      check(route.answer.size() == qemu_response_size(request.code));
      check(request.code == swtpm::kSetDataFd || request.code == swtpm::kGetStateBlob ||
            request.code == swtpm::kSetStateBlob);
    }
    if (route.adopt_data_fd) {
      check(qemu && fd_attached && !data_fd_in_use && request.code == swtpm::kSetDataFd);
      data_fd_in_use = true;
    }
  }
  // The capability rewrite only ever adds the bridge's bits to an 8-byte answer.
  const std::size_t n = size - 1 < 8 ? size - 1 : 8;
  const std::vector<std::uint8_t> answer(data + 1, data + 1 + n);
  const std::vector<std::uint8_t> out =
      cvtpm::bridge::with_capabilities(answer, cvtpm::bridge::kBridgeCapabilities);
  check(out.size() == answer.size());
  if (n == 8) {
    const std::uint64_t before = cvtpm::formats::load_be<std::uint64_t>(answer.data());
    check(cvtpm::formats::load_be<std::uint64_t>(out.data()) ==
          (before | cvtpm::bridge::kBridgeCapabilities));
  } else {
    check(out == answer);
  }
  return 0;
}
