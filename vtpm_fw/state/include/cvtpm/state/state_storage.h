// Where the sealed state lives: storage the host provides (the state link on COM3 in the
// firmware, vtpm_fw/runtime/transport/state_link_client.h; in-memory fakes in the tests). The
// host is untrusted: everything it returns is checked by the caller (state_blob.h), and a
// write names the blob it replaces so the host can refuse a stale writer (docs/persistence.md,
// "Rollback"). Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/crypto/hkdf.h"
#include "cvtpm/vtpm/result.h"

namespace cvtpm::state {

enum class StorageError : std::uint8_t {
  kUnreachable,     // no answer within the timeout
  kProtocol,        // an answer that does not fit the request
  kBadRequest,      // the host refused the request as malformed or out of sequence
  kConflict,        // the host does not hold the blob the write replaces
  kIoError,         // the host could not read or write its storage
  kDigestMismatch,  // the host received another blob than announced
  kTooLarge,        // above the host's limit or the format's
};

const char* describe(StorageError error);

struct StoredInfo {
  std::uint32_t size = 0;                         // 0: nothing stored
  std::uint8_t digest[crypto::kSha256Size] = {};  // SHA-256 of the stored blob; zero if none
};

class StateStorage {
 public:
  virtual vtpm::Result<StoredInfo, StorageError> info() = 0;
  // Reads the stored blob (out.size() = info().size bytes).
  virtual vtpm::Status<StorageError> read(std::span<std::uint8_t> out) = 0;
  // Replaces the blob whose SHA-256 is `previous` (zero: nothing stored) with `blob`, whose
  // SHA-256 is `digest`; returns only once the host reports it durable.
  virtual vtpm::Status<StorageError> replace(
      std::span<const std::uint8_t, crypto::kSha256Size> previous, std::uint64_t generation,
      std::span<const std::uint8_t> blob,
      std::span<const std::uint8_t, crypto::kSha256Size> digest) = 0;

 protected:
  ~StateStorage() = default;
};

// Fresh salts for sealing.
class RandomSource {
 public:
  virtual bool fill(std::span<std::uint8_t> out) = 0;

 protected:
  ~RandomSource() = default;
};

// OpenSSL's RAND_bytes (in the firmware: its CTR-DRBG, seeded from RDSEED/RDRAND).
class OpenSslRandom final : public RandomSource {
 public:
  bool fill(std::span<std::uint8_t> out) override;
};

}  // namespace cvtpm::state
