// Where the SNP platform writes its log lines: the firmware console, or a test's capture.
// Freestanding.
#pragma once

#include <cstdarg>

namespace cvtpm::snp {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

class Log {
 public:
  virtual void vwrite(LogLevel level, const char* format, std::va_list args) = 0;

  void __attribute__((format(printf, 3, 4))) write(LogLevel level, const char* format, ...) {
    std::va_list args;
    va_start(args, format);
    vwrite(level, format, args);
    va_end(args);
  }

 protected:
  ~Log() = default;
};

// A log that drops everything.
class NullLog final : public Log {
 public:
  void vwrite(LogLevel, const char*, std::va_list) override {}
};

}  // namespace cvtpm::snp
