// The QEMU command lines cvtpm-launch runs: SEV-SNP + IGVM on an SNP host, and the native
// emulation of the firmware under TCG.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cvtpm/launch/launch_config.h"

namespace cvtpm::launch {

std::vector<std::string> snp_qemu_command(const LaunchPlan& plan);

// The firmware's native platform under QEMU TCG (any host, Debian's QEMU 7.2 included): PVH
// boot of the ELF, console on COM1 into a file, the vTPM serial link on COM2 behind a UNIX
// socket that cvtpm-tpm-bridge connects to.
struct EmulationPlan {
  std::string qemu = "qemu-system-x86_64";
  std::string firmware;
  std::uint64_t memory_mib = 256;
  std::string console_log;
  std::string link_socket;
};
std::vector<std::string> emulation_qemu_command(const EmulationPlan& plan);

// POSIX shell quoting of one word / a whole command line, for --dry-run output.
std::string shell_quote(const std::string& word);
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace cvtpm::launch
