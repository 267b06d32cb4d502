// The state link (formats/state/state_link.h) from both sides, with the other side played by
// the input. Input: a mode byte, then records of u16 length (little-endian) + bytes.
//   0: the firmware's StateLinkClient: every request it sends is answered with the next record as
//      the response payload (framed with the request's sequence number), while it runs INFO, READ
//      of what INFO announced (up to 64 KiB) and a write; it must never accept a READ answer of the
//      wrong size, and every operation must end (the clock advances on every look).
//   1: the host's StateLinkServer: each record is one request; the store may only change through
//      a commit whose blob has the announced size and SHA-256, and every answer has a header.
// Seeds: tests/fuzz/corpus/state_link, written by make_state_link_seeds.py.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "../state/loop_uart.h"
#include "console/uart16550.h"
#include "cvtpm/formats/state/state_link.h"
#include "cvtpm/launch/state_server.h"
#include "cvtpm/launch/state_store.h"
#include "cvtpm/support/digest.h"
#include "transport/serial_link.h"
#include "transport/state_link_client.h"

namespace {

namespace fs = cvtpm::formats::state;
namespace tp = cvtpm::fw::transport;
using Bytes = std::vector<std::uint8_t>;

void check(bool condition) {
  if (!condition) std::abort();
}

struct Records {
  std::span<const std::uint8_t> rest;
  bool next(std::span<const std::uint8_t>& out) {
    if (rest.size() < 2) return false;
    const std::size_t n = rest[0] | rest[1] << 8;
    rest = rest.subspan(2);
    const std::size_t take = n < rest.size() ? n : rest.size();
    out = rest.first(take);
    rest = rest.subspan(take);
    return true;
  }
};

// A UART (tests/state/loop_uart.h) whose answers come from the input records, framed with the
// request's sequence number; no record left: no answer, and the client times out.
void answer_from(cvtpm::state::testing::LoopUart& uart, Records& records) {
  uart.answer = [&records](const tp::Frame& request) {
    std::span<const std::uint8_t> payload;
    if (!records.next(payload)) return Bytes{};
    Bytes frame(tp::kMaxLinkFrame);
    frame.resize(tp::encode_frame(tp::FrameType::kStateResponse, request.sequence, payload, frame));
    return frame;
  };
}

std::uint64_t g_now = 0;
std::uint64_t now() {
  return g_now += 1'000'000;
}

void fuzz_client(Records& records) {
  cvtpm::state::testing::LoopUart io(0x3E8);
  answer_from(io, records);
  cvtpm::fw::console::Uart16550 uart(io, 0x3E8);
  check(uart.init());
  tp::StateLinkClient client(uart, now, {50'000'000, 10'000'000, 50'000'000});
  const auto info = client.info();
  if (info && info.value().size <= 64 * 1024) {
    Bytes blob(info.value().size);
    (void)client.read(blob);
  }
  Bytes blob(300, 0x5A);
  const cvtpm::Sha256Digest digest = cvtpm::sha256(blob);
  std::uint8_t previous[32] = {};
  (void)client.replace(previous, 2, blob, digest);
}

void fuzz_server(Records& records) {
  cvtpm::launch::MemoryStateStore store;
  store.blob = Bytes(64, 0x11);
  cvtpm::launch::StateLinkServer server(store, false, nullptr);
  std::span<const std::uint8_t> request;
  Bytes begun_digest;
  while (records.next(request)) {
    const auto before = store.blob;
    const Bytes answer = server.handle(request);
    check(answer.size() >= sizeof(fs::LinkResponseHeader));
    fs::LinkResponseHeader h{};
    std::memcpy(&h, answer.data(), sizeof h);
    if (store.blob != before) {
      // Only a successful commit changes the store, to a blob with the digest it answers with.
      check(h.op == static_cast<std::uint8_t>(fs::LinkOp::kWriteCommit) && h.status == 0);
      const cvtpm::Sha256Digest d = cvtpm::sha256(*store.blob);
      check(std::memcmp(d.data(), h.digest, 32) == 0);
    }
    if (h.op == static_cast<std::uint8_t>(fs::LinkOp::kRead) && h.status == 0) {
      check(answer.size() == sizeof h + h.size && h.size <= fs::kMaxChunk);
    }
  }
  server.link_closed();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Records records{std::span<const std::uint8_t>(data + 1, size - 1)};
  if (data[0] % 2 == 0) {
    fuzz_client(records);
  } else {
    fuzz_server(records);
  }
  return 0;
}
