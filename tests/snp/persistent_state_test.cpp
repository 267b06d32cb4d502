// The persistent vTPM on the SNP model, as platform/snp/snp_main.cpp composes it: COM3 (0x3E8)
// probed and driven through the boot vCPU's GHCB (IOIO exits, like the console), the model
// hypervisor's COM3 a UART whose other end is the host's StateLinkServer (cvtpm-launch's), the
// root key from MSG_KEY_REQ, and PersistentState restoring or manufacturing the TPM. snp_main.cpp
// itself is freestanding code and not run here: these tests run the same pieces in its order.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <sstream>
#include <vector>

#include "cvtpm/launch/state_server.h"
#include "cvtpm/launch/state_store.h"
#include "cvtpm/state/persistent_state.h"
#include "loop_uart.h"
#include "snp_fixture.h"
#include "transport/state_link_client.h"

namespace cvtpm::snp::testing {
namespace {

using state::testing::Bytes;
using state::testing::LoopUart;
namespace tp = fw::transport;

using vtpm::SvsmResult;

constexpr std::uint16_t kCom3 = 0x3E8;
constexpr std::uint64_t k4K = 4096;

// Port I/O of the boot vCPU through its GHCB, as snp_main.cpp's GhcbPortIo.
class GhcbPorts final : public fw::console::PortIo {
 public:
  explicit GhcbPorts(GhcbClient& ghcb) : ghcb_(ghcb) {}
  std::uint8_t read8(std::uint16_t port) override {
    const auto value = ghcb_.io_in(port, 1);
    if (!value) {
      ADD_FAILURE() << "IOIO exit for port " << port << " failed";
      return 0xFF;
    }
    return static_cast<std::uint8_t>(value.value());
  }
  void write8(std::uint16_t port, std::uint8_t value) override {
    if (!ghcb_.io_out(port, 1, value)) ADD_FAILURE() << "IOIO exit for port " << port << " failed";
  }

 private:
  GhcbClient& ghcb_;
};

std::uint64_t g_now = 0;
std::uint64_t model_now() {
  return g_now += 1'000'000;  // every look at the clock is 1 ms later
}

// One boot of an image on the model; `store` is the host's state file, served on COM3 when
// `host_serves_com3`.
class PersistentBoot {
 public:
  PersistentBoot(launch::StateStore& store, const ImageOptions& options, bool host_serves_com3)
      : boot_(options), server_(store, false, &host_log), uart_(kCom3) {
    uart_.answer = [this](const tp::Frame& f) {
      if (f.type != tp::FrameType::kStateRequest) return Bytes{};
      const Bytes reply = server_.handle(f.payload);
      Bytes out(tp::kMaxLinkFrame);
      out.resize(tp::encode_frame(tp::FrameType::kStateResponse, f.sequence, reply, out));
      return out;
    };
    if (host_serves_com3) {
      boot_.machine().io_device = [this](std::uint16_t port, bool in, unsigned size,
                                         std::uint64_t& value) {
        if (port < kCom3 || port > kCom3 + 7) return false;
        ++exits;
        if (size != 1) {
          value = ~std::uint64_t{0};
        } else if (in) {
          value = uart_.read8(port);
        } else {
          uart_.write8(port, static_cast<std::uint8_t>(value));
        }
        return true;
      };
    }
    EXPECT_TRUE(boot_.early());
    EXPECT_TRUE(boot_.accept());
    EXPECT_TRUE(boot_.prepare());
  }
  ~PersistentBoot() { engine.set_state_sink(nullptr); }

  // snp_main.cpp's order: probe COM3; with a UART there, the root key from the PSP, then the
  // PersistentState start over the state link (the key wiped after it).
  bool probe() { return link_.init(); }
  vtpm::Result<state::StartOutcome, state::StartError> start() {
    release_shared_tpm();
    std::array<std::uint8_t, state::kRootKeySize> key{};
    const SnpStatus derived = boot_.firmware().state_root_key(key);
    EXPECT_TRUE(derived) << derived.error().what;
    root = key;
    const auto binding = static_cast<state::Binding>(boot_.params().state_binding);
    auto outcome = persistent.start(engine, key, {binding, vtpm::EkAlgorithm::kEccP256});
    return outcome;
  }
  Bytes ek() const { return Bytes(engine.ek_public().begin(), engine.ek_public().end()); }
  SnpBoot& boot() { return boot_; }

  std::ostringstream host_log;
  std::size_t exits = 0;
  std::array<std::uint8_t, state::kRootKeySize> root{};

 private:
  SnpBoot boot_;
  launch::StateLinkServer server_;
  LoopUart uart_;
  GhcbPorts ports_{boot_.firmware().ghcb()};
  fw::console::Uart16550 link_{ports_, kCom3};
  tp::StateLinkClient client_{link_, model_now, {100'000'000, 10'000'000, 100'000'000}};
  vtpm::host::HostAllocator allocator_;

 public:
  vtpm::TpmEngine engine{allocator_};

 private:
  state::OpenSslRandom random_;

 public:
  state::PersistentState persistent{allocator_, client_, random_};
};

TEST(SnpPersistentState, TheSameImageRestoresItsStateOverCom3AnotherImageIsRefused) {
  launch::MemoryStateStore store;
  Bytes ek;
  {
    PersistentBoot first(store, {}, true);
    ASSERT_TRUE(first.probe());
    const auto outcome = first.start();
    ASSERT_TRUE(outcome) << state::describe(outcome.error().failure);
    EXPECT_EQ(outcome.value().status, state::StateStatus::kFresh);
    ASSERT_TRUE(store.blob.has_value());
    EXPECT_GT(first.exits, store.blob->size()) << "the blob went out byte by byte as IOIO exits";
    ek = first.ek();
    // The host holds ciphertext: the root key is not in what it stores.
    EXPECT_EQ(
        std::search(store.blob->begin(), store.blob->end(), first.root.begin(), first.root.end()),
        store.blob->end());
  }
  const Bytes stored = *store.blob;
  {
    PersistentBoot second(store, {}, true);
    ASSERT_TRUE(second.probe());
    const auto outcome = second.start();
    ASSERT_TRUE(outcome) << state::describe(outcome.error().failure);
    EXPECT_EQ(outcome.value().status, state::StateStatus::kRestored);
    EXPECT_EQ(outcome.value().generation, 1u);
    EXPECT_EQ(second.ek(), ek);
  }
  {
    ImageOptions other;
    other.ovmf_pages = 5;  // another measurement: another key
    PersistentBoot foreign(store, other, true);
    ASSERT_TRUE(foreign.probe());
    const auto outcome = foreign.start();
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().failure, state::StartFailure::kRefused);
    EXPECT_EQ(outcome.error().refusal, state::BlobRefusal::kForeignKey);
  }
  EXPECT_EQ(*store.blob, stored) << "a refused state is never written over";
}

// What the guest OS gets from SVSM_ATTEST_SERVICES and SVSM_ATTEST_SINGLE_SERVICE (the state's
// GUID) once snp_main.cpp serves the TPM with the persistent state's evidence attached.
struct AttestedState {
  model::GuestEvidence services, single;
};
AttestedState attest_state(SnpBoot& b) {
  constexpr std::uint64_t kScratch = 0x200000;
  AttestedState out;
  std::array<std::uint8_t, 64> nonce{};
  nonce.fill(0x3C);
  b.set_guest([&](GuestCpu& cpu) {
    const model::SvsmDiscovery secrets = model::read_secrets(cpu, b.params().guest.secrets_gpa);
    GuestSvsm svsm(cpu, secrets.caa);
    model::accept_memory(svsm, kScratch, 24);
    out.services = model::svsm_attest(svsm, kScratch, 20 * k4K, nonce, std::nullopt);
    out.single = model::svsm_attest(svsm, kScratch, 20 * k4K, nonce, vtpm::kStateServiceGuid);
  });
  b.run_guest();
  return out;
}

// Reads a little-endian field of `bytes` at `offset`, independently of the firmware's structs.
std::uint64_t le_at(const Bytes& bytes, std::size_t offset, std::size_t size) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < size; ++i) v |= std::uint64_t{bytes.at(offset + i)} << (8 * i);
  return v;
}

TEST(SnpPersistentState, TheAttestationEvidenceCarriesTheStatesGenerationAndDigest) {
  launch::MemoryStateStore store;
  {
    PersistentBoot first(store, {}, true);
    ASSERT_TRUE(first.probe());
    ASSERT_TRUE(first.start());
  }
  PersistentBoot second(store, {}, true);
  ASSERT_TRUE(second.probe());
  const auto outcome = second.start();
  ASSERT_TRUE(outcome);
  ASSERT_EQ(outcome.value().status, state::StateStatus::kRestored);
  second.boot().firmware().serve(&second.engine, &second.persistent.evidence());
  const AttestedState got = attest_state(second.boot());
  ASSERT_EQ(got.services.result, SvsmResult::kSuccess);
  ASSERT_EQ(got.single.result, SvsmResult::kSuccess);

  // The stored blob's SHA-256, computed here.
  Bytes digest(32);
  SHA256(store.blob->data(), store.blob->size(), digest.data());
  // The SINGLE_SERVICE manifest is the 96-byte entry (docs/persistence.md, "Rollback").
  const Bytes& entry = got.single.manifest;
  ASSERT_EQ(entry.size(), 96u);
  EXPECT_EQ(le_at(entry, 0, 4), 1u);   // version
  EXPECT_EQ(le_at(entry, 4, 4), 2u);   // restored
  EXPECT_EQ(le_at(entry, 8, 4), 2u);   // measurement binding (the image's default)
  EXPECT_EQ(le_at(entry, 16, 8), 1u);  // boot generation
  EXPECT_EQ(le_at(entry, 24, 8), 1u);  // current generation
  EXPECT_EQ(Bytes(entry.begin() + 32, entry.begin() + 64), digest);
  EXPECT_EQ(Bytes(entry.begin() + 64, entry.begin() + 96), digest);
  // SERVICES: the vTPM's entry, then the state's with the same bytes.
  const Bytes& manifest = got.services.manifest;
  ASSERT_GE(manifest.size(), 24u);
  ASSERT_EQ(le_at(manifest, 20, 4), 2u) << "two services";
  EXPECT_EQ(Bytes(manifest.end() - 96, manifest.end()), entry);
}

// snp_main.cpp turns persistence on only when a UART answers at COM3 (the host's choice).
TEST(SnpPersistentState, WithoutAUartAtCom3ThereIsNoStateLink) {
  launch::MemoryStateStore store;
  PersistentBoot boot(store, {}, false);
  EXPECT_FALSE(boot.probe());
  EXPECT_FALSE(store.blob.has_value());
}

}  // namespace
}  // namespace cvtpm::snp::testing
