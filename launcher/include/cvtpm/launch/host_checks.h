// Can this host launch an SEV-SNP guest with cvtpm's IGVM image? Every requirement is read from
// the system through a configurable root (fake /dev, /sys, /proc trees in tests) and from the
// QEMU binary itself, then judged with the fix a user needs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cvtpm/launch/host_cpuid.h"
#include "cvtpm/launch/qemu_probe.h"

namespace cvtpm::launch {

struct HostFacts {
  SevCpuReading cpu;
  bool dev_kvm_present = false, dev_kvm_accessible = false;
  bool dev_sev_present = false, dev_sev_accessible = false;
  bool kvm_amd_loaded = false;
  std::optional<bool> kvm_amd_sev_snp;         // /sys/module/kvm_amd/parameters/sev_snp
  std::optional<std::uint64_t> mem_available;  // bytes, /proc/meminfo MemAvailable
  QemuInfo qemu;
};

// Reads the host below `root` ("/" for the real system) and CPUID through `cpuid`.
HostFacts probe_host(const std::filesystem::path& root, const CpuidReader& cpuid,
                     const std::string& qemu_binary);
// The same with host_cpuid_reader(root).
HostFacts probe_host(const std::filesystem::path& root, const std::string& qemu_binary);

struct Requirement {
  // kUnknown: this host cannot be asked (e.g. multi-VMPL support inside the host kernel); the
  // fix says what to install. Never reported as missing: a launch is not refused for it.
  enum class Status { kOk, kMissing, kUnknown };
  std::string name;
  Status status = Status::kMissing;
  std::string detail;  // what was found
  std::string fix;     // what to do when missing or unknown
};

std::vector<Requirement> evaluate_host(const HostFacts& facts, std::uint64_t guest_memory_bytes);
// No requirement is kMissing (kUnknown ones may remain).
bool none_missing(const std::vector<Requirement>& requirements);
std::string status_name(Requirement::Status status);  // "OK", "MISSING", "UNKNOWN"
std::string requirements_table(const std::vector<Requirement>& requirements);

// Exit status of cvtpm-launch when the host cannot run the guest (a requirement is missing, or
// the host's C-bit position cannot be read).
inline constexpr int kExitHostUnsuitable = 3;

// The host cannot give what a launch needs; what() is the complete one-line message.
class HostUnsuitableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cvtpm::launch
