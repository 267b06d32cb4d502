// Hardware entropy: RDSEED (seed-grade, preferred) with RDRAND as the fallback, both checked
// through CPUID first. Behind getrandom()/getentropy() (OpenSSL's seed source), rand() (libtpms's
// entropy fallback), the stack canary and the heap cookie. Without either instruction the
// firmware cannot run safely and stops.
#pragma once

#include <cstddef>
#include <cstdint>

#include "arch/x86_64/cpu_features.h"

namespace cvtpm::fw::x86::entropy {

// False if the CPU offers neither RDSEED nor RDRAND.
bool init(const CpuFeatures& features);
const char* source();
// Fills `length` bytes; panics if the instructions keep failing (a broken or hostile source).
void fill(void* buffer, std::size_t length);
std::uint64_t random_u64();

}  // namespace cvtpm::fw::x86::entropy
