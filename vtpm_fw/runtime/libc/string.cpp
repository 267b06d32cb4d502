// memory and string functions. memcpy/memset use the string instructions (fast on current CPUs
// and under TCG); the rest are plain loops.
// No <cstring>: its C++ const overloads of memchr/strchr/... would clash with the C exports.
#include <cstdlib>

#include "libc/shim.h"

namespace cvtpm::fw::libc {

void* memcpy(void* dst, const void* src, std::size_t n) {
  void* d = dst;
  asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
  return dst;
}

void* memmove(void* dst, const void* src, std::size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d == s || n == 0) return dst;
  if (d < s || d >= s + n) return memcpy(dst, src, n);
  // Overlapping with the destination above the source: copy backwards.
  unsigned char* dl = d + n - 1;
  const unsigned char* sl = s + n - 1;
  asm volatile("std; rep movsb; cld" : "+D"(dl), "+S"(sl), "+c"(n) : : "memory");
  return dst;
}

void* memset(void* dst, int value, std::size_t n) {
  void* d = dst;
  asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(value) : "memory");
  return dst;
}

int memcmp(const void* a, const void* b, std::size_t n) {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

void* memchr(const void* s, int c, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(s);
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == static_cast<unsigned char>(c)) return const_cast<unsigned char*>(p + i);
  }
  return nullptr;
}

std::size_t strlen(const char* s) {
  std::size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

std::size_t strnlen(const char* s, std::size_t max) {
  std::size_t n = 0;
  while (n < max && s[n] != '\0') ++n;
  return n;
}

int strcmp(const char* a, const char* b) {
  const auto* x = reinterpret_cast<const unsigned char*>(a);
  const auto* y = reinterpret_cast<const unsigned char*>(b);
  while (*x != '\0' && *x == *y) ++x, ++y;
  return *x == *y ? 0 : (*x < *y ? -1 : 1);
}

int strncmp(const char* a, const char* b, std::size_t n) {
  const auto* x = reinterpret_cast<const unsigned char*>(a);
  const auto* y = reinterpret_cast<const unsigned char*>(b);
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    if (x[i] == '\0') return 0;
  }
  return 0;
}

char* strcpy(char* dst, const char* src) {
  memcpy(dst, src, strlen(src) + 1);
  return dst;
}

char* strncpy(char* dst, const char* src, std::size_t n) {
  const std::size_t length = strnlen(src, n);
  memcpy(dst, src, length);
  memset(dst + length, 0, n - length);
  return dst;
}

char* strcat(char* dst, const char* src) {
  strcpy(dst + strlen(dst), src);
  return dst;
}

char* strchr(const char* s, int c) {
  const char wanted = static_cast<char>(c);
  for (;; ++s) {
    if (*s == wanted) return const_cast<char*>(s);
    if (*s == '\0') return nullptr;
  }
}

char* strrchr(const char* s, int c) {
  const char wanted = static_cast<char>(c);
  const char* found = nullptr;
  for (;; ++s) {
    if (*s == wanted) found = s;
    if (*s == '\0') return const_cast<char*>(found);
  }
}

char* strstr(const char* haystack, const char* needle) {
  const std::size_t length = strlen(needle);
  if (length == 0) return const_cast<char*>(haystack);
  for (; *haystack != '\0'; ++haystack) {
    if (*haystack == *needle && strncmp(haystack, needle, length) == 0) {
      return const_cast<char*>(haystack);
    }
  }
  return nullptr;
}

std::size_t strspn(const char* s, const char* accept) {
  std::size_t n = 0;
  while (s[n] != '\0' && strchr(accept, s[n]) != nullptr) ++n;
  return n;
}

std::size_t strcspn(const char* s, const char* reject) {
  std::size_t n = 0;
  while (s[n] != '\0' && strchr(reject, s[n]) == nullptr) ++n;
  return n;
}

char* strtok(char* s, const char* delimiters) {
  static char* next = nullptr;
  if (s == nullptr) s = next;
  if (s == nullptr) return nullptr;
  s += strspn(s, delimiters);
  if (*s == '\0') {
    next = nullptr;
    return nullptr;
  }
  char* end = s + strcspn(s, delimiters);
  if (*end == '\0') {
    next = nullptr;
  } else {
    *end = '\0';
    next = end + 1;
  }
  return s;
}

char* strdup(const char* s) {
  const std::size_t size = strlen(s) + 1;
  auto* copy = static_cast<char*>(std::malloc(size));
  if (copy != nullptr) memcpy(copy, s, size);
  return copy;
}

}  // namespace cvtpm::fw::libc

#if defined(CVTPM_FIRMWARE)
namespace libc = cvtpm::fw::libc;
extern "C" {
void* memcpy(void* d, const void* s, size_t n) {
  return libc::memcpy(d, s, n);
}
void* memmove(void* d, const void* s, size_t n) {
  return libc::memmove(d, s, n);
}
void* memset(void* d, int v, size_t n) {
  return libc::memset(d, v, n);
}
int memcmp(const void* a, const void* b, size_t n) {
  return libc::memcmp(a, b, n);
}
void* memchr(const void* s, int c, size_t n) {
  return libc::memchr(s, c, n);
}
size_t strlen(const char* s) {
  return libc::strlen(s);
}
int strcmp(const char* a, const char* b) {
  return libc::strcmp(a, b);
}
int strncmp(const char* a, const char* b, size_t n) {
  return libc::strncmp(a, b, n);
}
char* strcpy(char* d, const char* s) {
  return libc::strcpy(d, s);
}
char* strncpy(char* d, const char* s, size_t n) {
  return libc::strncpy(d, s, n);
}
char* strcat(char* d, const char* s) {
  return libc::strcat(d, s);
}
char* strchr(const char* s, int c) {
  return libc::strchr(s, c);
}
char* strrchr(const char* s, int c) {
  return libc::strrchr(s, c);
}
char* strstr(const char* h, const char* n) {
  return libc::strstr(h, n);
}
size_t strspn(const char* s, const char* a) {
  return libc::strspn(s, a);
}
size_t strcspn(const char* s, const char* r) {
  return libc::strcspn(s, r);
}
char* strtok(char* s, const char* d) {
  return libc::strtok(s, d);
}
char* strdup(const char* s) {
  return libc::strdup(s);
}
}
#endif
