// In-process cost of the SNP launch digest: per measured page, against a bare SHA-384 of the
// same bytes (the floor any implementation pays).
#include <benchmark/benchmark.h>

#include <vector>

#include "cvtpm/measure/launch_digest.h"

namespace {

const std::vector<std::uint8_t> kImage(2 * 1024 * 1024, 0x5A);

void BM_Sha384OfImage(benchmark::State& state) {
  cvtpm::Sha384 hasher;
  for (auto _ : state) benchmark::DoNotOptimize(hasher.digest(kImage));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kImage.size()));
}
BENCHMARK(BM_Sha384OfImage);

void BM_SnpNormalPages(benchmark::State& state) {
  for (auto _ : state) {
    cvtpm::measure::SnpLaunchDigest ld;
    ld.add_normal_pages(0xFFE00000, kImage);
    benchmark::DoNotOptimize(ld.digest());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kImage.size()));
}
BENCHMARK(BM_SnpNormalPages);

}  // namespace
