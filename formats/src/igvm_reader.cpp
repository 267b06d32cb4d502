// Reads IGVM files: the fixed header, the CRC, the TLV walk of the variable headers, the file
// data references, then the semantic rules of igvm_validate.cpp. Every offset is checked before
// use; errors name the byte offset and, for headers, the header index.
#include <cstring>

#include "cvtpm/formats/byte_reader.h"
#include "cvtpm/formats/endian.h"
#include "cvtpm/formats/igvm/crc32.h"
#include "cvtpm/formats/igvm/igvm_file.h"
#include "igvm_errors.h"

namespace cvtpm::formats::igvm {
namespace {

using detail::HeaderLocation;
using detail::hex;

enum class Section { kPlatform, kInit, kDirective };

std::optional<Section> section_of(std::uint32_t type) {
  if (type >= kPlatformTypesFirst && type <= kPlatformTypesLast) return Section::kPlatform;
  if (type >= kInitTypesFirst && type <= kInitTypesLast) return Section::kInit;
  if (type >= kDirectiveTypesFirst && type <= kDirectiveTypesLast) return Section::kDirective;
  return std::nullopt;
}

const char* section_name(Section s) {
  switch (s) {
    case Section::kPlatform:
      return "platform";
    case Section::kInit:
      return "initialization";
    case Section::kDirective:
      return "directive";
  }
  return "";
}

class Reader {
 public:
  Reader(ByteBuffer bytes, const std::string& name)
      : bytes_(std::move(bytes)), name_(name), reader_(bytes_.span(), name) {}

  IgvmFile read() {
    read_fixed_header();
    read_variable_headers();
    validate_igvm(file_, name_, offsets_);
    return std::move(file_);
  }

 private:
  [[noreturn]] void fail_at(std::size_t offset, const std::string& problem) const {
    throw InputError(name_, "offset " + hex(offset) + ": " + problem);
  }

  [[noreturn]] void fail_header(std::uint32_t type, const std::string& problem) const {
    detail::fail(name_, HeaderLocation{offsets_.size() - 1, type, offsets_}, problem);
  }

  void read_fixed_header() {
    const std::size_t size = bytes_.size();
    if (size < 8) {
      throw InputError(name_,
                       "is " + std::to_string(size) + " bytes, too short for an IGVM fixed header");
    }
    const std::uint8_t* p = bytes_.data();
    if (load_le<std::uint32_t>(p) != kMagic) {
      fail_at(0, "magic " + hex(load_le<std::uint32_t>(p)) + " is not \"IGVM\" (" + hex(kMagic) +
                     "): not an IGVM file");
    }
    const std::uint32_t version = load_le<std::uint32_t>(p + 4);
    if (version != kFormatVersion1 && version != kFormatVersion2) {
      fail_at(4, "format version " + std::to_string(version) + " is not supported (1 or 2)");
    }
    header_size_ = version == kFormatVersion1 ? sizeof(FixedHeaderV1) : sizeof(FixedHeaderV2);
    if (size < header_size_) {
      throw InputError(name_, "is " + std::to_string(size) + " bytes, too short for the " +
                                  std::to_string(header_size_) + "-byte version " +
                                  std::to_string(version) + " fixed header");
    }
    file_.format_version = version;
    fixed_ = reader_.read<FixedHeaderV1>(0);
    if (version == kFormatVersion2) {
      const auto v2 = reader_.read<FixedHeaderV2>(0);
      if (v2.architecture != static_cast<std::uint32_t>(Architecture::kX64) &&
          v2.architecture != static_cast<std::uint32_t>(Architecture::kAArch64)) {
        fail_at(offsetof(FixedHeaderV2, architecture),
                "unknown architecture " + std::to_string(v2.architecture));
      }
      if (v2.page_size != kPageSize) {
        fail_at(offsetof(FixedHeaderV2, page_size),
                "page size " + std::to_string(v2.page_size) + " is not 4096");
      }
      file_.architecture = static_cast<Architecture>(v2.architecture);
    }
    if (size > UINT32_MAX) throw InputError(name_, "is larger than 4 GiB, the IGVM size limit");
    if (fixed_.total_file_size != size) {
      fail_at(offsetof(FixedHeaderV1, total_file_size),
              "total_file_size " + std::to_string(fixed_.total_file_size) +
                  " does not match the file size " + std::to_string(size) +
                  " (truncated or extended file)");
    }
    const std::uint64_t vh_offset = fixed_.variable_header_offset;
    const std::uint64_t vh_size = fixed_.variable_header_size;
    if (vh_offset < header_size_ || vh_offset % kVariableHeaderAlignment != 0) {
      fail_at(offsetof(FixedHeaderV1, variable_header_offset),
              "variable_header_offset " + hex(vh_offset) + " is not an 8-byte aligned offset at " +
                  "or after the fixed header");
    }
    if (vh_offset + vh_size > size) {
      fail_at(offsetof(FixedHeaderV1, variable_header_size),
              "variable headers [" + hex(vh_offset) + ", " + hex(vh_offset + vh_size) +
                  ") run past the end of the file (size " + hex(size) + ")");
    }
    if (vh_offset + vh_size == size) {
      fail_at(offsetof(FixedHeaderV1, variable_header_size),
              "the file data section is empty (the reference parser rejects such files)");
    }
    vh_begin_ = vh_offset;
    vh_end_ = vh_offset + vh_size;

    FixedHeaderV2 zeroed{};
    std::memcpy(&zeroed, bytes_.data(), header_size_);
    zeroed.v1.checksum = 0;
    const std::uint32_t crc =
        Crc32()
            .update(reinterpret_cast<const std::uint8_t*>(&zeroed), header_size_)
            .update(bytes_.data() + vh_begin_, vh_end_ - vh_begin_)
            .value();
    if (crc != fixed_.checksum) {
      fail_at(offsetof(FixedHeaderV1, checksum), "checksum " + hex(fixed_.checksum) +
                                                     " does not match the CRC-32 " + hex(crc) +
                                                     " of the fixed and variable headers");
    }
  }

  // The file data a header refers to: `length` bytes at `file_offset` inside the data section.
  FileData data_at(std::uint32_t type, std::uint32_t file_offset, std::uint64_t length,
                   const char* what) const {
    if (file_offset < vh_end_ || file_offset > bytes_.size() ||
        length > bytes_.size() - file_offset) {
      fail_header(type, std::string(what) + " [" + hex(file_offset) + ", " +
                            hex(file_offset + length) + ") is not inside the file data section [" +
                            hex(vh_end_) + ", " + hex(bytes_.size()) + ")");
    }
    return FileData{bytes_.slice(file_offset, length)};
  }

  // Data that file offset 0 marks as absent.
  FileData optional_data_at(std::uint32_t type, std::uint32_t file_offset, std::uint64_t length,
                            const char* what) const {
    if (file_offset == 0) return {};
    return data_at(type, file_offset, length, what);
  }

  void read_variable_headers() {
    Section current = Section::kPlatform;
    std::size_t pos = vh_begin_;
    while (pos < vh_end_) {
      if (vh_end_ - pos < sizeof(VariableHeader)) {
        fail_at(pos, "variable header section ends inside a type/length pair");
      }
      const auto vh = reader_.read<VariableHeader>(pos);
      offsets_.push_back(pos);
      const std::size_t body = pos + sizeof(VariableHeader);
      const auto section = section_of(vh.type);
      const std::size_t expected = header_body_size(vh.type);
      if (!section || expected == 0) {
        fail_header(vh.type, "unknown header type " + hex(vh.type) +
                                 ((vh.type & kOptionalTypeBit) ? " (marked optional)" : ""));
      }
      if (vh.length != expected) {
        fail_header(vh.type,
                    "length " + std::to_string(vh.length) + " is not " + std::to_string(expected));
      }
      if (*section < current) {
        fail_header(vh.type, std::string(section_name(*section)) + " header after the " +
                                 section_name(current) + " section");
      }
      current = *section;
      const std::size_t next =
          (body + vh.length + kVariableHeaderAlignment - 1) & ~(kVariableHeaderAlignment - 1);
      if (next > vh_end_) {
        fail_header(vh.type, "header or its padding runs past the variable header section (ends " +
                                 hex(vh_end_) + ")");
      }
      for (std::size_t k = body + vh.length; k < next; ++k) {
        if (bytes_.data()[k] != 0) fail_at(k, "padding byte after a header is not zero");
      }
      read_body(vh.type, body);
      pos = next;
    }
  }

  void read_body(std::uint32_t type, std::size_t at) {
    switch (static_cast<HeaderType>(type)) {
      case HeaderType::kSupportedPlatform:
        file_.platforms.push_back(reader_.read<SupportedPlatform>(at));
        return;
      case HeaderType::kGuestPolicy:
        file_.initialization.emplace_back(reader_.read<GuestPolicy>(at));
        return;
      case HeaderType::kRelocatableRegion:
        file_.initialization.emplace_back(reader_.read<RelocatableRegion>(at));
        return;
      case HeaderType::kPageTableRelocationRegion:
        file_.initialization.emplace_back(reader_.read<PageTableRelocation>(at));
        return;
      case HeaderType::kCorimDocument:
      case HeaderType::kCorimSignature: {
        const auto c = reader_.read<CorimData>(at);
        if (c.reserved != 0) fail_header(type, "reserved field is not 0");
        if (c.file_offset == 0 || c.size_bytes == 0) fail_header(type, "has no data");
        FileData data = data_at(type, c.file_offset, c.size_bytes, "CoRIM data");
        if (static_cast<HeaderType>(type) == HeaderType::kCorimDocument) {
          file_.initialization.emplace_back(CorimDocument{c.compatibility_mask, std::move(data)});
        } else {
          file_.initialization.emplace_back(CorimSignature{c.compatibility_mask, std::move(data)});
        }
        return;
      }
      case HeaderType::kCcaPolicy: {
        CcaPolicy policy;
        std::memcpy(policy.bytes.data(), reader_.slice(at, kCcaPolicySize).data(), kCcaPolicySize);
        file_.initialization.emplace_back(policy);
        return;
      }
      case HeaderType::kParameterArea: {
        const auto a = reader_.read<ParameterArea>(at);
        if (a.number_of_bytes > kMaxParameterAreaSize) {
          fail_header(type, "size " + hex(a.number_of_bytes) + " exceeds the limit of " +
                                hex(kMaxParameterAreaSize));
        }
        file_.directives.emplace_back(ParameterAreaDirective{
            a.number_of_bytes, a.parameter_area_index,
            optional_data_at(type, a.file_offset, a.number_of_bytes, "initial data")});
        return;
      }
      case HeaderType::kPageData: {
        const auto p = reader_.read<PageData>(at);
        if (p.reserved != 0) fail_header(type, "reserved field is not 0");
        file_.directives.emplace_back(PageDirective{
            p.gpa, p.compatibility_mask, p.flags, static_cast<PageDataType>(p.data_type),
            optional_data_at(type, p.file_offset, kPageSize, "page data")});
        return;
      }
      case HeaderType::kParameterInsert:
        file_.directives.emplace_back(reader_.read<ParameterInsert>(at));
        return;
      case HeaderType::kVpContext:
        read_vp_context(type, at);
        return;
      case HeaderType::kRequiredMemory:
        file_.directives.emplace_back(reader_.read<RequiredMemory>(at));
        return;
      case HeaderType::kSnpIdBlock:
        file_.directives.emplace_back(reader_.read<SnpIdBlock>(at));
        return;
      case HeaderType::kErrorRange:
        file_.directives.emplace_back(reader_.read<ErrorRange>(at));
        return;
      case HeaderType::kVbsMeasurement:
        file_.directives.emplace_back(reader_.read<VbsMeasurement>(at));
        return;
      case HeaderType::kReservedDoNotUse:
        break;
      default:  // the IGVM_VHS_PARAMETER types
        file_.directives.emplace_back(
            ParameterUsage{static_cast<HeaderType>(type), reader_.read<Parameter>(at)});
        return;
    }
    fail_header(type, "unknown header type");
  }

  // The data format (and so its length) follows from the platform the single-bit mask names,
  // which the platform section declared before any directive.
  void read_vp_context(std::uint32_t type, std::size_t at) {
    const auto vp = reader_.read<VpContext>(at);
    if (vp.reserved != 0) fail_header(type, "reserved field is not 0");
    if (vp.file_offset == 0) fail_header(type, "has no context data (file offset 0)");
    const SupportedPlatform* platform = nullptr;
    for (const SupportedPlatform& p : file_.platforms) {
      if (p.compatibility_mask == vp.compatibility_mask) platform = &p;
    }
    if (!platform) {
      fail_header(type, "compatibility mask " + hex(vp.compatibility_mask) +
                            " does not name exactly one declared platform");
    }
    std::uint64_t length = kPageSize;
    if (platform->platform_type == static_cast<std::uint8_t>(PlatformType::kVsmIsolation)) {
      const FileData header =
          data_at(type, vp.file_offset, sizeof(VbsVpContextHeader), "VBS VP context");
      const std::uint64_t count = load_le<std::uint32_t>(header.span().data());
      length = sizeof(VbsVpContextHeader) + count * sizeof(VbsVpContextRegister);
    }
    file_.directives.emplace_back(
        VpContextDirective{vp.gpa, vp.compatibility_mask, vp.vp_index,
                           data_at(type, vp.file_offset, length, "VP context data")});
  }

  ByteBuffer bytes_;
  const std::string& name_;
  ByteReader reader_;
  IgvmFile file_;
  std::vector<std::size_t> offsets_;
  FixedHeaderV1 fixed_{};
  std::size_t header_size_ = 0;
  std::size_t vh_begin_ = 0;
  std::size_t vh_end_ = 0;
};

}  // namespace

IgvmFile parse_igvm(ByteBuffer bytes, const std::string& name) {
  return Reader(std::move(bytes), name).read();
}

}  // namespace cvtpm::formats::igvm
