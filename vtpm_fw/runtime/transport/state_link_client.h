// The firmware's end of the state link (formats/state/state_link.h, docs/persistence.md): the
// host's storage for the sealed vTPM state, reached through a UART (COM3) that cvtpm-launch
// serves. Implements state::StateStorage: INFO, READ in 4 KiB chunks, and a write as BEGIN
// (compare-and-swap on the previous blob's digest), DATA chunks and COMMIT, which the host answers
// only once the new blob is durable.
//
// Every answer is untrusted: it must be a state response with the request's sequence number and
// operation, of exactly the size its operation allows; a stale answer (an older sequence number)
// is skipped, anything else fails the operation. The host may not be listening yet when the
// firmware boots (QEMU drops bytes sent to an unconnected socket), so INFO is re-sent until it is
// answered or the connect timeout passes; later requests are sent once. Polled, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "console/uart16550.h"
#include "cvtpm/formats/state/state_blob.h"
#include "cvtpm/formats/state/state_link.h"
#include "cvtpm/state/state_storage.h"
#include "transport/serial_link.h"

namespace cvtpm::fw::transport {

class StateLinkClient final : public state::StateStorage {
 public:
  struct Timing {
    std::uint64_t connect_timeout_ns = 60'000'000'000;   // INFO until the host answers
    std::uint64_t connect_retry_ns = 100'000'000;        // INFO re-sent this often meanwhile
    std::uint64_t response_timeout_ns = 30'000'000'000;  // any other answer (COMMIT fsyncs)
  };
  struct Stats {
    std::uint64_t requests = 0;
    std::uint64_t bytes_sent = 0;  // frame bytes
    std::uint64_t stale_frames = 0;
    std::uint64_t bad_frames = 0;  // answers that failed the checks
  };

  StateLinkClient(console::Uart16550& uart, std::uint64_t (*now_ns)(), const Timing& timing)
      : uart_(uart), now_ns_(now_ns), timing_(timing) {}

  vtpm::Result<state::StoredInfo, state::StorageError> info() override;
  vtpm::Status<state::StorageError> read(std::span<std::uint8_t> out) override;
  vtpm::Status<state::StorageError> replace(
      std::span<const std::uint8_t, crypto::kSha256Size> previous, std::uint64_t generation,
      std::span<const std::uint8_t> blob,
      std::span<const std::uint8_t, crypto::kSha256Size> digest) override;

  const Stats& stats() const { return stats_; }

 private:
  struct Answer {
    formats::state::LinkResponseHeader header;
    std::span<const std::uint8_t> data;  // valid until the next exchange
  };
  // Sends the request in request_[0, size) and waits for its answer; resends every `retry_ns`
  // (0: never) until `timeout_ns` passes.
  vtpm::Result<Answer, state::StorageError> exchange(std::size_t size, std::uint64_t timeout_ns,
                                                     std::uint64_t retry_ns);
  bool send(std::size_t size);
  std::size_t begin_request(formats::state::LinkOp op, std::uint32_t offset, std::uint32_t length);

  console::Uart16550& uart_;
  std::uint64_t (*now_ns_)();
  Timing timing_;
  std::uint8_t sequence_ = 0;
  LinkReceiver receiver_;
  Stats stats_;
  std::uint8_t request_[formats::state::kMaxRequestPayload] = {};
  std::uint8_t answer_[formats::state::kMaxResponsePayload] = {};
  std::uint8_t frame_out_[kMaxLinkFrame] = {};
};

// The host's status as a storage error.
state::StorageError storage_error(formats::state::LinkStatus status);

}  // namespace cvtpm::fw::transport
