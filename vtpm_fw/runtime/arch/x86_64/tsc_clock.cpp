#include "arch/x86_64/tsc_clock.h"

#include "arch/x86_64/cpu.h"

namespace cvtpm::fw::x86::tsc_clock {

namespace {

constexpr std::uint64_t kPitHz = 1'193'182;
constexpr std::uint16_t kPitChannel2 = 0x42;
constexpr std::uint16_t kPitCommand = 0x43;
constexpr std::uint16_t kSpeakerControl = 0x61;  // bit 0: channel 2 gate, bit 5: its output

std::uint64_t g_base = 0;
std::uint64_t g_hz = 0;
std::uint64_t g_ns_per_tick_q32 = 0;  // nanoseconds per TSC tick, 32.32 fixed point

}  // namespace

std::uint64_t measure_frequency_with_pit() {
  constexpr std::uint16_t kCount = 11932;  // 10 ms
  outb(kSpeakerControl, static_cast<std::uint8_t>((inb(kSpeakerControl) & ~0x02) | 0x01));
  outb(kPitCommand, 0xB0);  // channel 2, low then high byte, mode 0 (interrupt on terminal count)
  outb(kPitChannel2, kCount & 0xFF);
  outb(kPitChannel2, kCount >> 8);
  const std::uint64_t start_tsc = rdtsc();
  std::uint64_t now = start_tsc;
  while ((inb(kSpeakerControl) & 0x20) == 0) {
    now = rdtsc();
    if (now - start_tsc > (std::uint64_t{1} << 36)) return 0;  // tens of seconds: no PIT
  }
  return (now - start_tsc) * kPitHz / kCount;
}

void start(std::uint64_t hz, std::uint64_t base_tsc) {
  g_hz = hz;
  g_ns_per_tick_q32 = (std::uint64_t{1'000'000'000} << 32) / hz;
  g_base = base_tsc;
}

bool started() {
  return g_hz != 0;
}
std::uint64_t frequency() {
  return g_hz;
}

std::uint64_t uptime_ns() {
  if (g_hz == 0) return 0;
  const std::uint64_t ticks = rdtsc() - g_base;
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(ticks) * g_ns_per_tick_q32) >>
                                    32);
}

}  // namespace cvtpm::fw::x86::tsc_clock
