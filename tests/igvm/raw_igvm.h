// Builds IGVM files byte by byte, independently of the project's writer (own offsets, padding
// and bitwise CRC-32), so reader and measurement tests do not trust the code they test.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace cvtpm::testing {

using Bytes = std::vector<std::uint8_t>;

// Little-endian appends.
void put_le(Bytes& b, std::uint64_t v, int size);
void set_le(Bytes& b, std::size_t at, std::uint64_t v, int size);
std::uint64_t get_le(const Bytes& b, std::size_t at, int size);

// The reference CRC-32 (bit by bit, reflected 0xEDB88320).
std::uint32_t bitwise_crc32(const std::uint8_t* data, std::size_t size);

// A page of recognisable bytes.
Bytes pattern_page(std::uint8_t seed);

class RawIgvm {
 public:
  explicit RawIgvm(std::uint32_t version = 1, std::uint32_t architecture = 0)
      : version_(version), architecture_(architecture) {}

  // Platform (type codes as in the IGVM definitions: 0 native, 2 SEV-SNP, ...).
  RawIgvm& platform(std::uint32_t mask, std::uint8_t type, std::uint8_t highest_vtl = 0);
  RawIgvm& guest_policy(std::uint64_t policy, std::uint32_t mask);
  // data: nullopt = file offset 0.
  RawIgvm& page(std::uint64_t gpa, std::uint32_t mask, std::uint32_t flags, std::uint16_t type,
                std::optional<Bytes> data);
  RawIgvm& area(std::uint64_t size, std::uint32_t index, std::optional<Bytes> data = {});
  RawIgvm& usage(std::uint32_t type, std::uint32_t index, std::uint32_t byte_offset);
  RawIgvm& insert(std::uint64_t gpa, std::uint32_t mask, std::uint32_t index);
  RawIgvm& vp_context(std::uint64_t gpa, std::uint32_t mask, std::uint16_t vp, const Bytes& data);
  RawIgvm& required_memory(std::uint64_t gpa, std::uint32_t mask, std::uint32_t size);
  RawIgvm& id_block(std::uint32_t mask, const Bytes& ld48);
  // Any header; `data_field` is the offset of a u32 file_offset in `body` to point at `data`.
  RawIgvm& header(std::uint32_t type, Bytes body, std::optional<Bytes> data = {},
                  std::size_t data_field = 0, std::uint32_t length_override = UINT32_MAX);

  Bytes build() const;
  std::size_t fixed_header_size() const { return version_ == 1 ? 24 : 32; }
  // Offset of header `index` in the built file.
  std::size_t header_offset(std::size_t index) const;
  std::size_t header_count() const { return headers_.size(); }

 private:
  struct Header {
    std::uint32_t type;
    std::uint32_t length;
    Bytes body;
    std::optional<Bytes> data;
    std::size_t data_field;
  };
  std::uint32_t version_;
  std::uint32_t architecture_;
  std::vector<Header> headers_;
};

// Re-computes the checksum of a (modified) file whose headers still lie inside it.
void fix_crc(Bytes& file);

}  // namespace cvtpm::testing
