// What cvtpm-tpm-bridge answers itself and what it forwards, per control request, for tpm2-tss's
// TCP control port and QEMU's tpm-emulator control socket (cvtpm/bridge/emulator_control.h).
#include "cvtpm/bridge/emulator_control.h"

#include <gtest/gtest.h>

#include <vector>

#include "cvtpm/formats/endian.h"

namespace cvtpm::bridge {
namespace {

using Bytes = std::vector<std::uint8_t>;
using formats::load_be;

Bytes be32(std::uint32_t v) {
  Bytes b(4);
  formats::store_be<std::uint32_t>(b.data(), v);
  return b;
}

ControlRoute route(std::uint32_t code, const Bytes& payload, ControlContext context) {
  return route_control_request(swtpm::Request{code, payload}, context);
}

constexpr ControlContext kQemu{ControlOrigin::kQemu, false, false};
constexpr ControlContext kTcp{ControlOrigin::kTcp, false, false};

// QEMU sends sizeof(ptm_loc) and sizeof(ptm_reset_est): the locality byte padded to 4 (QEMU
// backends/tpm/tpm_ioctl.h); tpm2-tss sends the byte alone.
TEST(EmulatorControl, QemuRequestSizes) {
  EXPECT_EQ(qemu_request_layout(swtpm::kSetLocality).fixed, 4u);
  EXPECT_EQ(qemu_request_layout(swtpm::kResetTpmEstablished).fixed, 4u);
  EXPECT_EQ(swtpm::request_layout(swtpm::kSetLocality).fixed, 1u);
  for (std::uint32_t code : {swtpm::kGetCapability, swtpm::kInit, swtpm::kShutdown,
                             swtpm::kGetTpmEstablished, swtpm::kStop, swtpm::kSetDataFd,
                             swtpm::kSetBufferSize, swtpm::kGetStateBlob, swtpm::kSetStateBlob}) {
    const swtpm::RequestLayout q = qemu_request_layout(code);
    const swtpm::RequestLayout c = swtpm::request_layout(code);
    EXPECT_EQ(q.fixed, c.fixed) << code;
    EXPECT_EQ(q.variable, c.variable) << code;
  }
  EXPECT_FALSE(qemu_request_layout(0x1234).known);
}

TEST(EmulatorControl, QemuPaddingIsDroppedBeforeTheFirmware) {
  const ControlRoute r = route(swtpm::kSetLocality, {2, 0xAA, 0xBB, 0xCC}, kQemu);
  ASSERT_EQ(r.kind, ControlRoute::Kind::kForward);
  EXPECT_EQ(r.request, (Bytes{0, 0, 0, 5, 2}));
  EXPECT_EQ(route(swtpm::kResetTpmEstablished, {3, 1, 2, 3}, kQemu).request,
            (Bytes{0, 0, 0, 0x0B, 3}));
  EXPECT_EQ(route(swtpm::kInit, be32(1), kQemu).request, (Bytes{0, 0, 0, 2, 0, 0, 0, 1}));
  EXPECT_EQ(route(swtpm::kSetLocality, {0}, kTcp).request, (Bytes{0, 0, 0, 5, 0}));
}

TEST(EmulatorControl, SetDataFdIsTheBridgesOwn) {
  ControlContext with_fd{ControlOrigin::kQemu, true, false};
  ControlRoute r = route(swtpm::kSetDataFd, {}, with_fd);
  EXPECT_EQ(r.kind, ControlRoute::Kind::kAnswer);
  EXPECT_TRUE(r.adopt_data_fd);
  EXPECT_EQ(r.answer, be32(0));
  // swtpm's answers: no descriptor TPM_BAD_PARAMETER, a second channel TPM_IOERROR.
  r = route(swtpm::kSetDataFd, {}, kQemu);
  EXPECT_FALSE(r.adopt_data_fd);
  EXPECT_EQ(r.answer, be32(swtpm::kBadParameter));
  r = route(swtpm::kSetDataFd, {}, kTcp);
  EXPECT_FALSE(r.adopt_data_fd);
  EXPECT_EQ(r.answer, be32(swtpm::kBadParameter));
  r = route(swtpm::kSetDataFd, {}, ControlContext{ControlOrigin::kQemu, true, true});
  EXPECT_FALSE(r.adopt_data_fd);
  EXPECT_EQ(r.answer, be32(kTpmIoError));
}

TEST(EmulatorControl, StateBlobsAreRefusedInTheirResponseShape) {
  for (const ControlContext& c : {kQemu, kTcp}) {
    const ControlRoute get = route(swtpm::kGetStateBlob, Bytes(12, 0), c);
    EXPECT_EQ(get.kind, ControlRoute::Kind::kAnswer);
    ASSERT_EQ(get.answer.size(), 16u);  // result, state_flags, totlength, length (ptm_getstate)
    EXPECT_EQ(load_be<std::uint32_t>(get.answer.data()), swtpm::kBadOrdinal);
    EXPECT_EQ(Bytes(get.answer.begin() + 4, get.answer.end()), Bytes(12, 0));
    ASSERT_NE(get.note, nullptr);
    const ControlRoute set = route(swtpm::kSetStateBlob, Bytes(12, 0), c);
    EXPECT_EQ(set.answer, be32(swtpm::kBadOrdinal));
  }
}

TEST(EmulatorControl, CapabilitiesGainSetDataFdOnlyForQemu) {
  EXPECT_TRUE(route(swtpm::kGetCapability, {}, kQemu).add_bridge_capabilities);
  EXPECT_FALSE(route(swtpm::kGetCapability, {}, kTcp).add_bridge_capabilities);
  const Bytes firmware = {0, 0, 0, 0, 0, 0, 0x2C, 0xAF};
  const Bytes with = with_capabilities(firmware, kBridgeCapabilities);
  EXPECT_EQ(load_be<std::uint64_t>(with.data()), 0x3CAFu);
  // What QEMU's tpm_emulator_check_caps requires of a TPM 2 is then all there.
  const std::uint64_t required =
      swtpm::capability::kInit | swtpm::capability::kShutdown |
      swtpm::capability::kGetTpmEstablished | swtpm::capability::kSetLocality |
      swtpm::capability::kResetTpmEstablished | swtpm::capability::kSetDataFd |
      swtpm::capability::kStop | swtpm::capability::kSetBufferSize;
  EXPECT_EQ(load_be<std::uint64_t>(with.data()) & required, required);
  // An error answer (4 bytes) passes unchanged.
  EXPECT_EQ(with_capabilities(be32(swtpm::kFail), kBridgeCapabilities), be32(swtpm::kFail));
}

TEST(EmulatorControl, EverythingElseGoesToTheFirmware) {
  for (std::uint32_t code :
       {swtpm::kInit, swtpm::kShutdown, swtpm::kStop, swtpm::kGetConfig, swtpm::kGetTpmEstablished,
        swtpm::kCancelTpmCommand, swtpm::kHashStart}) {
    const Bytes payload(swtpm::request_layout(code).fixed, 0);
    const ControlRoute r = route(code, payload, kQemu);
    EXPECT_EQ(r.kind, ControlRoute::Kind::kForward) << code;
    EXPECT_FALSE(r.adopt_data_fd);
    EXPECT_EQ(load_be<std::uint32_t>(r.request.data()), code);
  }
}

}  // namespace
}  // namespace cvtpm::bridge
