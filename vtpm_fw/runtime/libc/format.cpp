// The printf engine: flags - + space # 0, width and precision (also '*'), length modifiers
// hh h l ll q j z t, conversions d i u o x X c s p %, with glibc's output for each (e.g. "(null)"
// and "(nil)"). Floating point, %n, %m, wide characters and positional arguments are not
// supported: libtpms and libcrypto do not format with them (libcrypto's BIO_printf has its own
// engine), and the firmware reports an attempt loudly rather than printing something wrong.
#include <cerrno>
#include <climits>
#include <cstdint>

#include "libc/shim.h"

namespace cvtpm::fw::libc {

namespace {

class Writer {
 public:
  Writer(FormatEmit emit, void* context) : emit_(emit), context_(context) {}

  void text(const char* s, std::size_t n) {
    if (n == 0) return;
    emit_(context_, s, n);
    total_ += n;
  }
  void repeat(char c, std::size_t n) {
    char chunk[32];
    for (char& x : chunk) x = c;
    while (n > 0) {
      const std::size_t step = n < sizeof chunk ? n : sizeof chunk;
      text(chunk, step);
      n -= step;
    }
  }
  std::size_t total() const { return total_; }

 private:
  FormatEmit emit_;
  void* context_;
  std::size_t total_ = 0;
};

struct Spec {
  bool left = false;
  bool plus = false;
  bool space = false;
  bool alternate = false;
  bool zero = false;
  std::size_t width = 0;
  int precision = -1;  // -1: none
};

enum class Length { kNone, kChar, kShort, kLong, kLongLong, kMax, kSize, kPtrdiff };

// Pads `body` (prefix + zeros + digits) to the field width.
void emit_padded(Writer& out, const Spec& spec, const char* prefix, std::size_t prefix_length,
                 std::size_t zeros, const char* digits, std::size_t digit_count) {
  const std::size_t body = prefix_length + zeros + digit_count;
  const std::size_t pad = spec.width > body ? spec.width - body : 0;
  if (!spec.left) out.repeat(' ', pad);
  out.text(prefix, prefix_length);
  out.repeat('0', zeros);
  out.text(digits, digit_count);
  if (spec.left) out.repeat(' ', pad);
}

void emit_integer(Writer& out, Spec spec, char conversion, std::uintmax_t magnitude,
                  bool negative) {
  const unsigned base = conversion == 'o'                                               ? 8
                        : (conversion == 'x' || conversion == 'X' || conversion == 'p') ? 16
                                                                                        : 10;
  const char* alphabet = conversion == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  char digits[32];
  std::size_t count = 0;
  char* end = digits + sizeof digits;
  for (std::uintmax_t v = magnitude; v != 0; v /= base) {
    *--end = alphabet[v % base];
    ++count;
  }
  const char* first = end;

  std::size_t precision = spec.precision < 0 ? 1 : static_cast<std::size_t>(spec.precision);
  std::size_t zeros = precision > count ? precision - count : 0;
  if (conversion == 'o' && spec.alternate && zeros == 0 && (count == 0 || *first != '0')) {
    zeros = 1;  // %#o always starts with a 0
  }

  char prefix[2];
  std::size_t prefix_length = 0;
  const bool is_signed = conversion == 'd' || conversion == 'i';
  if (is_signed) {
    if (negative) {
      prefix[prefix_length++] = '-';
    } else if (spec.plus) {
      prefix[prefix_length++] = '+';
    } else if (spec.space) {
      prefix[prefix_length++] = ' ';
    }
  }
  if ((conversion == 'x' || conversion == 'X' || conversion == 'p') && spec.alternate &&
      magnitude != 0) {
    prefix[prefix_length++] = '0';
    prefix[prefix_length++] = conversion == 'X' ? 'X' : 'x';
  }
  if (spec.zero && !spec.left && spec.precision < 0) {
    const std::size_t body = prefix_length + zeros + count;
    if (spec.width > body) zeros += spec.width - body;
  }
  emit_padded(out, spec, prefix, prefix_length, zeros, first, count);
}

void emit_string(Writer& out, const Spec& spec, const char* s) {
  std::size_t length =
      spec.precision < 0 ? strlen(s) : strnlen(s, static_cast<std::size_t>(spec.precision));
  emit_padded(out, spec, nullptr, 0, 0, s, length);
}

}  // namespace

int vformat(FormatEmit emit, void* context, const char* format, std::va_list args,
            char* unsupported) {
  Writer out(emit, context);
  const char* p = format;
  while (*p != '\0') {
    if (*p != '%') {
      const char* run = p;
      while (*p != '\0' && *p != '%') ++p;
      out.text(run, static_cast<std::size_t>(p - run));
      continue;
    }
    const char* spec_start = p++;
    Spec spec;
    for (;; ++p) {
      if (*p == '-') {
        spec.left = true;
      } else if (*p == '+') {
        spec.plus = true;
      } else if (*p == ' ') {
        spec.space = true;
      } else if (*p == '#') {
        spec.alternate = true;
      } else if (*p == '0') {
        spec.zero = true;
      } else if (*p == '\'') {
        // Thousands grouping: no separator in the C locale.
      } else {
        break;
      }
    }
    if (*p == '*') {
      const int width = va_arg(args, int);
      if (width < 0) {
        spec.left = true;
        spec.width = static_cast<std::size_t>(-static_cast<long>(width));
      } else {
        spec.width = static_cast<std::size_t>(width);
      }
      ++p;
    } else {
      while (*p >= '0' && *p <= '9')
        spec.width = spec.width * 10 + static_cast<std::size_t>(*p++ - '0');
      if (*p == '$') {
        if (unsupported != nullptr) *unsupported = '$';
        return -1;
      }
    }
    if (*p == '.') {
      ++p;
      if (*p == '*') {
        const int precision = va_arg(args, int);
        spec.precision = precision < 0 ? -1 : precision;
        ++p;
      } else {
        long precision = 0;
        while (*p >= '0' && *p <= '9') {
          if (precision < INT_MAX / 10) precision = precision * 10 + (*p - '0');
          ++p;
        }
        spec.precision = static_cast<int>(precision);
      }
    }
    Length length = Length::kNone;
    if (*p == 'h') {
      length = p[1] == 'h' ? Length::kChar : Length::kShort;
      p += p[1] == 'h' ? 2 : 1;
    } else if (*p == 'l') {
      length = p[1] == 'l' ? Length::kLongLong : Length::kLong;
      p += p[1] == 'l' ? 2 : 1;
    } else if (*p == 'q') {
      length = Length::kLongLong;
      ++p;
    } else if (*p == 'j') {
      length = Length::kMax;
      ++p;
    } else if (*p == 'z' || *p == 'Z') {
      length = Length::kSize;
      ++p;
    } else if (*p == 't') {
      length = Length::kPtrdiff;
      ++p;
    }
    const char conversion = *p;
    if (conversion == '\0') {
      // A lone '%' at the end: glibc prints nothing for it.
      break;
    }
    ++p;
    switch (conversion) {
      case 'd':
      case 'i': {
        std::intmax_t v;
        switch (length) {
          case Length::kChar:
            v = static_cast<signed char>(va_arg(args, int));
            break;
          case Length::kShort:
            v = static_cast<short>(va_arg(args, int));
            break;
          case Length::kLong:
            v = va_arg(args, long);
            break;
          case Length::kLongLong:
            v = va_arg(args, long long);
            break;
          case Length::kMax:
            v = va_arg(args, std::intmax_t);
            break;
          case Length::kSize:
            v = va_arg(args, long);
            break;
          case Length::kPtrdiff:
            v = va_arg(args, std::ptrdiff_t);
            break;
          default:
            v = va_arg(args, int);
            break;
        }
        const bool negative = v < 0;
        const std::uintmax_t magnitude =
            negative ? 0 - static_cast<std::uintmax_t>(v) : static_cast<std::uintmax_t>(v);
        emit_integer(out, spec, conversion, magnitude, negative);
        break;
      }
      case 'u':
      case 'o':
      case 'x':
      case 'X': {
        std::uintmax_t v;
        switch (length) {
          case Length::kChar:
            v = static_cast<unsigned char>(va_arg(args, unsigned));
            break;
          case Length::kShort:
            v = static_cast<unsigned short>(va_arg(args, unsigned));
            break;
          case Length::kLong:
            v = va_arg(args, unsigned long);
            break;
          case Length::kLongLong:
            v = va_arg(args, unsigned long long);
            break;
          case Length::kMax:
            v = va_arg(args, std::uintmax_t);
            break;
          case Length::kSize:
            v = va_arg(args, std::size_t);
            break;
          case Length::kPtrdiff:
            v = static_cast<std::uintmax_t>(va_arg(args, std::ptrdiff_t));
            break;
          default:
            v = va_arg(args, unsigned);
            break;
        }
        emit_integer(out, spec, conversion, v, false);
        break;
      }
      case 'p': {
        const void* pointer = va_arg(args, void*);
        if (pointer == nullptr) {
          spec.precision = -1;
          emit_string(out, spec, "(nil)");
        } else {
          spec.alternate = true;
          emit_integer(out, spec, 'p', reinterpret_cast<std::uintptr_t>(pointer), false);
        }
        break;
      }
      case 'c': {
        if (length == Length::kLong) {
          if (unsupported != nullptr) *unsupported = 'C';
          return -1;
        }
        const char c = static_cast<char>(va_arg(args, int));
        emit_padded(out, spec, nullptr, 0, 0, &c, 1);
        break;
      }
      case 's': {
        if (length == Length::kLong) {
          if (unsupported != nullptr) *unsupported = 'S';
          return -1;
        }
        const char* s = va_arg(args, const char*);
        if (s == nullptr) {
          // glibc prints "(null)" unless the precision is too small to hold it.
          s = (spec.precision < 0 || spec.precision >= 6) ? "(null)" : "";
        }
        emit_string(out, spec, s);
        break;
      }
      case '%':
        out.text("%", 1);
        break;
      default:
        // f F e E g G a A (floating point), n, m, C, S and anything unknown.
        (void)spec_start;
        if (unsupported != nullptr) *unsupported = conversion;
        return -1;
    }
  }
  if (out.total() > static_cast<std::size_t>(INT_MAX)) {
    errno_ref() = EOVERFLOW;
    return -1;
  }
  return static_cast<int>(out.total());
}

namespace {

struct BufferSink {
  char* buffer;
  std::size_t capacity;  // including the terminating NUL
  std::size_t used;
};

void emit_to_buffer(void* context, const char* text, std::size_t length) {
  auto* sink = static_cast<BufferSink*>(context);
  if (sink->capacity == 0) return;
  const std::size_t room = sink->capacity - 1 - sink->used;
  const std::size_t n = length < room ? length : room;
  memcpy(sink->buffer + sink->used, text, n);
  sink->used += n;
}

}  // namespace

int vsnprintf(char* buffer, std::size_t size, const char* format, std::va_list args,
              char* unsupported) {
  BufferSink sink{buffer, size, 0};
  const int result = vformat(emit_to_buffer, &sink, format, args, unsupported);
  if (size != 0) buffer[sink.used] = '\0';
  return result;
}

int snprintf(char* buffer, std::size_t size, const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  const int result = vsnprintf(buffer, size, format, args, nullptr);
  va_end(args);
  return result;
}

}  // namespace cvtpm::fw::libc
