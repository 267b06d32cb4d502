// The firmware's one way to stop on a fatal error: print the cause, where it happened and a
// backtrace to the console, then stop cleanly through the platform's terminate hook (the native
// platform exits QEMU with the failure status in test mode) or halt.
#pragma once

#include <cstdarg>
#include <cstdint>

namespace cvtpm::fw {

[[noreturn]] void panic(const char* format, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void vpanic(const char* format, std::va_list args);
// For C library functions that must never run in the firmware (files, sockets, signals...).
[[noreturn]] void panic_unreachable(const char* function);

// Called last on the panic path with failed = true (and by the platform for a clean test
// exit). Must not return if it can stop the machine; panic halts if it does.
void set_terminate_hook(void (*hook)(bool failed));
// Stops through the terminate hook without a panic report (the cause is already logged), on any
// platform: an SNP guest is terminated, a native test run exits QEMU.
[[noreturn]] void terminate_firmware(bool failed);

namespace panic_detail {
// Exception path (exceptions.cpp): the header line is already printed. Prints the backtrace
// starting at `rbp` and stops.
[[noreturn]] void finish(std::uint64_t rip, std::uint64_t rbp);
// True once a panic started; a second one only prints a line and stops.
bool begin();
void print(const char* format, ...) __attribute__((format(printf, 1, 2)));
}  // namespace panic_detail

}  // namespace cvtpm::fw
