// The CPUID facts the runtime depends on, read once at boot.
#pragma once

namespace cvtpm::fw::x86 {

struct CpuFeatures {
  bool sse2 = false;
  bool fxsr = false;
  bool rdrand = false;
  bool rdseed = false;
  bool nx = false;
  bool invariant_tsc = false;
  char vendor[13] = {};
};

CpuFeatures detect_cpu_features();

}  // namespace cvtpm::fw::x86
