#include "platform/native/native_state.h"

#include <new>

#include "arch/x86_64/tsc_clock.h"
#include "console/log.h"
#include "console/uart16550.h"
#include "cvtpm/crypto/hkdf.h"
#include "mm/image_layout.h"
#include "platform/native/dev_state_key.h"
#include "platform/native/native_platform.h"
#include "transport/state_link_client.h"

namespace cvtpm::fw::native {
namespace {

[[noreturn]] void refuse(const char* what, const char* why) {
  log::error(
      "state: REFUSED: %s: %s; the TPM is not started and the stored state is left as it "
      "is (cvtpm-launch --state-reset starts a new TPM)",
      what, why);
  stop(true);
}

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

state::PersistentState& start_persistent_tpm(vtpm::TpmEngine& engine, vtpm::Allocator& allocator,
                                             const BootInfo& info, console::PortIo& io) {
  if (info.dev_key_invalid) refuse("devkey=", "not 64 hex digits");
  static console::Uart16550 uart(io, kStateLinkPort);
  if (!uart.init()) refuse("state link", "no UART at 0x3e8 (COM3: QEMU's third -serial)");

  log::warn(
      "state: sealed with the INSECURE development key (%s): anyone who has this firmware "
      "file can derive it; for development and tests only",
      info.dev_key_given ? "devkey= given" : "the published default");
  const mm::ImageLayout image = mm::image_layout();
  std::uint8_t root[state::kRootKeySize];
  const std::span<const std::uint8_t> code(reinterpret_cast<const std::uint8_t*>(image.start),
                                           image.rodata_end - image.start);
  if (!derive_dev_root_key(info.dev_key_given ? std::span<const std::uint8_t, 32>(info.dev_key)
                                              : std::span<const std::uint8_t, 32>(kDefaultDevKey),
                           code, root)) {
    refuse("development key", "libcrypto failed");
  }

  alignas(transport::StateLinkClient) static unsigned char
      client_storage[sizeof(transport::StateLinkClient)];
  alignas(
      state::PersistentState) static unsigned char state_storage[sizeof(state::PersistentState)];
  alignas(TimedStorage) static unsigned char timed_storage[sizeof(TimedStorage)];
  static state::OpenSslRandom random;
  auto* client = new (client_storage) transport::StateLinkClient(
      uart, x86::tsc_clock::uptime_ns, transport::StateLinkClient::Timing{});
  auto* timed = new (timed_storage) TimedStorage(*client);
  auto* persistent = new (state_storage) state::PersistentState(allocator, *timed, random);

  const std::uint64_t started = x86::tsc_clock::uptime_ns();
  const auto outcome =
      persistent->start(engine, root, {state::Binding::kDevelopment, info.ek_algorithm});
  crypto::wipe(root, sizeof root);
  if (!outcome) {
    const state::StartError& e = outcome.error();
    log::error(
        "state: REFUSED: %s: %s (offered: %u bytes, generation %lu); the TPM is not "
        "started and the stored state is left as it is (cvtpm-launch --state-reset "
        "starts a new TPM)",
        state::describe(e.failure), state::describe_detail(e), e.blob_size,
        static_cast<unsigned long>(e.blob_generation));
    stop(true);
  }
  persistent->on_write_failure(report_write_failure);
  const std::uint64_t took_us = (x86::tsc_clock::uptime_ns() - started) / 1000;
  const auto& evidence = persistent->evidence();
  log::info("init: state: %s generation %lu (%u bytes) over COM3 in %lu.%03lu ms; %lu link bytes",
            outcome.value().status == state::StateStatus::kRestored ? "restored" : "new TPM, wrote",
            static_cast<unsigned long>(evidence.current_generation), outcome.value().blob_size,
            static_cast<unsigned long>(took_us / 1000), static_cast<unsigned long>(took_us % 1000),
            static_cast<unsigned long>(client->stats().bytes_sent));
  return *persistent;
}

}  // namespace cvtpm::fw::native
