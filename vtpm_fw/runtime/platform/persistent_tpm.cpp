#include "platform/persistent_tpm.h"

#include <new>

#include "arch/x86_64/tsc_clock.h"
#include "console/log.h"
#include "cvtpm/crypto/hkdf.h"
#include "panic/panic.h"
#include "transport/state_link_client.h"

namespace cvtpm::fw {
namespace {

// The state link as the PersistentState sees it, timing each write for the console (one line per
// generation: the benchmark and the crash tests read them).
class TimedStorage final : public state::StateStorage {
 public:
  explicit TimedStorage(state::StateStorage& inner) : inner_(inner) {}
  vtpm::Result<state::StoredInfo, state::StorageError> info() override { return inner_.info(); }
  vtpm::Status<state::StorageError> read(std::span<std::uint8_t> out) override {
    return inner_.read(out);
  }
  vtpm::Status<state::StorageError> replace(
      std::span<const std::uint8_t, crypto::kSha256Size> previous, std::uint64_t generation,
      std::span<const std::uint8_t> blob,
      std::span<const std::uint8_t, crypto::kSha256Size> digest) override {
    const std::uint64_t started = x86::tsc_clock::uptime_ns();
    const auto replaced = inner_.replace(previous, generation, blob, digest);
    const std::uint64_t took_us = (x86::tsc_clock::uptime_ns() - started) / 1000;
    if (replaced) {
      log::info("state: wrote generation %lu (%zu bytes) in %lu.%03lu ms",
                static_cast<unsigned long>(generation), blob.size(),
                static_cast<unsigned long>(took_us / 1000),
                static_cast<unsigned long>(took_us % 1000));
    }
    return replaced;
  }

 private:
  state::StateStorage& inner_;
};

void report_write_failure(state::StorageError error, std::uint64_t generation) {
  log::error(
      "state: writing generation %lu failed: %s; the TPM is in failure mode until the "
      "next boot, which restores the last generation written",
      static_cast<unsigned long>(generation), state::describe(error));
}

}  // namespace

void refuse_persistent_state(const char* what, const char* why) {
  log::error(
      "state: REFUSED: %s: %s; the TPM is not started and the stored state is left as it "
      "is (cvtpm-launch --state-reset starts a new TPM)",
      what, why);
  terminate_firmware(true);
}

state::PersistentState& start_persistent_tpm(vtpm::TpmEngine& engine, vtpm::Allocator& allocator,
                                             console::Uart16550& link,
                                             std::span<std::uint8_t, state::kRootKeySize> root,
                                             const state::StartConfig& config) {
  alignas(transport::StateLinkClient) static unsigned char
      client_storage[sizeof(transport::StateLinkClient)];
  alignas(
      state::PersistentState) static unsigned char state_storage[sizeof(state::PersistentState)];
  alignas(TimedStorage) static unsigned char timed_storage[sizeof(TimedStorage)];
  static state::OpenSslRandom random;
  auto* client = new (client_storage) transport::StateLinkClient(
      link, x86::tsc_clock::uptime_ns, transport::StateLinkClient::Timing{});
  auto* timed = new (timed_storage) TimedStorage(*client);
  auto* persistent = new (state_storage) state::PersistentState(allocator, *timed, random);

  const std::uint64_t started = x86::tsc_clock::uptime_ns();
  const auto outcome = persistent->start(engine, root, config);
  crypto::wipe(root.data(), root.size());
  if (!outcome) {
    const state::StartError& e = outcome.error();
    log::error(
        "state: REFUSED: %s: %s (offered: %u bytes, generation %lu); the TPM is not "
        "started and the stored state is left as it is (cvtpm-launch --state-reset "
        "starts a new TPM)",
        state::describe(e.failure), state::describe_detail(e), e.blob_size,
        static_cast<unsigned long>(e.blob_generation));
    terminate_firmware(true);
  }
  persistent->on_write_failure(report_write_failure);
  const std::uint64_t took_us = (x86::tsc_clock::uptime_ns() - started) / 1000;
  const auto& evidence = persistent->evidence();
  // A restore is the read and the decryption; a new TPM is its manufacture and the first write.
  if (outcome.value().status == state::StateStatus::kRestored) {
    log::info(
        "init: state: restored generation %lu (%u bytes) over COM3 in %lu.%03lu ms; %lu "
        "link bytes sent",
        static_cast<unsigned long>(evidence.current_generation), outcome.value().blob_size,
        static_cast<unsigned long>(took_us / 1000), static_cast<unsigned long>(took_us % 1000),
        static_cast<unsigned long>(client->stats().bytes_sent));
  } else {
    log::info(
        "init: state: new TPM (nothing stored), manufactured and generation %lu written in "
        "%lu.%03lu ms; %lu link bytes sent",
        static_cast<unsigned long>(evidence.current_generation),
        static_cast<unsigned long>(took_us / 1000), static_cast<unsigned long>(took_us % 1000),
        static_cast<unsigned long>(client->stats().bytes_sent));
  }
  return *persistent;
}

}  // namespace cvtpm::fw
