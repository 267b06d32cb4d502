#include "cvtpm/launch/host_checks.h"

#include <cpuid.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace cvtpm::launch {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kSevLeaf = 0x8000001F;

struct Cpuid {
  std::uint32_t eax, ebx, ecx, edx;
};

// The Linux cpuid driver: pread at offset (ecx << 32 | leaf) returns eax..edx.
std::optional<Cpuid> cpuid_from_device(const fs::path& dev, std::uint32_t leaf) {
  int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  Cpuid regs{};
  ssize_t n = ::pread(fd, &regs, sizeof regs, static_cast<off_t>(leaf));
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof regs)) return std::nullopt;
  return regs;
}

std::optional<Cpuid> cpuid_instruction(std::uint32_t leaf) {
  unsigned a, b, c, d;
  if (!__get_cpuid(leaf & 0x80000000u, &a, &b, &c, &d) || a < leaf) return Cpuid{0, 0, 0, 0};
  __cpuid_count(leaf, 0, a, b, c, d);
  return Cpuid{a, b, c, d};
}

std::optional<SevCpuInfo> read_sev_cpu(const fs::path& root) {
  const fs::path dev = root / "dev/cpu/0/cpuid";
  std::optional<Cpuid> regs = cpuid_from_device(dev, kSevLeaf);
  if (!regs) {
    std::optional<Cpuid> max = cpuid_from_device(dev, 0x80000000u);
    if (max && max->eax < kSevLeaf) regs = Cpuid{0, 0, 0, 0};
  }
  std::error_code ec;
  if (!regs && fs::equivalent(root, "/", ec)) regs = cpuid_instruction(kSevLeaf);
  if (!regs) return std::nullopt;
  SevCpuInfo info;
  info.snp = (regs->eax >> 4) & 1;
  info.cbitpos = regs->ebx & 0x3F;
  info.reduced_phys_bits = (regs->ebx >> 6) & 0x3F;
  return info;
}

std::optional<std::string> read_text(const fs::path& p) {
  std::ifstream f(p);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::optional<std::uint64_t> mem_available(const fs::path& root) {
  std::ifstream f(root / "proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (f >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

bool present(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}
bool accessible(const fs::path& p) {
  return ::access(p.c_str(), R_OK | W_OK) == 0;
}

std::string mib(std::uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

}  // namespace

HostFacts probe_host(const fs::path& root, const std::string& qemu_binary) {
  HostFacts f;
  f.cpu = read_sev_cpu(root);
  f.dev_kvm_present = present(root / "dev/kvm");
  f.dev_kvm_accessible = accessible(root / "dev/kvm");
  f.dev_sev_present = present(root / "dev/sev");
  f.dev_sev_accessible = accessible(root / "dev/sev");
  f.kvm_amd_loaded = fs::is_directory(root / "sys/module/kvm_amd");
  if (auto v = read_text(root / "sys/module/kvm_amd/parameters/sev_snp")) {
    f.kvm_amd_sev_snp = !v->empty() && ((*v)[0] == 'Y' || (*v)[0] == 'y' || (*v)[0] == '1');
  }
  f.mem_available = mem_available(root);
  f.qemu = probe_qemu(qemu_binary);
  return f;
}

std::vector<Requirement> evaluate_host(const HostFacts& f, std::uint64_t guest_memory_bytes) {
  std::vector<Requirement> r;
  auto add = [&r](std::string name, bool ok, std::string detail, std::string fix) {
    r.push_back(Requirement{std::move(name), ok, std::move(detail), std::move(fix)});
  };
  auto device = [](bool present, bool accessible) {
    return !present     ? "absent"
           : accessible ? "present, read/write"
                        : "present, no read/write access";
  };

  if (!f.cpu) {
    add("CPU with SEV-SNP (CPUID 0x8000001F)", false, "cannot read CPUID (no /dev/cpu/0/cpuid)",
        "load the cpuid module (modprobe cpuid)");
  } else {
    add("CPU with SEV-SNP (CPUID 0x8000001F)", f.cpu->snp,
        f.cpu->snp ? "SEV-SNP, C-bit " + std::to_string(f.cpu->cbitpos) + ", reduced phys bits " +
                         std::to_string(f.cpu->reduced_phys_bits)
                   : "the CPU does not report SEV-SNP",
        "an AMD EPYC 7003 (Milan) or newer with SEV-SNP enabled in the BIOS (SMEE, SNP, RMP "
        "table)");
  }

  add("/dev/kvm", f.dev_kvm_present && f.dev_kvm_accessible,
      device(f.dev_kvm_present, f.dev_kvm_accessible),
      f.dev_kvm_present ? "run as root or as a member of group kvm"
                        : "load kvm_amd (modprobe kvm_amd)");

  add("kvm_amd with SEV-SNP enabled", f.kvm_amd_loaded && f.kvm_amd_sev_snp.value_or(false),
      !f.kvm_amd_loaded ? "kvm_amd not loaded"
      : !f.kvm_amd_sev_snp
          ? "kvm_amd has no sev_snp parameter (host kernel without SNP host support)"
      : *f.kvm_amd_sev_snp ? "sev_snp=Y"
                           : "sev_snp=N",
      "a host kernel with SEV-SNP host support (upstream >= 6.11), SNP enabled in the BIOS, "
      "kvm_amd loaded with sev_snp=1 (dmesg shows 'SEV-SNP API')");

  add("/dev/sev", f.dev_sev_present && f.dev_sev_accessible,
      device(f.dev_sev_present, f.dev_sev_accessible),
      f.dev_sev_present ? "run as root or give this user read/write access to /dev/sev"
                        : "load the ccp module (the AMD PSP driver that provides /dev/sev)");

  const QemuInfo& q = f.qemu;
  const std::string no_qemu = "QEMU does not run";
  add("QEMU (" + q.binary + ")", q.runs && q.version.has_value(),
      !q.runs     ? q.failure
      : q.version ? "version " + q.version->to_string()
                  : "unknown version",
      "install QEMU >= 10.1 built with IGVM support, or pass --qemu PATH");
  add("QEMU object sev-snp-guest (>= 9.1)", q.has_sev_snp_guest,
      !q.runs               ? no_qemu
      : q.has_sev_snp_guest ? "available"
                            : "missing",
      "QEMU 9.1 or newer");
  add("QEMU object igvm-cfg (>= 10.1)", q.has_igvm_cfg,
      !q.runs          ? no_qemu
      : q.has_igvm_cfg ? "available"
                       : "missing",
      "QEMU 10.1 or newer configured with --enable-igvm");
  add("Multi-VMPL guests (QEMU machine option device-plane)", q.has_device_plane,
      !q.runs              ? no_qemu
      : q.has_device_plane ? "available"
                           : "missing",
      "cvtpm runs OVMF below VMPL0, which upstream KVM/QEMU cannot do yet: use a host kernel and "
      "QEMU with SVSM support (e.g. COCONUT-SVSM's 'svsm' branches)");

  add("Memory for a " + mib(guest_memory_bytes) + " guest",
      f.mem_available && *f.mem_available >= guest_memory_bytes,
      f.mem_available ? mib(*f.mem_available) + " available" : "cannot read /proc/meminfo",
      "free memory, or ask for less with --memory");
  return r;
}

bool all_met(const std::vector<Requirement>& requirements) {
  for (const Requirement& q : requirements) {
    if (!q.ok) return false;
  }
  return true;
}

std::string requirements_table(const std::vector<Requirement>& requirements) {
  std::size_t width = 11;
  for (const Requirement& q : requirements) width = std::max(width, q.name.size());
  std::ostringstream out;
  out << std::string("REQUIREMENT").append(width - 11 + 2, ' ') << "STATUS   DETAIL\n";
  for (const Requirement& q : requirements) {
    out << q.name << std::string(width - q.name.size() + 2, ' ')
        << (q.ok ? "OK       " : "MISSING  ") << q.detail << "\n";
    if (!q.ok) out << std::string(width + 2 + 9, ' ') << "fix: " << q.fix << "\n";
  }
  return out.str();
}

}  // namespace cvtpm::launch
