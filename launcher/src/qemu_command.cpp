#include "cvtpm/launch/qemu_command.h"

#include <cstdio>

namespace cvtpm::launch {
namespace {

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// QEMU option values are comma separated; a literal comma is written twice.
std::string opt_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

}  // namespace

std::vector<std::string> snp_qemu_command(const LaunchPlan& p) {
  const std::string mem = std::to_string(p.memory_mib) + "M";
  std::string machine = "q35,confidential-guest-support=sev0,memory-backend=ram0,igvm-cfg=igvm0";
  // A multi-VMPL host stack routes device interrupts to the guest's VMPL ("plane").
  if (p.multi_vmpl) machine += ",kernel-irqchip=split,device-plane=" + std::to_string(p.guest_vmpl);

  std::string snp = "sev-snp-guest,id=sev0,cbitpos=" + std::to_string(p.cbitpos) +
                    ",reduced-phys-bits=" + std::to_string(p.reduced_phys_bits) +
                    ",policy=" + hex(p.policy);
  if (p.id_block) snp += ",id-block=" + *p.id_block + ",id-auth=" + *p.id_auth;
  if (p.author_key_enabled) snp += ",author-key-enabled=on";
  if (p.host_data) snp += ",host-data=" + *p.host_data;

  std::vector<std::string> argv = {
      p.qemu,
      "-accel",
      "kvm",
      "-machine",
      machine,
      "-cpu",
      p.cpu,
      "-smp",
      std::to_string(p.vcpus),
      "-m",
      mem,
      "-object",
      "memory-backend-memfd,id=ram0,size=" + mem + ",share=true,prealloc=false,reserve=false",
      "-object",
      snp,
      "-object",
      "igvm-cfg,id=igvm0,file=" + opt_value(p.igvm),
  };
  for (std::size_t i = 0; i < p.disks.size(); ++i) {
    const std::string id = "disk" + std::to_string(i);
    argv.insert(argv.end(), {"-drive",
                             "if=none,id=" + id + ",file=" + opt_value(p.disks[i].path) +
                                 ",format=" + p.disks[i].format,
                             "-device", "virtio-blk-pci,drive=" + id});
  }
  if (p.network) {
    argv.insert(argv.end(), {"-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0"});
  } else {
    argv.insert(argv.end(), {"-nic", "none"});
  }
  argv.insert(argv.end(), {"-serial", p.serial, "-display", "none", "-vga", "none", "-no-reboot"});
  argv.insert(argv.end(), p.extra_args.begin(), p.extra_args.end());
  return argv;
}

std::vector<std::string> emulation_qemu_command(const EmulationPlan& p) {
  return {p.qemu,
          "-machine",
          "q35",
          "-accel",
          "tcg",
          "-cpu",
          "max",  // TCG's default CPU model has no RDRAND; the firmware needs it
          "-smp",
          "1",
          "-m",
          std::to_string(p.memory_mib) + "M",
          "-display",
          "none",
          "-vga",
          "none",
          "-nic",
          "none",
          "-no-reboot",
          "-kernel",
          p.firmware,
          "-serial",
          "file:" + p.console_log,
          "-serial",
          "unix:" + p.link_socket + ",server=on,wait=off"};
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789,._+:@%/=-") == std::string::npos) {
    return word;
  }
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    out += shell_quote(a);
  }
  return out;
}

}  // namespace cvtpm::launch
