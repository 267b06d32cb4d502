// An in-memory StateStorage with the host's rules (compare-and-swap on the previous digest) and
// failure injection, for the PersistentState tests.
#pragma once

#include <cstring>
#include <optional>
#include <vector>

#include "cvtpm/crypto/hkdf.h"
#include "cvtpm/state/state_storage.h"

namespace cvtpm::state::testing {

class MemoryStorage final : public StateStorage {
 public:
  std::optional<std::vector<std::uint8_t>> blob;
  std::optional<StorageError> fail_info, fail_read, fail_replace;
  int writes = 0;

  static std::vector<std::uint8_t> digest_of(std::span<const std::uint8_t> bytes) {
    std::vector<std::uint8_t> d(crypto::kSha256Size);
    crypto::sha256(bytes, std::span<std::uint8_t, crypto::kSha256Size>(d.data(), d.size()));
    return d;
  }

  vtpm::Result<StoredInfo, StorageError> info() override {
    if (fail_info) return *fail_info;
    StoredInfo i;
    if (blob) {
      i.size = static_cast<std::uint32_t>(blob->size());
      const auto d = digest_of(*blob);
      std::memcpy(i.digest, d.data(), d.size());
    }
    return i;
  }
  vtpm::Status<StorageError> read(std::span<std::uint8_t> out) override {
    if (fail_read) return *fail_read;
    if (!blob || out.size() != blob->size()) return StorageError::kBadRequest;
    std::memcpy(out.data(), blob->data(), out.size());
    return vtpm::Status<StorageError>::success();
  }
  vtpm::Status<StorageError> replace(
      std::span<const std::uint8_t, crypto::kSha256Size> previous, std::uint64_t /*generation*/,
      std::span<const std::uint8_t> bytes,
      std::span<const std::uint8_t, crypto::kSha256Size> digest) override {
    if (fail_replace) return *fail_replace;
    const std::vector<std::uint8_t> now =
        blob ? digest_of(*blob) : std::vector<std::uint8_t>(32, 0);
    if (std::memcmp(now.data(), previous.data(), 32) != 0) return StorageError::kConflict;
    if (digest_of(bytes) != std::vector<std::uint8_t>(digest.begin(), digest.end())) {
      return StorageError::kDigestMismatch;
    }
    blob.emplace(bytes.begin(), bytes.end());
    ++writes;
    return vtpm::Status<StorageError>::success();
  }
};

}  // namespace cvtpm::state::testing
