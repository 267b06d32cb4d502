// Fuzzes the vTPM transport parsers (vtpm_fw/runtime/transport): the serial link receiver and
// COBS decoder (bytes from the host side of the UART), the firmware's serial channel end to end
// over a modelled UART, and the raw TPM command and swtpm control assemblers (bytes from any
// tpm2-tools client, in cvtpm-tpm-bridge). Checks the invariants, not just the absence of crashes:
// frames re-encode to themselves, requests never exceed their buffers, every response the
// channel writes is a well-formed frame.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../firmware/fake_uart.h"
#include "transport/serial_channel.h"
#include "transport/serial_link.h"
#include "transport/swtpm_control.h"
#include "transport/tpm_stream.h"

namespace tp = cvtpm::fw::transport;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

class EchoHandler final : public tp::TpmTransportHandler {
 public:
  std::size_t execute(std::span<const std::uint8_t> command, std::span<std::uint8_t> out) override {
    check(tp::check_command(command) == 0);
    const std::size_t n = command.size() < out.size() ? command.size() : out.size();
    std::memcpy(out.data(), command.data(), n);
    return command.size() % 3 == 0 ? 0 : n;  // sometimes an invalid answer
  }
  std::size_t control(const tp::swtpm::Request& request, std::span<std::uint8_t> out) override {
    check(request.payload.size() <= 12 + tp::swtpm::kMaxVariablePayload);
    return tp::swtpm::encode_result(request.code, out);
  }
};

void fuzz_link(const std::uint8_t* data, std::size_t size) {
  tp::LinkReceiver receiver;
  std::vector<std::uint8_t> encoded(tp::kMaxLinkFrame);
  for (std::size_t i = 0; i < size; ++i) {
    if (!receiver.push(data[i])) continue;
    const tp::Frame f = receiver.frame();
    check(tp::is_valid_frame_type(static_cast<std::uint8_t>(f.type)));
    check(f.payload.size() <= tp::kMaxLinkPayload);
    // Re-encoding and decoding gives the same frame back.
    const std::vector<std::uint8_t> payload(f.payload.begin(), f.payload.end());
    const std::size_t n = tp::encode_frame(f.type, f.sequence, payload, encoded);
    check(n > 0);
    tp::LinkReceiver again;
    bool seen = false;
    for (std::size_t k = 0; k < n; ++k) {
      if (again.push(encoded[k])) {
        const tp::Frame g = again.frame();
        check(g.type == f.type && g.sequence == f.sequence && g.payload.size() == payload.size() &&
              (payload.empty() ||
               std::memcmp(g.payload.data(), payload.data(), payload.size()) == 0));
        seen = true;
      }
    }
    check(seen);
  }
  // COBS on its own: decoding arbitrary bytes stays in bounds; encoding round-trips.
  std::vector<std::uint8_t> copy(data, data + size);
  const long decoded = tp::cobs_decode(copy.data(), copy.size());
  check(decoded <= static_cast<long>(size));
  std::vector<std::uint8_t> cobs(size + size / 254 + 1);
  const std::size_t n = tp::cobs_encode(data, size, cobs.data());
  check(n <= cobs.size());
  cobs.resize(n);
  check(tp::cobs_decode(cobs.data(), cobs.size()) == static_cast<long>(size));
  check(size == 0 || std::memcmp(cobs.data(), data, size) == 0);
}

void fuzz_channel(const std::uint8_t* data, std::size_t size) {
  cvtpm::fw::testing::FakeUart model(0x2F8);
  cvtpm::fw::console::Uart16550 uart(model, 0x2F8);
  check(uart.init());
  EchoHandler handler;
  tp::SerialChannel channel(uart, handler);
  model.receive(std::vector<std::uint8_t>(data, data + size));
  while (channel.poll()) {
  }
  // Everything written back is a sequence of well-formed response frames.
  const std::vector<std::uint8_t> out = model.take_transmitted();
  tp::LinkReceiver responses;
  std::size_t frames = 0;
  for (std::uint8_t b : out) {
    if (responses.push(b)) {
      const tp::FrameType t = responses.frame().type;
      check(t == tp::FrameType::kTpmResponse || t == tp::FrameType::kControlResponse ||
            t == tp::FrameType::kResetAck);
      ++frames;
    }
  }
  check(responses.stats().bad_frames == 0);
  check(frames ==
        channel.stats().tpm_commands + channel.stats().control_requests + channel.stats().resets);
}

void fuzz_assemblers(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> command_buffer(tp::kMaxTpmCommand);
  std::vector<std::uint8_t> control_buffer(tp::swtpm::ControlAssembler::kBufferSize);
  tp::TpmCommandAssembler commands(command_buffer);
  tp::swtpm::ControlAssembler controls(control_buffer);
  for (std::size_t i = 0; i < size; ++i) {
    // A 0xFF after a 0xFF stands for an idle line (a gap between client writes).
    if (i > 0 && data[i] == 0xFF && data[i - 1] == 0xFF) {
      if (commands.idle() == tp::StreamEvent::kError) {
        check(commands.error_code() == tp::kTpmRcBadTag ||
              commands.error_code() == tp::kTpmRcCommandSize);
      }
      if (controls.idle() == tp::StreamEvent::kError) {
        check(controls.error_code() == tp::swtpm::kBadOrdinal ||
              controls.error_code() == tp::swtpm::kBadParameter);
      }
      continue;
    }
    if (commands.push(data[i]) == tp::StreamEvent::kCommand) {
      const auto c = commands.command();
      check(c.size() >= tp::kTpmHeaderSize && c.size() <= command_buffer.size());
      check(tp::check_command(c) == 0);
    }
    if (controls.push(data[i]) == tp::StreamEvent::kCommand) {
      const tp::swtpm::Request r = controls.request();
      std::vector<std::uint8_t> bytes(4 + r.payload.size());
      bytes[0] = static_cast<std::uint8_t>(r.code >> 24);
      bytes[1] = static_cast<std::uint8_t>(r.code >> 16);
      bytes[2] = static_cast<std::uint8_t>(r.code >> 8);
      bytes[3] = static_cast<std::uint8_t>(r.code);
      std::memcpy(bytes.data() + 4, r.payload.data(), r.payload.size());
      tp::swtpm::Request parsed{};
      check(tp::swtpm::check_request(bytes, parsed) == tp::swtpm::kSuccess);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_link(data, size);
  fuzz_channel(data, size);
  fuzz_assemblers(data, size);
  return 0;
}
