#include "panic/panic.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/stacks.h"
#include "console/log.h"
#include "libc/shim.h"

extern "C" char __text_start[], __text_end[];

namespace cvtpm::fw {

namespace {

void (*g_terminate)(bool) = nullptr;
int g_depth = 0;

[[noreturn]] void stop() {
  if (g_terminate != nullptr) g_terminate(true);
  x86::halt_forever();
}

bool in_text(std::uint64_t address) {
  return address >= reinterpret_cast<std::uint64_t>(__text_start) &&
         address < reinterpret_cast<std::uint64_t>(__text_end);
}

void print_backtrace(std::uint64_t rip, std::uint64_t rbp) {
  panic_detail::print(
      "backtrace (resolve with: addr2line -f -C -e cvtpm-fw.elf ADDRESS...; "
      "#1 and up are call sites):\n");
  panic_detail::print("  #0  0x%016lx\n", static_cast<unsigned long>(rip));
  // Walks the RBP chain of frame-pointer code; each frame must lie on a known stack, above the
  // last one, so a library frame without a frame pointer ends the walk instead of faulting.
  // Runs of the same call site (deep recursion) print once with a count.
  std::uint64_t last = 0;
  int repeats = 0;
  auto flush_repeats = [&] {
    if (repeats > 0) panic_detail::print("  ... %d more frames at the same call site\n", repeats);
    repeats = 0;
  };
  for (int depth = 1; depth < 64 && rbp != 0; ++depth) {
    const x86::Stack* stack = x86::stack_containing(rbp);
    if (rbp % 8 != 0 || stack == nullptr || rbp + 16 > stack->top) {
      flush_repeats();
      panic_detail::print("  (frame pointer 0x%lx is not on a firmware stack: end of walk)\n",
                          static_cast<unsigned long>(rbp));
      return;
    }
    const auto* frame = reinterpret_cast<const std::uint64_t*>(rbp);
    const std::uint64_t return_address = frame[1];
    if (!in_text(return_address)) break;
    // The call instruction ends just before the return address (which may already belong to
    // the next function when the call was the last instruction of a noreturn function).
    if (return_address - 1 == last) {
      ++repeats;
    } else {
      flush_repeats();
      panic_detail::print("  #%-2d 0x%016lx\n", depth,
                          static_cast<unsigned long>(return_address - 1));
      last = return_address - 1;
    }
    if (frame[0] <= rbp) break;
    rbp = frame[0];
  }
  flush_repeats();
}

}  // namespace

void terminate_firmware(bool failed) {
  if (g_terminate != nullptr) g_terminate(failed);
  x86::halt_forever();
}

void set_terminate_hook(void (*hook)(bool failed)) {
  g_terminate = hook;
}

namespace panic_detail {

bool begin() {
  asm volatile("cli");
  if (++g_depth > 1) {
    if (g_depth == 2) log::raw("\nPANIC while panicking: stopping\n");
    stop();
  }
  return true;
}

void print(const char* format, ...) {
  char line[256];
  std::va_list args;
  va_start(args, format);
  char unsupported = 0;
  const int n = libc::vsnprintf(line, sizeof line, format, args, &unsupported);
  va_end(args);
  if (n < 0) {
    log::raw(format);
    return;
  }
  log::raw(line);
}

[[noreturn]] void finish(std::uint64_t rip, std::uint64_t rbp) {
  print_backtrace(rip, rbp);
  log::raw("firmware stopped\n");
  stop();
}

}  // namespace panic_detail

namespace {

[[noreturn]] void panic_at(std::uint64_t caller, std::uint64_t caller_rbp, const char* format,
                           std::va_list args) {
  panic_detail::begin();
  char message[256];
  char unsupported = 0;
  if (libc::vsnprintf(message, sizeof message, format, args, &unsupported) < 0) {
    libc::snprintf(message, sizeof message, "%s", format);
  }
  panic_detail::print("\nPANIC: %s\n", message);
  panic_detail::print("  at RIP 0x%016lx\n", static_cast<unsigned long>(caller));
  panic_detail::finish(caller, caller_rbp);
}

}  // namespace

// Both entry points report where they were called: the last byte of the call instruction
// (return address - 1, which symbolizes to the caller even when the call ends a noreturn
// function), and the caller's frame (the saved RBP in this function's frame) to continue the
// backtrace from.
void vpanic(const char* format, std::va_list args) {
  const auto* frame = static_cast<const std::uint64_t*>(__builtin_frame_address(0));
  panic_at(reinterpret_cast<std::uint64_t>(__builtin_return_address(0)) - 1, frame[0], format,
           args);
}

void panic(const char* format, ...) {
  const auto* frame = static_cast<const std::uint64_t*>(__builtin_frame_address(0));
  std::va_list args;
  va_start(args, format);
  panic_at(reinterpret_cast<std::uint64_t>(__builtin_return_address(0)) - 1, frame[0], format,
           args);
}

void panic_unreachable(const char* function) {
  panic("libc: %s() called, but the firmware has no %s (operating-system service)", function,
        function);
}

}  // namespace cvtpm::fw
