// The host's memory-encryption capabilities, CPUID Fn8000_001F (AMD64 APM Vol. 3, "Function
// 8000_001Fh - Encrypted Memory Capabilities"), read through an interface so tests can fake the
// CPU. COCONUT-SVSM's tools/cbit reads the C-bit position the same way: maximum extended leaf
// >= 0x8000001F, EAX bit 1 (SEV) set, then EBX[5:0].
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace cvtpm::launch {

struct CpuidRegisters {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// Where CPUID values come from: the Linux cpuid driver's device, the instruction, or a test.
class CpuidReader {
 public:
  virtual ~CpuidReader() = default;
  // The registers of `leaf` (subleaf 0); nullopt when they cannot be read at all.
  virtual std::optional<CpuidRegisters> read(std::uint32_t leaf) const = 0;
  // What is read, and what to do when it cannot be ("no /dev/cpu/0/cpuid (modprobe cpuid)").
  virtual std::string unreadable_hint() const = 0;
};

// The Linux cpuid driver: pread() of 16 bytes at offset `leaf` returns EAX..EDX.
class CpuidDevice final : public CpuidReader {
 public:
  explicit CpuidDevice(std::filesystem::path device) : device_(std::move(device)) {}
  std::optional<CpuidRegisters> read(std::uint32_t leaf) const override;
  std::string unreadable_hint() const override;

 private:
  std::filesystem::path device_;
};

// The CPUID instruction of the CPU this process runs on.
class CpuidInstruction final : public CpuidReader {
 public:
  std::optional<CpuidRegisters> read(std::uint32_t leaf) const override;
  std::string unreadable_hint() const override { return "the CPUID instruction failed"; }
};

// <root>/dev/cpu/0/cpuid; for the real root ("/") without that device, the instruction.
std::unique_ptr<CpuidReader> host_cpuid_reader(const std::filesystem::path& root);

inline constexpr std::uint32_t kCpuidMaxExtendedLeaf = 0x8000'0000;
inline constexpr std::uint32_t kCpuidEncryptedMemory = 0x8000'001F;

struct SevCpuInfo {
  bool sev = false;                       // EAX bit 1
  bool snp = false;                       // EAX bit 4
  unsigned cbitpos = 0;                   // EBX[5:0]
  unsigned host_phys_addr_reduction = 0;  // EBX[11:6]: the host's, not what a guest loses
  unsigned vmpls = 0;                     // EBX[15:12]
};

// What CPUID says about memory encryption. Without `info`, `problem` says why: CPUID could not
// be read at all (`unreadable`: nothing is known about the CPU), or the CPU has no leaf
// 0x8000001F (known: no memory encryption).
struct SevCpuReading {
  std::optional<SevCpuInfo> info;
  bool unreadable = false;
  std::string problem;
};
SevCpuReading read_sev_cpu(const CpuidReader& cpuid);

// The C-bit position QEMU's sev-snp-guest needs (it refuses any other than the host's), or a
// sentence saying why this host cannot tell it.
struct CbitReading {
  std::optional<unsigned> cbitpos;
  std::string problem;
};
CbitReading host_cbit_position(const SevCpuReading& reading);

}  // namespace cvtpm::launch
