// The monotonic clock: the TSC, scaled to nanoseconds with a frequency the platform measures
// (native: against the PIT) or knows.
#pragma once

#include <cstdint>

namespace cvtpm::fw::x86::tsc_clock {

// Measures the TSC rate over ~10 ms of PIT channel 2. Returns 0 if the PIT does not count.
std::uint64_t measure_frequency_with_pit();

// Starts the clock (uptime 0 = TSC value `base_tsc`, e.g. read at firmware entry) with the TSC
// running at `hz` (> 0).
void start(std::uint64_t hz, std::uint64_t base_tsc);
bool started();
std::uint64_t frequency();
std::uint64_t uptime_ns();

}  // namespace cvtpm::fw::x86::tsc_clock
