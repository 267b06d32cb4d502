// Calendar arithmetic for gmtime_r (and the RTC): proleptic Gregorian days from 1970-01-01,
// after Howard Hinnant's public-domain civil-date algorithms.
#include <cerrno>
#include <climits>

#include "libc/shim.h"

namespace cvtpm::fw::libc {

namespace {

struct Civil {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

Civil civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {month <= 2 ? year + 1 : year, month, day};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool gmtime(std::int64_t seconds, std::tm* out) {
  const std::int64_t days = floor_div(seconds, 86400);
  const std::int64_t second_of_day = seconds - days * 86400;
  const Civil civil = civil_from_days(days);
  if (civil.year - 1900 > INT_MAX || civil.year - 1900 < INT_MIN) {
    errno_ref() = EOVERFLOW;
    return false;
  }
  out->tm_sec = static_cast<int>(second_of_day % 60);
  out->tm_min = static_cast<int>(second_of_day / 60 % 60);
  out->tm_hour = static_cast<int>(second_of_day / 3600);
  out->tm_mday = static_cast<int>(civil.day);
  out->tm_mon = static_cast<int>(civil.month) - 1;
  out->tm_year = static_cast<int>(civil.year - 1900);
  out->tm_wday = static_cast<int>(floor_div(days + 4, 7) * -7 + days + 4);  // 1970-01-01: Thu
  out->tm_yday = static_cast<int>(days - days_from_civil(civil.year, 1, 1));
  out->tm_isdst = 0;
  out->tm_gmtoff = 0;
  out->tm_zone = "GMT";
  return true;
}

}  // namespace cvtpm::fw::libc
