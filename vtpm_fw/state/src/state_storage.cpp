#include "cvtpm/state/state_storage.h"

#include <openssl/rand.h>

namespace cvtpm::state {

const char* describe(StorageError error) {
  switch (error) {
    case StorageError::kUnreachable:
      return "the host's storage did not answer";
    case StorageError::kProtocol:
      return "the host's storage answered out of protocol";
    case StorageError::kBadRequest:
      return "the host's storage refused the request as malformed";
    case StorageError::kConflict:
      return "the host's storage no longer holds the generation this boot wrote last "
             "(rolled back, replaced, or written by another VM)";
    case StorageError::kIoError:
      return "the host's storage failed to read or write";
    case StorageError::kDigestMismatch:
      return "the host's storage received another blob than the one sent";
    case StorageError::kTooLarge:
      return "the state is larger than the host's storage or the format accepts";
  }
  return "unknown storage error";
}

bool OpenSslRandom::fill(std::span<std::uint8_t> out) {
  return out.size() <= 0x7FFF'FFFF && RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

}  // namespace cvtpm::state
