// Wall-clock time at boot from the MC146818-compatible CMOS RTC (native platform only; on SNP
// the host controls it). Only CLOCK_REALTIME uses it; nothing security-relevant does.
#pragma once

#include <cstdint>

namespace cvtpm::fw::x86::cmos_rtc {

// Seconds since 1970-01-01 UTC, or -1 if the RTC gives no consistent plausible reading.
std::int64_t read_epoch_seconds();

}  // namespace cvtpm::fw::x86::cmos_rtc
