#include "cvtpm/support/tcp.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace cvtpm {

UniqueFd connect_tcp(const std::string& host, std::uint16_t port, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
      rc != 0) {
    if (error) *error = ::gai_strerror(rc);
    return UniqueFd();
  }
  UniqueFd result;
  int last_errno = 0;
  for (addrinfo* a = list; a != nullptr && !result; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd && ::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
      result = std::move(fd);
    } else {
      last_errno = errno;
    }
  }
  ::freeaddrinfo(list);
  if (!result) {
    if (error) *error = std::strerror(last_errno);
    return result;
  }
  const int one = 1;
  ::setsockopt(result.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return result;
}

}  // namespace cvtpm
