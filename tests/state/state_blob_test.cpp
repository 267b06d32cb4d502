// The sealed state blob (vtpm_fw/state, formats/state/state_blob.h): key derivation and the blob
// layout against independent OpenSSL computations of docs/persistence.md's description; round
// trips; and every way a blob the host hands back can be wrong — each byte changed, every
// truncation, trailing bytes, another key, another binding, an older generation — refused with
// the reason named and the plaintext buffer wiped.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "cvtpm/state/state_blob.h"
#include "cvtpm/state/state_keys.h"
#include "cvtpm/state/state_payload.h"
#include "openssl_reference.h"

namespace cvtpm::state::testing {
namespace {

namespace fs = formats::state;

using Root = std::array<std::uint8_t, kRootKeySize>;

Root root_of(std::uint8_t fill) {
  Root r;
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<std::uint8_t>(fill + i);
  return r;
}

void derive(const Root& root, Binding binding, StateKeys& keys) {
  ASSERT_TRUE(derive_state_keys(root, binding, keys));
}

Bytes salt_of(std::uint8_t fill) {
  return Bytes(fs::kSaltSize, fill);
}

Bytes seal(const StateKeys& keys, std::uint64_t generation, const Bytes& plaintext,
           const Bytes& salt) {
  Bytes out(sealed_size(plaintext.size()));
  const auto sealed = seal_blob(keys, generation, plaintext,
                                std::span<const std::uint8_t, fs::kSaltSize>(salt.data(), 32), out);
  EXPECT_TRUE(sealed.ok());
  if (sealed) {
    EXPECT_EQ(sealed.value(), out.size());
  }
  return out;
}

Bytes pattern(std::size_t size) {
  Bytes b(size);
  std::iota(b.begin(), b.end(), std::uint8_t{7});
  return b;
}

// Opens `blob`; returns the refusal, or nullopt and the plaintext.
std::optional<BlobRefusal> open(const StateKeys& keys, const Bytes& blob,
                                Bytes* plaintext = nullptr, std::uint64_t min_generation = 1) {
  Bytes out(blob.size() + 16, 0x55);
  const auto opened = open_blob(keys, blob, OpenPolicy{min_generation}, out);
  if (!opened) {
    // The caller's buffer never keeps anything after a refusal.
    EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0; }))
        << describe(opened.error());
    return opened.error();
  }
  if (plaintext) plaintext->assign(out.begin(), out.begin() + opened.value().plaintext_size);
  return std::nullopt;
}

TEST(StateKeys, AreTheDocumentedHkdfOutputs) {
  const Root root = root_of(1);
  StateKeys keys;
  derive(root, Binding::kMeasurement, keys);
  const Bytes salt = bytes_of("cvtpm vTPM state v1");
  EXPECT_EQ(Bytes(keys.seal, keys.seal + 32), openssl_hkdf(salt, root, bytes_of("seal"), 32));
  EXPECT_EQ(Bytes(keys.seed, keys.seed + 32), openssl_hkdf(salt, root, bytes_of("tpm seeds"), 32));
  EXPECT_EQ(Bytes(keys.key_check, keys.key_check + 16),
            openssl_hkdf(salt, root, bytes_of("key check"), 16));
  EXPECT_EQ(keys.binding, Binding::kMeasurement);
}

TEST(StateKeys, DifferForDifferentRootsAndNeverEqualTheRoot) {
  StateKeys a, b;
  derive(root_of(1), Binding::kDevelopment, a);
  derive(root_of(2), Binding::kDevelopment, b);
  EXPECT_NE(0, std::memcmp(a.seal, b.seal, 32));
  EXPECT_NE(0, std::memcmp(a.seed, b.seed, 32));
  EXPECT_NE(0, std::memcmp(a.seal, a.seed, 32));
  const Root root = root_of(1);
  EXPECT_NE(0, std::memcmp(a.seal, root.data(), 32));
  EXPECT_NE(0, std::memcmp(a.seed, root.data(), 32));
}

TEST(StateKeys, WipeClearsEverySecret) {
  StateKeys keys;
  derive(root_of(3), Binding::kIdentity, keys);
  keys.wipe();
  const Bytes zero(32, 0);
  EXPECT_EQ(Bytes(keys.seal, keys.seal + 32), zero);
  EXPECT_EQ(Bytes(keys.seed, keys.seed + 32), zero);
  EXPECT_EQ(Bytes(keys.key_check, keys.key_check + 16), Bytes(16, 0));
}

TEST(StateBlob, LayoutIsTheDocumentedOneAndOpenSslDecryptsIt) {
  const Root root = root_of(9);
  StateKeys keys;
  derive(root, Binding::kMeasurement, keys);
  const Bytes plaintext = pattern(1000);
  const Bytes salt = salt_of(0xA5);
  const Bytes blob = seal(keys, 42, plaintext, salt);
  ASSERT_EQ(blob.size(), 96u + 1000u);

  EXPECT_EQ(Bytes(blob.begin(), blob.begin() + 8), bytes_of("CVTPMSTA"));
  auto u16 = [&](std::size_t at) { return blob[at] | blob[at + 1] << 8; };
  auto u32 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(u16(at) | u16(at + 2) << 16);
  };
  EXPECT_EQ(u16(0x08), 1);
  EXPECT_EQ(u16(0x0A), 96);
  EXPECT_EQ(u32(0x0C), 2u);  // measurement
  EXPECT_EQ(u32(0x10), 42u);
  EXPECT_EQ(u32(0x14), 0u);
  EXPECT_EQ(u32(0x18), 1000u);
  EXPECT_EQ(u32(0x1C), 0u);
  EXPECT_EQ(Bytes(blob.begin() + 0x20, blob.begin() + 0x30),
            Bytes(keys.key_check, keys.key_check + 16));
  EXPECT_EQ(Bytes(blob.begin() + 0x30, blob.begin() + 0x50), salt);

  // Per-blob key and IV = HKDF-Expand(seal key, "cvtpm state blob" || salt, 44); AAD = [0, 0x50).
  const Bytes material = openssl_hkdf_expand(Bytes(keys.seal, keys.seal + 32),
                                             concat({bytes_of("cvtpm state blob"), salt}), 44);
  Bytes decrypted;
  ASSERT_TRUE(openssl_gcm_decrypt(std::span(material).first(32),
                                  std::span(material).subspan(32, 12), std::span(blob).first(0x50),
                                  std::span(blob).subspan(96), std::span(blob).subspan(0x50, 16),
                                  decrypted));
  EXPECT_EQ(decrypted, plaintext);
}

TEST(StateBlob, RoundTripsForManySizes) {
  StateKeys keys;
  derive(root_of(4), Binding::kDevelopment, keys);
  for (std::size_t size : {0, 1, 15, 16, 17, 4096, 70000}) {
    const Bytes plaintext = pattern(size);
    const Bytes blob = seal(keys, 7, plaintext, salt_of(static_cast<std::uint8_t>(size)));
    Bytes opened;
    EXPECT_EQ(open(keys, blob, &opened), std::nullopt) << size;
    EXPECT_EQ(opened, plaintext);
    const auto info = inspect_blob(blob);
    ASSERT_TRUE(info);
    EXPECT_EQ(info.value().generation, 7u);
    EXPECT_EQ(info.value().binding, Binding::kDevelopment);
    EXPECT_EQ(info.value().ciphertext_size, size);
  }
}

TEST(StateBlob, AFreshSaltGivesAnotherCiphertextForTheSameGeneration) {
  StateKeys keys;
  derive(root_of(4), Binding::kDevelopment, keys);
  const Bytes plaintext = pattern(64);
  const Bytes a = seal(keys, 3, plaintext, salt_of(1));
  const Bytes b = seal(keys, 3, plaintext, salt_of(2));
  EXPECT_NE(Bytes(a.begin() + 96, a.end()), Bytes(b.begin() + 96, b.end()));
  EXPECT_EQ(seal(keys, 3, plaintext, salt_of(1)), a);  // deterministic given the salt
}

// What flipping bit 0 of byte `at` of a generation-9, 200-byte, measurement-bound blob does.
BlobRefusal expected_refusal(std::size_t at) {
  if (at < 0x08) return BlobRefusal::kBadMagic;
  if (at < 0x0A) return BlobRefusal::kUnsupportedVersion;
  if (at < 0x0C) return BlobRefusal::kBadHeaderSize;
  if (at == 0x0C) return BlobRefusal::kBindingMismatch;  // 2 -> 3: identity, a known binding
  if (at < 0x10) return BlobRefusal::kUnknownBinding;
  if (at < 0x18) return BlobRefusal::kNotAuthentic;  // the generation is authenticated data
  if (at == 0x1B) return BlobRefusal::kTooLarge;     // 200 + 16 MiB
  if (at < 0x1C) return BlobRefusal::kTruncated;     // 201, 456, 65736 bytes promised
  if (at < 0x20) return BlobRefusal::kReservedNotZero;
  if (at < 0x30) return BlobRefusal::kForeignKey;
  return BlobRefusal::kNotAuthentic;  // salt, tag, ciphertext
}

TEST(StateBlob, EveryChangedByteIsRefusedWithItsReason) {
  StateKeys keys;
  derive(root_of(5), Binding::kMeasurement, keys);
  const Bytes blob = seal(keys, 9, pattern(200), salt_of(3));
  for (std::size_t at = 0; at < blob.size(); ++at) {
    Bytes bad = blob;
    bad[at] ^= 0x01;
    const std::optional<BlobRefusal> why = open(keys, bad);
    ASSERT_TRUE(why.has_value()) << "byte " << at;
    EXPECT_EQ(*why, expected_refusal(at)) << "byte " << at << ": " << describe(*why);
  }
}

TEST(StateBlob, EveryTruncationAndTrailingBytesAreRefused) {
  StateKeys keys;
  derive(root_of(5), Binding::kMeasurement, keys);
  const Bytes blob = seal(keys, 1, pattern(300), salt_of(3));
  for (std::size_t size = 0; size < blob.size(); ++size) {
    const Bytes cut(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_EQ(open(keys, cut), BlobRefusal::kTruncated) << size;
    EXPECT_FALSE(inspect_blob(cut).ok());
  }
  Bytes longer = blob;
  longer.push_back(0);
  EXPECT_EQ(open(keys, longer), BlobRefusal::kTrailingBytes);
}

TEST(StateBlob, AnotherKeyIsForeignAndAnotherBindingIsNamed) {
  StateKeys keys, other_root, other_binding;
  derive(root_of(6), Binding::kMeasurement, keys);
  derive(root_of(7), Binding::kMeasurement, other_root);
  derive(root_of(6), Binding::kIdentity, other_binding);
  const Bytes blob = seal(keys, 5, pattern(50), salt_of(1));
  EXPECT_EQ(open(other_root, blob), BlobRefusal::kForeignKey);
  EXPECT_EQ(open(other_binding, blob), BlobRefusal::kBindingMismatch);
  EXPECT_EQ(open(keys, blob), std::nullopt);
}

TEST(StateBlob, AForeignKeyCheckCopiedIntoTheHeaderStillFailsAuthentication) {
  // A forger who copies this image's key check into a blob sealed under another key gets past
  // the key check, never past GCM.
  StateKeys keys, forger;
  derive(root_of(6), Binding::kMeasurement, keys);
  derive(root_of(8), Binding::kMeasurement, forger);
  Bytes blob = seal(forger, 5, pattern(50), salt_of(1));
  std::memcpy(blob.data() + 0x20, keys.key_check, 16);
  EXPECT_EQ(open(keys, blob), BlobRefusal::kNotAuthentic);
}

TEST(StateBlob, OlderGenerationsThanRequiredAreRefused) {
  StateKeys keys;
  derive(root_of(6), Binding::kMeasurement, keys);
  const Bytes blob = seal(keys, 5, pattern(50), salt_of(1));
  EXPECT_EQ(open(keys, blob, nullptr, 5), std::nullopt);
  EXPECT_EQ(open(keys, blob, nullptr, 6), BlobRefusal::kOlderGeneration);
}

TEST(StateBlob, SealRefusesGenerationZeroUnknownBindingsAndShortBuffers) {
  StateKeys keys;
  derive(root_of(6), Binding::kMeasurement, keys);
  const Bytes plaintext = pattern(10), salt = salt_of(0);
  const std::span<const std::uint8_t, 32> s(salt.data(), 32);
  Bytes out(sealed_size(10));
  EXPECT_EQ(seal_blob(keys, 0, plaintext, s, out).error(), BlobRefusal::kGenerationZero);
  Bytes small(sealed_size(10) - 1);
  EXPECT_EQ(seal_blob(keys, 1, plaintext, s, small).error(), BlobRefusal::kBufferTooSmall);
  StateKeys none;  // never derived: binding none
  EXPECT_EQ(seal_blob(none, 1, plaintext, s, out).error(), BlobRefusal::kUnknownBinding);
}

TEST(StateBlob, HeaderShapeChecksNeedNoKey) {
  StateKeys keys;
  derive(root_of(6), Binding::kMeasurement, keys);
  Bytes blob = seal(keys, 5, pattern(50), salt_of(1));
  // Generation 0 and an oversized ciphertext are named before any key is involved.
  Bytes zero = blob;
  std::memset(zero.data() + 0x10, 0, 8);
  EXPECT_EQ(inspect_blob(zero).error(), BlobRefusal::kGenerationZero);
  Bytes huge = blob;
  const std::uint32_t size = fs::kMaxCiphertextSize + 1;
  std::memcpy(huge.data() + 0x18, &size, 4);
  EXPECT_EQ(inspect_blob(huge).error(), BlobRefusal::kTooLarge);
  Bytes v2 = blob;
  v2[0x08] = 2;
  EXPECT_EQ(inspect_blob(v2).error(), BlobRefusal::kUnsupportedVersion);
}

TEST(StateBlob, OpenRefusesAPlaintextBufferSmallerThanTheCiphertext) {
  StateKeys keys;
  derive(root_of(6), Binding::kMeasurement, keys);
  const Bytes blob = seal(keys, 5, pattern(50), salt_of(1));
  Bytes out(49);
  EXPECT_EQ(open_blob(keys, blob, {}, out).error(), BlobRefusal::kBufferTooSmall);
}

TEST(StateBlob, DigestIsSha256OfTheWholeBlob) {
  StateKeys keys;
  derive(root_of(6), Binding::kMeasurement, keys);
  const Bytes blob = seal(keys, 5, pattern(50), salt_of(1));
  std::uint8_t digest[32];
  ASSERT_TRUE(blob_digest(blob, digest));
  EXPECT_EQ(Bytes(digest, digest + 32), openssl_sha256(blob));
}

TEST(StateBlob, OpensWhatAnIndependentPythonImplementationSealed) {
  // tests/fuzz/make_state_seeds.py implements docs/persistence.md with Python's hmac and the
  // cryptography package; its seed is a mode byte and the blob.
  const std::filesystem::path file =
      std::filesystem::path(CVTPM_SOURCE_DIR) / "tests/fuzz/corpus/state_blob/blob_valid_gen3.bin";
  std::ifstream in(file, std::ios::binary);
  const Bytes seed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(seed.size(), 1u) << file;
  Root root;
  for (std::size_t i = 0; i < root.size(); ++i) root[i] = static_cast<std::uint8_t>(i);
  StateKeys keys;
  derive(root, Binding::kMeasurement, keys);
  Bytes plaintext;
  ASSERT_EQ(open(keys, Bytes(seed.begin() + 1, seed.end()), &plaintext), std::nullopt);
  const auto view = decode_payload(plaintext);
  ASSERT_TRUE(view);
  ASSERT_EQ(view.value().permanent.size(), 600u);
  ASSERT_EQ(view.value().ek_public.size(), 88u);
  EXPECT_EQ(view.value().ek_algorithm, vtpm::EkAlgorithm::kEccP256);
  for (std::size_t i = 0; i < 600; ++i) ASSERT_EQ(view.value().permanent[i], (i * 7) & 0xFF);
  for (std::size_t i = 0; i < 88; ++i) ASSERT_EQ(view.value().ek_public[i], (i * 13) & 0xFF);
  EXPECT_EQ(inspect_blob(Bytes(seed.begin() + 1, seed.end())).value().generation, 3u);
}

TEST(StateBlob, EveryRefusalHasADescription) {
  for (int r = 0; r <= static_cast<int>(BlobRefusal::kCrypto); ++r) {
    EXPECT_STRNE(describe(static_cast<BlobRefusal>(r)), "unknown refusal") << r;
  }
}

}  // namespace
}  // namespace cvtpm::state::testing
