// Operating-system services Debian's libcrypto.a and libtpms.a reference but the firmware never
// provides: files, sockets, name resolution, terminals, memory mapping, dynamic loading, signals,
// System V shared memory, syslog. The libraries reach them only through features the firmware
// does not use (file BIOs, network BIOs, engines, the secure heap, the config file, libtpms's
// default file-backed NV store). Each stub panics with its name, so a configuration change
// that starts using one fails loudly at its first call instead of misbehaving.
//
// No C library header is included on purpose: the stubs are defined without parameters, which
// is harmless for C linkage since they never return.
#include "panic/panic.h"

#define CVTPM_UNREACHABLE(name)          \
  extern "C" [[noreturn]] void name() {  \
    cvtpm::fw::panic_unreachable(#name); \
  }

// files and directories
CVTPM_UNREACHABLE(open)
CVTPM_UNREACHABLE(close)
CVTPM_UNREACHABLE(read)
CVTPM_UNREACHABLE(write)
CVTPM_UNREACHABLE(lseek)
CVTPM_UNREACHABLE(fstat)
CVTPM_UNREACHABLE(stat)
CVTPM_UNREACHABLE(chmod)
CVTPM_UNREACHABLE(fcntl)
CVTPM_UNREACHABLE(ioctl)
CVTPM_UNREACHABLE(remove)
CVTPM_UNREACHABLE(opendir)
CVTPM_UNREACHABLE(readdir)
CVTPM_UNREACHABLE(closedir)
// stdio on files (stdout/stderr output is in stdio.cpp)
CVTPM_UNREACHABLE(fopen)
CVTPM_UNREACHABLE(fopen64)
CVTPM_UNREACHABLE(fdopen)
CVTPM_UNREACHABLE(fclose)
CVTPM_UNREACHABLE(fread)
CVTPM_UNREACHABLE(fgets)
CVTPM_UNREACHABLE(fseek)
CVTPM_UNREACHABLE(ftell)
CVTPM_UNREACHABLE(feof)
CVTPM_UNREACHABLE(ferror)
CVTPM_UNREACHABLE(clearerr)
CVTPM_UNREACHABLE(fileno)
CVTPM_UNREACHABLE(setbuf)
CVTPM_UNREACHABLE(perror)
CVTPM_UNREACHABLE(__isoc99_sscanf)
// terminals
CVTPM_UNREACHABLE(tcgetattr)
CVTPM_UNREACHABLE(tcsetattr)
// sockets and name resolution
CVTPM_UNREACHABLE(socket)
CVTPM_UNREACHABLE(bind)
CVTPM_UNREACHABLE(listen)
CVTPM_UNREACHABLE(accept)
CVTPM_UNREACHABLE(connect)
CVTPM_UNREACHABLE(shutdown)
CVTPM_UNREACHABLE(getsockname)
CVTPM_UNREACHABLE(getsockopt)
CVTPM_UNREACHABLE(setsockopt)
CVTPM_UNREACHABLE(recvfrom)
CVTPM_UNREACHABLE(recvmsg)
CVTPM_UNREACHABLE(sendto)
CVTPM_UNREACHABLE(sendmsg)
CVTPM_UNREACHABLE(select)
CVTPM_UNREACHABLE(getaddrinfo)
CVTPM_UNREACHABLE(freeaddrinfo)
CVTPM_UNREACHABLE(gai_strerror)
CVTPM_UNREACHABLE(gethostbyname)
CVTPM_UNREACHABLE(getnameinfo)
// memory mapping (libcrypto's secure heap)
CVTPM_UNREACHABLE(mmap)
CVTPM_UNREACHABLE(munmap)
CVTPM_UNREACHABLE(mprotect)
CVTPM_UNREACHABLE(madvise)
CVTPM_UNREACHABLE(mlock)
CVTPM_UNREACHABLE(sysconf)
// dynamic loading (engines, providers from files)
CVTPM_UNREACHABLE(dlopen)
CVTPM_UNREACHABLE(dlclose)
CVTPM_UNREACHABLE(dlsym)
CVTPM_UNREACHABLE(dlerror)
CVTPM_UNREACHABLE(dladdr)
// signals and user contexts
CVTPM_UNREACHABLE(sigaction)
CVTPM_UNREACHABLE(signal)
CVTPM_UNREACHABLE(getcontext)
CVTPM_UNREACHABLE(makecontext)
CVTPM_UNREACHABLE(setcontext)
// System V shared memory, syslog, system identification
CVTPM_UNREACHABLE(shmget)
CVTPM_UNREACHABLE(shmat)
CVTPM_UNREACHABLE(shmdt)
CVTPM_UNREACHABLE(openlog)
CVTPM_UNREACHABLE(closelog)
CVTPM_UNREACHABLE(__syslog_chk)
CVTPM_UNREACHABLE(uname)
