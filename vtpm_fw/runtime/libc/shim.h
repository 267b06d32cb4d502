// The C library the firmware gives Debian's libtpms.a and libcrypto.a (and its own code), as
// namespaced C++ functions: the host tests compare them with glibc's, and the firmware build
// (CVTPM_FIRMWARE) exports each under its C name from the same translation unit (exports.h).
// Only what the two archives need, with glibc's semantics for the C locale.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <ctime>

namespace cvtpm::fw::libc {

// errno.cpp: the one errno of the single-threaded firmware.
int& errno_ref();

// string.cpp
void* memcpy(void* dst, const void* src, std::size_t n);
void* memmove(void* dst, const void* src, std::size_t n);
void* memset(void* dst, int value, std::size_t n);
int memcmp(const void* a, const void* b, std::size_t n);
void* memchr(const void* s, int c, std::size_t n);
std::size_t strlen(const char* s);
std::size_t strnlen(const char* s, std::size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, std::size_t n);
char* strcpy(char* dst, const char* src);
char* strncpy(char* dst, const char* src, std::size_t n);
char* strcat(char* dst, const char* src);
char* strchr(const char* s, int c);
char* strrchr(const char* s, int c);
char* strstr(const char* haystack, const char* needle);
std::size_t strspn(const char* s, const char* accept);
std::size_t strcspn(const char* s, const char* reject);
char* strtok(char* s, const char* delimiters);
char* strdup(const char* s);  // allocates with malloc (the firmware heap)

// convert.cpp
long strtol(const char* s, char** end, int base);
unsigned long strtoul(const char* s, char** end, int base);

// ctype.cpp: glibc's table layout, C locale, indexable from -128 to 255.
const unsigned short* ctype_class_table();
const std::int32_t* ctype_tolower_table();

// errors.cpp: glibc's messages for the errno values the firmware can meet.
const char* strerror(int error);
int strerror_r(int error, char* buffer, std::size_t size);  // XSI variant (__xpg_strerror_r)

// format.cpp: printf formatting (integers, strings, characters, pointers; no floating point).
// A conversion the engine does not support makes it return -1 and name the conversion in
// `*unsupported` (the firmware exports panic on that).
using FormatEmit = void (*)(void* context, const char* text, std::size_t length);
int vformat(FormatEmit emit, void* context, const char* format, std::va_list args,
            char* unsupported);
int vsnprintf(char* buffer, std::size_t size, const char* format, std::va_list args,
              char* unsupported);
int snprintf(char* buffer, std::size_t size, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

// qsort.cpp: heapsort (no recursion, no allocation, O(n log n) worst case); not stable, which
// qsort does not promise either.
void qsort(void* base, std::size_t count, std::size_t size,
           int (*compare)(const void*, const void*));

// time_convert.cpp
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
// Fills `out` like glibc's gmtime_r; false (EOVERFLOW) if the year does not fit an int.
bool gmtime(std::int64_t seconds, std::tm* out);

}  // namespace cvtpm::fw::libc
