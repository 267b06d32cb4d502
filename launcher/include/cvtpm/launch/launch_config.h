// Everything that shapes an SEV-SNP launch, settable from a JSON config file and from flags
// (flags win), resolved into the plan the QEMU command line is built from.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cvtpm/launch/host_cpuid.h"

namespace cvtpm::launch {

struct Disk {
  std::string path;
  std::string format;  // "raw" or "qcow2"; empty = from the file name (.qcow2) else raw
};

// The format filled in from the name when empty; throws InputError("--disk", ...) for an empty
// path or an unknown format.
Disk resolve_disk(Disk disk);

// Settings as given: every field optional so a config file and flags can be layered.
struct LaunchSettings {
  std::optional<std::string> igvm;
  std::optional<std::string> qemu;
  std::optional<unsigned> vcpus;
  std::optional<std::string> memory;  // "4G", "2048M", "2048" (MiB)
  std::optional<std::string> cpu;     // QEMU -cpu model
  std::optional<unsigned> cbitpos;
  std::optional<unsigned> reduced_phys_bits;
  std::optional<std::string> policy;
  std::optional<std::string> id_block;  // base64, as cvtpm-measure id-block prints
  std::optional<std::string> id_auth;
  std::optional<bool> author_key_enabled;
  std::optional<std::string> host_data;  // base64, 32 bytes
  std::optional<std::vector<Disk>> disks;
  std::optional<bool> network;         // user-mode networking with virtio-net
  std::optional<std::string> serial;   // QEMU -serial value, default mon:stdio
  std::optional<unsigned> guest_vmpl;  // device-plane for multi-VMPL hosts
  std::optional<std::vector<std::string>> extra_args;
  std::optional<std::string> out_dir;  // where the expected-digest JSON goes
};

// Reads a JSON config; unknown keys and wrong types are errors naming the file and the key.
LaunchSettings load_settings_file(const std::filesystem::path& path);
LaunchSettings parse_settings_json(const std::string& text, const std::string& name);

// `over` wins field by field.
LaunchSettings layer(const LaunchSettings& base, const LaunchSettings& over);

// A fully resolved SNP launch.
struct LaunchPlan {
  std::string qemu = "qemu-system-x86_64";
  std::string igvm;
  unsigned vcpus = 1;
  std::uint64_t memory_mib = 2048;
  std::string cpu = "EPYC-v4";
  unsigned cbitpos = 0;  // the host's (QEMU refuses any other): resolve_cbitpos()
  // What a guest loses, not the host's CPUID EBX[11:6]: 1, as COCONUT-SVSM's launch_guest.sh
  // passes and QEMU's own query-sev-capabilities reports ("we loose one bit in guest physical
  // addressing", target/i386/sev.c); --reduced-phys-bits overrides it.
  unsigned reduced_phys_bits = 1;
  std::uint64_t policy = 0x30000;
  std::optional<std::string> id_block;
  std::optional<std::string> id_auth;
  bool author_key_enabled = false;
  std::optional<std::string> host_data;
  std::vector<Disk> disks;
  bool network = true;
  std::string serial = "mon:stdio";
  bool device_plane = false;  // add kernel-irqchip=split,device-plane=<guest_vmpl>
  unsigned guest_vmpl = 2;    // COCONUT-SVSM's GUEST_VMPL; a cvtpm image's boot parameters win
  std::vector<std::string> extra_args;
  std::string out_dir = ".";
  // Persistence (docs/persistence.md): QEMU's COM3 behind this Unix socket (`run --state`),
  // served by cvtpm-launch; empty for an ephemeral TPM.
  std::string state_socket;
};

// Validates and resolves settings; throws InputError naming a bad setting. The C-bit position
// is --cbitpos's, or 0 until resolve_cbitpos().
LaunchPlan resolve_plan(const LaunchSettings& settings, bool host_device_plane);

// --cbitpos if given, else the host's; throws HostUnsuitableError when neither is known.
unsigned resolve_cbitpos(const LaunchSettings& settings, const CbitReading& host_cbit);

std::uint64_t parse_memory_mib(const std::string& text, const std::string& what);

}  // namespace cvtpm::launch
