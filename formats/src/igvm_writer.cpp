// Writes the canonical bytes of an IGVM model (igvm_file.h, docs/igvm.md "Canonical form").
#include <cstring>
#include <string_view>
#include <unordered_map>

#include "cvtpm/formats/igvm/crc32.h"
#include "cvtpm/formats/igvm/igvm_file.h"
#include "igvm_errors.h"

namespace cvtpm::formats::igvm {
namespace {

using detail::hex;

// A file that would otherwise end right after its headers gets this many zero bytes of file data:
// the reference parser refuses an empty data section.
constexpr std::size_t kMinimumDataSection = 8;

class Writer {
 public:
  Writer(const IgvmFile& file, const std::string& name) : file_(file), name_(name) {}

  IgvmPieces write() {
    validate_igvm(file_, name_);
    header_size_ =
        file_.format_version == kFormatVersion1 ? sizeof(FixedHeaderV1) : sizeof(FixedHeaderV2);

    // Pass 1: the variable headers' size, so file offsets are known before headers are encoded.
    std::size_t vh_size = 0;
    for (std::size_t i = 0; i < file_.platforms.size(); ++i) {
      vh_size += record_size(sizeof(SupportedPlatform));
    }
    for (const InitHeader& h : file_.initialization)
      vh_size += record_size(header_body_size(static_cast<std::uint32_t>(header_type(h))));
    for (const Directive& d : file_.directives)
      vh_size += record_size(header_body_size(static_cast<std::uint32_t>(header_type(d))));
    data_begin_ = header_size_ + vh_size;
    data_end_ = data_begin_;
    if (data_begin_ > UINT32_MAX) {
      throw InputError(name_, "headers need " + std::to_string(data_begin_) +
                                  " bytes, more than an IGVM file can hold (4 GiB)");
    }

    IgvmPieces out;
    out.headers.resize(header_size_);
    out.headers.reserve(data_begin_);
    headers_ = &out.headers;
    for (const SupportedPlatform& p : file_.platforms) emit(HeaderType::kSupportedPlatform, p);
    for (const InitHeader& h : file_.initialization) write_init(h);
    for (const Directive& d : file_.directives) write_directive(d);
    if (data_end_ == data_begin_) {
      static constexpr std::uint8_t kZeros[kMinimumDataSection] = {};
      blobs_.push_back(kZeros);
      data_end_ += kMinimumDataSection;
    }

    FixedHeaderV2 fixed{};
    fixed.v1.magic = kMagic;
    fixed.v1.format_version = file_.format_version;
    fixed.v1.variable_header_offset = static_cast<std::uint32_t>(header_size_);
    fixed.v1.variable_header_size = static_cast<std::uint32_t>(vh_size);
    fixed.v1.total_file_size = static_cast<std::uint32_t>(data_end_);
    fixed.architecture = static_cast<std::uint32_t>(file_.architecture);
    fixed.page_size = static_cast<std::uint32_t>(kPageSize);
    fixed.v1.checksum = Crc32()
                            .update(reinterpret_cast<const std::uint8_t*>(&fixed), header_size_)
                            .update(out.headers.data() + header_size_, vh_size)
                            .value();
    std::memcpy(out.headers.data(), &fixed, header_size_);
    out.data = std::move(blobs_);
    return out;
  }

 private:
  static std::size_t record_size(std::size_t body) {
    return (sizeof(VariableHeader) + body + kVariableHeaderAlignment - 1) &
           ~(kVariableHeaderAlignment - 1);
  }

  void emit_raw(HeaderType type, const void* body, std::size_t size) {
    const VariableHeader vh{static_cast<std::uint32_t>(type), static_cast<std::uint32_t>(size)};
    std::vector<std::uint8_t>& h = *headers_;
    const auto* v = reinterpret_cast<const std::uint8_t*>(&vh);
    h.insert(h.end(), v, v + sizeof vh);
    const auto* b = static_cast<const std::uint8_t*>(body);
    h.insert(h.end(), b, b + size);
    h.resize(h.size() + (record_size(size) - sizeof vh - size), 0);
  }

  template <typename T>
  void emit(HeaderType type, const T& body) {
    emit_raw(type, &body, sizeof body);
  }

  // A fast hash of the whole contents, eight bytes at a time; equal keys are then compared in
  // full, so the hash only has to spread distinct blobs.
  struct ContentHash {
    std::size_t operator()(std::string_view s) const {
      // Four independent lanes over 32-byte blocks keep the multiplier busy.
      std::uint64_t h[4] = {0x9E3779B97F4A7C15ULL ^ s.size(), 0xC2B2AE3D27D4EB4FULL,
                            0x165667B19E3779F9ULL, 0x27D4EB2F165667C5ULL};
      std::size_t i = 0;
      for (; i + 32 <= s.size(); i += 32) {
        for (int lane = 0; lane < 4; ++lane) {
          std::uint64_t w;
          std::memcpy(&w, s.data() + i + 8 * lane, 8);
          h[lane] = (h[lane] ^ w) * 0xFF51AFD7ED558CCDULL;
          h[lane] ^= h[lane] >> 32;
        }
      }
      std::uint64_t r = h[0] ^ (h[1] * 3) ^ (h[2] * 5) ^ (h[3] * 7);
      for (; i < s.size(); ++i) r = (r ^ static_cast<std::uint8_t>(s[i])) * 0x100000001B3ULL;
      return static_cast<std::size_t>(r ^ (r >> 29));
    }
  };

  // The file offset of `bytes` in the data section, storing identical contents only once.
  std::uint32_t place(std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return 0;
    const std::string_view key(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    auto [it, inserted] = placed_.try_emplace(key, data_end_);
    if (inserted) {
      blobs_.push_back(bytes);
      data_end_ += bytes.size();
      if (data_end_ > UINT32_MAX) {
        throw InputError(name_, "file data exceeds 4 GiB, more than an IGVM file can address");
      }
    }
    return static_cast<std::uint32_t>(it->second);
  }

  void write_init(const InitHeader& h) {
    const HeaderType type = header_type(h);
    if (const auto* p = std::get_if<GuestPolicy>(&h)) {
      emit(type, *p);
    } else if (const auto* region = std::get_if<RelocatableRegion>(&h)) {
      emit(type, *region);
    } else if (const auto* pt = std::get_if<PageTableRelocation>(&h)) {
      emit(type, *pt);
    } else if (const auto* d = std::get_if<CorimDocument>(&h)) {
      emit(type, CorimData{d->compatibility_mask, place(d->data.span()),
                           static_cast<std::uint32_t>(d->data.size()), 0});
    } else if (const auto* s = std::get_if<CorimSignature>(&h)) {
      emit(type, CorimData{s->compatibility_mask, place(s->data.span()),
                           static_cast<std::uint32_t>(s->data.size()), 0});
    } else if (const auto* c = std::get_if<CcaPolicy>(&h)) {
      emit_raw(type, c->bytes.data(), c->bytes.size());
    }
  }

  void write_directive(const Directive& d) {
    const HeaderType type = header_type(d);
    if (const auto* p = std::get_if<PageDirective>(&d)) {
      PageData wire{};
      wire.gpa = p->gpa;
      wire.compatibility_mask = p->compatibility_mask;
      wire.file_offset = place(p->data.span());
      wire.flags = p->flags;
      wire.data_type = static_cast<std::uint16_t>(p->data_type);
      emit(type, wire);
    } else if (const auto* a = std::get_if<ParameterAreaDirective>(&d)) {
      emit(type, ParameterArea{a->number_of_bytes, a->parameter_area_index,
                               place(a->initial_data.span())});
    } else if (const auto* ins = std::get_if<ParameterInsert>(&d)) {
      emit(type, *ins);
    } else if (const auto* u = std::get_if<ParameterUsage>(&d)) {
      emit(type, u->parameter);
    } else if (const auto* vp = std::get_if<VpContextDirective>(&d)) {
      VpContext wire{};
      wire.gpa = vp->gpa;
      wire.compatibility_mask = vp->compatibility_mask;
      wire.file_offset = place(vp->data.span());
      wire.vp_index = vp->vp_index;
      emit(type, wire);
    } else if (const auto* m = std::get_if<RequiredMemory>(&d)) {
      emit(type, *m);
    } else if (const auto* e = std::get_if<ErrorRange>(&d)) {
      emit(type, *e);
    } else if (const auto* id = std::get_if<SnpIdBlockDirective>(&d)) {
      emit(type, **id);
    } else if (const auto* vbs = std::get_if<VbsMeasurementDirective>(&d)) {
      emit(type, **vbs);
    }
  }

  const IgvmFile& file_;
  const std::string& name_;
  std::size_t header_size_ = 0;
  std::size_t data_begin_ = 0;
  std::size_t data_end_ = 0;
  std::vector<std::uint8_t>* headers_ = nullptr;
  std::vector<std::span<const std::uint8_t>> blobs_;
  std::unordered_map<std::string_view, std::size_t, ContentHash> placed_;
};

}  // namespace

std::vector<std::span<const std::uint8_t>> IgvmPieces::all() const {
  std::vector<std::span<const std::uint8_t>> pieces;
  pieces.reserve(1 + data.size());
  pieces.emplace_back(headers);
  for (std::span<const std::uint8_t> d : data) {
    // Pages that follow each other in their source (a mapped OVMF image) go out as one piece.
    std::span<const std::uint8_t>& last = pieces.back();
    if (pieces.size() > 1 && last.data() + last.size() == d.data()) {
      last = std::span(last.data(), last.size() + d.size());
    } else {
      pieces.push_back(d);
    }
  }
  return pieces;
}

std::size_t IgvmPieces::size() const {
  std::size_t n = headers.size();
  for (const auto& d : data) n += d.size();
  return n;
}

IgvmPieces serialize_igvm(const IgvmFile& file, const std::string& name) {
  return Writer(file, name).write();
}

std::vector<std::uint8_t> write_igvm(const IgvmFile& file, const std::string& name) {
  const IgvmPieces pieces = serialize_igvm(file, name);
  std::vector<std::uint8_t> out;
  out.reserve(pieces.size());
  for (const auto& piece : pieces.all()) out.insert(out.end(), piece.begin(), piece.end());
  return out;
}

}  // namespace cvtpm::formats::igvm
