// The firmware's C library shim against glibc, the implementation Debian's libtpms.a and
// libcrypto.a were compiled for: the same inputs must give the same results (and errno).
#include <gtest/gtest.h>

#include <ctype.h>

#include <cerrno>
#include <climits>
#include <clocale>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "libc/shim.h"

namespace libc = cvtpm::fw::libc;

// glibc's XSI strerror_r (what `strerror_r` means without _GNU_SOURCE); libcrypto.a calls it.
extern "C" int __xpg_strerror_r(int error, char* buffer, size_t size);

namespace {

// ---------------------------------------------------------------------------------------------
// printf

std::string ours(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string ours(const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  char bad = 0;
  const int n = libc::vsnprintf(buffer, sizeof buffer, format, args, &bad);
  va_end(args);
  if (n < 0) return std::string("<unsupported ") + bad + ">";
  return std::to_string(n) + ":" + buffer;
}

std::string glibc(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string glibc(const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return std::to_string(n) + ":" + buffer;
}

#define EXPECT_FORMAT_SAME(...) EXPECT_EQ(ours(__VA_ARGS__), glibc(__VA_ARGS__))

TEST(LibcFormat, IntegersLikeGlibc) {
  const long long values[] = {0,   1,     -1,     7,       42,      -42,       255,
                              256, 65535, -65536, INT_MAX, INT_MIN, LLONG_MAX, LLONG_MIN};
  const char* flags[] = {"", "-", "+", " ", "#", "0", "-0", "+0", " 0", "#0", "-#"};
  const char* widths[] = {"", "1", "8", "25"};
  const char* precisions[] = {"", ".", ".0", ".1", ".5", ".30"};
  const char* conversions[] = {"d", "i", "u", "o", "x", "X"};
  int checked = 0;
  for (long long v : values) {
    for (const char* f : flags) {
      for (const char* w : widths) {
        for (const char* p : precisions) {
          for (const char* c : conversions) {
            const std::string spec = std::string("[%") + f + w + p + "ll" + c + "]";
            ASSERT_EQ(ours(spec.c_str(), v), glibc(spec.c_str(), v)) << spec << " " << v;
            const std::string narrow = std::string("[%") + f + w + p + c + "]";
            const int iv = static_cast<int>(v);
            ASSERT_EQ(ours(narrow.c_str(), iv), glibc(narrow.c_str(), iv)) << narrow << " " << iv;
            checked += 2;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 10000);
}

TEST(LibcFormat, LengthModifiers) {
  // Values arrive promoted to int; the length modifier narrows them back.
  EXPECT_FORMAT_SAME("%hhd %hhu %hhx", static_cast<signed char>(-56),
                     static_cast<unsigned char>(200), static_cast<unsigned char>(255));
  EXPECT_FORMAT_SAME("%hd %hu %hx", static_cast<short>(-4464), static_cast<unsigned short>(61072),
                     static_cast<unsigned short>(65535));
  EXPECT_FORMAT_SAME("%ld %lu %lx", -5L, ~0UL, 0xdeadbeefcafeUL);
  EXPECT_FORMAT_SAME("%zu %zd %zx", static_cast<size_t>(12345), static_cast<ssize_t>(-3),
                     static_cast<size_t>(~0ull));
  EXPECT_FORMAT_SAME("%jd %ju", static_cast<intmax_t>(-9), static_cast<uintmax_t>(9));
  EXPECT_FORMAT_SAME("%td", static_cast<ptrdiff_t>(-77));
  EXPECT_FORMAT_SAME("%qd", -123LL);
}

TEST(LibcFormat, StringsCharactersPointersPercent) {
  EXPECT_FORMAT_SAME("[%s] [%10s] [%-10s] [%.2s] [%5.1s] [%.0s]", "abc", "abc", "abc", "abc", "abc",
                     "abc");
  EXPECT_FORMAT_SAME("[%c] [%5c] [%-5c] [%c]", 'x', 'y', 'z', 0x141);
  EXPECT_FORMAT_SAME("[%p] [%20p] [%-20p]", static_cast<void*>(&errno), static_cast<void*>(nullptr),
                     reinterpret_cast<void*>(0x1234));
  EXPECT_FORMAT_SAME("[%p] [%10p]", static_cast<void*>(nullptr), static_cast<void*>(nullptr));
  EXPECT_FORMAT_SAME("100%% [%%] %d%%", 5);
  EXPECT_FORMAT_SAME("[%*d] [%-*d] [%*d] [%.*d] [%.*d]", 6, 42, 6, 42, -6, 42, 4, 7, -1, 7);
  EXPECT_FORMAT_SAME("no conversions at all");
  EXPECT_FORMAT_SAME("%s", "");
  EXPECT_FORMAT_SAME("[%'d]", 1234567);  // no grouping in the C locale
}

TEST(LibcFormat, NullStringLikeGlibc) {
  // Built at run time so the compiler does not flag a NULL %s argument.
  const char* null_string = std::getenv("CVTPM_TEST_SURELY_UNSET_VARIABLE");
  ASSERT_EQ(null_string, nullptr);
  EXPECT_EQ(ours("[%s]", null_string), glibc("[%s]", null_string));
  EXPECT_EQ(ours("[%.3s]", null_string), glibc("[%.3s]", null_string));
  EXPECT_EQ(ours("[%8s]", null_string), glibc("[%8s]", null_string));
}

TEST(LibcFormat, TruncatesLikeGlibcAndReturnsTheFullLength) {
  for (std::size_t size : {0, 1, 2, 5, 9, 10, 11, 64}) {
    char a[64], b[64];
    std::memset(a, '#', sizeof a);
    std::memset(b, '#', sizeof b);
    const int n = libc::snprintf(a, size, "%s-%d", "hello", 1234);
    const int m = std::snprintf(b, size, "%s-%d", "hello", 1234);
    EXPECT_EQ(n, m) << size;
    EXPECT_EQ(std::memcmp(a, b, sizeof a), 0) << size;
  }
}

TEST(LibcFormat, RefusesWhatItDoesNotImplement) {
  for (const char* f : {"%f", "%e", "%g", "%a", "%n", "%ls", "%lc", "%1$d", "%m", "%E", "%G"}) {
    char buffer[64];
    char bad = 0;
    double d = 1.5;
    int n = 0;
    // The arguments are never read: the engine stops at the conversion.
    va_list none;
    auto call = [&](const char* format, ...) {
      va_start(none, format);
      const int r = libc::vsnprintf(buffer, sizeof buffer, format, none, &bad);
      va_end(none);
      return r;
    };
    EXPECT_EQ(call(f, d, &n), -1) << f;
    EXPECT_NE(bad, 0) << f;
  }
}

// ---------------------------------------------------------------------------------------------
// strings and memory

TEST(LibcString, MemoryFunctionsLikeGlibc) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::uint8_t> src(1 + rng() % 300);
    for (auto& b : src) b = static_cast<std::uint8_t>(rng());
    std::vector<std::uint8_t> a(src.size() + 64, 0), b(src.size() + 64, 0);
    const std::size_t off = rng() % 32;
    libc::memcpy(a.data() + off, src.data(), src.size());
    std::memcpy(b.data() + off, src.data(), src.size());
    ASSERT_EQ(a, b);
    // Overlapping moves in both directions.
    const std::size_t n = src.size() / 2;
    const std::size_t from = rng() % (a.size() - n), to = rng() % (a.size() - n);
    libc::memmove(a.data() + to, a.data() + from, n);
    std::memmove(b.data() + to, b.data() + from, n);
    ASSERT_EQ(a, b) << from << "->" << to << " " << n;
    libc::memset(a.data() + off, static_cast<int>(rng()), n);
    std::memset(b.data() + off, static_cast<int>(a[off]), n);
    ASSERT_EQ(a, b);
    const int x = libc::memcmp(a.data(), src.data(), src.size());
    const int y = std::memcmp(a.data(), src.data(), src.size());
    ASSERT_EQ((x > 0) - (x < 0), (y > 0) - (y < 0));
    const int c = src[rng() % src.size()];
    ASSERT_EQ(libc::memchr(src.data(), c, src.size()), std::memchr(src.data(), c, src.size()));
  }
  EXPECT_EQ(libc::memcmp("a\x80", "a\x01", 2) > 0, std::memcmp("a\x80", "a\x01", 2) > 0);
}

TEST(LibcString, StringFunctionsLikeGlibc) {
  const char* samples[] = {"", "a", "abc", "abcabc", "hello world", "x:y:z", "\x80\xff", "aaab"};
  for (const char* s : samples) {
    EXPECT_EQ(libc::strlen(s), std::strlen(s));
    for (const char* t : samples) {
      auto sign = [](int v) { return (v > 0) - (v < 0); };
      EXPECT_EQ(sign(libc::strcmp(s, t)), sign(std::strcmp(s, t))) << s << " " << t;
      for (std::size_t n : {0, 1, 2, 3, 10}) {
        EXPECT_EQ(sign(libc::strncmp(s, t, n)), sign(std::strncmp(s, t, n)));
      }
      EXPECT_EQ(libc::strstr(s, t), std::strstr(s, t)) << s << " " << t;
      EXPECT_EQ(libc::strspn(s, t), std::strspn(s, t));
      EXPECT_EQ(libc::strcspn(s, t), std::strcspn(s, t));
    }
    for (int c : {int{'a'}, int{'b'}, int{':'}, int{'z'}, 0, 0x80, 0xff, -1}) {
      EXPECT_EQ(libc::strchr(s, c), std::strchr(s, c)) << s << " " << c;
      EXPECT_EQ(libc::strrchr(s, c), std::strrchr(s, c)) << s << " " << c;
    }
  }
  char a[32], b[32];
  std::memset(a, 'Q', sizeof a);
  std::memset(b, 'Q', sizeof b);
  libc::strncpy(a, "abc", 8);
  std::strncpy(b, "abc", 8);
  EXPECT_EQ(std::memcmp(a, b, sizeof a), 0);
  libc::strncpy(a, "abcdefghijk", 4);
  std::strncpy(b, "abcdefghijk", 4);
  EXPECT_EQ(std::memcmp(a, b, sizeof a), 0);
  libc::strcpy(a, "foo");
  libc::strcat(a, "bar");
  EXPECT_STREQ(a, "foobar");
  char* copy = libc::strdup("duplicate me");
  EXPECT_STREQ(copy, "duplicate me");
  std::free(copy);
}

TEST(LibcString, StrtokLikeGlibc) {
  char a[] = ",,a,b;;c,,", b[] = ",,a,b;;c,,";
  std::vector<std::string> x, y;
  for (char* t = libc::strtok(a, ",;"); t != nullptr; t = libc::strtok(nullptr, ",;"))
    x.push_back(t);
  for (char* t = std::strtok(b, ",;"); t != nullptr; t = std::strtok(nullptr, ",;")) y.push_back(t);
  EXPECT_EQ(x, y);
  EXPECT_EQ(std::memcmp(a, b, sizeof a), 0);
}

// ---------------------------------------------------------------------------------------------
// strtol / strtoul

TEST(LibcConvert, InvalidBaseIsEinvalAndLeavesEndAlone) {
  // As glibc (compared by hand: ASan's strtol interceptor changes *end in this case).
  for (int base : {1, 37, -1}) {
    char* end = nullptr;
    libc::errno_ref() = 0;
    EXPECT_EQ(libc::strtol("12", &end, base), 0);
    EXPECT_EQ(end, nullptr);
    EXPECT_EQ(libc::errno_ref(), EINVAL);
    libc::errno_ref() = 0;
    EXPECT_EQ(libc::strtoul("12", &end, base), 0u);
    EXPECT_EQ(end, nullptr);
    EXPECT_EQ(libc::errno_ref(), EINVAL);
  }
}

TEST(LibcConvert, StrtolStrtoulLikeGlibc) {
  const char* inputs[] = {"0",
                          "42",
                          "-42",
                          "+42",
                          "  \t\n 17x",
                          "0x1f",
                          "0X1F",
                          "0x",
                          "0xg",
                          "017",
                          "08",
                          "z",
                          "",
                          "-",
                          "+",
                          "  ",
                          "9223372036854775807",
                          "9223372036854775808",
                          "-9223372036854775808",
                          "-9223372036854775809",
                          "18446744073709551615",
                          "18446744073709551616",
                          "-1",
                          "-0x10",
                          "99999999999999999999999",
                          "1010",
                          "zz",
                          "ZZ",
                          "7fffffff",
                          "  -0"};
  for (const char* s : inputs) {
    for (int base : {0, 2, 8, 10, 16, 36}) {
      char* end_ours = nullptr;
      char* end_glibc = nullptr;
      libc::errno_ref() = 0;
      errno = 0;
      const long a = libc::strtol(s, &end_ours, base);
      const long b = std::strtol(s, &end_glibc, base);
      EXPECT_EQ(a, b) << "strtol(\"" << s << "\", " << base << ")";
      EXPECT_EQ(end_ours, end_glibc) << "strtol end \"" << s << "\", " << base;
      EXPECT_EQ(libc::errno_ref(), errno) << "strtol errno \"" << s << "\", " << base;

      libc::errno_ref() = 0;
      errno = 0;
      const unsigned long c = libc::strtoul(s, &end_ours, base);
      const unsigned long d = std::strtoul(s, &end_glibc, base);
      EXPECT_EQ(c, d) << "strtoul(\"" << s << "\", " << base << ")";
      EXPECT_EQ(end_ours, end_glibc) << "strtoul end \"" << s << "\", " << base;
      EXPECT_EQ(libc::errno_ref(), errno) << "strtoul errno \"" << s << "\", " << base;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ctype tables

TEST(LibcCtype, TablesEqualGlibcsCLocale) {
  ASSERT_NE(std::setlocale(LC_ALL, "C"), nullptr);
  const unsigned short* theirs = *__ctype_b_loc();
  const std::int32_t* their_lower = *__ctype_tolower_loc();
  const unsigned short* mine = libc::ctype_class_table();
  const std::int32_t* my_lower = libc::ctype_tolower_table();
  for (int c = -128; c < 256; ++c) {
    EXPECT_EQ(mine[c], theirs[c]) << "class of " << c;
    EXPECT_EQ(my_lower[c], their_lower[c]) << "tolower of " << c;
  }
}

// ---------------------------------------------------------------------------------------------
// errors

TEST(LibcErrors, StrerrorLikeGlibc) {
  for (int e = 0; e <= 40; ++e) {
    EXPECT_STREQ(libc::strerror(e), std::strerror(e)) << e;
  }
  for (int e : {EOVERFLOW, ENOTSUP, 1000, -5}) {
    EXPECT_STREQ(libc::strerror(e), std::strerror(e)) << e;
  }
  char a[64], b[64];
  for (int e : {ENOMEM, 1000}) {
    for (std::size_t size : {0, 1, 5, 64}) {
      std::memset(a, 'x', sizeof a);
      std::memset(b, 'x', sizeof b);
      const int r1 = libc::strerror_r(e, a, size);
      const int r2 = __xpg_strerror_r(e, b, size);
      EXPECT_EQ(r1, r2) << e << " " << size;
      EXPECT_EQ(std::memcmp(a, b, sizeof a), 0) << e << " " << size;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// qsort

TEST(LibcQsort, SortsLikeGlibc) {
  std::mt19937 rng(99);
  auto compare = [](const void* a, const void* b) {
    const int x = *static_cast<const int*>(a), y = *static_cast<const int*>(b);
    return (x > y) - (x < y);
  };
  for (std::size_t n : {0, 1, 2, 3, 7, 16, 100, 1001}) {
    std::vector<int> v(n);
    for (auto& x : v) x = static_cast<int>(rng() % 50) - 25;  // many duplicates
    std::vector<int> w = v;
    libc::qsort(v.data(), n, sizeof(int), compare);
    if (n > 0) std::qsort(w.data(), n, sizeof(int), compare);  // glibc's base must not be NULL
    EXPECT_EQ(v, w) << n;
  }
  // Odd element size.
  struct Odd {
    char key;
    char pad[6];
  };
  std::vector<Odd> odd(50);
  for (auto& o : odd) {
    o.key = static_cast<char>(rng() % 100);
    std::memset(o.pad, o.key, sizeof o.pad);
  }
  libc::qsort(odd.data(), odd.size(), sizeof(Odd), [](const void* a, const void* b) {
    return static_cast<const Odd*>(a)->key - static_cast<const Odd*>(b)->key;
  });
  for (std::size_t i = 1; i < odd.size(); ++i) {
    ASSERT_LE(odd[i - 1].key, odd[i].key);
  }
  for (const auto& o : odd) {
    ASSERT_EQ(o.pad[5], o.key);
  }  // elements moved whole
}

// ---------------------------------------------------------------------------------------------
// time

TEST(LibcTime, GmtimeLikeGlibc) {
  std::mt19937_64 rng(2024);
  std::vector<std::int64_t> samples = {0,          -1,           86399,       86400,
                                       951782400,  951868800,    4107542400,  -2208988800,
                                       1795963552, 253402300799, -62135596800};
  for (int i = 0; i < 5000; ++i) {
    samples.push_back(static_cast<std::int64_t>(rng() % 40'000'000'000ull) - 20'000'000'000);
  }
  for (std::int64_t t : samples) {
    std::tm mine{}, theirs{};
    const time_t tt = static_cast<time_t>(t);
    ASSERT_TRUE(libc::gmtime(t, &mine));
    ASSERT_NE(gmtime_r(&tt, &theirs), nullptr);
    ASSERT_EQ(mine.tm_year, theirs.tm_year) << t;
    ASSERT_EQ(mine.tm_mon, theirs.tm_mon) << t;
    ASSERT_EQ(mine.tm_mday, theirs.tm_mday) << t;
    ASSERT_EQ(mine.tm_hour, theirs.tm_hour) << t;
    ASSERT_EQ(mine.tm_min, theirs.tm_min) << t;
    ASSERT_EQ(mine.tm_sec, theirs.tm_sec) << t;
    ASSERT_EQ(mine.tm_wday, theirs.tm_wday) << t;
    ASSERT_EQ(mine.tm_yday, theirs.tm_yday) << t;
    ASSERT_EQ(mine.tm_isdst, theirs.tm_isdst) << t;
    ASSERT_EQ(mine.tm_gmtoff, theirs.tm_gmtoff) << t;
    ASSERT_STREQ(mine.tm_zone, theirs.tm_zone) << t;
    // And back: days_from_civil inverts the date.
    ASSERT_EQ(libc::days_from_civil(theirs.tm_year + 1900, static_cast<unsigned>(theirs.tm_mon + 1),
                                    static_cast<unsigned>(theirs.tm_mday)) *
                      86400 +
                  theirs.tm_hour * 3600 + theirs.tm_min * 60 + theirs.tm_sec,
              t);
  }
}

TEST(LibcTime, GmtimeRejectsYearsBeyondInt) {
  std::tm out{};
  libc::errno_ref() = 0;
  EXPECT_FALSE(libc::gmtime(std::int64_t{1} << 60, &out));
  EXPECT_EQ(libc::errno_ref(), EOVERFLOW);
}

}  // namespace
