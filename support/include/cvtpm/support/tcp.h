// Outgoing TCP connections of the host tools: cvtpm-tpm-bridge to QEMU's chardev socket,
// cvtpm-verify to a vTPM's swtpm control port.
#pragma once

#include <cstdint>
#include <string>

#include "cvtpm/support/unique_fd.h"

namespace cvtpm {

// A blocking, close-on-exec connection to `host`:`port` (any address getaddrinfo gives, in its
// order) with TCP_NODELAY set, since both users exchange small request/response messages.
// Returns an empty UniqueFd on failure, with the reason in `*error` if given.
UniqueFd connect_tcp(const std::string& host, std::uint16_t port, std::string* error = nullptr);

}  // namespace cvtpm
