// A deliberately naive second implementation of the SNP PAGE_INFO chain (raw byte offsets,
// OpenSSL one-shot digests) that tests compare the project's measurement code against.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace cvtpm::testing {

class ReferenceChain {
 public:
  enum Type : std::uint8_t {
    kNormal = 1,
    kVmsa = 2,
    kZero = 3,
    kUnmeasured = 4,
    kSecrets = 5,
    kCpuid = 6
  };

  explicit ReferenceChain(std::array<std::uint8_t, 48> seed = {}) : ld_(seed) {}
  void page(std::uint64_t gpa, Type type, std::span<const std::uint8_t> contents = {});
  void pages(std::uint64_t gpa, std::uint64_t size, Type type);  // data-less pages
  void normal(std::uint64_t gpa, std::span<const std::uint8_t> data);
  const std::array<std::uint8_t, 48>& digest() const { return ld_; }

 private:
  std::array<std::uint8_t, 48> ld_;
};

std::array<std::uint8_t, 48> reference_sha384(std::span<const std::uint8_t> data);
std::array<std::uint8_t, 32> reference_sha256(std::span<const std::uint8_t> data);

}  // namespace cvtpm::testing
