// The firmware log on the console UART: one line per message, prefixed with the uptime and a
// level letter; messages above the configured level are dropped.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>

#include "console/uart16550.h"

namespace cvtpm::fw::log {

enum class Level : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void set_console(console::Uart16550* uart);
void set_level(Level level);
Level level();
// Source of the uptime prefix (nanoseconds); until set, lines carry no time.
void set_clock(std::uint64_t (*uptime_ns)());

void vwrite(Level level, const char* format, std::va_list args);
void write(Level level, const char* format, ...) __attribute__((format(printf, 2, 3)));
// Unfiltered, unformatted console output (panic path).
void raw(const char* text, std::size_t length);
void raw(const char* text);

#define CVTPM_LOG_FN(name, lvl)                                                     \
  inline void __attribute__((format(printf, 1, 2))) name(const char* format, ...) { \
    std::va_list args;                                                              \
    va_start(args, format);                                                         \
    vwrite(lvl, format, args);                                                      \
    va_end(args);                                                                   \
  }
CVTPM_LOG_FN(error, Level::kError)
CVTPM_LOG_FN(warn, Level::kWarn)
CVTPM_LOG_FN(info, Level::kInfo)
CVTPM_LOG_FN(debug, Level::kDebug)
#undef CVTPM_LOG_FN

}  // namespace cvtpm::fw::log
