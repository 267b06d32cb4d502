#include "raw_igvm.h"

namespace cvtpm::testing {

void put_le(Bytes& b, std::uint64_t v, int size) {
  for (int i = 0; i < size; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

void set_le(Bytes& b, std::size_t at, std::uint64_t v, int size) {
  for (int i = 0; i < size; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t get_le(const Bytes& b, std::size_t at, int size) {
  std::uint64_t v = 0;
  for (int i = 0; i < size; ++i) v |= std::uint64_t{b[at + i]} << (8 * i);
  return v;
}

std::uint32_t bitwise_crc32(const std::uint8_t* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFF;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320 & (0u - (crc & 1)));
  }
  return ~crc;
}

Bytes pattern_page(std::uint8_t seed) {
  Bytes page(4096);
  for (std::size_t i = 0; i < page.size(); ++i) page[i] = static_cast<std::uint8_t>(i * 13 + seed);
  return page;
}

RawIgvm& RawIgvm::platform(std::uint32_t mask, std::uint8_t type, std::uint8_t highest_vtl) {
  Bytes b;
  put_le(b, mask, 4);
  b.push_back(highest_vtl);
  b.push_back(type);
  put_le(b, 1, 2);  // platform version
  put_le(b, 0, 8);  // shared GPA boundary
  return header(0x001, b);
}

RawIgvm& RawIgvm::guest_policy(std::uint64_t policy, std::uint32_t mask) {
  Bytes b;
  put_le(b, policy, 8);
  put_le(b, mask, 4);
  put_le(b, 0, 4);
  return header(0x101, b);
}

RawIgvm& RawIgvm::page(std::uint64_t gpa, std::uint32_t mask, std::uint32_t flags,
                       std::uint16_t type, std::optional<Bytes> data) {
  Bytes b;
  put_le(b, gpa, 8);
  put_le(b, mask, 4);
  put_le(b, 0, 4);  // file offset, patched by build()
  put_le(b, flags, 4);
  put_le(b, type, 2);
  put_le(b, 0, 2);
  return header(0x302, b, std::move(data), 12);
}

RawIgvm& RawIgvm::area(std::uint64_t size, std::uint32_t index, std::optional<Bytes> data) {
  Bytes b;
  put_le(b, size, 8);
  put_le(b, index, 4);
  put_le(b, 0, 4);
  return header(0x301, b, std::move(data), 12);
}

RawIgvm& RawIgvm::usage(std::uint32_t type, std::uint32_t index, std::uint32_t byte_offset) {
  Bytes b;
  put_le(b, index, 4);
  put_le(b, byte_offset, 4);
  return header(type, b);
}

RawIgvm& RawIgvm::insert(std::uint64_t gpa, std::uint32_t mask, std::uint32_t index) {
  Bytes b;
  put_le(b, gpa, 8);
  put_le(b, mask, 4);
  put_le(b, index, 4);
  return header(0x303, b);
}

RawIgvm& RawIgvm::vp_context(std::uint64_t gpa, std::uint32_t mask, std::uint16_t vp,
                             const Bytes& data) {
  Bytes b;
  put_le(b, gpa, 8);
  put_le(b, mask, 4);
  put_le(b, 0, 4);
  put_le(b, vp, 2);
  put_le(b, 0, 2);
  return header(0x304, b, data, 12);
}

RawIgvm& RawIgvm::required_memory(std::uint64_t gpa, std::uint32_t mask, std::uint32_t size) {
  Bytes b;
  put_le(b, gpa, 8);
  put_le(b, mask, 4);
  put_le(b, size, 4);
  put_le(b, 0, 4);
  put_le(b, 0, 4);
  return header(0x305, b);
}

RawIgvm& RawIgvm::id_block(std::uint32_t mask, const Bytes& ld48) {
  Bytes b(0x2B8, 0);
  set_le(b, 0, mask, 4);
  std::copy(ld48.begin(), ld48.end(), b.begin() + 8);
  set_le(b, 0x58, 1, 4);  // version
  return header(0x30B, b);
}

RawIgvm& RawIgvm::header(std::uint32_t type, Bytes body, std::optional<Bytes> data,
                         std::size_t data_field, std::uint32_t length_override) {
  const auto length =
      length_override == UINT32_MAX ? static_cast<std::uint32_t>(body.size()) : length_override;
  headers_.push_back(Header{type, length, std::move(body), std::move(data), data_field});
  return *this;
}

std::size_t RawIgvm::header_offset(std::size_t index) const {
  std::size_t at = fixed_header_size();
  for (std::size_t i = 0; i < index; ++i) at += (8 + headers_[i].body.size() + 7) / 8 * 8;
  return at;
}

Bytes RawIgvm::build() const {
  const std::size_t vh_begin = fixed_header_size();
  const std::size_t vh_end = header_offset(headers_.size());
  Bytes vh;
  Bytes data;
  for (const Header& h : headers_) {
    Bytes body = h.body;
    if (h.data) {
      set_le(body, h.data_field, vh_end + data.size(), 4);
      data.insert(data.end(), h.data->begin(), h.data->end());
    }
    put_le(vh, h.type, 4);
    put_le(vh, h.length, 4);
    vh.insert(vh.end(), body.begin(), body.end());
    while (vh.size() % 8) vh.push_back(0);
  }
  if (data.empty()) data.resize(8);  // the reference parser needs a non-empty data section
  Bytes file;
  put_le(file, 0x4D564749, 4);
  put_le(file, version_, 4);
  put_le(file, vh_begin, 4);
  put_le(file, vh.size(), 4);
  put_le(file, vh_begin + vh.size() + data.size(), 4);
  put_le(file, 0, 4);
  if (version_ != 1) {
    put_le(file, architecture_, 4);
    put_le(file, 4096, 4);
  }
  file.insert(file.end(), vh.begin(), vh.end());
  file.insert(file.end(), data.begin(), data.end());
  fix_crc(file);
  return file;
}

void fix_crc(Bytes& file) {
  const std::uint32_t version = static_cast<std::uint32_t>(get_le(file, 4, 4));
  const std::size_t fixed = version == 1 ? 24 : 32;
  const std::size_t vh_offset = get_le(file, 8, 4);
  const std::size_t vh_size = get_le(file, 12, 4);
  if (file.size() < fixed || vh_offset > file.size() || vh_size > file.size() - vh_offset) {
    return;  // a header broken on purpose: leave the checksum alone
  }
  Bytes covered(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(fixed));
  set_le(covered, 20, 0, 4);
  covered.insert(covered.end(), file.begin() + static_cast<std::ptrdiff_t>(vh_offset),
                 file.begin() + static_cast<std::ptrdiff_t>(vh_offset + vh_size));
  set_le(file, 20, bitwise_crc32(covered.data(), covered.size()), 4);
}

}  // namespace cvtpm::testing
