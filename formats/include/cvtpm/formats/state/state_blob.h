// The sealed vTPM state blob: cvtpm's own format (docs/persistence.md, "The state blob"), the
// one file the host stores for a persistent vTPM. A 96-byte header, authenticated as AES-256-GCM
// additional data up to the tag, then the ciphertext of the payload below. All integers are
// little-endian. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::state {

inline constexpr std::uint8_t kBlobMagic[8] = {'C', 'V', 'T', 'P', 'M', 'S', 'T', 'A'};
inline constexpr std::uint16_t kBlobVersion = 1;

// Which root key sealed the blob (docs/persistence.md, "Keys").
enum class Binding : std::uint32_t {
  kNone = 0,         // no persistence (only in the attestation evidence)
  kDevelopment = 1,  // emulation's INSECURE development key
  kMeasurement = 2,  // SNP: MSG_KEY_REQ with the launch measurement and policy
  kIdentity = 3,     // SNP: MSG_KEY_REQ with family ID, image ID, minimum SVN and policy
};

inline constexpr std::size_t kKeyCheckSize = 16;
inline constexpr std::size_t kSaltSize = 32;
inline constexpr std::size_t kTagSize = 16;

struct BlobHeader {
  std::uint8_t magic[8];                  // 0x00: kBlobMagic
  std::uint16_t version;                  // 0x08: kBlobVersion
  std::uint16_t header_size;              // 0x0A: sizeof(BlobHeader)
  std::uint32_t binding;                  // 0x0C: Binding
  std::uint64_t generation;               // 0x10: >= 1, one more at every write
  std::uint32_t ciphertext_size;          // 0x18: bytes after the header (= payload size)
  std::uint32_t reserved;                 // 0x1C: zero
  std::uint8_t key_check[kKeyCheckSize];  // 0x20: HKDF(root, "key check"): names a foreign key
  std::uint8_t salt[kSaltSize];  // 0x30: per-blob key and IV = HKDF(seal key, label || salt)
  std::uint8_t tag[kTagSize];    // 0x50: GCM tag over bytes [0, 0x50) and the ciphertext
};
static_assert(sizeof(BlobHeader) == 0x60);
static_assert(offsetof(BlobHeader, version) == 0x08);
static_assert(offsetof(BlobHeader, header_size) == 0x0A);
static_assert(offsetof(BlobHeader, binding) == 0x0C);
static_assert(offsetof(BlobHeader, generation) == 0x10);
static_assert(offsetof(BlobHeader, ciphertext_size) == 0x18);
static_assert(offsetof(BlobHeader, reserved) == 0x1C);
static_assert(offsetof(BlobHeader, key_check) == 0x20);
static_assert(offsetof(BlobHeader, salt) == 0x30);
static_assert(offsetof(BlobHeader, tag) == 0x50);

// Additional data of the GCM seal: the header up to the tag.
inline constexpr std::size_t kBlobAadSize = offsetof(BlobHeader, tag);
// The largest ciphertext accepted. libtpms 0.9.2's NV memory is 128 KiB + 65 * 704 bytes
// (src/tpm2/TpmProfile.h NV_MEMORY_SIZE); its permanent state marshals the used part of it plus
// the persistent data, so this leaves room.
inline constexpr std::uint32_t kMaxCiphertextSize = 512 * 1024;
inline constexpr std::size_t kMaxBlobSize = sizeof(BlobHeader) + kMaxCiphertextSize;

// The plaintext: this header, libtpms' permanent state ("permall": seeds, hierarchies, NV
// indices, persistent objects), then the EK's marshaled TPMT_PUBLIC.
struct PayloadHeader {
  std::uint32_t permanent_size;  // 0x0
  std::uint16_t ek_algorithm;    // 0x4: cvtpm::vtpm::EkAlgorithm (0 RSA-2048, 1 P-256, 2 P-384)
  std::uint16_t ek_public_size;  // 0x6
  std::uint8_t reserved[8];      // 0x8: zero
};
static_assert(sizeof(PayloadHeader) == 0x10);
static_assert(offsetof(PayloadHeader, ek_algorithm) == 0x4);
static_assert(offsetof(PayloadHeader, ek_public_size) == 0x6);

}  // namespace cvtpm::formats::state
