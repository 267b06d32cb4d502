// Time for the firmware: CLOCK_MONOTONIC (and the CPU-time clocks) from the TSC clock,
// CLOCK_REALTIME from the wall-clock base the platform read at boot plus the monotonic clock,
// gmtime_r from time_convert.cpp, and sleeps that spin on the monotonic clock.
#include <sys/time.h>
#include <unistd.h>
#include <cerrno>
#include <ctime>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/tsc_clock.h"
#include "libc/firmware_services.h"
#include "libc/shim.h"

namespace cvtpm::fw::libc {

namespace {
std::int64_t g_realtime_base = 0;
}

void set_realtime_base(std::int64_t epoch_seconds) {
  g_realtime_base = epoch_seconds;
}

}  // namespace cvtpm::fw::libc

namespace {

namespace libc = cvtpm::fw::libc;
namespace tsc_clock = cvtpm::fw::x86::tsc_clock;

void spin_ns(std::uint64_t ns) {
  const std::uint64_t until = tsc_clock::uptime_ns() + ns;
  while (tsc_clock::uptime_ns() < until) cvtpm::fw::x86::pause();
}

}  // namespace

extern "C" {

int clock_gettime(clockid_t clock, struct timespec* out) {
  std::uint64_t ns = tsc_clock::uptime_ns();
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
      out->tv_sec = static_cast<time_t>(libc::g_realtime_base +
                                        static_cast<std::int64_t>(ns / 1'000'000'000));
      break;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
      out->tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      break;
    default:
      libc::errno_ref() = EINVAL;
      return -1;
  }
  out->tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return 0;
}

int gettimeofday(struct timeval* out, void*) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  out->tv_sec = now.tv_sec;  // glibc declares `out` non-null
  out->tv_usec = now.tv_nsec / 1000;
  return 0;
}

time_t time(time_t* out) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (out != nullptr) *out = now.tv_sec;
  return now.tv_sec;
}

clock_t clock() {
  return static_cast<clock_t>(tsc_clock::uptime_ns() / 1000);
}

struct tm* gmtime_r(const time_t* seconds, struct tm* out) {
  return libc::gmtime(*seconds, out) ? out : nullptr;
}

unsigned int sleep(unsigned int seconds) {
  spin_ns(std::uint64_t{seconds} * 1'000'000'000);
  return 0;
}

int usleep(useconds_t microseconds) {
  spin_ns(std::uint64_t{microseconds} * 1000);
  return 0;
}

}  // extern "C"
