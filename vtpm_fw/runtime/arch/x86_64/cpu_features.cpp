#include "arch/x86_64/cpu_features.h"

#include "arch/x86_64/cpu.h"
#include "libc/shim.h"

namespace cvtpm::fw::x86 {

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
  const CpuidResult leaf0 = cpuid(0);
  libc::memcpy(f.vendor, &leaf0.ebx, 4);
  libc::memcpy(f.vendor + 4, &leaf0.edx, 4);
  libc::memcpy(f.vendor + 8, &leaf0.ecx, 4);
  const CpuidResult leaf1 = cpuid(1);
  f.sse2 = (leaf1.edx >> 26) & 1;
  f.fxsr = (leaf1.edx >> 24) & 1;
  f.rdrand = (leaf1.ecx >> 30) & 1;
  if (leaf0.eax >= 7) f.rdseed = (cpuid(7, 0).ebx >> 18) & 1;
  const std::uint32_t max_extended = cpuid(0x8000'0000).eax;
  if (max_extended >= 0x8000'0001) f.nx = (cpuid(0x8000'0001).edx >> 20) & 1;
  if (max_extended >= 0x8000'0007) f.invariant_tsc = (cpuid(0x8000'0007).edx >> 8) & 1;
  return f;
}

}  // namespace cvtpm::fw::x86
