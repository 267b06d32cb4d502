// Fake host trees (/dev, /sys, /proc below a temporary root) and fake QEMU binaries, so host
// checks can be exercised for every kind of host without one.
#pragma once

#include <filesystem>
#include <string>

#include "temp_dir.h"

namespace cvtpm::launch::testing {

struct FakeHostSpec {
  bool cpu_snp = true;
  unsigned cbitpos = 51;
  unsigned host_phys_addr_reduction = 5;  // EBX[11:6]: not what QEMU's reduced-phys-bits takes
  unsigned vmpls = 4;
  bool cpuid_device = true;
  bool dev_kvm = true;
  bool dev_sev = true;
  bool dev_sev_accessible = true;  // false: a dangling /dev/sev (present, cannot be opened)
  bool kvm_amd = true;
  const char* sev_snp_param = "Y";  // nullptr: parameter file absent
  unsigned long mem_available_kib = 16 * 1024 * 1024;
};

// Creates the tree below dir/"root" and returns that root.
std::filesystem::path make_fake_host(const cvtpm::testing::TempDir& dir, const FakeHostSpec& spec);

// Default: upstream QEMU 10.1 (SNP and IGVM, no SVSM patches).
struct FakeQemuSpec {
  std::string version = "10.1.0";
  bool sev_snp_guest = true;
  bool igvm_cfg = true;
  bool device_plane = false;  // `-h` mentions device-plane= (COCONUT-SVSM's QEMU)
};

// Writes an executable script that answers --version, -object help and -h like that QEMU, and
// records any other invocation's arguments to <script>.argv.
std::filesystem::path make_fake_qemu(const cvtpm::testing::TempDir& dir, const std::string& name,
                                     const FakeQemuSpec& spec);

}  // namespace cvtpm::launch::testing
