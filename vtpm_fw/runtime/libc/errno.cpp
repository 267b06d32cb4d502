#include "libc/shim.h"

namespace cvtpm::fw::libc {

int& errno_ref() {
  static int value = 0;
  return value;
}

}  // namespace cvtpm::fw::libc

#if defined(CVTPM_FIRMWARE)
extern "C" int* __errno_location() {
  return &cvtpm::fw::libc::errno_ref();
}
#endif
