// `cvtpm-launch emulate`: the vTPM firmware in its native mode under QEMU TCG, on any Linux host,
// reachable by tpm2-tools through cvtpm-tpm-bridge — or, with a guest, the TPM of a second VM
// (OVMF, optionally Linux) through QEMU's tpm-emulator backend. Never leaves QEMU running.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cvtpm/launch/launch_config.h"

namespace cvtpm::launch {

// Debian 12's OVMF (package ovmf): a code image with TCG2 (TPM 2) support and its variable
// store template.
inline constexpr const char* kDebianOvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
inline constexpr const char* kDebianOvmfVars = "/usr/share/OVMF/OVMF_VARS_4M.fd";

// The guest VM of `emulate --guest`: OVMF (code + variable store, or one unified image when
// ovmf_vars is empty), optionally a kernel, initrd and command line, and disks.
struct GuestVmOptions {
  std::string ovmf_code = kDebianOvmfCode;
  std::string ovmf_vars = kDebianOvmfVars;  // copied into the log directory, never written
  std::string kernel, initrd, append;
  std::vector<Disk> disks;
  std::uint64_t memory_mib = 512;
};

struct EmulateOptions {
  std::string firmware;  // cvtpm-fw.elf
  std::string bridge;    // cvtpm-tpm-bridge
  std::string qemu = "qemu-system-x86_64";
  // TPM port for tpm2-tools (control = port + 1): default a free pair, none with a guest.
  std::optional<std::uint16_t> port;
  bool smoke = false;  // run the smoke test, then stop
  std::chrono::seconds ready_timeout{120};
  // QEMU, console and bridge logs; default: a temporary directory (kept with a guest, whose
  // firmware console the user may want to read).
  std::string log_dir;
  std::optional<GuestVmOptions> guest;
  // Persistence (docs/persistence.md): the sealed state file served on the firmware's COM3;
  // empty: an ephemeral TPM. `state_reset` offers no state until the first write replaces the
  // file; `dev_key` (64 hex digits) replaces the published INSECURE development key.
  std::string state_file;
  bool state_reset = false;
  std::string dev_key;
};

// Checks the persistence options (the state file's directory exists, the file is a regular file
// if it exists, the dev key is 64 hex digits, --state-reset and --dev-key only with --state);
// throws InputError naming the option.
void check_state_options(const EmulateOptions& options);

// Checks what a guest VM is given (files exist, combinations make sense) before anything starts;
// throws InputError naming the option.
void check_guest_options(const GuestVmOptions& guest);

// Runs until `stop` is set (SIGINT/SIGTERM), QEMU exits, or — with smoke — the smoke test ends;
// with a guest, until the guest VM ends (status 0 when it exits by itself with 0), or either QEMU
// or the bridge does (status 1, and the other stops too).
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
