#include "arch/x86_64/entropy.h"

#include "libc/shim.h"
#include "panic/panic.h"

namespace cvtpm::fw::x86::entropy {

namespace {

bool g_rdseed = false;
bool g_rdrand = false;

bool rdseed(std::uint64_t& value) {
  unsigned char ok;
  asm volatile("rdseed %0; setc %1" : "=r"(value), "=qm"(ok));
  return ok != 0;
}

bool rdrand(std::uint64_t& value) {
  unsigned char ok;
  asm volatile("rdrand %0; setc %1" : "=r"(value), "=qm"(ok));
  return ok != 0;
}

}  // namespace

bool init(const CpuFeatures& features) {
  g_rdseed = features.rdseed;
  g_rdrand = features.rdrand;
  return g_rdseed || g_rdrand;
}

const char* source() {
  return g_rdseed ? (g_rdrand ? "RDSEED (RDRAND fallback)" : "RDSEED")
                  : (g_rdrand ? "RDRAND" : "none");
}

std::uint64_t random_u64() {
  std::uint64_t value = 0;
  // RDSEED may run dry briefly under load: retry, then fall back to RDRAND (which reseeds from
  // the same conditioner). Intel's guidance is 10 retries for RDRAND.
  if (g_rdseed) {
    for (int i = 0; i < 1024; ++i) {
      if (rdseed(value)) return value;
      asm volatile("pause");
    }
  }
  if (g_rdrand) {
    for (int i = 0; i < 16; ++i) {
      if (rdrand(value)) return value;
    }
  }
  panic("entropy: %s returned no data after retries", source());
}

void fill(void* buffer, std::size_t length) {
  auto* out = static_cast<unsigned char*>(buffer);
  while (length > 0) {
    const std::uint64_t value = random_u64();
    const std::size_t n = length < sizeof value ? length : sizeof value;
    libc::memcpy(out, &value, n);
    out += n;
    length -= n;
  }
}

}  // namespace cvtpm::fw::x86::entropy
