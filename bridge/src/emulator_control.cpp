#include "cvtpm/bridge/emulator_control.h"

#include <algorithm>

#include "cvtpm/formats/endian.h"

namespace cvtpm::bridge {

using formats::load_be;
using formats::store_be;

namespace {

std::vector<std::uint8_t> result_only(std::uint32_t result) {
  std::vector<std::uint8_t> out(4);
  store_be<std::uint32_t>(out.data(), result);
  return out;
}

ControlRoute answer(std::vector<std::uint8_t> bytes, const char* note) {
  ControlRoute route;
  route.kind = ControlRoute::Kind::kAnswer;
  route.answer = std::move(bytes);
  route.note = note;
  return route;
}

// The request as the serial link and the firmware expect it: code and the canonical payload
// (QEMU's padding after the locality byte dropped).
std::vector<std::uint8_t> canonical_request(const swtpm::Request& request) {
  const swtpm::RequestLayout layout = swtpm::request_layout(request.code);
  std::size_t size = request.payload.size();
  if (layout.known && !layout.variable && size > layout.fixed) size = layout.fixed;
  std::vector<std::uint8_t> out(4 + size);
  store_be<std::uint32_t>(out.data(), request.code);
  std::copy_n(request.payload.begin(), size, out.begin() + 4);
  return out;
}

}  // namespace

swtpm::RequestLayout qemu_request_layout(std::uint32_t code) {
  switch (code) {
    case swtpm::kSetLocality:
    case swtpm::kResetTpmEstablished:
      return {true, false, 4, 0};
    default:
      return swtpm::request_layout(code);
  }
}

ControlRoute route_control_request(const swtpm::Request& request, const ControlContext& context) {
  switch (request.code) {
    case swtpm::kSetDataFd:
      // swtpm's answers: no descriptor in the message is TPM_BAD_PARAMETER, a data channel
      // already set TPM_IOERROR (ctrlchannel.c, CMD_SET_DATAFD).
      if (context.origin != ControlOrigin::kQemu || !context.fd_attached) {
        return answer(result_only(swtpm::kBadParameter),
                      "CMD_SET_DATAFD without a descriptor refused");
      }
      if (context.data_fd_in_use) {
        return answer(result_only(kTpmIoError),
                      "CMD_SET_DATAFD refused: this control connection has a data channel");
      }
      {
        ControlRoute route = answer(result_only(swtpm::kSuccess), nullptr);
        route.adopt_data_fd = true;
        return route;
      }
    case swtpm::kGetStateBlob: {
      // ptm_getstate's response header with nothing to transfer (what swtpm sends on failure):
      // the TPM's state never leaves the firmware, so there is no migration.
      std::vector<std::uint8_t> out(16, 0);
      store_be<std::uint32_t>(out.data(), swtpm::kBadOrdinal);
      return answer(std::move(out),
                    "state blobs refused: the TPM's state stays in the firmware (no migration)");
    }
    case swtpm::kSetStateBlob:
      return answer(result_only(swtpm::kBadOrdinal),
                    "state blobs refused: the TPM's state stays in the firmware (no migration)");
    default: {
      ControlRoute route;
      route.kind = ControlRoute::Kind::kForward;
      route.request = canonical_request(request);
      route.add_bridge_capabilities =
          request.code == swtpm::kGetCapability && context.origin == ControlOrigin::kQemu;
      return route;
    }
  }
}

std::vector<std::uint8_t> with_capabilities(std::span<const std::uint8_t> answer,
                                            std::uint64_t extra) {
  std::vector<std::uint8_t> out(answer.begin(), answer.end());
  if (out.size() == 8)
    store_be<std::uint64_t>(out.data(), load_be<std::uint64_t>(out.data()) | extra);
  return out;
}

}  // namespace cvtpm::bridge
