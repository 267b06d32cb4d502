// A cvtpm-tpm-bridge on its own thread in front of a FakeFirmware, for the bridge's tests: the
// derived fixture sets `options` (ports, QEMU socket) and calls start().
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <sstream>
#include <thread>

#include "cvtpm/bridge/bridge.h"
#include "fake_firmware.h"
#include "temp_dir.h"

namespace cvtpm::bridge::test_support {

class BridgeFixture : public ::testing::Test {
 protected:
  // The firmware's end of the link, and the options every bridge here starts from.
  void prepare() {
    firmware = std::make_unique<FakeFirmware>(dir / "link.sock");
    options.serial = parse_serial_endpoint("unix:" + (dir / "link.sock").string(), "--serial");
    options.connect_timeout = 10s;
  }
  // Starts the bridge; by default waits until the firmware acknowledged the link reset.
  void start(bool wait_for_link = true) {
    bridge = std::make_unique<Bridge>(options, log);
    bridge->listen();
    thread = std::thread([this] { status = bridge->run(stop); });
    if (!wait_for_link) return;
    for (int i = 0; i < 1000 && !bridge->stats().link_up; ++i) std::this_thread::sleep_for(10ms);
  }
  // Stops the bridge; its log and status are the test's from then on.
  void finish() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
  // Another bridge with the current options. The fake firmware serves one link connection, so a
  // new one comes too (without one, `with_firmware` false, the link stays down).
  void restart(bool with_firmware) {
    finish();
    bridge.reset();
    stop = false;
    firmware.reset();
    if (with_firmware) {
      const std::uint64_t capabilities = firmware_capabilities;
      firmware = std::make_unique<FakeFirmware>(dir / "link.sock");
      firmware->tpm.capabilities = capabilities;
    }
    start(with_firmware);
  }
  void TearDown() override { finish(); }

  cvtpm::testing::TempDir dir;
  std::unique_ptr<FakeFirmware> firmware;
  std::uint64_t firmware_capabilities = tp::swtpm::capability::kSetLocality;
  BridgeOptions options;
  std::stringstream log;
  std::unique_ptr<Bridge> bridge;
  std::thread thread;
  std::atomic<bool> stop{false};
  int status = -1;
};

}  // namespace cvtpm::bridge::test_support
