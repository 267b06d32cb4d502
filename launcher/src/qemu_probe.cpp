#include "cvtpm/launch/qemu_probe.h"

#include <regex>

#include "cvtpm/support/process.h"

namespace cvtpm::launch {
namespace {

constexpr auto kProbeTimeout = std::chrono::seconds(20);

bool lists(const std::string& help, const std::string& name) {
  // `-object help` prints one type per line, indented.
  std::regex line("(^|\\n)\\s*" + name + "(\\s|\\n|$)");
  return std::regex_search(help, line);
}

}  // namespace

std::string QemuVersion::to_string() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
}

std::optional<QemuVersion> parse_qemu_version(const std::string& version_output) {
  std::smatch m;
  static const std::regex re("version (\\d+)\\.(\\d+)(?:\\.(\\d+))?");
  if (!std::regex_search(version_output, m, re)) return std::nullopt;
  QemuVersion v;
  v.major = std::stoi(m[1]);
  v.minor = std::stoi(m[2]);
  v.micro = m[3].matched ? std::stoi(m[3]) : 0;
  return v;
}

QemuInfo probe_qemu(const std::string& binary) {
  QemuInfo info;
  info.binary = binary;
  ProcessResult version = run_process({binary, "--version"}, {}, kProbeTimeout);
  if (version.exit_code != 0) {
    info.failure = version.exit_code == 127 ? "not found or not executable"
                                            : "'" + binary + " --version' failed";
    return info;
  }
  info.runs = true;
  info.version = parse_qemu_version(version.out);
  ProcessResult objects = run_process({binary, "-object", "help"}, {}, kProbeTimeout);
  info.has_sev_snp_guest = lists(objects.out, "sev-snp-guest");
  info.has_igvm_cfg = lists(objects.out, "igvm-cfg");
  // COCONUT-SVSM's scripts/launch_guest.sh: QEMU_PLANES=$($QEMU -h | grep -o "device-plane=").
  ProcessResult help = run_process({binary, "-h"}, {}, kProbeTimeout);
  info.has_device_plane = help.out.find("device-plane=") != std::string::npos;
  return info;
}

}  // namespace cvtpm::launch
