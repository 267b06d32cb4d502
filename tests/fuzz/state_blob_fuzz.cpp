// The sealed vTPM state blob (vtpm_fw/state): the bytes a host hands back at boot. Input: a mode
// byte, then
//   0: a blob, opened with a fixed key (measurement binding) and inspected; whatever opens must
//      also inspect with the same generation, and its plaintext goes through decode_payload;
//   1: u16 position, then a plaintext: sealed, opened back (must equal), then the byte at the
//      position changed: must be refused, with the plaintext buffer wiped;
//   2: a payload for decode_payload.
// Seeds: tests/fuzz/corpus/state_blob, written by make_state_seeds.py (an independent Python
// implementation of docs/persistence.md's format).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cvtpm/state/state_blob.h"
#include "cvtpm/state/state_payload.h"

namespace {

using namespace cvtpm::state;
namespace fs = cvtpm::formats::state;

void check(bool condition) {
  if (!condition) std::abort();
}

const StateKeys& fuzz_keys() {
  static StateKeys keys;
  static bool ready = [] {
    std::uint8_t root[kRootKeySize];
    for (std::size_t i = 0; i < sizeof root; ++i) root[i] = static_cast<std::uint8_t>(i);
    return derive_state_keys(root, Binding::kMeasurement, keys);
  }();
  check(ready);
  return keys;
}

bool all_zero(const std::vector<std::uint8_t>& b) {
  for (std::uint8_t x : b) {
    if (x != 0) return false;
  }
  return true;
}

void open_given(std::span<const std::uint8_t> blob) {
  static std::vector<std::uint8_t> plaintext(fs::kMaxCiphertextSize);
  const auto opened = open_blob(fuzz_keys(), blob, {}, plaintext);
  const auto info = inspect_blob(blob);
  if (!opened) {
    // Only shape refusals come before the key: inspect must agree on those.
    if (info) {
      check(opened.error() != BlobRefusal::kTruncated && opened.error() != BlobRefusal::kBadMagic);
    }
    return;
  }
  check(info.ok() && info.value().generation == opened.value().info.generation);
  (void)decode_payload(std::span(plaintext).first(opened.value().plaintext_size));
}

void round_trip(std::span<const std::uint8_t> input) {
  if (input.size() < 2) return;
  const std::size_t position = input[0] | input[1] << 8;
  const std::span<const std::uint8_t> plaintext = input.subspan(2);
  std::vector<std::uint8_t> blob(sealed_size(plaintext.size()));
  std::uint8_t salt[fs::kSaltSize] = {};
  salt[0] = static_cast<std::uint8_t>(plaintext.size());
  const auto sealed = seal_blob(fuzz_keys(), 1 + plaintext.size(), plaintext, salt, blob);
  check(sealed.ok());
  std::vector<std::uint8_t> opened(plaintext.size());
  const auto back = open_blob(fuzz_keys(), blob, {}, opened);
  check(back.ok() && back.value().plaintext_size == plaintext.size());
  check(plaintext.empty() || std::memcmp(opened.data(), plaintext.data(), plaintext.size()) == 0);
  blob[position % blob.size()] ^= 0x80;
  std::vector<std::uint8_t> refused(plaintext.size() + 1, 0xEE);
  check(!open_blob(fuzz_keys(), blob, {}, refused).ok());
  check(all_zero(refused));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      open_given(rest);
      break;
    case 1:
      round_trip(rest);
      break;
    default:
      (void)decode_payload(rest);
      break;
  }
  return 0;
}
