// `cvtpm-launch emulate`: the vTPM firmware in its native mode under QEMU TCG, reachable by
// tpm2-tools through cvtpm-tpm-bridge, on any Linux host. Never leaves QEMU running.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace cvtpm::launch {

struct EmulateOptions {
  std::string firmware;  // cvtpm-fw.elf
  std::string bridge;    // cvtpm-tpm-bridge
  std::string qemu = "qemu-system-x86_64";
  std::optional<std::uint16_t> port;  // data port; control = port + 1; default: a free pair
  bool smoke = false;                 // run the smoke test, then stop
  std::chrono::seconds ready_timeout{120};
  std::string log_dir;  // QEMU, console and bridge logs; default: a temporary directory
};

// Runs until `stop` is set (SIGINT/SIGTERM), QEMU exits, or — with smoke — the smoke test ends.
// Returns the exit status: 0, 1 (smoke test failed, firmware did not come up, QEMU died).
int run_emulation(const EmulateOptions& options, std::ostream& out, std::ostream& err,
                  const std::atomic<bool>& stop);

// Two consecutive free loopback TCP ports (data, control), as swtpm's TCTI expects.
std::uint16_t find_free_port_pair();

// A short TPM exercise with tpm2-tools against 127.0.0.1:port: startup, getrandom, PCR extend
// and read (the value checked against a local computation), an ECC primary key. Writes one line
// per step to `out`; returns whether every step passed.
bool run_smoke_test(std::uint16_t port, const std::filesystem::path& work_dir, std::ostream& out);

}  // namespace cvtpm::launch
