// The persistent vTPM (docs/persistence.md): at boot, reads the sealed state from the host's
// storage and restores the TPM from it, or — when nothing is stored — manufactures a TPM whose
// seeds derive from the state's seed key and writes it as generation 1; refuses, naming why, a
// state that does not open (and never writes it over). While the TPM runs it is the engine's
// PermanentStateSink: every committed change of libtpms' permanent state is sealed as the next
// generation and written, compare-and-swap on the previous generation's digest, before the
// command's response exists. Keeps the attestation evidence (generations and digests).
// Freestanding; memory from the platform's allocator (buffers grow, never per command).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/formats/state/state_evidence.h"
#include "cvtpm/state/state_blob.h"
#include "cvtpm/state/state_keys.h"
#include "cvtpm/state/state_payload.h"
#include "cvtpm/state/state_storage.h"
#include "cvtpm/vtpm/allocator.h"
#include "cvtpm/vtpm/tpm_engine.h"

namespace cvtpm::state {

using formats::state::StateStatus;

enum class StartFailure : std::uint8_t {
  kKeys,               // deriving the state keys failed
  kStorage,            // asking the host for the stored state failed (see `storage`)
  kTooLarge,           // the host announces more than a state blob can be
  kOutOfMemory,        // no buffer for the blob
  kRefused,            // the blob does not open (see `refusal`)
  kBadPayload,         // authentic, but malformed inside (see `payload`)
  kEkAlgorithm,        // the state's EK algorithm is not the one this image asks for
  kRestore,            // libtpms refused the permanent state (see `engine`)
  kManufactureRandom,  // the derived manufacture randomness could not be installed
  kManufacture,        // manufacturing failed (see `engine`)
  kFirstWrite,         // writing generation 1 failed (see `storage`)
};

const char* describe(StartFailure failure);

struct StartError {
  StartFailure failure;
  StorageError storage = StorageError::kUnreachable;
  BlobRefusal refusal = BlobRefusal::kTruncated;
  PayloadError payload = PayloadError::kTruncated;
  vtpm::EngineError engine = {vtpm::EngineFailure::kLibtpms, 0};
  vtpm::EkAlgorithm state_ek_algorithm = vtpm::EkAlgorithm::kRsa2048;
  std::uint32_t blob_size = 0;        // bytes the host offered (0: none)
  std::uint64_t blob_generation = 0;  // from its header, when the header could be read
};

// The detail behind a StartError, for the one-line log ("the GCM tag does not verify ...").
const char* describe_detail(const StartError& error);

struct StartConfig {
  Binding binding;
  vtpm::EkAlgorithm ek_algorithm;
};

struct StartOutcome {
  StateStatus status;        // kFresh or kRestored
  std::uint64_t generation;  // restored or written
  std::uint32_t blob_size;
};

class PersistentState final : public vtpm::PermanentStateSink {
 public:
  PersistentState(vtpm::Allocator& allocator, StateStorage& storage, RandomSource& random);
  ~PersistentState();
  PersistentState(const PersistentState&) = delete;
  PersistentState& operator=(const PersistentState&) = delete;

  // Brings up `engine` from the stored state (or manufactures it) and attaches itself as the
  // engine's sink. The root key is used for the derivation only and not kept. On failure the
  // engine is left unmanufactured and nothing was written.
  vtpm::Result<StartOutcome, StartError> start(vtpm::TpmEngine& engine,
                                               std::span<const std::uint8_t, kRootKeySize> root,
                                               const StartConfig& config);

  // PermanentStateSink: seals and writes the next generation.
  bool store_permanent_state(std::span<const std::uint8_t> permanent) override;

  const formats::state::StateEvidence& evidence() const { return evidence_; }
  // Called (once) when a write fails, with the reason and the generation that was not written,
  // so the platform can say why the TPM entered failure mode (the firmware logs it).
  void on_write_failure(void (*report)(StorageError error, std::uint64_t generation)) {
    report_failure_ = report;
  }
  // Why the last write failed (meaningful once evidence().status is kFailed).
  StorageError last_write_error() const { return last_write_error_; }
  bool last_write_was_storage_error() const { return write_failed_in_storage_; }

 private:
  struct Buffer {
    std::uint8_t* data = nullptr;
    std::size_t capacity = 0;
  };
  bool reserve(Buffer& buffer, std::size_t size);
  void release(Buffer& buffer);
  // Seals the engine's current state as `generation` and replaces `previous` on the storage.
  vtpm::Status<StorageError> write_generation(std::span<const std::uint8_t> permanent,
                                              std::uint64_t generation, bool& sealed);
  vtpm::Result<StartOutcome, StartError> restore(std::uint32_t size);
  vtpm::Result<StartOutcome, StartError> manufacture();

  vtpm::Allocator& allocator_;
  StateStorage& storage_;
  RandomSource& random_;
  vtpm::TpmEngine* engine_ = nullptr;
  StateKeys keys_;
  StartConfig config_{Binding::kNone, vtpm::EkAlgorithm::kRsa2048};
  Buffer plaintext_;
  Buffer blob_;
  formats::state::StateEvidence evidence_{};
  StorageError last_write_error_ = StorageError::kUnreachable;
  void (*report_failure_)(StorageError, std::uint64_t) = nullptr;
  bool write_failed_in_storage_ = false;
};

}  // namespace cvtpm::state
