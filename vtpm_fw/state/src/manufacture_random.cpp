#include "cvtpm/state/manufacture_random.h"

// RAND_METHOD is deprecated in OpenSSL 3.0 but still honoured by RAND_bytes (rand_lib.c); it is
// the only way to hand libtpms a derived stream.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/rand.h>

#include <cstring>

#include "cvtpm/crypto/hkdf.h"

namespace cvtpm::state {
namespace {

// OpenSSL's RAND_METHOD callbacks carry no user pointer: one stream for the process.
struct Stream {
  bool in_use = false;
  bool failed = false;
  std::uint8_t key[kKeySize] = {};
  std::uint64_t counter = 0;  // next block index
  std::uint8_t block[crypto::kSha256Size] = {};
  std::size_t block_used = crypto::kSha256Size;  // nothing buffered yet
  std::uint64_t drawn = 0;
};
Stream g_stream;

constexpr char kLabel[] = "cvtpm manufacture";

bool next_block() {
  std::uint8_t index[8];
  for (int i = 0; i < 8; ++i)
    index[i] = static_cast<std::uint8_t>(g_stream.counter >> (56 - 8 * i));
  const std::span<const std::uint8_t> message[] = {
      {reinterpret_cast<const std::uint8_t*>(kLabel), sizeof kLabel - 1}, index};
  if (!crypto::hmac_sha256(g_stream.key, message, g_stream.block)) return false;
  ++g_stream.counter;
  g_stream.block_used = 0;
  return true;
}

int stream_bytes(unsigned char* out, int count) {
  if (count < 0 || g_stream.failed) return 0;
  for (int done = 0; done < count;) {
    if (g_stream.block_used == sizeof g_stream.block && !next_block()) {
      g_stream.failed = true;
      return 0;
    }
    const std::size_t available = sizeof g_stream.block - g_stream.block_used;
    const std::size_t want = static_cast<std::size_t>(count - done);
    const std::size_t take = want < available ? want : available;
    std::memcpy(out + done, g_stream.block + g_stream.block_used, take);
    g_stream.block_used += take;
    done += static_cast<int>(take);
  }
  g_stream.drawn += static_cast<std::uint64_t>(count);
  return 1;
}

int stream_status() {
  return g_stream.failed ? 0 : 1;
}

// seed/add would mix outside input into the stream: ignored, so the output stays a function of
// the key alone.
int ignore_seed(const void*, int) {
  return 1;
}
int ignore_add(const void*, int, double) {
  return 1;
}

const RAND_METHOD kMethod = {ignore_seed, stream_bytes, nullptr,
                             ignore_add,  stream_bytes, stream_status};

}  // namespace

ManufactureRandom::ManufactureRandom(std::span<const std::uint8_t, kKeySize> seed_key) {
  if (g_stream.in_use) return;
  g_stream = Stream{};
  g_stream.in_use = true;
  std::memcpy(g_stream.key, seed_key.data(), kKeySize);
  if (RAND_set_rand_method(&kMethod) != 1) {
    crypto::wipe(g_stream.key, sizeof g_stream.key);
    g_stream.in_use = false;
    return;
  }
  active_ = true;
}

ManufactureRandom::~ManufactureRandom() {
  if (!active_) return;
  (void)RAND_set_rand_method(RAND_OpenSSL());
  crypto::wipe(g_stream.key, sizeof g_stream.key);
  crypto::wipe(g_stream.block, sizeof g_stream.block);
  g_stream.in_use = false;
}

std::uint64_t ManufactureRandom::bytes_drawn() const {
  return g_stream.drawn;
}

bool ManufactureRandom::failed() const {
  return g_stream.failed;
}

}  // namespace cvtpm::state
