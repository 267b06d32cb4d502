// stdio for the firmware: stdout and stderr are the console; the printf family (including the
// _FORTIFY_SOURCE *_chk entry points the Debian archives call) formats with format.cpp. There are
// no files: fopen() and reading functions are in unreachable.cpp.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "console/log.h"
#include "libc/shim.h"
#include "panic/panic.h"

namespace libc = cvtpm::fw::libc;
using cvtpm::fw::panic;

namespace {

FILE g_stdin{};
FILE g_stdout{};
FILE g_stderr{};

bool is_console(FILE* stream) {
  return stream == &g_stdout || stream == &g_stderr;
}

void require_console(FILE* stream, const char* function) {
  if (!is_console(stream))
    panic("%s: stream %p is not stdout/stderr (no files in the firmware)", function,
          static_cast<void*>(stream));
}

void emit_console(void*, const char* text, std::size_t length) {
  cvtpm::fw::log::raw(text, length);
}

[[noreturn]] void unsupported_format(const char* function, const char* format, char conversion) {
  panic("%s: unsupported conversion %%%c in format \"%s\"", function, conversion, format);
}

int format_console(const char* function, const char* format, va_list args) {
  char bad = 0;
  const int n = libc::vformat(emit_console, nullptr, format, args, &bad);
  if (n < 0) unsupported_format(function, format, bad);
  return n;
}

int format_buffer(const char* function, char* buffer, size_t size, const char* format,
                  va_list args) {
  char bad = 0;
  const int n = libc::vsnprintf(buffer, size, format, args, &bad);
  if (n < 0 && bad != 0) unsupported_format(function, format, bad);
  return n;
}

void check_object_size(const char* function, size_t maxlen, size_t object_size) {
  if (maxlen > object_size)
    panic("%s: buffer overflow detected (%zu > %zu)", function, maxlen, object_size);
}

}  // namespace

extern "C" {

FILE* stdin = &g_stdin;
FILE* stdout = &g_stdout;
FILE* stderr = &g_stderr;

size_t fwrite(const void* data, size_t size, size_t count, FILE* stream) {
  require_console(stream, "fwrite");
  cvtpm::fw::log::raw(static_cast<const char*>(data), size * count);
  return count;
}

int fputs(const char* text, FILE* stream) {
  require_console(stream, "fputs");
  cvtpm::fw::log::raw(text);
  return 1;
}

int fputc(int c, FILE* stream) {
  require_console(stream, "fputc");
  const char ch = static_cast<char>(c);
  cvtpm::fw::log::raw(&ch, 1);
  return static_cast<unsigned char>(c);
}

int fflush(FILE* stream) {
  if (stream != nullptr) require_console(stream, "fflush");
  return 0;
}

int __vfprintf_chk(FILE* stream, int, const char* format, va_list args) {
  require_console(stream, "vfprintf");
  return format_console("vfprintf", format, args);
}

int __fprintf_chk(FILE* stream, int, const char* format, ...) {
  require_console(stream, "fprintf");
  va_list args;
  va_start(args, format);
  const int n = format_console("fprintf", format, args);
  va_end(args);
  return n;
}

int __vdprintf_chk(int fd, int, const char* format, va_list args) {
  if (fd != 1 && fd != 2) panic("dprintf: file descriptor %d is not stdout/stderr", fd);
  return format_console("dprintf", format, args);
}

int __dprintf_chk(int fd, int flag, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const int n = __vdprintf_chk(fd, flag, format, args);
  va_end(args);
  return n;
}

int vsnprintf(char* buffer, size_t size, const char* format, va_list args) {
  return format_buffer("vsnprintf", buffer, size, format, args);
}

int snprintf(char* buffer, size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const int n = format_buffer("snprintf", buffer, size, format, args);
  va_end(args);
  return n;
}

int __vsnprintf_chk(char* buffer, size_t maxlen, int, size_t object_size, const char* format,
                    va_list args) {
  check_object_size("vsnprintf", maxlen, object_size);
  return format_buffer("vsnprintf", buffer, maxlen, format, args);
}

int __snprintf_chk(char* buffer, size_t maxlen, int, size_t object_size, const char* format, ...) {
  check_object_size("snprintf", maxlen, object_size);
  va_list args;
  va_start(args, format);
  const int n = format_buffer("snprintf", buffer, maxlen, format, args);
  va_end(args);
  return n;
}

int __asprintf_chk(char** out, int, const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  const int length = format_buffer("asprintf", nullptr, 0, format, args);
  va_end(args);
  *out = nullptr;
  if (length < 0) {
    va_end(again);
    return -1;
  }
  auto* buffer = static_cast<char*>(malloc(static_cast<size_t>(length) + 1));
  if (buffer == nullptr) {
    va_end(again);
    return -1;
  }
  format_buffer("asprintf", buffer, static_cast<size_t>(length) + 1, format, again);
  va_end(again);
  *out = buffer;
  return length;
}

}  // extern "C"
