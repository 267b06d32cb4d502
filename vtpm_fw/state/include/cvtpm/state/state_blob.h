// Sealing and opening the vTPM state blob (formats/state/state_blob.h, docs/persistence.md).
// Opening is the parser of bytes the host hands back: every size is checked against the bytes
// actually given before anything is read, the first failure is named, and nothing is decrypted
// before the header checks pass. Freestanding; no allocation (callers pass the buffers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "cvtpm/crypto/hkdf.h"
#include "cvtpm/formats/state/state_blob.h"
#include "cvtpm/state/state_keys.h"
#include "cvtpm/vtpm/result.h"

namespace cvtpm::state {

enum class BlobRefusal : std::uint8_t {
  kTruncated,           // fewer bytes than the header, or than the header says follow
  kBadMagic,            // not a cvtpm state blob
  kUnsupportedVersion,  // a version this firmware does not read
  kBadHeaderSize,
  kReservedNotZero,
  kUnknownBinding,
  kTooLarge,         // ciphertext above formats::state::kMaxCiphertextSize
  kTrailingBytes,    // more bytes than the header says follow
  kGenerationZero,   // generations start at 1
  kOlderGeneration,  // below the minimum the caller asked for
  kBindingMismatch,  // sealed under another binding than this image's
  kForeignKey,       // sealed with another key: another image, chip or development key
  kNotAuthentic,     // the GCM tag does not verify: corrupted or forged
  kBadPayload,       // authentic, but the plaintext's sizes do not add up
  kBufferTooSmall,   // the caller's buffer cannot hold the plaintext
  kCrypto,           // libcrypto failed
};

// One line for logs ("the GCM tag does not verify: corrupted or forged").
const char* describe(BlobRefusal refusal);

// What the header says, checked for shape only (no key needed): for logs, the host and the
// checks below.
struct BlobInfo {
  formats::state::Binding binding;
  std::uint64_t generation;
  std::uint32_t ciphertext_size;
};
vtpm::Result<BlobInfo, BlobRefusal> inspect_blob(std::span<const std::uint8_t> blob);

inline constexpr std::size_t sealed_size(std::size_t plaintext_size) {
  return sizeof(formats::state::BlobHeader) + plaintext_size;
}

// Seals `plaintext` as generation `generation` with `keys` and the caller's fresh random `salt`
// into `out` (at least sealed_size(plaintext.size()) bytes); returns the blob's size.
vtpm::Result<std::size_t, BlobRefusal> seal_blob(
    const StateKeys& keys, std::uint64_t generation, std::span<const std::uint8_t> plaintext,
    std::span<const std::uint8_t, formats::state::kSaltSize> salt, std::span<std::uint8_t> out);

struct OpenPolicy {
  std::uint64_t min_generation = 1;
};

struct OpenedBlob {
  BlobInfo info;
  std::size_t plaintext_size;
};

// Checks and decrypts `blob` into `plaintext` (at least the ciphertext's size). On any refusal
// the plaintext buffer is wiped.
vtpm::Result<OpenedBlob, BlobRefusal> open_blob(const StateKeys& keys,
                                                std::span<const std::uint8_t> blob,
                                                const OpenPolicy& policy,
                                                std::span<std::uint8_t> plaintext);

// SHA-256 of the whole blob: what the state link and the attestation evidence name it by.
bool blob_digest(std::span<const std::uint8_t> blob,
                 std::span<std::uint8_t, crypto::kSha256Size> digest);

}  // namespace cvtpm::state
