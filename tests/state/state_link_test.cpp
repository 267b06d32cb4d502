// The state link (formats/state/state_link.h, docs/persistence.md) with both real ends: the
// firmware's StateLinkClient on a modelled UART whose other side is the host's StateLinkServer,
// in one process. Round trips of small and chunked blobs, the compare-and-swap, --state-reset,
// digest and I/O failures, a host that does not answer or answers out of protocol, requests out
// of order, and the file store (atomic replace, nothing left behind).
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include "cvtpm/launch/state_server.h"
#include "cvtpm/launch/state_store.h"
#include "loop_uart.h"
#include "temp_dir.h"
#include "transport/serial_link.h"
#include "transport/state_link_client.h"

namespace cvtpm::state::testing {
namespace {

namespace fs = formats::state;
namespace tp = fw::transport;
using Bytes = std::vector<std::uint8_t>;

std::uint64_t g_now = 0;
std::uint64_t fake_now() {
  return g_now += 1'000'000;  // every look at the clock is 1 ms later
}

Bytes digest_of(const Bytes& b) {
  Bytes d(32);
  crypto::sha256(b, std::span<std::uint8_t, 32>(d.data(), 32));
  return d;
}
std::span<const std::uint8_t, 32> d32(const Bytes& b) {
  return std::span<const std::uint8_t, 32>(b.data(), 32);
}

Bytes pattern(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

struct Link {
  explicit Link(launch::StateStore& store, bool reset = false)
      : server(store, reset, &log),
        uart(0x3E8),
        driver(uart, 0x3E8),
        client(driver, fake_now, {100'000'000, 10'000'000, 100'000'000}) {
    uart.answer = [this](const tp::Frame& f) {
      if (f.type != tp::FrameType::kStateRequest) return Bytes{};
      const Bytes reply = server.handle(f.payload);
      return frame_of(tp::FrameType::kStateResponse, f.sequence, reply);
    };
    EXPECT_TRUE(driver.init());
  }
  std::ostringstream log;
  launch::StateLinkServer server;
  LoopUart uart;
  fw::console::Uart16550 driver;
  tp::StateLinkClient client;
};

const Bytes kZero(32, 0);

TEST(StateLink, AWriteAndAReadRoundTripInChunks) {
  launch::MemoryStateStore store;
  Link link(store);
  auto info = link.client.info();
  ASSERT_TRUE(info);
  EXPECT_EQ(info.value().size, 0u);
  for (std::size_t size : {1, 96, 4096, 4097, 20000}) {
    const Bytes blob = pattern(size, static_cast<std::uint8_t>(size));
    const Bytes previous = store.blob ? digest_of(*store.blob) : kZero;
    ASSERT_TRUE(link.client.replace(d32(previous), 2, blob, d32(digest_of(blob)))) << size;
    ASSERT_TRUE(store.blob.has_value());
    EXPECT_EQ(*store.blob, blob);
    info = link.client.info();
    ASSERT_TRUE(info);
    EXPECT_EQ(info.value().size, size);
    EXPECT_EQ(Bytes(info.value().digest, info.value().digest + 32), digest_of(blob));
    Bytes back(size);
    ASSERT_TRUE(link.client.read(back));
    EXPECT_EQ(back, blob);
  }
  EXPECT_NE(link.log.str().find("state: wrote generation 2"), std::string::npos);
}

TEST(StateLink, AWriteThatDoesNotReplaceWhatIsStoredIsAConflictAndChangesNothing) {
  launch::MemoryStateStore store;
  store.blob = pattern(100, 1);
  Link link(store);
  const Bytes blob = pattern(200, 2);
  const Bytes stale = digest_of(pattern(100, 9));  // the host holds something else
  EXPECT_EQ(link.client.replace(d32(stale), 5, blob, d32(digest_of(blob))).error(),
            StorageError::kConflict);
  EXPECT_EQ(link.client.replace(d32(kZero), 5, blob, d32(digest_of(blob))).error(),
            StorageError::kConflict);
  EXPECT_EQ(*store.blob, pattern(100, 1));
  EXPECT_NE(link.log.str().find("rolled back"), std::string::npos);
}

TEST(StateLink, AFileChangedBetweenBeginAndCommitIsAConflict) {
  launch::MemoryStateStore store;
  store.blob = pattern(100, 1);
  Link link(store);
  const Bytes blob = pattern(5000, 2);
  int data_frames = 0;
  const auto forward = link.uart.answer;
  link.uart.answer = [&](const tp::Frame& f) {
    fs::LinkRequestHeader h{};
    std::memcpy(&h, f.payload.data(), sizeof h);
    if (h.op == static_cast<std::uint8_t>(fs::LinkOp::kWriteData) && ++data_frames == 1) {
      store.blob = pattern(100, 3);  // another writer, or a rollback, meanwhile
    }
    return forward(f);
  };
  EXPECT_EQ(
      link.client.replace(d32(digest_of(pattern(100, 1))), 5, blob, d32(digest_of(blob))).error(),
      StorageError::kConflict);
  EXPECT_EQ(*store.blob, pattern(100, 3));
}

TEST(StateLink, ResetOffersNothingUntilTheFirstCommitReplacesTheFile) {
  launch::MemoryStateStore store;
  store.blob = pattern(300, 4);
  Link link(store, /*reset=*/true);
  const auto info = link.client.info();
  ASSERT_TRUE(info);
  EXPECT_EQ(info.value().size, 0u);
  EXPECT_EQ(*store.blob, pattern(300, 4));  // untouched until a write
  const Bytes blob = pattern(150, 5);
  ASSERT_TRUE(link.client.replace(d32(kZero), 1, blob, d32(digest_of(blob))));
  EXPECT_EQ(*store.blob, blob);
  EXPECT_EQ(link.client.info().value().size, 150u);  // no longer reset
}

TEST(StateLink, AnAnnouncedDigestThatDoesNotMatchLeavesTheStoreAsItWas) {
  launch::MemoryStateStore store;
  Link link(store);
  const Bytes blob = pattern(150, 5);
  EXPECT_EQ(link.client.replace(d32(kZero), 1, blob, d32(digest_of(pattern(150, 6)))).error(),
            StorageError::kDigestMismatch);
  EXPECT_FALSE(store.blob.has_value());
}

class FailingStore final : public launch::StateStore {
 public:
  std::optional<Bytes> load() override { return std::nullopt; }
  void replace(std::span<const std::uint8_t>) override { throw std::runtime_error("disk full"); }
};

TEST(StateLink, AHostThatCannotWriteIsAnIoError) {
  FailingStore store;
  Link link(store);
  const Bytes blob = pattern(10, 1);
  EXPECT_EQ(link.client.replace(d32(kZero), 1, blob, d32(digest_of(blob))).error(),
            StorageError::kIoError);
  EXPECT_NE(link.log.str().find("disk full"), std::string::npos);
}

TEST(StateLink, NoAnswerIsUnreachableAfterTheTimeoutAndInfoIsResentMeanwhile) {
  launch::MemoryStateStore store;
  Link link(store);
  int infos = 0;
  link.uart.answer = [&](const tp::Frame&) {
    ++infos;
    return Bytes{};
  };
  const std::uint64_t before = g_now;
  EXPECT_EQ(link.client.info().error(), StorageError::kUnreachable);
  EXPECT_GE(g_now - before, 100'000'000u);
  EXPECT_GE(infos, 5);  // re-sent every 10 ms of a 100 ms connect timeout
  const Bytes blob = pattern(10, 1);
  infos = 0;
  EXPECT_EQ(link.client.replace(d32(kZero), 1, blob, d32(digest_of(blob))).error(),
            StorageError::kUnreachable);
  EXPECT_EQ(infos, 1);  // writes are sent once
}

TEST(StateLink, AnswersOutOfProtocolAreRefusedAndStaleOnesSkipped) {
  launch::MemoryStateStore store;
  store.blob = pattern(64, 1);
  Link link(store);
  const auto forward = link.uart.answer;
  // A stale answer (an earlier sequence number) before the real one is skipped.
  link.uart.answer = [&](const tp::Frame& f) {
    Bytes out = frame_of(tp::FrameType::kStateResponse, static_cast<std::uint8_t>(f.sequence - 1),
                         Bytes(40, 0));
    const Bytes real = forward(f);
    out.insert(out.end(), real.begin(), real.end());
    return out;
  };
  ASSERT_TRUE(link.client.info());
  EXPECT_EQ(link.client.stats().stale_frames, 1u);
  // The wrong operation, an unknown status, a short answer, a READ with too few bytes.
  const std::vector<std::function<Bytes(const fs::LinkResponseHeader&, const Bytes&)>> lies = {
      [](fs::LinkResponseHeader h, const Bytes& data) {
        h.op = static_cast<std::uint8_t>(fs::LinkOp::kWriteCommit);
        Bytes b(sizeof h);
        std::memcpy(b.data(), &h, sizeof h);
        b.insert(b.end(), data.begin(), data.end());
        return b;
      },
      [](fs::LinkResponseHeader h, const Bytes&) {
        h.status = 77;
        Bytes b(sizeof h);
        std::memcpy(b.data(), &h, sizeof h);
        return b;
      },
      [](fs::LinkResponseHeader, const Bytes&) { return Bytes(39, 0); },
      [](fs::LinkResponseHeader h, const Bytes& data) {
        Bytes b(sizeof h);
        std::memcpy(b.data(), &h, sizeof h);
        b.insert(b.end(), data.begin(), data.end() - (data.empty() ? 0 : 1));
        return b;
      },
  };
  for (const auto& lie : lies) {
    link.uart.answer = [&](const tp::Frame& f) {
      const Bytes real = link.server.handle(f.payload);
      fs::LinkResponseHeader h{};
      std::memcpy(&h, real.data(), sizeof h);
      return frame_of(tp::FrameType::kStateResponse, f.sequence,
                      lie(h, Bytes(real.begin() + sizeof h, real.end())));
    };
    Bytes out(64);  // the server keeps the snapshot of the INFO above
    const auto read = link.client.read(out);
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error(), StorageError::kProtocol);
  }
}

TEST(StateLink, TheServerRefusesRequestsOutOfOrderAndLogsAnInterruptedWrite) {
  launch::MemoryStateStore store;
  store.blob = pattern(64, 1);
  std::ostringstream log;
  launch::StateLinkServer server(store, false, &log);
  auto request = [](fs::LinkOp op, std::uint32_t offset, std::uint32_t length, const Bytes& body) {
    fs::LinkRequestHeader h{};
    h.op = static_cast<std::uint8_t>(op);
    h.offset = offset;
    h.length = length;
    Bytes b(sizeof h);
    std::memcpy(b.data(), &h, sizeof h);
    b.insert(b.end(), body.begin(), body.end());
    return b;
  };
  auto status_of = [](const Bytes& answer) {
    return answer.size() >= 2 ? static_cast<fs::LinkStatus>(answer[1]) : fs::LinkStatus::kOk;
  };
  const auto bad = fs::LinkStatus::kBadRequest;
  EXPECT_EQ(status_of(server.handle(Bytes(5, 0))), bad);                            // short
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kRead, 0, 10, {}))), bad);  // no INFO
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kInfo, 0, 0, {}))), fs::LinkStatus::kOk);
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kRead, 60, 10, {}))), bad);      // past end
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kRead, 0, 5000, {}))), bad);     // too long
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kWriteData, 0, 1, {1}))), bad);  // no begin
  EXPECT_EQ(status_of(server.handle(request(static_cast<fs::LinkOp>(9), 0, 0, {}))), bad);
  fs::WriteBegin begin{};
  begin.generation = 8;
  begin.total_size = 100;
  const Bytes current = digest_of(*store.blob);
  std::memcpy(begin.previous, current.data(), 32);
  Bytes body(sizeof begin);
  std::memcpy(body.data(), &begin, sizeof begin);
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kWriteBegin, 0, 0, body))),
            fs::LinkStatus::kOk);
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kWriteData, 5, 1, {1}))), bad);  // gap
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kWriteData, 0, 2, {1}))), bad);  // size
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kWriteData, 0, 40, Bytes(40, 7)))),
            fs::LinkStatus::kOk);
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kWriteCommit, 0, 0, Bytes(32, 0)))),
            bad);  // incomplete
  EXPECT_EQ(status_of(server.handle(request(fs::LinkOp::kWriteData, 40, 61, Bytes(61, 7)))),
            bad);  // past the announced size
  EXPECT_TRUE(server.write_pending());
  server.link_closed();  // QEMU went away mid-write
  EXPECT_FALSE(server.write_pending());
  EXPECT_NE(log.str().find("interrupted after 40 of 100 bytes"), std::string::npos);
  EXPECT_EQ(*store.blob, pattern(64, 1));
}

TEST(FileStateStore, ReplacesAtomicallyAndLeavesNothingBehind) {
  cvtpm::testing::TempDir dir;
  launch::FileStateStore store(dir / "vtpm.state");
  EXPECT_FALSE(store.load().has_value());
  store.replace(pattern(1000, 1));
  EXPECT_EQ(*store.load(), pattern(1000, 1));
  store.lock();
  store.replace(pattern(10, 2));
  store.unlock();
  EXPECT_EQ(*store.load(), pattern(10, 2));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"vtpm.state"});
}

TEST(FileStateStore, SummarizesABlobHeaderAndNothingElse) {
  EXPECT_FALSE(launch::summarize_state_blob(pattern(200, 1)).has_value());
  Bytes blob(96, 0);
  std::memcpy(blob.data(), fs::kBlobMagic, 8);
  blob[0x10] = 42;
  blob[0x0C] = 2;
  const auto s = launch::summarize_state_blob(blob);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->generation, 42u);
  EXPECT_EQ(s->binding, 2u);
}

}  // namespace
}  // namespace cvtpm::state::testing
