// Fuzzes the native platform's vTPM path as the firmware composes it (platform/native/
// tpm_channel.cpp): link frames into the serial channel over a modelled UART, whose checked
// requests go to the transport handler, which issues SVSM_VTPM_CMD / SVSM_ATTEST_* through the
// native guest and the dispatcher into the hosted core and libtpms (one engine, manufactured once
// with an ECC P-256 EK; every input starts with a _TPM_Init and locality 0).
//
// Input: records of u8 kind (even: TPM command, odd: control request), u16 big-endian length,
// then that many payload bytes (cut at the end of the input). Each record becomes one link frame.
// Invariants: every request gets exactly one response frame with its sequence number and the
// response type; TPM responses carry a TPM header whose size field is their length; control
// responses have at least the result; a TPM command runs in libtpms only if it fits the SVSM
// buffer, the locality is 0 and the TPM is powered; the SVSM clears call_pending every time; the
// heap stays consistent.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "../firmware/fake_uart.h"
#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/endian.h"
#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "mm/heap.h"
#include "mm/heap_allocator.h"
#include "platform/native/svsm_guest.h"
#include "platform/native/vtpm_platform.h"
#include "platform/native/vtpm_transport.h"
#include "transport/serial_channel.h"
#include "transport/serial_link.h"

namespace native = cvtpm::fw::native;
namespace tp = cvtpm::fw::transport;
namespace vtpm = cvtpm::vtpm;
namespace boot = cvtpm::formats::boot;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr std::uint64_t kFirmwareStart = boot::kFirmwareBase;
constexpr std::uint64_t kFirmwareEnd = boot::kFirmwareBase + boot::kFirmwareRegionSize;
constexpr std::uint64_t kBackingStart = kFirmwareStart - 0x10000;

bool grow(void*, std::size_t min_bytes, void** start, std::size_t* bytes) {
  const std::size_t size = (min_bytes + 64 > (1u << 20) ? min_bytes + 64 : (1u << 20));
  void* block = std::aligned_alloc(16, (size + 15) & ~std::size_t{15});  // never freed: a pool
  if (block == nullptr) return false;
  *start = block;
  *bytes = size;
  return true;
}

void heap_error(void*, const char*, const void*) {
  std::abort();
}

struct Stack {
  Stack() : backing(kFirmwareStart - kBackingStart) {
    info.ram[0] = {kBackingStart, kFirmwareEnd};
    info.ram_count = 1;
    heap.init(grow, nullptr, heap_error, nullptr, 0xF022);
    const auto window = reinterpret_cast<std::uintptr_t>(backing.data()) - kBackingStart;
    platform = std::make_unique<native::NativeVtpmPlatform>(
        native::NativePlatformConfig{&info, kFirmwareStart, kFirmwareEnd, std::uint64_t{4} << 30,
                                     window, area.calling_area, area.start(), area.end()},
        allocator);
    engine = std::make_unique<vtpm::TpmEngine>(allocator);
    check(engine->manufacture({vtpm::EkAlgorithm::kEccP256}).ok());
    dispatcher = std::make_unique<vtpm::Dispatcher>(*platform, engine.get());
    guest = std::make_unique<native::SvsmGuest>(*dispatcher, *platform, area);
    handler = std::make_unique<native::VtpmTransportHandler>(*guest, *engine);
    check(uart.init());
  }

  std::vector<std::uint8_t> backing;
  native::GuestArea area = native::GuestArea::ending_at(kFirmwareStart);
  native::BootInfo info;
  cvtpm::fw::mm::Heap heap;
  cvtpm::fw::mm::HeapAllocator allocator{heap};
  std::unique_ptr<native::NativeVtpmPlatform> platform;
  std::unique_ptr<vtpm::TpmEngine> engine;
  std::unique_ptr<vtpm::Dispatcher> dispatcher;
  std::unique_ptr<native::SvsmGuest> guest;
  std::unique_ptr<native::VtpmTransportHandler> handler;
  cvtpm::fw::testing::FakeUart uart_model{0x2F8};
  cvtpm::fw::console::Uart16550 uart{uart_model, 0x2F8};
};

// Hands requests on to the handler: the native vTPM glue is built without RTTI (as the
// firmware), so in sanitizer builds the channel (built with UBSan's vptr check) must call a class
// that has typeinfo; this file is compiled without the check.
class Forwarding final : public tp::TpmTransportHandler {
 public:
  explicit Forwarding(native::VtpmTransportHandler& inner) : inner_(inner) {}
  std::size_t execute(std::span<const std::uint8_t> command,
                      std::span<std::uint8_t> response) override {
    return inner_.execute(command, response);
  }
  std::size_t control(const tp::swtpm::Request& request,
                      std::span<std::uint8_t> response) override {
    return inner_.control(request, response);
  }

 private:
  native::VtpmTransportHandler& inner_;
};

Stack& stack() {
  static Stack* s = new Stack();  // lives for the process, like the firmware's
  return *s;
}

// Sends one frame, runs the channel, returns the one response frame's payload.
std::vector<std::uint8_t> exchange(tp::SerialChannel& channel, Stack& s, tp::FrameType type,
                                   std::uint8_t sequence, std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> frame(tp::kMaxLinkFrame);
  const std::size_t n = tp::encode_frame(type, sequence, payload, frame);
  check(n > 0);
  frame.resize(n);
  s.uart_model.receive(frame);
  while (channel.poll()) {
  }
  tp::LinkReceiver receiver;
  std::vector<std::uint8_t> answer;
  int frames = 0;
  for (std::uint8_t b : s.uart_model.take_transmitted()) {
    if (!receiver.push(b)) continue;
    const tp::Frame f = receiver.frame();
    check(f.sequence == sequence);
    check(static_cast<int>(f.type) == static_cast<int>(type) + 1);
    answer.assign(f.payload.begin(), f.payload.end());
    ++frames;
  }
  check(frames == 1);
  return answer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Stack& s = stack();
  Forwarding forwarding(*s.handler);
  tp::SerialChannel channel(s.uart, forwarding);
  // A fresh start for every input: _TPM_Init, locality 0.
  const std::uint8_t init[] = {0, 0, 0, 2, 0, 0, 0, 0};
  const std::uint8_t locality0[] = {0, 0, 0, 5, 0};
  check(exchange(channel, s, tp::FrameType::kControlRequest, 0, init).size() == 4);
  check(exchange(channel, s, tp::FrameType::kControlRequest, 1, locality0).size() == 4);

  std::uint8_t sequence = 2;
  std::size_t at = 0;
  while (at + 3 <= size) {
    const std::uint8_t kind = data[at];
    std::size_t length = cvtpm::formats::load_be<std::uint16_t>(data + at + 1);
    at += 3;
    if (length > size - at) length = size - at;
    if (length > tp::kMaxLinkPayload) length = tp::kMaxLinkPayload;
    const std::span<const std::uint8_t> payload(data + at, length);
    at += length;

    const std::uint64_t executed = s.engine->commands_executed();
    const bool tpm = kind % 2 == 0;
    const std::uint8_t locality = s.handler->locality();
    const bool powered = s.engine->powered();
    const std::vector<std::uint8_t> answer =
        exchange(channel, s, tpm ? tp::FrameType::kTpmCommand : tp::FrameType::kControlRequest,
                 sequence++, payload);
    if (tpm) {
      check(answer.size() >= 10);
      check(cvtpm::formats::load_be<std::uint32_t>(answer.data() + 2) == answer.size());
      const bool may_run = tp::check_command(payload) == 0 &&
                           payload.size() <= vtpm::kMaxTpmCommandSize && locality == 0 && powered;
      check(s.engine->commands_executed() == executed + (may_run ? 1 : 0));
    } else {
      check(answer.size() >= 4);
      // Only a TPM command runs the TPM (control requests never do).
      check(s.engine->commands_executed() == executed);
    }
    check(s.platform->guest_pointer(s.platform->calling_area())[0] == 0);
  }
  check(s.heap.check());
  return 0;
}
