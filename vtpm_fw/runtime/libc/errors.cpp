// strerror and the XSI strerror_r with glibc's English messages for the errno values the firmware
// and the libraries can produce; any other value reads "Unknown error N" as in glibc.
#include <cerrno>
#include <cstring>

#include "libc/shim.h"

namespace cvtpm::fw::libc {

namespace {

constexpr const char* kMessages[] = {
    "Success",
    "Operation not permitted",
    "No such file or directory",
    "No such process",
    "Interrupted system call",
    "Input/output error",
    "No such device or address",
    "Argument list too long",
    "Exec format error",
    "Bad file descriptor",
    "No child processes",
    "Resource temporarily unavailable",
    "Cannot allocate memory",
    "Permission denied",
    "Bad address",
    "Block device required",
    "Device or resource busy",
    "File exists",
    "Invalid cross-device link",
    "No such device",
    "Not a directory",
    "Is a directory",
    "Invalid argument",
    "Too many open files in system",
    "Too many open files",
    "Inappropriate ioctl for device",
    "Text file busy",
    "File too large",
    "No space left on device",
    "Illegal seek",
    "Read-only file system",
    "Too many links",
    "Broken pipe",
    "Numerical argument out of domain",
    "Numerical result out of range",
    "Resource deadlock avoided",
    "File name too long",
    "No locks available",
    "Function not implemented",
    "Directory not empty",
    "Too many levels of symbolic links",
};
constexpr int kKnown = sizeof kMessages / sizeof kMessages[0];

const char* known_message(int error) {
  if (error >= 0 && error < kKnown) return kMessages[error];
  if (error == EOVERFLOW) return "Value too large for defined data type";
  if (error == ENOTSUP) return "Operation not supported";
  return nullptr;
}

}  // namespace

int strerror_r(int error, char* buffer, std::size_t size) {
  const char* message = known_message(error);
  char unknown[40];
  if (message == nullptr) {
    snprintf(unknown, sizeof unknown, "Unknown error %d", error);
    message = unknown;
  }
  const std::size_t length = strlen(message);
  // As glibc: an unknown number is EINVAL even when the text did not fit; a known one that did
  // not fit is ERANGE.
  const bool known = known_message(error) != nullptr;
  if (size == 0) return known ? ERANGE : EINVAL;
  const std::size_t copied = length < size - 1 ? length : size - 1;
  memcpy(buffer, message, copied);
  buffer[copied] = '\0';
  if (!known) return EINVAL;
  return copied < length ? ERANGE : 0;
}

const char* strerror(int error) {
  static char buffer[64];
  const char* message = known_message(error);
  if (message != nullptr) return message;
  strerror_r(error, buffer, sizeof buffer);
  return buffer;
}

}  // namespace cvtpm::fw::libc

#if defined(CVTPM_FIRMWARE)
extern "C" {
char* strerror(int error) {
  return const_cast<char*>(cvtpm::fw::libc::strerror(error));
}
int __xpg_strerror_r(int error, char* buffer, size_t size) {
  return cvtpm::fw::libc::strerror_r(error, buffer, size);
}
}
#endif
