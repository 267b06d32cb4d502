// Randomness for the libraries, all from the CPU's RDSEED/RDRAND (arch/x86_64/entropy):
//  - syscall(SYS_getrandom) and getentropy(): OpenSSL's seed source (Debian builds OpenSSL with
//    the "os" seed source, which tries getentropy then the getrandom system call);
//  - rand(): libtpms's fallback when RAND_bytes fails. glibc's rand() is a seeded PRNG; here it
//    returns hardware random bits and srand() has no effect, since libtpms uses it for entropy.
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <cstdarg>
#include <cstdlib>

#include "arch/x86_64/entropy.h"
#include "libc/shim.h"
#include "panic/panic.h"

namespace entropy = cvtpm::fw::x86::entropy;

extern "C" {

int getentropy(void* buffer, size_t length) {
  if (length > 256) {  // the interface's limit
    cvtpm::fw::libc::errno_ref() = EIO;
    return -1;
  }
  entropy::fill(buffer, length);
  return 0;
}

long syscall(long number, ...) {
  if (number != SYS_getrandom)
    cvtpm::fw::panic("syscall(%ld) called: the firmware has no kernel", number);
  va_list args;
  va_start(args, number);
  void* buffer = va_arg(args, void*);
  const size_t length = va_arg(args, size_t);
  va_end(args);
  entropy::fill(buffer, length);
  return static_cast<long>(length);
}

int rand() {
  return static_cast<int>(entropy::random_u64() & RAND_MAX);
}

void srand(unsigned) {}

}  // extern "C"
