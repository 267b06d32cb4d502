// The character-class and tolower tables behind glibc's ctype macros (isdigit() etc. compile to
// (*__ctype_b_loc())[c] & bit), for the C locale. Layout and bit values are glibc's ABI.
#include <cstdint>

#include "libc/shim.h"

namespace cvtpm::fw::libc {

namespace {

// glibc's _ISbit values on little-endian machines.
constexpr unsigned short kUpper = 0x100, kLower = 0x200, kAlpha = 0x400, kDigit = 0x800,
                         kXdigit = 0x1000, kSpace = 0x2000, kPrint = 0x4000, kGraph = 0x8000,
                         kBlank = 0x1, kCntrl = 0x2, kPunct = 0x4, kAlnum = 0x8;

constexpr unsigned short classify(int c) {
  if (c < 0 || c > 127) return 0;
  unsigned short bits = 0;
  const bool upper = c >= 'A' && c <= 'Z';
  const bool lower = c >= 'a' && c <= 'z';
  const bool digit = c >= '0' && c <= '9';
  if (upper) bits |= kUpper;
  if (lower) bits |= kLower;
  if (upper || lower) bits |= kAlpha | kAlnum;
  if (digit) bits |= kDigit | kAlnum;
  if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) bits |= kXdigit;
  if (c == ' ' || (c >= '\t' && c <= '\r')) bits |= kSpace;
  if (c == ' ' || c == '\t') bits |= kBlank;
  if (c < 32 || c == 127) bits |= kCntrl;
  if (c >= 32 && c < 127) bits |= kPrint;
  if (c > 32 && c < 127) bits |= kGraph;
  if (c > 32 && c < 127 && !upper && !lower && !digit) bits |= kPunct;
  return bits;
}

struct Tables {
  unsigned short classes[384];
  std::int32_t lower[384];
};

constexpr Tables make_tables() {
  Tables t{};
  for (int i = 0; i < 384; ++i) {
    const int c = i - 128;
    // glibc maps -128..-1 like the unsigned char values 128..255 (all zero in the C locale),
    // except that index -1 is EOF.
    t.classes[i] = classify(c);
    // tolower of -128..-2 is the unsigned value (128..254), as glibc's table has it.
    t.lower[i] = (c >= 'A' && c <= 'Z') ? c + 32 : (c < -1 ? c + 256 : c);
  }
  return t;
}

constexpr Tables kTables = make_tables();

}  // namespace

// What __ctype_b_loc()/__ctype_tolower_loc() point to (glibc returns the address of a
// per-thread pointer to the table).
constinit const unsigned short* g_class_table = kTables.classes + 128;
constinit const std::int32_t* g_tolower_table = kTables.lower + 128;

const unsigned short* ctype_class_table() {
  return kTables.classes + 128;
}
const std::int32_t* ctype_tolower_table() {
  return kTables.lower + 128;
}

}  // namespace cvtpm::fw::libc

#if defined(CVTPM_FIRMWARE)
#include <ctype.h>
extern "C" {
const unsigned short** __ctype_b_loc() {
  return &cvtpm::fw::libc::g_class_table;
}
const std::int32_t** __ctype_tolower_loc() {
  return &cvtpm::fw::libc::g_tolower_table;
}
}
#endif
