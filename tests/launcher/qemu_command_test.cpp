// Golden tests: the exact QEMU command lines for several launch configurations. The expected
// files in golden/ were reviewed against COCONUT-SVSM's scripts/launch_guest.sh (commit in
// docs/launcher.md): the same machine options, objects and order, for a QEMU with and without
// device-plane; regenerate with CVTPM_UPDATE_GOLDEN=1 and review the diff.
#include "cvtpm/launch/qemu_command.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace cvtpm::launch {
namespace {

const std::filesystem::path kGolden =
    std::filesystem::path(CVTPM_SOURCE_DIR) / "tests/launcher/golden";

void expect_golden(const std::string& name, const std::vector<std::string>& argv) {
  std::string actual;
  for (const std::string& a : argv) actual += a + "\n";
  const auto path = kGolden / (name + ".argv");
  if (std::getenv("CVTPM_UPDATE_GOLDEN")) std::ofstream(path) << actual;
  std::ifstream f(path);
  ASSERT_TRUE(f) << "missing golden file " << path;
  std::stringstream expected;
  expected << f.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "golden " << name;
}

LaunchPlan base_plan() {
  LaunchPlan p;
  p.igvm = "/images/vtpm.igvm";
  p.cbitpos = 51;
  return p;
}

// A QEMU whose `-h` has no device-plane=: launch_guest.sh's line without it.
TEST(SnpCommand, QemuWithoutDevicePlane) {
  expect_golden("defaults", snp_qemu_command(base_plan()));
}

// COCONUT-SVSM's QEMU: kernel-irqchip=split,device-plane=<guest VMPL> appended to -machine.
TEST(SnpCommand, QemuWithDevicePlane) {
  LaunchPlan p = base_plan();
  p.device_plane = true;
  p.guest_vmpl = 2;
  const std::vector<std::string> argv = snp_qemu_command(p);
  expect_golden("device_plane", argv);
  EXPECT_EQ(argv[4],
            "q35,memory-backend=mem0,igvm-cfg=igvm0,accel=kvm,confidential-guest-support=cgs0,"
            "kernel-irqchip=split,device-plane=2");
}

TEST(SnpCommand, IdBlockAuthorKeyAndHostData) {
  LaunchPlan p = base_plan();
  p.id_block = "IDBLOCKBASE64==";
  p.id_auth = "IDAUTHBASE64==";
  p.author_key_enabled = true;
  p.host_data = "HOSTDATABASE64=";
  p.policy = 0x30000 | (1ull << 19);
  expect_golden("id_block", snp_qemu_command(p));
}

TEST(SnpCommand, DevicePlaneWithDisksAndNoNetwork) {
  LaunchPlan p = base_plan();
  p.device_plane = true;
  p.guest_vmpl = 3;
  p.vcpus = 4;
  p.memory_mib = 8192;
  p.cpu = "EPYC-Milan";
  p.cbitpos = 47;
  p.reduced_phys_bits = 5;
  p.disks = {{"/vm/root.qcow2", "qcow2"}, {"/vm/data,1.img", "raw"}};
  p.network = false;
  p.serial = "file:/tmp/console.log";
  p.extra_args = {"-monitor", "none"};
  expect_golden("device_plane_disks", snp_qemu_command(p));
}

// `run --state`: the state link on COM3. QEMU gives the n-th -serial the n-th ISA port
// (hw/char/serial-isa.c isa_serial_io[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 }): the console stays on
// COM1, COM2 is a `null` placeholder, the state socket is the third.
TEST(SnpCommand, PersistentStateOnTheThirdSerialPort) {
  LaunchPlan p = base_plan();
  p.state_socket = "/run/cvtpm/vtpm.state.sock";
  const std::vector<std::string> argv = snp_qemu_command(p);
  expect_golden("snp_state", argv);
  std::vector<std::string> serials;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "-serial") serials.push_back(argv[i + 1]);
  }
  EXPECT_EQ(serials,
            (std::vector<std::string>{"mon:stdio", "null",
                                      "unix:/run/cvtpm/vtpm.state.sock,server=on,wait=off"}));
}

TEST(EmulationCommand, NativeFirmwareUnderTcg) {
  EmulationPlan p;
  p.firmware = "/opt/cvtpm/cvtpm-fw.elf";
  p.console_log = "/run/cvtpm/console.log";
  p.link_socket = "/run/cvtpm/vtpm-link.sock";
  expect_golden("emulation", emulation_qemu_command(p));
}

// `emulate --state`: the state link on COM3 (the third -serial) and the firmware's options.
TEST(EmulationCommand, PersistentStateOnTheThirdSerialPort) {
  EmulationPlan p;
  p.firmware = "/opt/cvtpm/cvtpm-fw.elf";
  p.console_log = "/run/cvtpm/console.log";
  p.link_socket = "/run/cvtpm/vtpm-link.sock";
  p.state_socket = "/run/cvtpm/state.sock";
  p.append = "state devkey=" + std::string(64, 'a');
  expect_golden("emulation_state", emulation_qemu_command(p));
}

// `emulate --guest`: Debian 12's OVMF as two flash images, the CRB TPM on the tpm-emulator
// backend, a kernel loaded by OVMF.
TEST(GuestVmCommand, DebianOvmfWithAKernel) {
  GuestVmPlan p;
  p.ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
  p.ovmf_vars = "/run/cvtpm/OVMF_VARS.fd";
  p.tpm_socket = "/run/cvtpm/tpm.sock";
  p.kernel = "/boot/vmlinuz";
  p.initrd = "/boot/initrd.img";
  p.append = "console=ttyS0";
  expect_golden("guest_vm_kernel", guest_vm_qemu_command(p));
}

// A unified OVMF image (e.g. Debian unstable's ovmf-generic OVMF.fd) and disks, no kernel.
TEST(GuestVmCommand, UnifiedOvmfWithDisks) {
  GuestVmPlan p;
  p.ovmf_code = "/cache/ovmf-generic/OVMF.fd";
  p.tpm_socket = "/run/cvtpm,1/tpm.sock";
  p.memory_mib = 2048;
  p.disks = {{"/vm/debian.qcow2", "qcow2"}, {"/vm/data.img", "raw"}};
  expect_golden("guest_vm_disks", guest_vm_qemu_command(p));
}

TEST(ShellQuote, QuotesOnlyWhatTheShellWouldSplitOrExpand) {
  EXPECT_EQ(shell_quote("q35,igvm-cfg=igvm0"), "q35,igvm-cfg=igvm0");
  EXPECT_EQ(shell_quote("/path with space"), "'/path with space'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_join({"a b", "c"}), "'a b' c");
}

}  // namespace
}  // namespace cvtpm::launch
