// Process-level C library calls with their honest firmware answers: an empty environment, one
// process, exit handlers that never run (the firmware never exits), and abort, failed asserts
// and smashed stacks as panics.
#include <sys/auxv.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>

#include "libc/shim.h"
#include "panic/panic.h"

using cvtpm::fw::panic;

extern "C" {

void abort() {
  panic("abort() called");
}

int atexit(void (*)()) {
  return 0;
}

pid_t getpid() {
  return 1;
}

char* getenv(const char*) {
  return nullptr;
}
char* secure_getenv(const char*) {
  return nullptr;
}

// No auxiliary vector: every type is "not found" (libcrypto asks for AT_SECURE).
unsigned long getauxval(unsigned long) {
  cvtpm::fw::libc::errno_ref() = ENOENT;
  return 0;
}

void __assert_fail(const char* assertion, const char* file, unsigned int line,
                   const char* function) {
  panic("assertion failed: %s (%s:%u, %s)", assertion, file, line, function);
}

void __stack_chk_fail() {
  panic("stack smashing detected: a stack canary was overwritten");
}

}  // extern "C"
