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

// COCONUT-SVSM's scripts/launch_guest.sh (the multi-VMPL launch proven on SNP hardware; commit
// cited in docs/launcher.md) builds the same line: the machine's memory backend, IGVM file,
// accelerator and confidential-guest support as machine options, the guest RAM only as a memfd
// backend (no -m: QEMU takes the backend's size), -nographic -vga none (its QEMU 10.1 IGVM
// workaround), and device-plane only where `qemu -h` offers it. The disk and NIC are its guest
// devices; virtio ones need the IOMMU platform feature in an SNP guest.
std::vector<std::string> snp_qemu_command(const LaunchPlan& p) {
  const std::string mem = std::to_string(p.memory_mib) + "M";
  std::string machine =
      "q35,memory-backend=mem0,igvm-cfg=igvm0,accel=kvm,"
      "confidential-guest-support=cgs0";
  // Devices raise their interrupts at the guest's VMPL ("plane"); SVSM-side devices would get
  // plane=0, and cvtpm's firmware has none (no state disk, no vsock).
  if (p.device_plane) {
    machine += ",kernel-irqchip=split,device-plane=" + std::to_string(p.guest_vmpl);
  }

  std::string snp = "sev-snp-guest,id=cgs0,cbitpos=" + std::to_string(p.cbitpos) +
                    ",reduced-phys-bits=" + std::to_string(p.reduced_phys_bits) +
                    ",policy=" + hex(p.policy);
  if (p.id_block) snp += ",id-block=" + *p.id_block + ",id-auth=" + *p.id_auth;
  if (p.author_key_enabled) snp += ",author-key-enabled=on";
  if (p.host_data) snp += ",host-data=" + *p.host_data;

  std::vector<std::string> argv = {
      p.qemu,
      "-cpu",
      p.cpu,
      "-machine",
      machine,
      "-object",
      "memory-backend-memfd,size=" + mem + ",id=mem0,share=true,prealloc=false,reserve=false",
      "-object",
      "igvm-cfg,id=igvm0,file=" + opt_value(p.igvm),
      "-object",
      snp,
      "-smp",
      std::to_string(p.vcpus),
      "-no-reboot",
  };
  if (p.network) {
    // romfile= : no option ROM for the NIC, as launch_guest.sh.
    argv.insert(argv.end(), {"-netdev", "user,id=vmnic", "-device", "e1000,netdev=vmnic,romfile="});
  } else {
    argv.insert(argv.end(), {"-nic", "none"});
  }
  if (!p.disks.empty()) {
    argv.insert(argv.end(),
                {"-device", "virtio-scsi-pci,id=scsi0,disable-legacy=on,iommu_platform=on"});
  }
  for (std::size_t i = 0; i < p.disks.size(); ++i) {
    const std::string id = "disk" + std::to_string(i);
    argv.insert(argv.end(), {"-drive",
                             "file=" + opt_value(p.disks[i].path) + ",if=none,id=" + id +
                                 ",format=" + p.disks[i].format,
                             "-device", "scsi-hd,drive=" + id});
  }
  argv.insert(argv.end(), {"-nographic", "-vga", "none", "-serial", p.serial});
  if (!p.state_socket.empty()) {
    // The state link on COM3: QEMU gives the n-th -serial the n-th port of its ISA table
    // (hw/char/serial-isa.c: isa_serial_io[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 }), so COM2 is a
    // `null` placeholder, as COCONUT-SVSM's scripts/launch_guest.sh does for its COM3 proxy.
    argv.insert(argv.end(),
                {"-serial", "null", "-serial", "unix:" + p.state_socket + ",server=on,wait=off"});
  }
  argv.insert(argv.end(), p.extra_args.begin(), p.extra_args.end());
  return argv;
}

std::vector<std::string> emulation_qemu_command(const EmulationPlan& p) {
  std::vector<std::string> argv = {
      p.qemu,
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
  if (!p.state_socket.empty()) {
    // COM3 (hw/char/serial-isa.c: the third ISA serial port is 0x3e8).
    argv.insert(argv.end(), {"-serial", "unix:" + p.state_socket + ",server=on,wait=off"});
  }
  if (!p.append.empty()) argv.insert(argv.end(), {"-append", p.append});
  return argv;
}

std::vector<std::string> guest_vm_qemu_command(const GuestVmPlan& p) {
  std::vector<std::string> argv = {p.qemu,      "-machine", "q35",
                                   "-accel",    "tcg",      "-smp",
                                   "1",         "-m",       std::to_string(p.memory_mib) + "M",
                                   "-display",  "none",     "-vga",
                                   "none",      "-nic",     "none",
                                   "-no-reboot"};
  if (p.ovmf_vars.empty()) {
    argv.insert(argv.end(), {"-bios", p.ovmf_code});
  } else {
    argv.insert(argv.end(),
                {"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + opt_value(p.ovmf_code),
                 "-drive", "if=pflash,format=raw,unit=1,file=" + opt_value(p.ovmf_vars)});
  }
  // QEMU's tpm-emulator backend as qemu-options.hx (-tpmdev emulator) and docs/specs/tpm.rst
  // show it with swtpm: "-chardev socket,id=chrtpm,path=... -tpmdev emulator,id=tpm0,
  // chardev=chrtpm", here with the CRB interface Linux's tpm_crb and OVMF drive.
  argv.insert(argv.end(),
              {"-chardev", "socket,id=chrtpm,path=" + opt_value(p.tpm_socket), "-tpmdev",
               "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-crb,tpmdev=tpm0"});
  if (!p.kernel.empty()) {
    argv.insert(argv.end(), {"-kernel", p.kernel});
    if (!p.initrd.empty()) argv.insert(argv.end(), {"-initrd", p.initrd});
    if (!p.append.empty()) argv.insert(argv.end(), {"-append", p.append});
  }
  for (std::size_t i = 0; i < p.disks.size(); ++i) {
    const std::string id = "disk" + std::to_string(i);
    argv.insert(argv.end(), {"-drive",
                             "file=" + opt_value(p.disks[i].path) + ",if=none,id=" + id +
                                 ",format=" + p.disks[i].format,
                             "-device", "virtio-blk-pci,drive=" + id});
  }
  argv.insert(argv.end(), {"-serial", "stdio"});
  return argv;
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
