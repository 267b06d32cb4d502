#include "cvtpm/state/state_blob.h"

#include <cstring>

#include "cvtpm/crypto/aes_gcm.h"

namespace cvtpm::state {
namespace {

namespace fs = formats::state;
using vtpm::Result;

constexpr std::size_t kHeaderSize = sizeof(fs::BlobHeader);
constexpr char kBlobKeyLabel[] = "cvtpm state blob";

// The blob's own AES-256-GCM key and IV: HKDF-Expand(seal key, label || salt, 44). A fresh
// salt per blob means no key/IV pair repeats, even when a generation number does.
struct BlobKey {
  std::uint8_t key[crypto::aes_gcm::kKeySize];
  std::uint8_t iv[crypto::aes_gcm::kIvSize];
  ~BlobKey() {
    crypto::wipe(key, sizeof key);
    crypto::wipe(iv, sizeof iv);
  }
};

bool derive_blob_key(const StateKeys& keys, const std::uint8_t (&salt)[fs::kSaltSize],
                     BlobKey& out) {
  std::uint8_t material[sizeof out.key + sizeof out.iv];
  const std::span<const std::uint8_t> info[] = {
      {reinterpret_cast<const std::uint8_t*>(kBlobKeyLabel), sizeof kBlobKeyLabel - 1}, salt};
  const bool ok =
      crypto::hkdf_expand(std::span<const std::uint8_t, kKeySize>(keys.seal), info, material);
  std::memcpy(out.key, material, sizeof out.key);
  std::memcpy(out.iv, material + sizeof out.key, sizeof out.iv);
  crypto::wipe(material, sizeof material);
  return ok;
}

bool known_binding(std::uint32_t binding) {
  return binding == static_cast<std::uint32_t>(fs::Binding::kDevelopment) ||
         binding == static_cast<std::uint32_t>(fs::Binding::kMeasurement) ||
         binding == static_cast<std::uint32_t>(fs::Binding::kIdentity);
}

// The shape checks, in the order docs/persistence.md lists them.
Result<fs::BlobHeader, BlobRefusal> read_header(std::span<const std::uint8_t> blob) {
  fs::BlobHeader h{};
  if (blob.size() < kHeaderSize) return BlobRefusal::kTruncated;
  std::memcpy(&h, blob.data(), kHeaderSize);
  if (std::memcmp(h.magic, fs::kBlobMagic, sizeof h.magic) != 0) return BlobRefusal::kBadMagic;
  if (h.version != fs::kBlobVersion) return BlobRefusal::kUnsupportedVersion;
  if (h.header_size != kHeaderSize) return BlobRefusal::kBadHeaderSize;
  if (h.reserved != 0) return BlobRefusal::kReservedNotZero;
  if (!known_binding(h.binding)) return BlobRefusal::kUnknownBinding;
  if (h.ciphertext_size > fs::kMaxCiphertextSize) return BlobRefusal::kTooLarge;
  const std::size_t body = blob.size() - kHeaderSize;
  if (body < h.ciphertext_size) return BlobRefusal::kTruncated;
  if (body > h.ciphertext_size) return BlobRefusal::kTrailingBytes;
  if (h.generation == 0) return BlobRefusal::kGenerationZero;
  return h;
}

}  // namespace

const char* describe(BlobRefusal refusal) {
  switch (refusal) {
    case BlobRefusal::kTruncated:
      return "truncated: fewer bytes than its header says";
    case BlobRefusal::kBadMagic:
      return "not a cvtpm state blob (bad magic)";
    case BlobRefusal::kUnsupportedVersion:
      return "unsupported blob version";
    case BlobRefusal::kBadHeaderSize:
      return "bad header size";
    case BlobRefusal::kReservedNotZero:
      return "reserved header field not zero";
    case BlobRefusal::kUnknownBinding:
      return "unknown binding";
    case BlobRefusal::kTooLarge:
      return "ciphertext larger than the 512 KiB limit";
    case BlobRefusal::kTrailingBytes:
      return "more bytes than its header says";
    case BlobRefusal::kGenerationZero:
      return "generation 0 (generations start at 1)";
    case BlobRefusal::kOlderGeneration:
      return "older generation than required (rollback)";
    case BlobRefusal::kBindingMismatch:
      return "sealed under another binding than this image's";
    case BlobRefusal::kForeignKey:
      return "sealed with another key (another image, binding, chip or development key)";
    case BlobRefusal::kNotAuthentic:
      return "the GCM tag does not verify: corrupted or forged";
    case BlobRefusal::kBadPayload:
      return "authentic, but its contents are malformed";
    case BlobRefusal::kBufferTooSmall:
      return "the plaintext buffer is too small";
    case BlobRefusal::kCrypto:
      return "libcrypto failed";
  }
  return "unknown refusal";
}

Result<BlobInfo, BlobRefusal> inspect_blob(std::span<const std::uint8_t> blob) {
  const Result<fs::BlobHeader, BlobRefusal> h = read_header(blob);
  if (!h) return h.error();
  return BlobInfo{static_cast<fs::Binding>(h.value().binding), h.value().generation,
                  h.value().ciphertext_size};
}

Result<std::size_t, BlobRefusal> seal_blob(const StateKeys& keys, std::uint64_t generation,
                                           std::span<const std::uint8_t> plaintext,
                                           std::span<const std::uint8_t, fs::kSaltSize> salt,
                                           std::span<std::uint8_t> out) {
  if (plaintext.size() > fs::kMaxCiphertextSize) return BlobRefusal::kTooLarge;
  if (out.size() < sealed_size(plaintext.size())) return BlobRefusal::kBufferTooSmall;
  if (generation == 0) return BlobRefusal::kGenerationZero;
  if (!known_binding(static_cast<std::uint32_t>(keys.binding))) return BlobRefusal::kUnknownBinding;
  fs::BlobHeader h{};
  std::memcpy(h.magic, fs::kBlobMagic, sizeof h.magic);
  h.version = fs::kBlobVersion;
  h.header_size = kHeaderSize;
  h.binding = static_cast<std::uint32_t>(keys.binding);
  h.generation = generation;
  h.ciphertext_size = static_cast<std::uint32_t>(plaintext.size());
  std::memcpy(h.key_check, keys.key_check, sizeof h.key_check);
  std::memcpy(h.salt, salt.data(), sizeof h.salt);
  BlobKey blob_key;
  if (!derive_blob_key(keys, h.salt, blob_key)) return BlobRefusal::kCrypto;
  const std::span<std::uint8_t> ciphertext = out.subspan(kHeaderSize, plaintext.size());
  if (!crypto::aes_gcm::encrypt(blob_key.key, blob_key.iv,
                                {reinterpret_cast<const std::uint8_t*>(&h), fs::kBlobAadSize},
                                plaintext, ciphertext, h.tag)) {
    crypto::wipe(ciphertext.data(), ciphertext.size());
    return BlobRefusal::kCrypto;
  }
  std::memcpy(out.data(), &h, kHeaderSize);
  return sealed_size(plaintext.size());
}

Result<OpenedBlob, BlobRefusal> open_blob(const StateKeys& keys, std::span<const std::uint8_t> blob,
                                          const OpenPolicy& policy,
                                          std::span<std::uint8_t> plaintext) {
  const auto refuse = [&](BlobRefusal why) -> Result<OpenedBlob, BlobRefusal> {
    if (!plaintext.empty()) crypto::wipe(plaintext.data(), plaintext.size());
    return why;
  };
  const Result<fs::BlobHeader, BlobRefusal> read = read_header(blob);
  if (!read) return refuse(read.error());
  const fs::BlobHeader& h = read.value();
  if (h.generation < policy.min_generation) return refuse(BlobRefusal::kOlderGeneration);
  if (h.binding != static_cast<std::uint32_t>(keys.binding)) {
    return refuse(BlobRefusal::kBindingMismatch);
  }
  if (std::memcmp(h.key_check, keys.key_check, sizeof h.key_check) != 0) {
    return refuse(BlobRefusal::kForeignKey);
  }
  if (plaintext.size() < h.ciphertext_size) return refuse(BlobRefusal::kBufferTooSmall);
  BlobKey blob_key;
  if (!derive_blob_key(keys, h.salt, blob_key)) return refuse(BlobRefusal::kCrypto);
  if (!crypto::aes_gcm::decrypt(blob_key.key, blob_key.iv, blob.first(fs::kBlobAadSize),
                                blob.subspan(kHeaderSize, h.ciphertext_size), h.tag,
                                plaintext.first(h.ciphertext_size))) {
    return refuse(BlobRefusal::kNotAuthentic);
  }
  return OpenedBlob{{static_cast<fs::Binding>(h.binding), h.generation, h.ciphertext_size},
                    h.ciphertext_size};
}

bool blob_digest(std::span<const std::uint8_t> blob,
                 std::span<std::uint8_t, crypto::kSha256Size> digest) {
  return crypto::sha256(blob, digest);
}

}  // namespace cvtpm::state
