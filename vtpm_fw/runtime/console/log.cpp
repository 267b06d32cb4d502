#include "console/log.h"

#include "libc/shim.h"

namespace cvtpm::fw::log {

namespace {

console::Uart16550* g_console = nullptr;
Level g_level = Level::kInfo;
std::uint64_t (*g_uptime_ns)() = nullptr;

constexpr char kLetters[] = {'E', 'W', 'I', 'D'};

}  // namespace

void set_console(console::Uart16550* uart) {
  g_console = uart;
}
void set_level(Level level) {
  g_level = level;
}
Level level() {
  return g_level;
}
void set_clock(std::uint64_t (*uptime_ns)()) {
  g_uptime_ns = uptime_ns;
}

void raw(const char* text, std::size_t length) {
  if (g_console != nullptr) g_console->write(text, length);
}

void raw(const char* text) {
  raw(text, libc::strlen(text));
}

void vwrite(Level level, const char* format, std::va_list args) {
  if (static_cast<int>(level) > static_cast<int>(g_level)) return;
  char line[512];
  std::size_t used = 0;
  if (g_uptime_ns != nullptr) {
    const std::uint64_t us = g_uptime_ns() / 1000;
    used = static_cast<std::size_t>(libc::snprintf(line, sizeof line, "[%5lu.%06lu] ",
                                                   static_cast<unsigned long>(us / 1'000'000),
                                                   static_cast<unsigned long>(us % 1'000'000)));
  } else {
    used = static_cast<std::size_t>(libc::snprintf(line, sizeof line, "[     -.------] "));
  }
  line[used++] = kLetters[static_cast<int>(level)];
  line[used++] = ' ';
  // vsnprintf writes at most room - 1 characters; one more byte stays free for the newline.
  const std::size_t room = sizeof line - used - 1;
  auto clamp = [room](int n) {
    return n < 0 ? std::size_t{0}
                 : (static_cast<std::size_t>(n) < room ? static_cast<std::size_t>(n) : room - 1);
  };
  char unsupported = 0;
  const int n = libc::vsnprintf(line + used, room, format, args, &unsupported);
  if (n < 0) {
    used += clamp(libc::snprintf(line + used, room, "(log format \"%s\": unsupported %%%c)", format,
                                 unsupported));
  } else {
    used += clamp(n);
  }
  line[used++] = '\n';
  raw(line, used);
}

void write(Level level, const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  vwrite(level, format, args);
  va_end(args);
}

}  // namespace cvtpm::fw::log
