// The QEMU command lines cvtpm-launch runs: SEV-SNP + IGVM on an SNP host, the native
// emulation of the firmware under TCG, and a guest VM whose TPM is that firmware's.
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
  // Persistence (docs/persistence.md): the state link on COM3 (QEMU's third -serial), served by
  // cvtpm-launch; empty for an ephemeral TPM.
  std::string state_socket;
  // The firmware's PVH command line (-append), e.g. "state devkey=..."; empty: none.
  std::string append;
};
std::vector<std::string> emulation_qemu_command(const EmulationPlan& plan);

// A plain VM under TCG with OVMF and a CRB TPM on QEMU's tpm-emulator backend, which
// cvtpm-tpm-bridge serves from the emulated firmware (`emulate --guest`). The serial console on
// QEMU's stdio.
struct GuestVmPlan {
  std::string qemu = "qemu-system-x86_64";
  std::uint64_t memory_mib = 512;
  // OVMF as two flash images (code read-only, a private copy of the variable store), or one
  // unified image (ovmf_vars empty) loaded with -bios.
  std::string ovmf_code;
  std::string ovmf_vars;
  std::string tpm_socket;  // the bridge's --qemu-socket
  std::string kernel, initrd, append;
  std::vector<Disk> disks;
};
std::vector<std::string> guest_vm_qemu_command(const GuestVmPlan& plan);

// POSIX shell quoting of one word / a whole command line, for --dry-run output.
std::string shell_quote(const std::string& word);
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace cvtpm::launch
