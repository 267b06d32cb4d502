#include "cvtpm/launch/host_cpuid.h"

#include <cpuid.h>
#include <fcntl.h>
#include <unistd.h>

namespace cvtpm::launch {

namespace fs = std::filesystem;

std::optional<CpuidRegisters> CpuidDevice::read(std::uint32_t leaf) const {
  const int fd = ::open(device_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::uint32_t regs[4] = {};
  const ssize_t n = ::pread(fd, regs, sizeof regs, static_cast<off_t>(leaf));
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof regs)) return std::nullopt;
  return CpuidRegisters{regs[0], regs[1], regs[2], regs[3]};
}

std::string CpuidDevice::unreadable_hint() const {
  return "cannot read CPUID from " + device_.string() + " (load the cpuid module: modprobe cpuid)";
}

std::optional<CpuidRegisters> CpuidInstruction::read(std::uint32_t leaf) const {
  CpuidRegisters r;
  __cpuid_count(leaf, 0, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}

std::unique_ptr<CpuidReader> host_cpuid_reader(const fs::path& root) {
  const fs::path device = root / "dev/cpu/0/cpuid";
  std::error_code ec;
  if (!fs::exists(device, ec) && fs::equivalent(root, "/", ec)) {
    return std::make_unique<CpuidInstruction>();
  }
  return std::make_unique<CpuidDevice>(device);
}

SevCpuReading read_sev_cpu(const CpuidReader& cpuid) {
  const SevCpuReading unreadable{std::nullopt, true, cpuid.unreadable_hint()};
  const std::optional<CpuidRegisters> max = cpuid.read(kCpuidMaxExtendedLeaf);
  if (!max) return unreadable;
  if (max->eax < kCpuidEncryptedMemory) {
    return {std::nullopt, false, "the CPU has no CPUID leaf 0x8000001F (no AMD memory encryption)"};
  }
  const std::optional<CpuidRegisters> regs = cpuid.read(kCpuidEncryptedMemory);
  if (!regs) return unreadable;
  SevCpuReading reading;
  SevCpuInfo info;
  info.sev = (regs->eax >> 1) & 1;
  info.snp = (regs->eax >> 4) & 1;
  info.cbitpos = regs->ebx & 0x3F;
  info.host_phys_addr_reduction = (regs->ebx >> 6) & 0x3F;
  info.vmpls = (regs->ebx >> 12) & 0xF;
  reading.info = info;
  return reading;
}

CbitReading host_cbit_position(const SevCpuReading& reading) {
  if (!reading.info) return {std::nullopt, reading.problem};
  // tools/cbit prints nothing (and fails) unless EAX reports SEV: EBX means nothing then.
  if (!reading.info->sev) {
    return {std::nullopt, "CPUID 0x8000001F reports no SEV (EAX bit 1 clear)"};
  }
  return {reading.info->cbitpos, ""};
}

}  // namespace cvtpm::launch
