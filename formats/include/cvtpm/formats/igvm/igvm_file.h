// An IGVM file as a typed model: the platform, initialization and directive headers in file
// order, with the file data each one refers to. parse_igvm() validates untrusted bytes into a
// model; write_igvm() produces the canonical bytes of a model. For every model m the writer
// accepts, parse_igvm(write_igvm(m)) == m, and for every file f it writes,
// write_igvm(parse_igvm(f)) == f (see docs/igvm.md for the canonical form).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "cvtpm/formats/igvm/igvm_defs.h"
#include "cvtpm/support/files.h"

namespace cvtpm::formats::igvm {

// Data that a header stores in the file data section. Equality compares contents.
struct FileData {
  ByteBuffer bytes;
  std::span<const std::uint8_t> span() const { return bytes.span(); }
  std::size_t size() const { return bytes.size(); }
  bool empty() const { return bytes.empty(); }
  friend bool operator==(const FileData& a, const FileData& b);
};

// ---------------------------------------------------------------------------------------------
// Initialization headers.

struct CorimDocument {
  std::uint32_t compatibility_mask = 0;
  FileData data;  // CBOR
  friend bool operator==(const CorimDocument&, const CorimDocument&) = default;
};
struct CorimSignature {
  std::uint32_t compatibility_mask = 0;
  FileData data;  // COSE_Sign1
  friend bool operator==(const CorimSignature&, const CorimSignature&) = default;
};
struct CcaPolicy {
  std::array<std::uint8_t, kCcaPolicySize> bytes{};  // opaque (igvm_defs.h)
  friend bool operator==(const CcaPolicy&, const CcaPolicy&) = default;
};

using InitHeader = std::variant<GuestPolicy, RelocatableRegion, PageTableRelocation, CorimDocument,
                                CorimSignature, CcaPolicy>;

// ---------------------------------------------------------------------------------------------
// Directive headers.

// PAGE_DATA. `data` is empty (file_offset 0: a page of zeros, loaded as a normal private page)
// or exactly 4 KiB.
struct PageDirective {
  std::uint64_t gpa = 0;
  std::uint32_t compatibility_mask = 0;
  std::uint32_t flags = 0;  // page_data_flags
  PageDataType data_type = PageDataType::kNormal;
  FileData data;
  friend bool operator==(const PageDirective&, const PageDirective&) = default;
};

// PARAMETER_AREA. `initial_data` is empty (zeros) or exactly number_of_bytes.
struct ParameterAreaDirective {
  std::uint64_t number_of_bytes = 0;
  std::uint32_t parameter_area_index = 0;
  FileData initial_data;
  friend bool operator==(const ParameterAreaDirective&, const ParameterAreaDirective&) = default;
};

// One of the IGVM_VHS_PARAMETER directives (VP_COUNT, MEMORY_MAP, ENVIRONMENT_INFO, ...).
struct ParameterUsage {
  HeaderType type = HeaderType::kVpCountParameter;
  Parameter parameter{};
  friend bool operator==(const ParameterUsage&, const ParameterUsage&) = default;
};

// VP_CONTEXT. `data` is a 4 KiB page (SNP/SEV-ES VMSA, or a native context padded with zeros)
// or, for VSM, a VbsVpContextHeader followed by its registers.
struct VpContextDirective {
  std::uint64_t gpa = 0;
  std::uint32_t compatibility_mask = 0;
  std::uint16_t vp_index = 0;
  FileData data;
  friend bool operator==(const VpContextDirective&, const VpContextDirective&) = default;
};

// A value kept on the heap: the rare large headers (ID block, VBS measurement) would otherwise
// make every directive of an image close to a kilobyte.
template <typename T>
class Boxed {
 public:
  Boxed(const T& value) : value_(std::make_unique<T>(value)) {}  // NOLINT: implicit by design
  Boxed(const Boxed& other) : value_(std::make_unique<T>(*other)) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& other) {
    value_ = std::make_unique<T>(*other);
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  ~Boxed() = default;

  const T& operator*() const { return *value_; }
  T& operator*() { return *value_; }
  const T* operator->() const { return value_.get(); }
  T* operator->() { return value_.get(); }
  friend bool operator==(const Boxed& a, const Boxed& b) { return *a == *b; }

 private:
  std::unique_ptr<T> value_;
};

using SnpIdBlockDirective = Boxed<SnpIdBlock>;
using VbsMeasurementDirective = Boxed<VbsMeasurement>;

using Directive = std::variant<PageDirective, ParameterAreaDirective, ParameterInsert,
                               ParameterUsage, VpContextDirective, RequiredMemory, ErrorRange,
                               SnpIdBlockDirective, VbsMeasurementDirective>;

// ---------------------------------------------------------------------------------------------

struct IgvmFile {
  std::uint32_t format_version = kFormatVersion1;
  Architecture architecture = Architecture::kX64;  // version 1 files are always X64
  std::vector<SupportedPlatform> platforms;
  std::vector<InitHeader> initialization;
  std::vector<Directive> directives;

  std::size_t header_count() const {
    return platforms.size() + initialization.size() + directives.size();
  }
  // The platform header of `type`, if declared.
  const SupportedPlatform* platform(PlatformType type) const;
  // The OR of every declared platform's compatibility mask.
  std::uint32_t declared_mask() const;

  friend bool operator==(const IgvmFile&, const IgvmFile&) = default;
};

// The header type a model entry is written as.
HeaderType header_type(const InitHeader& header);
HeaderType header_type(const Directive& directive);

// "PAGE_DATA", "SUPPORTED_PLATFORM", ...; "unknown" otherwise.
const char* header_type_name(std::uint32_t type);
// "native", "vsm", "sev-snp", "tdx", "sev", "sev-es", "cca"; "unknown" otherwise.
const char* platform_type_name(std::uint8_t type);
const char* page_data_type_name(PageDataType type);

// Parameter areas larger than this are refused: a loader allocates them and a measurement walks
// them page by page.
inline constexpr std::uint64_t kMaxParameterAreaSize = 64ULL << 20;

// Checks the rules the reference parser applies (and the stricter ones of docs/igvm.md) on a
// model. Errors name `name`, the header index and, when `header_offsets` is given (one per
// header in file order), its byte offset. Throws InputError.
void validate_igvm(const IgvmFile& file, const std::string& name,
                   std::span<const std::size_t> header_offsets = {});

// Parses and validates an IGVM file. Page and VP context data share `bytes` (no copy).
// Throws InputError naming `name`, the byte offset and, for headers, the header index.
IgvmFile parse_igvm(ByteBuffer bytes, const std::string& name);

// The canonical bytes of a model: the fixed header of its version, the variable headers in
// model order, each 8-byte aligned with zero padding, then the file data in order of first
// reference with identical blobs stored once. Throws InputError (naming `name`) for a model
// validate_igvm() rejects or that does not fit the format's 32-bit offsets.
std::vector<std::uint8_t> write_igvm(const IgvmFile& file, const std::string& name = "IGVM model");

// The same bytes as consecutive pieces: the headers, then the file data, each piece pointing into
// the model's buffers (valid while `file` lives). Writing these saves copying a large image.
struct IgvmPieces {
  std::vector<std::uint8_t> headers;                       // fixed and variable headers
  std::vector<std::span<const std::uint8_t>> data;         // file data, in file order
  std::vector<std::span<const std::uint8_t>> all() const;  // headers first
  std::size_t size() const;
};
IgvmPieces serialize_igvm(const IgvmFile& file, const std::string& name = "IGVM model");

}  // namespace cvtpm::formats::igvm
