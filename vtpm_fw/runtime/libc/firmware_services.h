// Hooks the firmware's boot sequence uses to connect the C library to the runtime services it
// sits on (wall-clock base). Firmware only.
#pragma once

#include <cstdint>

namespace cvtpm::fw::libc {

// CLOCK_REALTIME = `epoch_seconds` at uptime 0 plus the monotonic clock; without this call the
// realtime clock starts at 1970-01-01.
void set_realtime_base(std::int64_t epoch_seconds);

}  // namespace cvtpm::fw::libc
