// The vTPM transport: raw TPM command framing (what the bridge reads from tpm2-tools), swtpm
// control request framing and checks, the cvtpm serial link frames (encode, decode, resync
// after garbage and torn frames, CRC), and the firmware's serial channel end to end over a
// modelled 16550.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "cvtpm/formats/igvm/crc32.h"
#include "fake_uart.h"
#include "transport/serial_channel.h"
#include "transport/serial_link.h"
#include "transport/swtpm_control.h"
#include "transport/tpm_stream.h"

namespace cvtpm::fw::transport {
namespace {

using Bytes = std::vector<std::uint8_t>;

// TPM2_GetRandom(8) and TPM2_Startup(CLEAR), TPM 2.0 Part 3.
const Bytes kGetRandom = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x7b, 0x00, 0x08};
const Bytes kStartup = {0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x44, 0x00, 0x00};

// ---------------------------------------------------------------------------------------------
// Raw TPM command stream

struct StreamRun {
  std::vector<Bytes> commands;
  std::vector<std::uint32_t> errors;
};

StreamRun feed(TpmCommandAssembler& a, const Bytes& bytes) {
  StreamRun run;
  for (std::uint8_t b : bytes) {
    if (a.push(b) == StreamEvent::kCommand)
      run.commands.emplace_back(a.command().begin(), a.command().end());
  }
  return run;
}

TEST(TpmCommandAssembler, SplitsBackToBackCommands) {
  std::vector<std::uint8_t> buffer(4096);
  TpmCommandAssembler a(buffer);
  Bytes stream = kGetRandom;
  stream.insert(stream.end(), kStartup.begin(), kStartup.end());
  const Bytes header_only = {0x80, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x45};
  stream.insert(stream.end(), header_only.begin(), header_only.end());
  const StreamRun run = feed(a, stream);
  ASSERT_EQ(run.commands.size(), 3u);
  EXPECT_EQ(run.commands[0], kGetRandom);
  EXPECT_EQ(run.commands[1], kStartup);
  EXPECT_EQ(run.commands[2], header_only);
  EXPECT_FALSE(a.pending());
}

TEST(TpmCommandAssembler, RejectsBadTagAndSizeThenRecoversAfterIdle) {
  std::vector<std::uint8_t> buffer(64);
  TpmCommandAssembler a(buffer);
  feed(a, {0x00, 0xc1, 0x00, 0x00, 0x00, 0x0a});  // a TPM 1.2 tag
  EXPECT_TRUE(a.rejected());
  EXPECT_TRUE(feed(a, kGetRandom).commands.empty());  // swallowed until the line goes idle
  EXPECT_EQ(a.idle(), StreamEvent::kError);
  EXPECT_EQ(a.error_code(), kTpmRcBadTag);
  EXPECT_EQ(feed(a, kGetRandom).commands.size(), 1u);

  feed(a, {0x80, 0x01, 0x00, 0x00, 0x00, 0x09});  // size below the header
  EXPECT_EQ(a.idle(), StreamEvent::kError);
  EXPECT_EQ(a.error_code(), kTpmRcCommandSize);
  feed(a, {0x80, 0x01, 0x00, 0x00, 0x00, 0x41});  // 65 > the 64-byte buffer
  EXPECT_EQ(a.idle(), StreamEvent::kError);
  EXPECT_EQ(a.error_code(), kTpmRcCommandSize);
  feed(a, {0x80, 0x01, 0xff, 0xff, 0xff, 0xff});
  EXPECT_EQ(a.idle(), StreamEvent::kError);
}

TEST(TpmCommandAssembler, IdleDropsAPartialCommandSilently) {
  std::vector<std::uint8_t> buffer(4096);
  TpmCommandAssembler a(buffer);
  feed(a, Bytes(kGetRandom.begin(), kGetRandom.begin() + 7));
  EXPECT_TRUE(a.pending());
  EXPECT_FALSE(a.rejected());
  EXPECT_EQ(a.idle(), StreamEvent::kNone);
  EXPECT_EQ(a.dropped_partials(), 1u);
  EXPECT_EQ(feed(a, kGetRandom).commands.size(), 1u);
  EXPECT_EQ(a.idle(), StreamEvent::kNone);
  EXPECT_EQ(a.dropped_partials(), 1u);
}

TEST(TpmCommandAssembler, TinyBufferNeverOverruns) {
  std::vector<std::uint8_t> buffer(4);
  TpmCommandAssembler a(buffer);
  EXPECT_TRUE(feed(a, kGetRandom).commands.empty());
  EXPECT_EQ(a.idle(), StreamEvent::kError);
  EXPECT_EQ(a.error_code(), kTpmRcCommandSize);
}

TEST(TpmCommand, CheckAndErrorResponse) {
  EXPECT_EQ(check_command(kGetRandom), 0u);
  Bytes bad = kGetRandom;
  bad[1] = 0x03;
  EXPECT_EQ(check_command(bad), kTpmRcBadTag);
  bad = kGetRandom;
  bad.push_back(0);
  EXPECT_EQ(check_command(bad), kTpmRcCommandSize);
  EXPECT_EQ(check_command(Bytes(kGetRandom.begin(), kGetRandom.begin() + 9)), kTpmRcCommandSize);
  Bytes too_big(kMaxTpmCommand + 1, 0);
  too_big[0] = 0x80;
  too_big[1] = 0x01;
  too_big[4] = 0x10;
  too_big[5] = 0x01;  // size 4097
  EXPECT_EQ(check_command(too_big), kTpmRcCommandSize);

  std::uint8_t out[10];
  ASSERT_EQ(encode_error_response(0x101, out), 10u);
  EXPECT_EQ(Bytes(out, out + 10), (Bytes{0x80, 0x01, 0, 0, 0, 0x0a, 0, 0, 0x01, 0x01}));
  EXPECT_EQ(encode_error_response(0x101, std::span<std::uint8_t>(out, 9)), 0u);
}

// ---------------------------------------------------------------------------------------------
// swtpm control requests

Bytes be32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(SwtpmControl, FramesEveryKnownRequestByItsLength) {
  std::vector<std::uint8_t> buffer(swtpm::ControlAssembler::kBufferSize);
  swtpm::ControlAssembler a(buffer);
  const std::vector<Bytes> requests = {
      be32(swtpm::kGetCapability),
      cat(be32(swtpm::kInit), be32(1)),
      cat(be32(swtpm::kSetLocality), {0}),
      be32(swtpm::kShutdown),
      cat(cat(be32(swtpm::kHashData), be32(3)), {1, 2, 3}),
      cat(be32(swtpm::kHashData), be32(0)),
      cat(cat(cat(cat(be32(swtpm::kSetStateBlob), be32(0)), be32(1)), be32(2)), {9, 9}),
      cat(cat(be32(swtpm::kGetInfo), Bytes(8, 0)), Bytes(8, 0)),
      cat(be32(swtpm::kSetBufferSize), be32(4096)),
      cat(cat(cat(be32(swtpm::kGetStateBlob), be32(0)), be32(1)), be32(0)),
      be32(swtpm::kStop),
      cat(be32(swtpm::kCvtpmAttest), Bytes(65, 0xA5)),  // cvtpm's attestation extension
  };
  Bytes stream;
  for (const Bytes& r : requests) stream = cat(stream, r);
  std::vector<Bytes> got;
  for (std::uint8_t b : stream) {
    if (a.push(b) == StreamEvent::kCommand) {
      const swtpm::Request r = a.request();
      got.push_back(cat(be32(r.code), Bytes(r.payload.begin(), r.payload.end())));
    }
  }
  EXPECT_EQ(got, requests);
  for (const Bytes& r : requests) {
    swtpm::Request parsed{};
    EXPECT_EQ(swtpm::check_request(r, parsed), swtpm::kSuccess);
  }
}

TEST(SwtpmControl, RejectsUnknownCodesAndOversizedData) {
  std::vector<std::uint8_t> buffer(swtpm::ControlAssembler::kBufferSize);
  swtpm::ControlAssembler a(buffer);
  for (std::uint8_t b : be32(0x77)) a.push(b);
  EXPECT_TRUE(a.rejected());
  EXPECT_EQ(a.idle(), StreamEvent::kError);
  EXPECT_EQ(a.error_code(), swtpm::kBadOrdinal);
  for (std::uint8_t b : cat(be32(swtpm::kHashData), be32(5000))) a.push(b);
  EXPECT_EQ(a.idle(), StreamEvent::kError);
  EXPECT_EQ(a.error_code(), swtpm::kBadParameter);

  swtpm::Request r{};
  EXPECT_EQ(swtpm::check_request(be32(0x99), r), swtpm::kBadOrdinal);
  EXPECT_EQ(swtpm::check_request(Bytes{0, 0, 5}, r), swtpm::kBadParameter);
  EXPECT_EQ(swtpm::check_request(be32(swtpm::kSetLocality), r), swtpm::kBadParameter);
  EXPECT_EQ(swtpm::check_request(cat(be32(swtpm::kSetLocality), {0, 0}), r), swtpm::kBadParameter);
  EXPECT_EQ(swtpm::check_request(cat(be32(swtpm::kHashData), be32(4)), r), swtpm::kBadParameter);
  EXPECT_EQ(swtpm::check_request(cat(be32(swtpm::kHashData), {0, 0}), r), swtpm::kBadParameter);
  EXPECT_EQ(swtpm::check_request(cat(cat(be32(swtpm::kHashData), be32(5000)), Bytes(5000)), r),
            swtpm::kBadParameter);
  // The attestation extension carries exactly a mode byte and a 64-byte nonce.
  EXPECT_EQ(swtpm::check_request(cat(be32(swtpm::kCvtpmAttest), Bytes(64)), r),
            swtpm::kBadParameter);
  EXPECT_EQ(swtpm::check_request(cat(be32(swtpm::kCvtpmAttest), Bytes(66)), r),
            swtpm::kBadParameter);
}

TEST(SwtpmControl, ResponseEncodings) {
  std::uint8_t out[16];
  ASSERT_EQ(swtpm::encode_result(swtpm::kBadLocality, out), 4u);
  EXPECT_EQ(Bytes(out, out + 4), be32(0x3D));
  ASSERT_EQ(
      swtpm::encode_capability(swtpm::capability::kSetLocality | swtpm::capability::kInit, out),
      8u);
  EXPECT_EQ(Bytes(out, out + 8), (Bytes{0, 0, 0, 0, 0, 0, 0, 0x09}));
  ASSERT_EQ(swtpm::encode_established(0, true, out), 8u);
  EXPECT_EQ(Bytes(out, out + 8), (Bytes{0, 0, 0, 0, 1, 0, 0, 0}));
  ASSERT_EQ(swtpm::encode_config(0, 2, out), 8u);
  EXPECT_EQ(Bytes(out, out + 8), cat(be32(0), be32(2)));
  ASSERT_EQ(swtpm::encode_buffer_size(0, 3968, 2048, 4096, out), 16u);
  EXPECT_EQ(Bytes(out, out + 16), cat(cat(cat(be32(0), be32(3968)), be32(2048)), be32(4096)));
  EXPECT_EQ(swtpm::encode_buffer_size(0, 1, 1, 1, std::span<std::uint8_t>(out, 15)), 0u);
}

// ---------------------------------------------------------------------------------------------
// Serial link frames

Bytes frame(FrameType type, std::uint8_t seq, const Bytes& payload) {
  Bytes out(kMaxLinkFrame);
  out.resize(encode_frame(type, seq, payload, out));
  return out;
}

TEST(SerialLink, FrameLayoutIsAsDocumented) {
  const Bytes f = frame(FrameType::kTpmCommand, 7, {0xAA, 0x00, 0xBB});
  // body: 01 07 AA 00 BB crc(4); COBS: the zero becomes a block boundary.
  Bytes body = {1, 7, 0xAA, 0x00, 0xBB};
  body = cat(body, be32(formats::igvm::crc32(body.data(), body.size())));
  ASSERT_EQ(f.front(), 0);
  ASSERT_EQ(f.back(), 0);
  EXPECT_EQ(std::count(f.begin() + 1, f.end() - 1, 0), 0);
  Bytes decoded(f.begin() + 1, f.end() - 1);
  const long n = cobs_decode(decoded.data(), decoded.size());
  ASSERT_GE(n, 0);
  decoded.resize(static_cast<std::size_t>(n));
  EXPECT_EQ(decoded, body);
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 5),
            (Bytes{0, 4, 1, 7, 0xAA}));  // code 4: 3 bytes, then a zero

  Bytes out(10);
  EXPECT_EQ(encode_frame(FrameType::kTpmCommand, 0, Bytes(20), out), 0u);  // too short
  Bytes big(kMaxLinkFrame + 10);
  EXPECT_EQ(encode_frame(FrameType::kTpmCommand, 0, Bytes(kMaxLinkPayload + 1), big), 0u);
  EXPECT_GT(encode_frame(FrameType::kTpmCommand, 0, Bytes(kMaxLinkPayload, 0), big), 0u);
  EXPECT_LE(encode_frame(FrameType::kTpmCommand, 0, Bytes(kMaxLinkPayload, 0x55), big),
            kMaxLinkFrame);
}

TEST(SerialLink, CobsRoundTripsAndRejectsMalformedEncodings) {
  std::mt19937 rng(5);
  for (std::size_t size : {0, 1, 2, 253, 254, 255, 256, 508, 509, 1000, 4166}) {
    for (int zeros : {0, 1, 3}) {
      Bytes in(size);
      for (auto& b : in)
        b = static_cast<std::uint8_t>(zeros == 0 ? 1 + rng() % 255
                                                 : rng() % (zeros == 1 ? 256 : 3));
      Bytes enc(size + size / 254 + 1);
      const std::size_t n = cobs_encode(in.data(), in.size(), enc.data());
      ASSERT_LE(n, enc.size());
      enc.resize(n);
      EXPECT_EQ(std::count(enc.begin(), enc.end(), 0), 0) << size;
      const long back = cobs_decode(enc.data(), enc.size());
      ASSERT_EQ(back, static_cast<long>(size)) << size;
      enc.resize(size);
      EXPECT_EQ(enc, in) << size;
    }
  }
  Bytes bad = {3, 1};  // code promises 2 bytes, 1 present
  EXPECT_EQ(cobs_decode(bad.data(), bad.size()), -1);
  bad = {2, 0};  // a zero inside the encoding
  EXPECT_EQ(cobs_decode(bad.data(), bad.size()), -1);
}

struct Received {
  FrameType type;
  std::uint8_t seq;
  Bytes payload;
  bool operator==(const Received&) const = default;
};

std::vector<Received> receive(LinkReceiver& r, const Bytes& bytes) {
  std::vector<Received> out;
  for (std::uint8_t b : bytes) {
    if (r.push(b)) {
      const Frame f = r.frame();
      out.push_back({f.type, f.sequence, Bytes(f.payload.begin(), f.payload.end())});
    }
  }
  return out;
}

TEST(SerialLink, RoundTripsFramesBackToBack) {
  LinkReceiver r;
  Bytes stream;
  std::vector<Received> sent;
  std::mt19937 rng(3);
  for (int i = 0; i < 50; ++i) {
    Bytes payload(rng() % 300);
    for (auto& b : payload) b = static_cast<std::uint8_t>(rng());
    const auto type = static_cast<FrameType>(1 + rng() % 6);
    sent.push_back({type, static_cast<std::uint8_t>(i), payload});
    stream = cat(stream, frame(type, static_cast<std::uint8_t>(i), payload));
  }
  stream = cat(stream, frame(FrameType::kControlRequest, 99, Bytes(kMaxLinkPayload, 0x43)));
  sent.push_back({FrameType::kControlRequest, 99, Bytes(kMaxLinkPayload, 0x43)});
  EXPECT_EQ(receive(r, stream), sent);
  EXPECT_EQ(r.stats().frames, sent.size());
  EXPECT_EQ(r.stats().bad_frames, 0u);
}

TEST(SerialLink, ResynchronizesAfterGarbageAndTornFrames) {
  LinkReceiver r;
  const Bytes good = frame(FrameType::kTpmCommand, 1, kGetRandom);
  Bytes torn = frame(FrameType::kTpmCommand, 2, kStartup);
  torn.resize(torn.size() - 5);  // a frame cut short by a restarting sender
  Bytes corrupted = frame(FrameType::kTpmCommand, 3, kStartup);
  corrupted[6] ^= 0x10;  // a flipped bit: the CRC catches it
  Bytes bad_type = frame(FrameType::kTpmCommand, 4, kStartup);
  bad_type[2] = 9;  // first body byte (after the COBS code byte): the type
  const Bytes garbage = {'x', 'y', 0, 0, 0, 5, 6, 7};

  const Bytes stream = cat(
      cat(cat(cat(cat(cat(garbage, torn), good), corrupted), bad_type), Bytes(6000, 0x41)), good);
  const auto got = receive(r, stream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (Received{FrameType::kTpmCommand, 1, kGetRandom}));
  EXPECT_EQ(got[1], (Received{FrameType::kTpmCommand, 1, kGetRandom}));
  // "xy", "\5\6\7" (ended by the torn frame's leading zero), the torn frame, corrupted, bad_type.
  EXPECT_EQ(r.stats().bad_frames, 5u);
  EXPECT_EQ(r.stats().overflows, 1u);  // the 6000-byte run without a delimiter
}

TEST(SerialLink, RandomNoiseNeverYieldsAFrameAndNeverStalls) {
  LinkReceiver r;
  std::mt19937 rng(11);
  Bytes noise(200000);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng() % 4 == 0 ? 'C' : rng());
  EXPECT_TRUE(receive(r, noise).empty());
  // Afterwards a valid frame still gets through.
  const auto got = receive(r, frame(FrameType::kReset, 42, {}));
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), (Received{FrameType::kReset, 42, {}}));
}

// ---------------------------------------------------------------------------------------------
// Firmware channel over a modelled UART

class RecordingHandler final : public TpmTransportHandler {
 public:
  std::size_t execute(std::span<const std::uint8_t> command,
                      std::span<std::uint8_t> response) override {
    commands.emplace_back(command.begin(), command.end());
    if (reply_size_override) return *reply_size_override;
    // A GetRandom-shaped success: tag, size, rc 0, then the command code echoed.
    const Bytes r = {0x80, 0x01, 0, 0,          0,          14,         0,
                     0,    0,    0, command[6], command[7], command[8], command[9]};
    std::copy(r.begin(), r.end(), response.begin());
    return r.size();
  }
  std::size_t control(const swtpm::Request& request, std::span<std::uint8_t> response) override {
    controls.push_back(request.code);
    if (reply_size_override) return *reply_size_override;
    return swtpm::encode_result(request.code == swtpm::kSetLocality && request.payload[0] != 0
                                    ? swtpm::kBadLocality
                                    : swtpm::kSuccess,
                                response);
  }
  std::vector<Bytes> commands;
  std::vector<std::uint32_t> controls;
  std::optional<std::size_t> reply_size_override;
};

class SerialChannelTest : public ::testing::Test {
 protected:
  std::vector<Received> exchange(const Bytes& bytes) {
    uart_model.receive(bytes);
    while (channel.poll()) {
    }
    LinkReceiver r;
    return receive(r, uart_model.take_transmitted());
  }
  testing::FakeUart uart_model{0x2F8};
  console::Uart16550 uart{uart_model, 0x2F8};
  RecordingHandler handler;
  SerialChannel channel{uart, handler};
  void SetUp() override { ASSERT_TRUE(uart.init()); }
};

TEST_F(SerialChannelTest, AnswersEachRequestWithItsSequence) {
  const auto got = exchange(
      cat(cat(frame(FrameType::kReset, 9, {}), frame(FrameType::kTpmCommand, 10, kGetRandom)),
          frame(FrameType::kControlRequest, 11, cat(be32(swtpm::kSetLocality), {0}))));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], (Received{FrameType::kResetAck, 9, {}}));
  EXPECT_EQ(got[1], (Received{FrameType::kTpmResponse,
                              10,
                              {0x80, 0x01, 0, 0, 0, 14, 0, 0, 0, 0, 0x00, 0x00, 0x01, 0x7b}}));
  EXPECT_EQ(got[2], (Received{FrameType::kControlResponse, 11, be32(0)}));
  EXPECT_EQ(handler.commands, std::vector<Bytes>{kGetRandom});
  EXPECT_EQ(handler.controls, std::vector<std::uint32_t>{swtpm::kSetLocality});
  EXPECT_EQ(channel.stats().resets, 1u);
}

TEST_F(SerialChannelTest, ChecksRequestsBeforeTheHandlerSeesThem) {
  Bytes bad_tag = kGetRandom;
  bad_tag[0] = 0;
  Bytes bad_size = kGetRandom;
  bad_size[5] = 0x20;
  const auto got = exchange(cat(cat(cat(frame(FrameType::kTpmCommand, 1, bad_tag),
                                        frame(FrameType::kTpmCommand, 2, bad_size)),
                                    frame(FrameType::kControlRequest, 3, be32(0x55))),
                                frame(FrameType::kControlRequest, 4, be32(swtpm::kSetLocality))));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].payload, (Bytes{0x80, 0x01, 0, 0, 0, 0x0a, 0, 0, 0, 0x1e}));
  EXPECT_EQ(got[1].payload, (Bytes{0x80, 0x01, 0, 0, 0, 0x0a, 0, 0, 0x01, 0x42}));
  EXPECT_EQ(got[2].payload, be32(swtpm::kBadOrdinal));
  EXPECT_EQ(got[3].payload, be32(swtpm::kBadParameter));
  EXPECT_TRUE(handler.commands.empty());
  EXPECT_TRUE(handler.controls.empty());
  EXPECT_EQ(channel.stats().rejected_requests, 4u);
}

TEST_F(SerialChannelTest, ReplacesInvalidHandlerAnswersAndIgnoresResponseFrames) {
  handler.reply_size_override = 0;
  const auto got = exchange(cat(cat(frame(FrameType::kTpmCommand, 1, kStartup),
                                    frame(FrameType::kControlRequest, 2, be32(swtpm::kStop))),
                                frame(FrameType::kTpmResponse, 3, kStartup)));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload,
            (Bytes{0x80, 0x01, 0, 0, 0, 0x0a, 0, 0, 0x01, 0x01}));  // TPM_RC_FAILURE
  EXPECT_EQ(got[1].payload, be32(swtpm::kFail));
  EXPECT_EQ(channel.stats().unexpected_frames, 1u);
}

TEST_F(SerialChannelTest, SurvivesGarbageBetweenRequests) {
  Bytes stream = {'C', 'T', 1, 0, 0, 0, 0, 99, 'x', 'C'};
  stream = cat(stream, frame(FrameType::kTpmCommand, 5, kGetRandom));
  const auto got = exchange(stream);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 5u);
}

TEST(Uart16550, ProbesProgramsAndMovesBytes) {
  testing::FakeUart model(0x3F8);
  console::Uart16550 absent(model, 0x2F8);  // nothing decodes 0x2F8 in this model
  EXPECT_FALSE(absent.init());
  EXPECT_FALSE(absent.write_byte('x'));
  EXPECT_EQ(absent.read_byte(), -1);

  console::Uart16550 uart(model, 0x3F8);
  ASSERT_TRUE(uart.init());
  EXPECT_EQ(model.line_control, console::uart::kLcr8N1);
  EXPECT_EQ(model.divisor_low, 1);  // 115200 baud
  EXPECT_EQ(model.fifo_control, console::uart::kFcrEnableClear14);
  EXPECT_EQ(model.modem_control, console::uart::kMcrDtrRts);
  EXPECT_TRUE(uart.write("hi", 2));
  EXPECT_EQ(model.take_transmitted(), (Bytes{'h', 'i'}));
  EXPECT_FALSE(uart.readable());
  model.receive({1, 2});
  EXPECT_EQ(uart.read_byte(), 1);
  EXPECT_EQ(uart.read_byte(), 2);
  EXPECT_EQ(uart.read_byte(), -1);
  // A transmitter that never drains is given up on instead of hanging the firmware.
  model.transmitter_busy = true;
  EXPECT_FALSE(uart.write_byte('z'));
}

}  // namespace
}  // namespace cvtpm::fw::transport
