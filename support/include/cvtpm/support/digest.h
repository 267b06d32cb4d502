// SHA-2 digests through OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

namespace cvtpm {

using Sha256Digest = std::array<std::uint8_t, 32>;
using Sha384Digest = std::array<std::uint8_t, 48>;
using Sha512Digest = std::array<std::uint8_t, 64>;

Sha256Digest sha256(std::span<const std::uint8_t> data);
Sha384Digest sha384(std::span<const std::uint8_t> data);
Sha512Digest sha512(std::span<const std::uint8_t> data);

// Incremental hashing; one context is reused across digests (the PAGE_INFO chain computes one
// SHA-384 per guest page, so per-digest setup cost matters).
class Sha384 {
 public:
  Sha384();
  ~Sha384();
  Sha384(const Sha384&) = delete;
  Sha384& operator=(const Sha384&) = delete;

  Sha384Digest digest(std::span<const std::uint8_t> data);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const std::uint8_t> data);
  Sha256Digest finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cvtpm
