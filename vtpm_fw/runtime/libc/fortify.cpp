// _FORTIFY_SOURCE entry points the Debian archives call (glibc's checked memcpy/memset/strcat
// and FD_SET index): the operation plus the check, panicking like glibc's __chk_fail.
#include <cstring>

#include "libc/shim.h"
#include "panic/panic.h"

namespace libc = cvtpm::fw::libc;

namespace {
[[noreturn]] void overflow(const char* function, size_t wanted, size_t room) {
  cvtpm::fw::panic("%s: buffer overflow detected (%zu bytes into %zu)", function, wanted, room);
}
}  // namespace

extern "C" {

void* __memcpy_chk(void* dst, const void* src, size_t length, size_t dst_size) {
  if (length > dst_size) overflow("memcpy", length, dst_size);
  return libc::memcpy(dst, src, length);
}

void* __memset_chk(void* dst, int value, size_t length, size_t dst_size) {
  if (length > dst_size) overflow("memset", length, dst_size);
  return libc::memset(dst, value, length);
}

char* __strcat_chk(char* dst, const char* src, size_t dst_size) {
  const size_t used = libc::strlen(dst);
  const size_t added = libc::strlen(src);
  if (used + added + 1 > dst_size) overflow("strcat", used + added + 1, dst_size);
  return libc::strcat(dst, src);
}

long __fdelt_chk(long fd) {
  if (fd < 0 || fd >= 1024) overflow("FD_SET", static_cast<size_t>(fd), 1024);
  return fd / 64;
}

}  // extern "C"
