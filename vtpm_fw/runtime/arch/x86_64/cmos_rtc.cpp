#include "arch/x86_64/cmos_rtc.h"

#include "arch/x86_64/cpu.h"
#include "libc/shim.h"

namespace cvtpm::fw::x86::cmos_rtc {

namespace {

constexpr std::uint16_t kIndex = 0x70;
constexpr std::uint16_t kData = 0x71;

std::uint8_t read_register(std::uint8_t index) {
  outb(kIndex, index);  // bit 7 clear: NMI stays enabled
  return inb(kData);
}

struct Reading {
  std::uint8_t second, minute, hour, day, month, year, century;
  bool operator==(const Reading&) const = default;
};

Reading read_once() {
  // Wait while an update is in progress (status A bit 7), bounded.
  for (int i = 0; i < 100'000 && (read_register(0x0A) & 0x80) != 0; ++i) pause();
  return Reading{read_register(0x00), read_register(0x02), read_register(0x04), read_register(0x07),
                 read_register(0x08), read_register(0x09), read_register(0x32)};
}

std::uint8_t from_bcd(std::uint8_t v) {
  return static_cast<std::uint8_t>((v >> 4) * 10 + (v & 0x0F));
}

}  // namespace

std::int64_t read_epoch_seconds() {
  Reading r = read_once();
  for (int attempt = 0; attempt < 5; ++attempt) {
    const Reading again = read_once();
    if (again == r) break;
    r = again;
  }
  const std::uint8_t status_b = read_register(0x0B);
  const bool binary = (status_b & 0x04) != 0;
  const bool hour24 = (status_b & 0x02) != 0;
  const bool pm = (r.hour & 0x80) != 0;
  r.hour &= 0x7F;
  if (!binary) {
    r.second = from_bcd(r.second);
    r.minute = from_bcd(r.minute);
    r.hour = from_bcd(r.hour);
    r.day = from_bcd(r.day);
    r.month = from_bcd(r.month);
    r.year = from_bcd(r.year);
    r.century = from_bcd(r.century);
  }
  if (!hour24) r.hour = static_cast<std::uint8_t>(r.hour % 12 + (pm ? 12 : 0));
  const unsigned century = (r.century >= 19 && r.century <= 30) ? r.century : 20;
  if (r.month < 1 || r.month > 12 || r.day < 1 || r.day > 31 || r.hour > 23 || r.minute > 59 ||
      r.second > 59) {
    return -1;
  }
  const std::int64_t days =
      libc::days_from_civil(static_cast<std::int64_t>(century) * 100 + r.year, r.month, r.day);
  return days * 86400 + r.hour * 3600 + r.minute * 60 + r.second;
}

}  // namespace cvtpm::fw::x86::cmos_rtc
