#include "cvtpm/state/persistent_state.h"

#include <cstring>

#include "cvtpm/state/manufacture_random.h"

namespace cvtpm::state {
namespace {

namespace fs = formats::state;
using vtpm::Result;
using vtpm::Status;

constexpr std::size_t kAlignment = 16;
// Buffers grow in steps of this, so a state growing by a few bytes does not reallocate.
constexpr std::size_t kGranule = 16 * 1024;

StartError failure(StartFailure f) {
  StartError e{};
  e.failure = f;
  return e;
}

}  // namespace

const char* describe(StartFailure failure) {
  switch (failure) {
    case StartFailure::kKeys:
      return "deriving the state keys failed";
    case StartFailure::kStorage:
      return "reading the state from the host's storage failed";
    case StartFailure::kTooLarge:
      return "the host offers a state larger than a state blob can be";
    case StartFailure::kOutOfMemory:
      return "no memory for the state blob";
    case StartFailure::kRefused:
      return "the state blob does not open";
    case StartFailure::kBadPayload:
      return "the state blob is authentic but malformed inside";
    case StartFailure::kEkAlgorithm:
      return "the state's EK algorithm is not the one this image asks for";
    case StartFailure::kRestore:
      return "libtpms refused the restored permanent state";
    case StartFailure::kManufactureRandom:
      return "the derived manufacture randomness could not be installed";
    case StartFailure::kManufacture:
      return "manufacturing the TPM failed";
    case StartFailure::kFirstWrite:
      return "writing the new TPM's state (generation 1) failed";
  }
  return "unknown state failure";
}

const char* describe_detail(const StartError& error) {
  switch (error.failure) {
    case StartFailure::kStorage:
    case StartFailure::kFirstWrite:
      return describe(error.storage);
    case StartFailure::kRefused:
      return describe(error.refusal);
    case StartFailure::kBadPayload:
      return describe(error.payload);
    case StartFailure::kRestore:
    case StartFailure::kManufacture:
      return vtpm::describe(error.engine.failure);
    case StartFailure::kEkAlgorithm:
      return vtpm::ek_algorithm_name(error.state_ek_algorithm);
    default:
      return describe(error.failure);
  }
}

PersistentState::PersistentState(vtpm::Allocator& allocator, StateStorage& storage,
                                 RandomSource& random)
    : allocator_(allocator), storage_(storage), random_(random) {
  evidence_.version = fs::kStateEvidenceVersion;
  evidence_.status = static_cast<std::uint32_t>(StateStatus::kEphemeral);
}

PersistentState::~PersistentState() {
  if (engine_ != nullptr) engine_->set_state_sink(nullptr);
  release(plaintext_);
  release(blob_);
}

bool PersistentState::reserve(Buffer& buffer, std::size_t size) {
  if (size <= buffer.capacity) return true;
  const std::size_t capacity = (size + kGranule - 1) / kGranule * kGranule;
  auto* grown = static_cast<std::uint8_t*>(allocator_.allocate(capacity, kAlignment));
  if (grown == nullptr) return false;
  release(buffer);
  buffer.data = grown;
  buffer.capacity = capacity;
  return true;
}

void PersistentState::release(Buffer& buffer) {
  if (buffer.data == nullptr) return;
  crypto::wipe(buffer.data, buffer.capacity);  // the plaintext buffer held the TPM's secrets
  allocator_.deallocate(buffer.data, buffer.capacity, kAlignment);
  buffer = {};
}

Result<StartOutcome, StartError> PersistentState::start(
    vtpm::TpmEngine& engine, std::span<const std::uint8_t, kRootKeySize> root,
    const StartConfig& config) {
  engine_ = &engine;
  config_ = config;
  if (!derive_state_keys(root, config.binding, keys_)) return failure(StartFailure::kKeys);
  evidence_.binding = static_cast<std::uint32_t>(config.binding);

  const Result<StoredInfo, StorageError> info = storage_.info();
  if (!info) {
    StartError e = failure(StartFailure::kStorage);
    e.storage = info.error();
    return e;
  }
  const Result<StartOutcome, StartError> outcome =
      info.value().size == 0 ? manufacture() : restore(info.value().size);
  if (outcome) {
    engine.set_state_sink(this);
  } else {
    keys_.wipe();
  }
  return outcome;
}

Result<StartOutcome, StartError> PersistentState::restore(std::uint32_t size) {
  StartError e = failure(StartFailure::kStorage);
  e.blob_size = size;
  if (size > fs::kMaxBlobSize) {
    e.failure = StartFailure::kTooLarge;
    return e;
  }
  if (!reserve(blob_, size)) {
    e.failure = StartFailure::kOutOfMemory;
    return e;
  }
  const std::span<std::uint8_t> blob(blob_.data, size);
  if (const Status<StorageError> read = storage_.read(blob); !read) {
    e.storage = read.error();
    return e;
  }
  if (const auto info = inspect_blob(blob)) e.blob_generation = info.value().generation;
  if (!reserve(plaintext_, size)) {
    e.failure = StartFailure::kOutOfMemory;
    return e;
  }
  // The plaintext holds the TPM's seeds: wiped on every way out of here, the refusals of an
  // authentic blob included (a blob whose tag fails leaves none: aes_gcm::decrypt clears it).
  struct WipeOnExit {
    Buffer& buffer;
    ~WipeOnExit() { crypto::wipe(buffer.data, buffer.capacity); }
  } wipe_plaintext{plaintext_};
  const Result<OpenedBlob, BlobRefusal> opened =
      open_blob(keys_, blob, OpenPolicy{}, {plaintext_.data, plaintext_.capacity});
  if (!opened) {
    e.failure = StartFailure::kRefused;
    e.refusal = opened.error();
    return e;
  }
  const std::span<const std::uint8_t> plaintext(plaintext_.data, opened.value().plaintext_size);
  const Result<PayloadView, PayloadError> payload = decode_payload(plaintext);
  if (!payload) {
    e.failure = StartFailure::kBadPayload;
    e.payload = payload.error();
    return e;
  }
  if (payload.value().ek_algorithm != config_.ek_algorithm) {
    e.failure = StartFailure::kEkAlgorithm;
    e.state_ek_algorithm = payload.value().ek_algorithm;
    return e;
  }
  const Status<vtpm::EngineError> restored = engine_->restore(
      {payload.value().permanent, payload.value().ek_algorithm, payload.value().ek_public});
  if (!restored) {
    e.failure = StartFailure::kRestore;
    e.engine = restored.error();
    return e;
  }
  const std::uint64_t generation = opened.value().info.generation;
  if (!blob_digest(blob, evidence_.boot_digest)) {
    e.failure = StartFailure::kKeys;  // libcrypto failed
    engine_->power_off();
    return e;
  }
  std::memcpy(evidence_.current_digest, evidence_.boot_digest, sizeof evidence_.current_digest);
  evidence_.boot_generation = generation;
  evidence_.current_generation = generation;
  evidence_.status = static_cast<std::uint32_t>(StateStatus::kRestored);
  return StartOutcome{StateStatus::kRestored, generation, size};
}

Result<StartOutcome, StartError> PersistentState::manufacture() {
  {
    // Only the manufacture itself draws from the derived stream; OpenSSL's own generator is back
    // before anything else runs.
    ManufactureRandom random(keys_.seed);
    if (!random.active()) return failure(StartFailure::kManufactureRandom);
    const Status<vtpm::EngineError> made = engine_->manufacture({config_.ek_algorithm});
    if (!made) {
      StartError e = failure(StartFailure::kManufacture);
      e.engine = made.error();
      return e;
    }
  }
  // Nothing was stored: generation 1 replaces "nothing" (a zero digest).
  bool sealed = false;
  const Status<StorageError> written = write_generation(engine_->permanent_state(), 1, sealed);
  if (!written) {
    engine_->power_off();
    StartError e = failure(StartFailure::kFirstWrite);
    e.storage = written.error();
    return e;
  }
  evidence_.boot_generation = 0;
  std::memset(evidence_.boot_digest, 0, sizeof evidence_.boot_digest);
  evidence_.status = static_cast<std::uint32_t>(StateStatus::kFresh);
  return StartOutcome{StateStatus::kFresh, 1, 0};
}

Status<StorageError> PersistentState::write_generation(std::span<const std::uint8_t> permanent,
                                                       std::uint64_t generation, bool& sealed) {
  sealed = false;
  const std::span<const std::uint8_t> ek = engine_->ek_public();
  const std::size_t plain_size = payload_size(permanent.size(), ek.size());
  const std::size_t blob_size = sealed_size(plain_size);
  if (plain_size > fs::kMaxCiphertextSize) return StorageError::kTooLarge;
  if (!reserve(plaintext_, plain_size) || !reserve(blob_, blob_size)) {
    return StorageError::kTooLarge;  // no memory: the state cannot be written
  }
  const Result<std::size_t, PayloadError> encoded = encode_payload(
      {permanent, engine_->ek_algorithm(), ek}, {plaintext_.data, plaintext_.capacity});
  if (!encoded) return StorageError::kTooLarge;
  std::uint8_t salt[fs::kSaltSize];
  if (!random_.fill(salt)) return StorageError::kIoError;
  const Result<std::size_t, BlobRefusal> blob = seal_blob(
      keys_, generation, {plaintext_.data, encoded.value()}, salt, {blob_.data, blob_.capacity});
  crypto::wipe(plaintext_.data, encoded.value());
  if (!blob) return StorageError::kTooLarge;
  sealed = true;
  const std::span<const std::uint8_t> bytes(blob_.data, blob.value());
  std::uint8_t digest[crypto::kSha256Size];
  if (!blob_digest(bytes, digest)) return StorageError::kIoError;
  const Status<StorageError> replaced =
      storage_.replace(evidence_.current_digest, generation, bytes, digest);
  if (!replaced) return replaced;
  std::memcpy(evidence_.current_digest, digest, sizeof digest);
  evidence_.current_generation = generation;
  return Status<StorageError>::success();
}

bool PersistentState::store_permanent_state(std::span<const std::uint8_t> permanent) {
  if (evidence_.status == static_cast<std::uint32_t>(StateStatus::kFailed)) return false;
  bool sealed = false;
  const Status<StorageError> written =
      write_generation(permanent, evidence_.current_generation + 1, sealed);
  if (written) return true;
  last_write_error_ = written.error();
  write_failed_in_storage_ = sealed;
  evidence_.status = static_cast<std::uint32_t>(StateStatus::kFailed);
  if (report_failure_ != nullptr)
    report_failure_(written.error(), evidence_.current_generation + 1);
  return false;
}

}  // namespace cvtpm::state
