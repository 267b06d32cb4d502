// Can this host launch an SEV-SNP guest with cvtpm's IGVM image? Every requirement is read from
// the system through a configurable root (fake /dev, /sys, /proc trees in tests) and from the
// QEMU binary itself, then judged with the fix a user needs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cvtpm/launch/qemu_probe.h"

namespace cvtpm::launch {

struct SevCpuInfo {
  bool snp = false;                // CPUID 0x8000001F EAX bit 4
  unsigned cbitpos = 0;            // EBX[5:0]
  unsigned reduced_phys_bits = 0;  // EBX[11:6]
};

struct HostFacts {
  std::optional<SevCpuInfo> cpu;  // nullopt: CPUID could not be read
  bool dev_kvm_present = false, dev_kvm_accessible = false;
  bool dev_sev_present = false, dev_sev_accessible = false;
  bool kvm_amd_loaded = false;
  std::optional<bool> kvm_amd_sev_snp;         // /sys/module/kvm_amd/parameters/sev_snp
  std::optional<std::uint64_t> mem_available;  // bytes, /proc/meminfo MemAvailable
  QemuInfo qemu;
};

// Reads the host below `root` ("/" for the real system). CPUID comes from
// <root>/dev/cpu/0/cpuid (Linux cpuid driver), or from the CPUID instruction when root is "/"
// and that device is absent.
HostFacts probe_host(const std::filesystem::path& root, const std::string& qemu_binary);

struct Requirement {
  std::string name;
  bool ok = false;
  std::string detail;  // what was found
  std::string fix;     // what to do when missing
};

std::vector<Requirement> evaluate_host(const HostFacts& facts, std::uint64_t guest_memory_bytes);
bool all_met(const std::vector<Requirement>& requirements);
std::string requirements_table(const std::vector<Requirement>& requirements);

// Exit status of cvtpm-launch when the host cannot run the guest.
inline constexpr int kExitHostUnsuitable = 3;

}  // namespace cvtpm::launch
