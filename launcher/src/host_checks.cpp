#include "cvtpm/launch/host_checks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace cvtpm::launch {
namespace {

namespace fs = std::filesystem;

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
  return probe_host(root, *host_cpuid_reader(root), qemu_binary);
}

HostFacts probe_host(const fs::path& root, const CpuidReader& cpuid,
                     const std::string& qemu_binary) {
  HostFacts f;
  f.cpu = read_sev_cpu(cpuid);
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
  using Status = Requirement::Status;
  std::vector<Requirement> r;
  auto add = [&r](std::string name, Status status, std::string detail, std::string fix) {
    r.push_back(Requirement{std::move(name), status, std::move(detail), std::move(fix)});
  };
  auto ok_if = [](bool ok) { return ok ? Status::kOk : Status::kMissing; };
  auto device = [](bool present, bool accessible) {
    return !present     ? "absent"
           : accessible ? "present, read/write"
                        : "present, no read/write access";
  };

  const std::string cpu_name = "CPU with SEV-SNP (CPUID 0x8000001F)";
  const std::string cpu_fix =
      "an AMD EPYC 7003 (Milan) or newer with SEV-SNP enabled in the BIOS (SMEE, SNP, RMP table)";
  if (!f.cpu.info) {
    // Not readable is not absent: say so, and how to make it readable.
    add(cpu_name, f.cpu.unreadable ? Status::kUnknown : Status::kMissing, f.cpu.problem,
        f.cpu.unreadable ? "load the cpuid module (modprobe cpuid)" : cpu_fix);
  } else {
    const SevCpuInfo& c = *f.cpu.info;
    add(cpu_name, ok_if(c.snp),
        c.snp ? "SEV-SNP, C-bit " + std::to_string(c.cbitpos) + ", " + std::to_string(c.vmpls) +
                    " VMPLs, host physical address reduction " +
                    std::to_string(c.host_phys_addr_reduction) + " bits"
              : "the CPU does not report SEV-SNP",
        cpu_fix);
  }

  add("/dev/kvm", ok_if(f.dev_kvm_present && f.dev_kvm_accessible),
      device(f.dev_kvm_present, f.dev_kvm_accessible),
      f.dev_kvm_present ? "run as root or as a member of group kvm"
                        : "load kvm_amd (modprobe kvm_amd)");

  add("kvm_amd with SEV-SNP enabled", ok_if(f.kvm_amd_loaded && f.kvm_amd_sev_snp.value_or(false)),
      !f.kvm_amd_loaded ? "kvm_amd not loaded"
      : !f.kvm_amd_sev_snp
          ? "kvm_amd has no sev_snp parameter (host kernel without SNP host support)"
      : *f.kvm_amd_sev_snp ? "sev_snp=Y"
                           : "sev_snp=N",
      "a host kernel with SEV-SNP host support (upstream >= 6.11), SNP enabled in the BIOS, "
      "kvm_amd loaded with sev_snp=1 (dmesg shows 'SEV-SNP API')");

  add("/dev/sev", ok_if(f.dev_sev_present && f.dev_sev_accessible),
      device(f.dev_sev_present, f.dev_sev_accessible),
      f.dev_sev_present ? "run as root or give this user read/write access to /dev/sev"
                        : "load the ccp module (the AMD PSP driver that provides /dev/sev)");

  // What runs a guest below VMPL0 is COCONUT-SVSM's host stack (Documentation/docs/installation/
  // INSTALL.md): its scripts/launch_guest.sh refuses QEMU < 11.0 and needs its patches.
  const QemuInfo& q = f.qemu;
  const std::string no_qemu = "QEMU does not run";
  const std::string svsm_qemu_fix =
      "QEMU >= 11.0 with SVSM support: COCONUT-SVSM's qemu, branch 'svsm' (its INSTALL.md), or "
      "pass --qemu PATH";
  add("QEMU >= " + kMinSvsmQemu.to_string() + " (" + q.binary + ")",
      ok_if(q.runs && q.version && *q.version >= kMinSvsmQemu),
      !q.runs     ? q.failure
      : q.version ? "version " + q.version->to_string()
                  : "unknown version",
      svsm_qemu_fix);
  add("QEMU object sev-snp-guest", ok_if(q.has_sev_snp_guest),
      !q.runs               ? no_qemu
      : q.has_sev_snp_guest ? "available"
                            : "missing",
      "QEMU 9.1 or newer");
  add("QEMU object igvm-cfg", ok_if(q.has_igvm_cfg),
      !q.runs          ? no_qemu
      : q.has_igvm_cfg ? "available"
                       : "missing",
      "QEMU 10.1 or newer configured with --enable-igvm");
  // launch_guest.sh adds kernel-irqchip=split,device-plane=<guest VMPL> only when `qemu -h`
  // mentions device-plane=, and launches without it otherwise: its absence refuses nothing, but
  // whether such a QEMU carries the SVSM patches cannot be told from the outside.
  const bool svsm_qemu_version = q.runs && q.version && *q.version >= kMinSvsmQemu;
  add("QEMU with SVSM (multi-VMPL) support",
      !svsm_qemu_version   ? Status::kMissing
      : q.has_device_plane ? Status::kOk
                           : Status::kUnknown,
      !q.runs              ? no_qemu
      : !svsm_qemu_version ? "no QEMU below 11.0 has it"
      : q.has_device_plane
          ? "`qemu -h` offers device-plane=: guest devices go to the guest's VMPL"
          : "`qemu -h` offers no device-plane=: launched without it (as COCONUT-SVSM's "
            "launch_guest.sh does); whether this QEMU has the SVSM patches cannot be detected",
      svsm_qemu_fix);
  add("Host kernel with SVSM (multi-VMPL) support", Status::kUnknown,
      "lives inside the host kernel, as does Restricted Injection for the SVSM's VMPL0 (the "
      "image's default SEV features); neither can be detected from user space",
      "the host kernel of COCONUT-SVSM's linux, branch 'svsm' (its INSTALL.md)");

  add("Memory for a " + mib(guest_memory_bytes) + " guest",
      ok_if(f.mem_available && *f.mem_available >= guest_memory_bytes),
      f.mem_available ? mib(*f.mem_available) + " available" : "cannot read /proc/meminfo",
      "free memory, or ask for less with --memory");
  return r;
}

bool none_missing(const std::vector<Requirement>& requirements) {
  for (const Requirement& q : requirements) {
    if (q.status == Requirement::Status::kMissing) return false;
  }
  return true;
}

std::string status_name(Requirement::Status status) {
  switch (status) {
    case Requirement::Status::kOk:
      return "OK";
    case Requirement::Status::kMissing:
      return "MISSING";
    case Requirement::Status::kUnknown:
      return "UNKNOWN";
  }
  return "?";
}

std::string requirements_table(const std::vector<Requirement>& requirements) {
  std::size_t width = 11;
  for (const Requirement& q : requirements) width = std::max(width, q.name.size());
  std::ostringstream out;
  out << std::string("REQUIREMENT").append(width - 11 + 2, ' ') << "STATUS   DETAIL\n";
  for (const Requirement& q : requirements) {
    const std::string status = status_name(q.status);
    out << q.name << std::string(width - q.name.size() + 2, ' ') << status
        << std::string(9 - status.size(), ' ') << q.detail << "\n";
    if (q.status == Requirement::Status::kMissing) {
      out << std::string(width + 2 + 9, ' ') << "fix: " << q.fix << "\n";
    } else if (q.status == Requirement::Status::kUnknown) {
      out << std::string(width + 2 + 9, ' ') << "needs: " << q.fix << "\n";
    }
  }
  return out.str();
}

}  // namespace cvtpm::launch
