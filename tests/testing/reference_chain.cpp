#include "reference_chain.h"

#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

namespace cvtpm::testing {

std::array<std::uint8_t, 48> reference_sha384(std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, 48> out{};
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha384(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest");
  }
  return out;
}

std::array<std::uint8_t, 32> reference_sha256(std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, 32> out{};
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest");
  }
  return out;
}

void ReferenceChain::page(std::uint64_t gpa, Type type, std::span<const std::uint8_t> contents) {
  std::uint8_t info[0x70] = {};
  std::memcpy(info, ld_.data(), 48);
  if (type == kNormal || type == kVmsa) {
    auto h = reference_sha384(contents);
    std::memcpy(info + 0x30, h.data(), 48);
  }
  info[0x60] = 0x70;
  info[0x62] = type;
  for (int i = 0; i < 8; ++i) info[0x68 + i] = static_cast<std::uint8_t>(gpa >> (8 * i));
  ld_ = reference_sha384(info);
}

void ReferenceChain::pages(std::uint64_t gpa, std::uint64_t size, Type type) {
  for (std::uint64_t off = 0; off < size; off += 4096) page(gpa + off, type);
}

void ReferenceChain::normal(std::uint64_t gpa, std::span<const std::uint8_t> data) {
  for (std::size_t off = 0; off < data.size(); off += 4096)
    page(gpa + off, kNormal, data.subspan(off, 4096));
}

}  // namespace cvtpm::testing
