// Boots build/bin/cvtpm-fw.elf in Debian's QEMU (TCG, -cpu max, q35, 256 MiB, the firmware's
// serial console on stdout, isa-debug-exit at 0xf4) the way the brief's command line does.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "process.h"

namespace cvtpm::fw::testing {

inline constexpr int kQemuPassStatus = 33;  // isa-debug-exit 0x10
inline constexpr int kQemuFailStatus = 35;  // isa-debug-exit 0x11

struct QemuOptions {
  std::string append;  // PVH command line
  std::string cpu = "max";
  std::string memory = "256M";
  std::vector<std::string> extra;
  std::chrono::seconds timeout{60};
};

std::string firmware_elf();
bool have_qemu();
std::vector<std::string> qemu_command(const QemuOptions& options);
cvtpm::ProcessResult run_qemu(const QemuOptions& options);

// Resolves a code address of the firmware to "function" with addr2line.
std::string function_at(const std::string& address_hex);

}  // namespace cvtpm::fw::testing
