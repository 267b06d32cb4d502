// strtol / strtoul with glibc's C-locale behaviour: leading white space, sign, base 0/8/10/16
// prefixes, saturation with ERANGE, EINVAL for a bad base, *end at the first unused character.
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "libc/shim.h"

namespace cvtpm::fw::libc {

namespace {

bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

struct Parsed {
  unsigned long magnitude = 0;
  bool negative = false;
  bool overflow = false;
};

// Shared scanner; returns false (and *end = s) if no digits were found.
bool scan(const char* s, char** end, int base, Parsed& out) {
  if (base < 0 || base == 1 || base > 36) {
    errno_ref() = EINVAL;  // as glibc: *end is left alone
    return false;
  }
  if (end != nullptr) *end = const_cast<char*>(s);
  const char* p = s;
  while (is_space(*p)) ++p;
  if (*p == '-' || *p == '+') out.negative = *p++ == '-';
  if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
      digit_value(p[2]) < 16) {
    p += 2;
    base = 16;
  } else if (base == 0) {
    base = p[0] == '0' ? 8 : 10;
  }
  const char* first_digit = p;
  for (int d; (d = digit_value(*p)) < base; ++p) {
    const auto ubase = static_cast<unsigned long>(base);
    if (out.magnitude > (ULONG_MAX - static_cast<unsigned long>(d)) / ubase) out.overflow = true;
    if (!out.overflow) out.magnitude = out.magnitude * ubase + static_cast<unsigned long>(d);
  }
  if (p == first_digit) return false;
  if (end != nullptr) *end = const_cast<char*>(p);
  return true;
}

}  // namespace

long strtol(const char* s, char** end, int base) {
  Parsed parsed;
  if (!scan(s, end, base, parsed)) return 0;
  const unsigned long limit = parsed.negative ? static_cast<unsigned long>(LONG_MAX) + 1
                                              : static_cast<unsigned long>(LONG_MAX);
  if (parsed.overflow || parsed.magnitude > limit) {
    errno_ref() = ERANGE;
    return parsed.negative ? LONG_MIN : LONG_MAX;
  }
  return parsed.negative ? static_cast<long>(0 - parsed.magnitude)
                         : static_cast<long>(parsed.magnitude);
}

unsigned long strtoul(const char* s, char** end, int base) {
  Parsed parsed;
  if (!scan(s, end, base, parsed)) return 0;
  if (parsed.overflow) {
    errno_ref() = ERANGE;
    return ULONG_MAX;
  }
  return parsed.negative ? 0 - parsed.magnitude : parsed.magnitude;
}

}  // namespace cvtpm::fw::libc

#if defined(CVTPM_FIRMWARE)
extern "C" {
long strtol(const char* s, char** end, int base) {
  return cvtpm::fw::libc::strtol(s, end, base);
}
unsigned long strtoul(const char* s, char** end, int base) {
  return cvtpm::fw::libc::strtoul(s, end, base);
}
}
#endif
