#include "fake_host.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>

namespace cvtpm::launch::testing {

namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// The cpuid driver's file: 16 bytes (eax, ebx, ecx, edx) at offset = leaf; a sparse file.
void write_cpuid(const fs::path& p, std::uint32_t leaf, std::uint32_t eax, std::uint32_t ebx) {
  fs::create_directories(p.parent_path());
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0644);
  std::uint32_t regs[4] = {eax, ebx, 0, 0};
  if (fd < 0 || ::pwrite(fd, regs, sizeof regs, static_cast<off_t>(leaf)) != sizeof regs) {
    throw std::runtime_error("cannot write fake cpuid");
  }
  ::close(fd);
}

}  // namespace

fs::path make_fake_host(const cvtpm::testing::TempDir& dir, const FakeHostSpec& s) {
  const fs::path root = dir / "root";
  fs::create_directories(root / "dev");
  if (s.cpuid_device) {
    const fs::path cpuid = root / "dev/cpu/0/cpuid";
    write_cpuid(cpuid, 0x80000000u, 0x80000021u, 0);
    write_cpuid(cpuid, 0x8000001Fu, s.cpu_snp ? 0x1Fu : 0x0u,
                s.vmpls << 12 | s.host_phys_addr_reduction << 6 | s.cbitpos);
  }
  if (s.dev_kvm) write(root / "dev/kvm", "");
  if (s.dev_sev) {
    if (s.dev_sev_accessible) {
      write(root / "dev/sev", "");
    } else {
      fs::create_symlink("/nonexistent/sev", root / "dev/sev");
    }
  }
  if (s.kvm_amd) {
    fs::create_directories(root / "sys/module/kvm_amd/parameters");
    if (s.sev_snp_param)
      write(root / "sys/module/kvm_amd/parameters/sev_snp", std::string(s.sev_snp_param) + "\n");
  }
  write(root / "proc/meminfo",
        "MemTotal:       32000000 kB\nMemFree:        1000 kB\nMemAvailable:   " +
            std::to_string(s.mem_available_kib) + " kB\n");
  return root;
}

fs::path make_fake_qemu(const cvtpm::testing::TempDir& dir, const std::string& name,
                        const FakeQemuSpec& s) {
  const fs::path script = dir / name;
  std::string objects = "List of user creatable objects:\n  memory-backend-memfd\n  sev-guest\n";
  if (s.sev_snp_guest) objects += "  sev-snp-guest\n";
  if (s.igvm_cfg) objects += "  igvm-cfg\n";
  // The -machine lines of `qemu -h`; the words after device-plane= are made up, only the option
  // name is what COCONUT-SVSM's launch_guest.sh looks for.
  std::string help =
      "usage: qemu-system-x86_64 [options] [disk_image]\n"
      "-machine [type=]name[,prop[=value][,...]]\n"
      "                memory-backend=backend-id specifies explicitly provided backend\n";
  if (s.device_plane) help += "                device-plane=n the VMPL that devices belong to\n";
  write(script,
        "#!/bin/sh\n"
        "case \"$1 $2\" in\n"
        "  '--version ') echo 'QEMU emulator version " +
            s.version +
            " (fake)'; exit 0 ;;\n"
            "  '-object help') printf '" +
            objects +
            "'; exit 0 ;;\n"
            "  '-h ') printf '" +
            help +
            "'; exit 0 ;;\n"
            "esac\n"
            "printf '%s\\n' \"$@\" > \"$0.argv\"\n");
  fs::permissions(script, fs::perms::owner_all);
  return script;
}

}  // namespace cvtpm::launch::testing
