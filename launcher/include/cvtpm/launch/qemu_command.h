// The QEMU command lines cvtpm-launch runs: SEV-SNP + IGVM on an SNP host, and the native
// emulation of the firmware under TCG.
#pragma once

#include <string>
#include <vector>

#include "cvtpm/launch/launch_config.h"

namespace cvtpm::launch {

std::vector<std::string> snp_qemu_command(const LaunchPlan& plan);

// POSIX shell quoting of one word / a whole command line, for --dry-run output.
std::string shell_quote(const std::string& word);
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace cvtpm::launch
