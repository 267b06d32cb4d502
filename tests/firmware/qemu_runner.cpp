#include "qemu_runner.h"

#include <filesystem>

namespace cvtpm::fw::testing {

std::string firmware_elf() {
  return std::string(CVTPM_BIN_DIR) + "/cvtpm-fw.elf";
}

bool have_qemu() {
  return cvtpm::run_process({"qemu-system-x86_64", "--version"}, {}, std::chrono::seconds(20))
             .exit_code == 0;
}

std::vector<std::string> qemu_command(const QemuOptions& o) {
  std::vector<std::string> argv = {"qemu-system-x86_64",
                                   "-machine",
                                   "q35",
                                   "-accel",
                                   "tcg",
                                   "-cpu",
                                   o.cpu,
                                   "-m",
                                   o.memory,
                                   "-display",
                                   "none",
                                   "-no-reboot",
                                   "-kernel",
                                   firmware_elf(),
                                   "-device",
                                   "isa-debug-exit,iobase=0xf4,iosize=0x04"};
  if (!o.append.empty()) {
    argv.push_back("-append");
    argv.push_back(o.append);
  }
  argv.insert(argv.end(), o.extra.begin(), o.extra.end());
  return argv;
}

cvtpm::ProcessResult run_qemu(const QemuOptions& options) {
  auto argv = qemu_command(options);
  argv.push_back("-serial");
  argv.push_back("stdio");
  return cvtpm::run_process(argv, {}, options.timeout);
}

std::string function_at(const std::string& address_hex) {
  const auto r = cvtpm::run_process({"addr2line", "-f", "-C", "-e", firmware_elf(), address_hex});
  const auto newline = r.out.find('\n');
  return r.out.substr(0, newline);
}

}  // namespace cvtpm::fw::testing
