// The persistent vTPM on the hosted libtpms engine (vtpm_fw/state/persistent_state,
// manufacture_random; docs/persistence.md): derived seeds (the same EK for the same key, another
// for another key), fresh start and restore, NV indices that survive a "reboot", writes only for
// commands that change the permanent state, every refusal leaving the storage unchanged, and a
// failed write putting the TPM into failure mode.
#include <gtest/gtest.h>

#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <memory>

#include "cvtpm/state/manufacture_random.h"
#include "cvtpm/state/persistent_state.h"
#include "cvtpm/vtpm/dispatcher.h"
#include "cvtpm/vtpm/tpm_engine.h"
#include "cvtpm/vtpm_host/guest.h"
#include "cvtpm/vtpm_host/host_allocator.h"
#include "cvtpm/vtpm_host/host_platform.h"
#include "memory_storage.h"
#include "openssl_reference.h"
#include "vtpm_testing.h"

namespace cvtpm::state::testing {
namespace {

namespace fs = formats::state;
using cvtpm::vtpm::testing::ByteWriter;
using cvtpm::vtpm::testing::tpm_rc;
using Bytes = std::vector<std::uint8_t>;
using Root = std::array<std::uint8_t, kRootKeySize>;

constexpr std::uint32_t kNvIndex = 0x01500001;

Root root_of(std::uint8_t fill) {
  Root r;
  r.fill(fill);
  return r;
}

Bytes run(vtpm::TpmEngine& engine, Bytes command) {
  auto response = engine.execute(command, 0);
  if (!response) return {};
  return Bytes(response.value().begin(), response.value().end());
}

std::uint32_t rc_of(vtpm::TpmEngine& engine, const Bytes& command) {
  const Bytes response = run(engine, command);
  return response.empty() ? 0xFFFFFFFF : tpm_rc(response);
}

Bytes with_size(Bytes b) {
  b[2] = static_cast<std::uint8_t>(b.size() >> 24);
  b[3] = static_cast<std::uint8_t>(b.size() >> 16);
  b[4] = static_cast<std::uint8_t>(b.size() >> 8);
  b[5] = static_cast<std::uint8_t>(b.size());
  return b;
}

// Owner authorization with the empty password (TPM_RS_PW).
constexpr const char* kOwnerPasswordSession = "40000001 00000009 40000009 0000 00 0000";

Bytes nv_define(std::uint16_t size) {
  ByteWriter w;
  w.hex("8002 00000000 0000012a");
  w.hex(kOwnerPasswordSession);
  w.hex("0000 000e");
  w.be32(kNvIndex);
  w.hex("000b 02060006 0000");
  w.be16(size);
  return with_size(w.bytes());
}

Bytes nv_write(const Bytes& data) {
  ByteWriter w;
  w.hex("8002 00000000 00000137 40000001");
  w.be32(kNvIndex);
  w.hex("00000009 40000009 0000 00 0000");
  w.be16(static_cast<std::uint16_t>(data.size()));
  w.raw(data);
  w.be16(0);
  return with_size(w.bytes());
}

Bytes nv_read(std::uint16_t size) {
  ByteWriter w;
  w.hex("8002 00000000 0000014e 40000001");
  w.be32(kNvIndex);
  w.hex("00000009 40000009 0000 00 0000");
  w.be16(size);
  w.be16(0);
  return with_size(w.bytes());
}

// The data of an NV_Read response: header, parameterSize, TPM2B_MAX_NV_BUFFER.
Bytes nv_data(const Bytes& response) {
  if (response.size() < 16 || tpm_rc(response) != 0) return {};
  const std::size_t size = response[14] << 8 | response[15];
  return Bytes(response.begin() + 16, response.begin() + 16 + static_cast<long>(size));
}

// One boot of a persistent TPM: a fresh engine and PersistentState over the shared storage.
struct Boot {
  vtpm::host::HostAllocator allocator;
  vtpm::TpmEngine engine{allocator};
  OpenSslRandom random;
  PersistentState state;
  vtpm::Result<StartOutcome, StartError> outcome;

  Boot(MemoryStorage& storage, const Root& root, vtpm::EkAlgorithm ek = vtpm::EkAlgorithm::kEccP256,
       Binding binding = Binding::kDevelopment)
      : state(allocator, storage, random), outcome(state.start(engine, root, {binding, ek})) {}
  ~Boot() { engine.set_state_sink(nullptr); }
  Bytes ek() const { return Bytes(engine.ek_public().begin(), engine.ek_public().end()); }
};

TEST(ManufactureRandom, GivesTheSameSeedsForTheSameKeyAndOthersForAnother) {
  vtpm::host::HostAllocator allocator;
  auto ek_for = [&](std::uint8_t fill) {
    vtpm::TpmEngine engine(allocator);
    const Root key = root_of(fill);
    ManufactureRandom random(key);
    EXPECT_TRUE(random.active());
    EXPECT_TRUE(engine.manufacture({vtpm::EkAlgorithm::kEccP256}));
    EXPECT_GT(random.bytes_drawn(), 0u);  // libtpms did draw from the derived stream
    EXPECT_FALSE(random.failed());
    return Bytes(engine.ek_public().begin(), engine.ek_public().end());
  };
  const Bytes a1 = ek_for(1), a2 = ek_for(1), b = ek_for(2);
  ASSERT_FALSE(a1.empty());
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b);
  // Without the derived stream, manufacture uses OpenSSL's own generator: another EK each time.
  vtpm::TpmEngine plain(allocator);
  ASSERT_TRUE(plain.manufacture({vtpm::EkAlgorithm::kEccP256}));
  EXPECT_NE(Bytes(plain.ek_public().begin(), plain.ek_public().end()), a1);
}

TEST(ManufactureRandom, PutsOpenSslsGeneratorBackAndAllowsOneAtATime) {
  const Root key = root_of(3);
  Bytes inside(32);
  {
    ManufactureRandom random(key);
    ASSERT_TRUE(random.active());
    ManufactureRandom second(key);
    EXPECT_FALSE(second.active());
    ASSERT_EQ(RAND_bytes(inside.data(), 32), 1);
  }
  Bytes again(32);
  {
    ManufactureRandom random(key);
    ASSERT_TRUE(random.active());
    ASSERT_EQ(RAND_bytes(again.data(), 32), 1);
  }
  EXPECT_EQ(inside, again);  // the stream is a function of the key
  Bytes after1(32), after2(32);
  ASSERT_EQ(RAND_bytes(after1.data(), 32), 1);
  ASSERT_EQ(RAND_bytes(after2.data(), 32), 1);
  EXPECT_NE(after1, inside);
  EXPECT_NE(after1, after2);
}

TEST(PersistentState, AFreshStartManufacturesAndWritesGenerationOne) {
  MemoryStorage storage;
  Boot boot(storage, root_of(7));
  ASSERT_TRUE(boot.outcome) << describe(boot.outcome.error().failure);
  EXPECT_EQ(boot.outcome.value().status, StateStatus::kFresh);
  EXPECT_EQ(storage.writes, 1);
  ASSERT_TRUE(storage.blob.has_value());
  const auto& ev = boot.state.evidence();
  EXPECT_EQ(ev.status, static_cast<std::uint32_t>(StateStatus::kFresh));
  EXPECT_EQ(ev.binding, static_cast<std::uint32_t>(Binding::kDevelopment));
  EXPECT_EQ(ev.boot_generation, 0u);
  EXPECT_EQ(ev.current_generation, 1u);
  EXPECT_EQ(Bytes(ev.boot_digest, ev.boot_digest + 32), Bytes(32, 0));
  EXPECT_EQ(Bytes(ev.current_digest, ev.current_digest + 32),
            MemoryStorage::digest_of(*storage.blob));
  const auto info = inspect_blob(*storage.blob);
  ASSERT_TRUE(info);
  EXPECT_EQ(info.value().generation, 1u);
}

TEST(PersistentState, ARebootRestoresTheSameEkAndTheNvIndex) {
  MemoryStorage storage;
  const Bytes secret = {'c', 'v', 't', 'p', 'm', ' ', 'n', 'v'};
  Bytes ek;
  {
    Boot boot(storage, root_of(8));
    ASSERT_TRUE(boot.outcome);
    ek = boot.ek();
    ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_startup_clear()), 0u);
    ASSERT_EQ(rc_of(boot.engine, nv_define(8)), 0u);
    ASSERT_EQ(rc_of(boot.engine, nv_write(secret)), 0u);
    EXPECT_EQ(boot.state.evidence().current_generation,
              1u + static_cast<std::uint64_t>(storage.writes - 1));
  }
  const Bytes stored = *storage.blob;
  Boot boot(storage, root_of(8));
  ASSERT_TRUE(boot.outcome) << describe(boot.outcome.error().failure);
  EXPECT_EQ(boot.outcome.value().status, StateStatus::kRestored);
  EXPECT_EQ(boot.ek(), ek);
  const auto& ev = boot.state.evidence();
  EXPECT_EQ(ev.boot_generation, inspect_blob(stored).value().generation);
  EXPECT_EQ(Bytes(ev.boot_digest, ev.boot_digest + 32), MemoryStorage::digest_of(stored));
  ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_startup_clear()), 0u);
  EXPECT_EQ(nv_data(run(boot.engine, nv_read(8))), secret);
}

TEST(PersistentState, WithoutAStoredStateTheSameKeyGivesTheSameEkAnotherKeyAnother) {
  MemoryStorage a, b, c;
  Bytes ek_a, ek_b, ek_c;
  {
    Boot boot(a, root_of(9));
    ASSERT_TRUE(boot.outcome);
    ek_a = boot.ek();
  }
  {
    Boot boot(b, root_of(9));  // a reset: nothing stored, same key
    ASSERT_TRUE(boot.outcome);
    ek_b = boot.ek();
  }
  {
    Boot boot(c, root_of(10));
    ASSERT_TRUE(boot.outcome);
    ek_c = boot.ek();
  }
  EXPECT_EQ(ek_a, ek_b);
  EXPECT_NE(ek_a, ek_c);
}

TEST(PersistentState, CommandsThatChangeNothingPersistentWriteNothing) {
  MemoryStorage storage;
  Boot boot(storage, root_of(11));
  ASSERT_TRUE(boot.outcome);
  ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_startup_clear()), 0u);
  ASSERT_EQ(rc_of(boot.engine, nv_define(16)), 0u);
  ASSERT_EQ(rc_of(boot.engine, nv_write(Bytes(16, 0xAA))), 0u);  // NV_Read needs written data
  const int before = storage.writes;
  std::array<std::uint8_t, 32> digest{};
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_get_random(16)), 0u);
    ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_pcr_extend_sha256(16, digest)), 0u);
    ASSERT_EQ(rc_of(boot.engine, nv_read(16)), 0u);
  }
  EXPECT_EQ(storage.writes, before);
  // Each NV write is one more generation, written before its response.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(rc_of(boot.engine, nv_write(Bytes(16, static_cast<std::uint8_t>(i)))), 0u);
    EXPECT_EQ(storage.writes, before + i + 1);
    EXPECT_EQ(inspect_blob(*storage.blob).value().generation,
              boot.state.evidence().current_generation);
  }
}

void expect_refused(MemoryStorage& storage, const Root& root, StartFailure failure,
                    std::optional<BlobRefusal> refusal = std::nullopt,
                    vtpm::EkAlgorithm ek = vtpm::EkAlgorithm::kEccP256,
                    Binding binding = Binding::kDevelopment) {
  const auto before = storage.blob;
  const int writes = storage.writes;
  Boot boot(storage, root, ek, binding);
  ASSERT_FALSE(boot.outcome);
  EXPECT_EQ(boot.outcome.error().failure, failure) << describe(boot.outcome.error().failure);
  if (refusal) {
    EXPECT_EQ(boot.outcome.error().refusal, *refusal) << describe_detail(boot.outcome.error());
  }
  EXPECT_EQ(storage.blob, before);  // never written over
  EXPECT_EQ(storage.writes, writes);
  EXPECT_FALSE(boot.engine.powered());
}

class RefusedState : public ::testing::Test {
 protected:
  void SetUp() override {
    Boot boot(storage, root_of(12));
    ASSERT_TRUE(boot.outcome);
    ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_startup_clear()), 0u);
    good = *storage.blob;
  }
  MemoryStorage storage;
  Bytes good;
};

TEST_F(RefusedState, AnotherKeyIsForeign) {
  expect_refused(storage, root_of(13), StartFailure::kRefused, BlobRefusal::kForeignKey);
}

TEST_F(RefusedState, AnotherBindingIsNamed) {
  expect_refused(storage, root_of(12), StartFailure::kRefused, BlobRefusal::kBindingMismatch,
                 vtpm::EkAlgorithm::kEccP256, Binding::kMeasurement);
}

TEST_F(RefusedState, ACorruptedByteIsNotAuthentic) {
  storage.blob->at(storage.blob->size() / 2) ^= 0x40;
  expect_refused(storage, root_of(12), StartFailure::kRefused, BlobRefusal::kNotAuthentic);
}

TEST_F(RefusedState, ATruncatedBlobIsNamed) {
  storage.blob->resize(storage.blob->size() - 1);
  expect_refused(storage, root_of(12), StartFailure::kRefused, BlobRefusal::kTruncated);
}

TEST_F(RefusedState, GarbageIsNotABlob) {
  storage.blob = Bytes(500, 0x41);
  expect_refused(storage, root_of(12), StartFailure::kRefused, BlobRefusal::kBadMagic);
}

TEST_F(RefusedState, AnotherEkAlgorithmIsNamed) {
  expect_refused(storage, root_of(12), StartFailure::kEkAlgorithm, std::nullopt,
                 vtpm::EkAlgorithm::kEccP384);
}

// Every allocation made through it, so a test can look into the memory PersistentState keeps.
class TrackingAllocator final : public vtpm::Allocator {
 public:
  void* allocate(std::size_t size, std::size_t alignment) override {
    void* memory = inner_.allocate(size, alignment);
    if (memory != nullptr) live_[memory] = size;
    return memory;
  }
  void deallocate(void* memory, std::size_t size, std::size_t alignment) override {
    live_.erase(memory);
    inner_.deallocate(memory, size, alignment);
  }
  bool holds(std::span<const std::uint8_t> bytes) const {
    for (const auto& [memory, size] : live_) {
      const auto* begin = static_cast<const std::uint8_t*>(memory);
      if (std::search(begin, begin + size, bytes.begin(), bytes.end()) != begin + size) return true;
    }
    return false;
  }

 private:
  vtpm::host::HostAllocator inner_;
  std::map<void*, std::size_t> live_;
};

// An authentic state refused after decryption (here: another EK algorithm) leaves none of its
// plaintext, the TPM's seeds, in the firmware's memory.
TEST_F(RefusedState, ARefusedAuthenticStateLeavesNoPlaintextBehind) {
  StateKeys keys;
  ASSERT_TRUE(derive_state_keys(root_of(12), Binding::kDevelopment, keys));
  Bytes plaintext(good.size());
  const auto opened = open_blob(keys, good, OpenPolicy{}, plaintext);
  ASSERT_TRUE(opened);
  plaintext.resize(opened.value().plaintext_size);

  TrackingAllocator allocator;
  vtpm::TpmEngine engine(allocator);
  OpenSslRandom random;
  PersistentState state(allocator, storage, random);
  const auto outcome =
      state.start(engine, root_of(12), {Binding::kDevelopment, vtpm::EkAlgorithm::kEccP384});
  ASSERT_FALSE(outcome);
  ASSERT_EQ(outcome.error().failure, StartFailure::kEkAlgorithm);
  EXPECT_FALSE(allocator.holds(plaintext));
  engine.set_state_sink(nullptr);
}

TEST_F(RefusedState, AnUnreachableStorageIsNamed) {
  storage.fail_info = StorageError::kUnreachable;
  expect_refused(storage, root_of(12), StartFailure::kStorage);
  storage.fail_info.reset();
  storage.fail_read = StorageError::kIoError;
  expect_refused(storage, root_of(12), StartFailure::kStorage);
}

TEST_F(RefusedState, AnOlderGenerationStillOpensAtBoot) {
  // Across boots an older blob is indistinguishable from the latest: the evidence reports its
  // generation and digest instead (docs/persistence.md, "Rollback").
  {
    Boot boot(storage, root_of(12));
    ASSERT_TRUE(boot.outcome);
    ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_startup_clear()), 0u);
  }
  ASSERT_NE(*storage.blob, good);
  const std::uint64_t newer = inspect_blob(*storage.blob).value().generation;
  storage.blob = good;
  Boot boot(storage, root_of(12));
  ASSERT_TRUE(boot.outcome);
  EXPECT_LT(boot.state.evidence().boot_generation, newer);
}

TEST(PersistentState, AFailedWritePutsTheTpmIntoFailureModeForTheRestOfTheBoot) {
  MemoryStorage storage;
  Boot boot(storage, root_of(14));
  ASSERT_TRUE(boot.outcome);
  ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_startup_clear()), 0u);
  const Bytes durable = *storage.blob;
  storage.fail_replace = StorageError::kIoError;
  // An NV change whose write fails: libtpms enters failure mode (TPM_RC_FAILURE 0x101).
  EXPECT_EQ(rc_of(boot.engine, nv_define(8)), 0x101u);
  EXPECT_TRUE(boot.engine.persistence_failed());
  EXPECT_EQ(boot.state.evidence().status, static_cast<std::uint32_t>(StateStatus::kFailed));
  EXPECT_EQ(boot.state.last_write_error(), StorageError::kIoError);
  storage.fail_replace.reset();
  // Even after the storage recovers, nothing runs and nothing is written until the next boot.
  EXPECT_TRUE(run(boot.engine, cvtpm::vtpm::testing::tpm_get_random(8)).empty());
  EXPECT_FALSE(boot.engine.power_on());
  EXPECT_EQ(*storage.blob, durable);
}

TEST(PersistentState, AStorageRolledBackDuringTheBootIsAConflict) {
  MemoryStorage storage;
  Boot boot(storage, root_of(15));
  ASSERT_TRUE(boot.outcome);
  const Bytes first = *storage.blob;
  ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_startup_clear()), 0u);
  storage.blob = first;  // the host swaps the older generation back in
  EXPECT_EQ(rc_of(boot.engine, nv_define(8)), 0x101u);
  EXPECT_EQ(boot.state.last_write_error(), StorageError::kConflict);
  EXPECT_EQ(*storage.blob, first);
}

// The SVSM attestation of a persistent TPM: the guest asks (SVSM_ATTEST_SINGLE_SERVICE of the
// state GUID, SVSM_ATTEST_SERVICES) and gets the state's generations and digests as they are at
// that moment, read here field by field and checked against the stored blob.
class AttestedState {
 public:
  explicit AttestedState(Boot& boot)
      : dispatcher_(platform_, &boot.engine),
        vcpu_(platform_, dispatcher_),
        attestation_(vcpu_, platform_, platform_.config().guest_base + 0x10000, 0x20000) {
    dispatcher_.set_state_evidence(&boot.state.evidence());
  }
  struct Entry {
    std::uint32_t version, status, binding, reserved;
    std::uint64_t boot_generation, current_generation;
    Bytes boot_digest, current_digest;
  };
  static Entry decode(const Bytes& b) {
    auto le = [&](std::size_t at, int n) {
      std::uint64_t v = 0;
      for (int i = n - 1; i >= 0; --i) v = v << 8 | b.at(at + static_cast<std::size_t>(i));
      return v;
    };
    EXPECT_EQ(b.size(), 96u);
    return {static_cast<std::uint32_t>(le(0, 4)),
            static_cast<std::uint32_t>(le(4, 4)),
            static_cast<std::uint32_t>(le(8, 4)),
            static_cast<std::uint32_t>(le(12, 4)),
            le(16, 8),
            le(24, 8),
            Bytes(b.begin() + 32, b.begin() + 64),
            Bytes(b.begin() + 64, b.begin() + 96)};
  }
  // The single-service manifest of the state GUID.
  Entry single() {
    std::array<std::uint8_t, 64> nonce{};
    const auto out = attestation_.attest(nonce, formats::state::kStateServiceGuid, 0);
    EXPECT_EQ(out.result, vtpm::SvsmResult::kSuccess);
    return decode(out.evidence.manifest);
  }
  // The state entry's data in the services manifest (the second entry, after the vTPM's).
  Entry from_services() {
    std::array<std::uint8_t, 64> nonce{};
    const auto out = attestation_.attest(nonce);
    EXPECT_EQ(out.result, vtpm::SvsmResult::kSuccess);
    const Bytes& m = out.evidence.manifest;
    EXPECT_EQ(cvtpm::vtpm::testing::le32_at(m, 0x14), 2u);
    const std::uint32_t offset = cvtpm::vtpm::testing::le32_at(m, 0x40);
    EXPECT_EQ(cvtpm::vtpm::testing::le32_at(m, 0x44), 96u);
    EXPECT_EQ(offset + 96u, m.size());
    return decode(Bytes(m.end() - 96, m.end()));
  }

 private:
  vtpm::host::HostPlatform platform_;
  vtpm::Dispatcher dispatcher_;
  vtpm::host::GuestVcpu vcpu_;
  vtpm::host::GuestAttestation attestation_;
};

TEST(AttestedState, TheEvidenceFollowsEveryWriteAndTheNextBoot) {
  MemoryStorage storage;
  Bytes last_digest;
  std::uint64_t last_generation = 0;
  {
    Boot boot(storage, root_of(21));
    ASSERT_TRUE(boot.outcome);
    AttestedState attested(boot);
    AttestedState::Entry e = attested.single();
    EXPECT_EQ(e.version, 1u);
    EXPECT_EQ(e.status, 1u);   // fresh
    EXPECT_EQ(e.binding, 1u);  // development
    EXPECT_EQ(e.reserved, 0u);
    EXPECT_EQ(e.boot_generation, 0u);
    EXPECT_EQ(e.current_generation, 1u);
    EXPECT_EQ(e.boot_digest, Bytes(32, 0));
    EXPECT_EQ(e.current_digest, openssl_sha256(*storage.blob));

    ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_startup_clear()), 0u);
    ASSERT_EQ(rc_of(boot.engine, nv_define(8)), 0u);
    ASSERT_EQ(rc_of(boot.engine, nv_write(Bytes(8, 0x5A))), 0u);
    const std::uint64_t written = 1u + static_cast<std::uint64_t>(storage.writes - 1);
    ASSERT_GE(written, 3u);
    for (const AttestedState::Entry& now : {attested.single(), attested.from_services()}) {
      EXPECT_EQ(now.status, 1u);
      EXPECT_EQ(now.boot_generation, 0u);
      EXPECT_EQ(now.current_generation, written);
      EXPECT_EQ(now.current_digest, openssl_sha256(*storage.blob));
    }
    last_generation = written;
    last_digest = openssl_sha256(*storage.blob);
  }
  Boot boot(storage, root_of(21));
  ASSERT_TRUE(boot.outcome);
  AttestedState attested(boot);
  const AttestedState::Entry e = attested.from_services();
  EXPECT_EQ(e.status, 2u);  // restored
  EXPECT_EQ(e.boot_generation, last_generation);
  EXPECT_EQ(e.current_generation, last_generation);
  EXPECT_EQ(e.boot_digest, last_digest);
  EXPECT_EQ(e.current_digest, last_digest);

  // A write that fails: the evidence says so (status failed), the generation stays.
  ASSERT_EQ(rc_of(boot.engine, cvtpm::vtpm::testing::tpm_startup_clear()), 0u);
  const AttestedState::Entry started = attested.single();  // TPM2_Startup may write
  storage.fail_replace = StorageError::kConflict;
  EXPECT_EQ(rc_of(boot.engine, nv_write(Bytes(8, 0x33))), 0x101u);
  const AttestedState::Entry failed = attested.single();
  EXPECT_EQ(failed.status, 3u);
  EXPECT_EQ(failed.boot_generation, last_generation);
  EXPECT_EQ(failed.current_generation, started.current_generation);
  EXPECT_EQ(failed.current_digest, started.current_digest);
}

}  // namespace
}  // namespace cvtpm::state::testing
