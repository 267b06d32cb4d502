// What a QEMU binary can do, asked from the binary itself (version, object types, machine
// options), so checks and command lines match the QEMU that will run.
#pragma once

#include <optional>
#include <string>

namespace cvtpm::launch {

struct QemuVersion {
  int major = 0, minor = 0, micro = 0;
  friend auto operator<=>(const QemuVersion&, const QemuVersion&) = default;
  std::string to_string() const;
};

std::optional<QemuVersion> parse_qemu_version(const std::string& version_output);

struct QemuInfo {
  std::string binary;   // as given (path or name in PATH)
  bool runs = false;    // the binary could be started
  std::string failure;  // why not, when !runs
  std::optional<QemuVersion> version;
  bool has_sev_snp_guest = false;  // -object sev-snp-guest (upstream since 9.1)
  bool has_igvm_cfg = false;       // -object igvm-cfg (upstream since 10.1, --enable-igvm)
  // `qemu -h` mentions device-plane= (COCONUT-SVSM's QEMU: devices on a VMPL "plane"); found
  // the way scripts/launch_guest.sh looks for it.
  bool has_device_plane = false;
};

inline const QemuVersion kMinSnpQemu{9, 1, 0};
inline const QemuVersion kMinIgvmQemu{10, 1, 0};
// COCONUT-SVSM's scripts/launch_guest.sh: "SVSM requires QEMU 11.0 or newer (with patches)".
inline const QemuVersion kMinSvsmQemu{11, 0, 0};

QemuInfo probe_qemu(const std::string& binary);

}  // namespace cvtpm::launch
