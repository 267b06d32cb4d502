// The semantic rules of an IGVM file, on the model: what the reference parser (microsoft/igvm
// IgvmFile::new) checks, plus the stricter rules docs/igvm.md lists (masks naming declared
// platforms, no page imported twice for one platform, parameter offsets inside their area).
#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "cvtpm/formats/endian.h"
#include "cvtpm/formats/igvm/igvm_file.h"
#include "igvm_errors.h"

namespace cvtpm::formats::igvm {
namespace {

using detail::HeaderLocation;
using detail::hex;

bool single_bit(std::uint32_t mask) {
  return mask != 0 && (mask & (mask - 1)) == 0;
}

bool aligned(std::uint64_t value, std::uint64_t alignment) {
  return value % alignment == 0;
}

// A GPA range a directive imports into the guest for the platforms of `mask`.
struct Import {
  std::uint64_t gpa;
  std::uint64_t size;
  std::uint32_t mask;
  std::size_t index;
};

struct VpRef {
  std::uint32_t mask;
  std::uint16_t vp_index;
  std::size_t index;
};

class Validator {
 public:
  Validator(const IgvmFile& file, const std::string& name, std::span<const std::size_t> offsets)
      : file_(file), name_(name), offsets_(offsets) {}

  void run() {
    if (file_.format_version != kFormatVersion1 && file_.format_version != kFormatVersion2) {
      throw InputError(name_, "format version " + std::to_string(file_.format_version) +
                                  " is not supported (1 or 2)");
    }
    if (file_.architecture != Architecture::kX64 && file_.architecture != Architecture::kAArch64) {
      throw InputError(name_, "unknown architecture " +
                                  std::to_string(static_cast<std::uint32_t>(file_.architecture)));
    }
    if (file_.format_version == kFormatVersion1 && file_.architecture != Architecture::kX64) {
      throw InputError(name_, "a version 1 file is always X64; AArch64 needs version 2");
    }
    check_platforms();
    check_initialization();
    check_directives();
    check_imports_do_not_overlap();
    check_relocation_vps();
  }

 private:
  [[noreturn]] void fail(std::size_t index, HeaderType type, const std::string& problem) const {
    detail::fail(name_, HeaderLocation{index, static_cast<std::uint32_t>(type), offsets_}, problem);
  }

  void check_mask(std::size_t index, HeaderType type, std::uint32_t mask) const {
    if (mask == 0) fail(index, type, "compatibility mask is 0 (applies to no platform)");
    if ((mask & ~declared_) != 0) {
      fail(index, type,
           "compatibility mask " + hex(mask) +
               " names undeclared platforms (declared: " + hex(declared_) + ")");
    }
  }

  void check_platforms() {
    if (file_.platforms.empty()) {
      throw InputError(name_, "declares no platform (a SUPPORTED_PLATFORM header is required)");
    }
    std::set<std::uint8_t> types;
    for (std::size_t i = 0; i < file_.platforms.size(); ++i) {
      const SupportedPlatform& p = file_.platforms[i];
      const HeaderType t = HeaderType::kSupportedPlatform;
      if (!single_bit(p.compatibility_mask)) {
        fail(i, t,
             "compatibility mask " + hex(p.compatibility_mask) + " must have exactly one bit");
      }
      if (p.compatibility_mask & declared_) {
        fail(i, t,
             "compatibility mask " + hex(p.compatibility_mask) +
                 " is already used by another platform");
      }
      if (p.platform_type > static_cast<std::uint8_t>(PlatformType::kCca)) {
        fail(i, t, "unknown platform type " + std::to_string(p.platform_type));
      }
      const std::string type_name = platform_type_name(p.platform_type);
      if (!types.insert(p.platform_type).second) {
        fail(i, t, "platform " + type_name + " is declared twice");
      }
      if (p.highest_vtl != 0 && p.highest_vtl != 2) {
        fail(i, t, "highest_vtl " + std::to_string(p.highest_vtl) + " is not 0 or 2");
      }
      if (p.platform_version != kPlatformVersion) {
        fail(i, t, "platform version " + std::to_string(p.platform_version) + " is not 1");
      }
      const auto type = static_cast<PlatformType>(p.platform_type);
      if ((type == PlatformType::kNative || type == PlatformType::kVsmIsolation) &&
          p.shared_gpa_boundary != 0) {
        fail(i, t, "shared_gpa_boundary must be 0 for platform " + type_name);
      }
      const bool x64_only = type != PlatformType::kVsmIsolation && type != PlatformType::kCca;
      if (x64_only && file_.architecture != Architecture::kX64) {
        fail(i, t, "platform " + type_name + " exists only on X64");
      }
      if (type == PlatformType::kCca && file_.architecture != Architecture::kAArch64) {
        fail(i, t, "platform cca exists only on AArch64");
      }
      declared_ |= p.compatibility_mask;
      platform_of_bit_[p.compatibility_mask] = type;
    }
  }

  void check_initialization() {
    const std::size_t base = file_.platforms.size();
    std::set<std::uint32_t> page_table_bits, corim_doc_bits, corim_sig_bits;
    for (std::size_t k = 0; k < file_.initialization.size(); ++k) {
      const std::size_t i = base + k;
      const InitHeader& h = file_.initialization[k];
      const HeaderType t = header_type(h);
      if (const auto* p = std::get_if<GuestPolicy>(&h)) {
        check_mask(i, t, p->compatibility_mask);
        if (p->reserved != 0) fail(i, t, "reserved field is not 0");
      } else if (const auto* region = std::get_if<RelocatableRegion>(&h)) {
        check_relocatable_region(i, *region);
      } else if (const auto* r = std::get_if<PageTableRelocation>(&h)) {
        check_mask(i, t, r->compatibility_mask);
        if (r->reserved != 0) fail(i, t, "reserved field is not 0");
        if (!aligned(r->gpa, kPageSize) || !aligned(r->size, kPageSize) || r->size == 0) {
          fail(i, t,
               "region gpa " + hex(r->gpa) + " size " + hex(r->size) +
                   " is not a non-empty 4 KiB aligned range");
        }
        if (r->used_size > r->size) {
          fail(i, t, "used_size " + hex(r->used_size) + " exceeds size " + hex(r->size));
        }
        if (r->gpa > UINT64_MAX - r->size) fail(i, t, "region wraps around the address space");
        for (std::uint32_t bit = 1; bit != 0; bit <<= 1) {
          if ((r->compatibility_mask & bit) && !page_table_bits.insert(bit).second) {
            fail(i, t, "a second page-table relocation region for platform mask " + hex(bit));
          }
        }
        relocations_.push_back(VpRef{r->compatibility_mask, r->vp_index, i});
        relocation_regions_.push_back(Import{r->gpa, r->size, r->compatibility_mask, i});
      } else if (const auto* d = std::get_if<CorimDocument>(&h)) {
        check_corim(i, t, d->compatibility_mask, d->data, corim_doc_bits);
      } else if (const auto* s = std::get_if<CorimSignature>(&h)) {
        check_corim(i, t, s->compatibility_mask, s->data, corim_sig_bits);
      } else if (std::holds_alternative<CcaPolicy>(h)) {
        if (file_.architecture != Architecture::kAArch64) {
          fail(i, t, "a CCA policy is only valid in an AArch64 file");
        }
      }
    }
    // Relocatable regions and page-table regions must not overlap for one platform.
    check_no_overlap(relocation_regions_, "relocation region");
  }

  void check_relocatable_region(std::size_t i, const RelocatableRegion& r) {
    const HeaderType t = HeaderType::kRelocatableRegion;
    check_mask(i, t, r.compatibility_mask);
    if (file_.architecture != Architecture::kX64) fail(i, t, "relocatable regions are X64 only");
    if ((r.flags & ~relocatable_region_flags::kAll) != 0) {
      fail(i, t, "unknown flags " + hex(r.flags));
    }
    if (r.relocation_alignment == 0 || !aligned(r.relocation_alignment, kPageSize)) {
      fail(i, t,
           "relocation alignment " + hex(r.relocation_alignment) +
               " is not a non-zero multiple of 4 KiB");
    }
    if (!aligned(r.relocation_region_gpa, r.relocation_alignment) ||
        !aligned(r.minimum_relocation_gpa, r.relocation_alignment) ||
        !aligned(r.maximum_relocation_gpa, r.relocation_alignment)) {
      fail(i, t,
           "region, minimum and maximum GPAs must be aligned to " + hex(r.relocation_alignment));
    }
    if (r.relocation_region_size == 0 || !aligned(r.relocation_region_size, kPageSize)) {
      fail(i, t,
           "region size " + hex(r.relocation_region_size) + " is not a non-zero multiple of 4 KiB");
    }
    if (r.relocation_region_gpa > UINT64_MAX - r.relocation_region_size) {
      fail(i, t, "region wraps around the address space");
    }
    if (r.minimum_relocation_gpa > r.maximum_relocation_gpa) {
      fail(i, t, "minimum relocation GPA is above the maximum");
    }
    relocations_.push_back(VpRef{r.compatibility_mask, r.vp_index, i});
    relocation_regions_.push_back(
        Import{r.relocation_region_gpa, r.relocation_region_size, r.compatibility_mask, i});
  }

  void check_corim(std::size_t i, HeaderType t, std::uint32_t mask, const FileData& data,
                   std::set<std::uint32_t>& seen) {
    check_mask(i, t, mask);
    if (data.empty()) fail(i, t, "has no data");
    for (std::uint32_t bit = 1; bit != 0; bit <<= 1) {
      if ((mask & bit) && !seen.insert(bit).second) {
        fail(i, t,
             std::string("a second ") + header_type_name(static_cast<std::uint32_t>(t)) +
                 " for platform mask " + hex(bit));
      }
    }
  }

  struct AreaState {
    std::uint64_t size;
    bool inserted;
  };

  void check_directives() {
    const std::size_t base = file_.platforms.size() + file_.initialization.size();
    for (std::size_t k = 0; k < file_.directives.size(); ++k) {
      const std::size_t i = base + k;
      const Directive& d = file_.directives[k];
      const HeaderType t = header_type(d);
      if (const auto* p = std::get_if<PageDirective>(&d)) {
        check_page(i, *p);
      } else if (const auto* a = std::get_if<ParameterAreaDirective>(&d)) {
        check_parameter_area(i, *a);
      } else if (const auto* ins = std::get_if<ParameterInsert>(&d)) {
        check_mask(i, t, ins->compatibility_mask);
        if (!aligned(ins->gpa, kPageSize))
          fail(i, t, "gpa " + hex(ins->gpa) + " is not 4 KiB aligned");
        AreaState& area = unused_area(i, t, ins->parameter_area_index);
        area.inserted = true;
        if (ins->gpa > UINT64_MAX - area.size) fail(i, t, "area wraps around the address space");
        imports_.push_back(Import{ins->gpa, area.size, ins->compatibility_mask, i});
      } else if (const auto* u = std::get_if<ParameterUsage>(&d)) {
        check_parameter_usage(i, *u);
      } else if (const auto* vp = std::get_if<VpContextDirective>(&d)) {
        check_vp_context(i, *vp);
      } else if (const auto* m = std::get_if<RequiredMemory>(&d)) {
        check_mask(i, t, m->compatibility_mask);
        if (!aligned(m->gpa, kPageSize) || !aligned(m->number_of_bytes, kPageSize)) {
          fail(i, t,
               "range gpa " + hex(m->gpa) + " size " + hex(m->number_of_bytes) +
                   " is not 4 KiB aligned");
        }
        if ((m->flags & ~required_memory_flags::kVtl2Protectable) != 0) {
          fail(i, t, "unknown flags " + hex(m->flags));
        }
        if (m->reserved != 0) fail(i, t, "reserved field is not 0");
      } else if (const auto* e = std::get_if<ErrorRange>(&d)) {
        check_mask(i, t, e->compatibility_mask);
        if (!aligned(e->gpa, kPageSize) || !aligned(e->size_bytes, kPageSize)) {
          fail(
              i, t,
              "range gpa " + hex(e->gpa) + " size " + hex(e->size_bytes) + " is not 4 KiB aligned");
        }
      } else if (const auto* id = std::get_if<SnpIdBlockDirective>(&d)) {
        check_mask(i, t, (*id)->compatibility_mask);
      } else if (const auto* vbs = std::get_if<VbsMeasurementDirective>(&d)) {
        check_mask(i, t, (*vbs)->compatibility_mask);
      }
    }
  }

  void check_page(std::size_t i, const PageDirective& p) {
    const HeaderType t = HeaderType::kPageData;
    check_mask(i, t, p.compatibility_mask);
    if ((p.flags & ~page_data_flags::kKnown) != 0) fail(i, t, "unknown flags " + hex(p.flags));
    if (static_cast<std::uint16_t>(p.data_type) >
        static_cast<std::uint16_t>(PageDataType::kCpuidXf)) {
      fail(i, t, "unknown data type " + std::to_string(static_cast<std::uint16_t>(p.data_type)));
    }
    const bool large = (p.flags & page_data_flags::kIs2MbPage) != 0;
    const std::uint64_t size = large ? kPageSize2M : kPageSize;
    if (!aligned(p.gpa, size)) {
      fail(i, t, "gpa " + hex(p.gpa) + " is not " + (large ? "2 MiB" : "4 KiB") + " aligned");
    }
    if (p.gpa > UINT64_MAX - size) fail(i, t, "page wraps around the address space");
    if (!p.data.empty() && p.data.size() != kPageSize) {
      fail(i, t, "data is " + std::to_string(p.data.size()) + " bytes, not 0 or 4096");
    }
    if (large && !p.data.empty()) {
      fail(i, t, "a 2 MiB page with file data is not supported (only data-less 2 MiB pages are)");
    }
    imports_.push_back(Import{p.gpa, size, p.compatibility_mask, i});
  }

  void check_parameter_area(std::size_t i, const ParameterAreaDirective& a) {
    const HeaderType t = HeaderType::kParameterArea;
    if (a.number_of_bytes == 0 || !aligned(a.number_of_bytes, kPageSize)) {
      fail(i, t, "size " + hex(a.number_of_bytes) + " is not a non-zero multiple of 4 KiB");
    }
    if (a.number_of_bytes > kMaxParameterAreaSize) {
      fail(
          i, t,
          "size " + hex(a.number_of_bytes) + " exceeds the limit of " + hex(kMaxParameterAreaSize));
    }
    if (!a.initial_data.empty() && a.initial_data.size() != a.number_of_bytes) {
      fail(
          i, t,
          "initial data is " + std::to_string(a.initial_data.size()) + " bytes, not the area size");
    }
    if (!areas_.emplace(a.parameter_area_index, AreaState{a.number_of_bytes, false}).second) {
      fail(i, t,
           "parameter area index " + std::to_string(a.parameter_area_index) + " is declared twice");
    }
  }

  AreaState& unused_area(std::size_t i, HeaderType t, std::uint32_t index) {
    auto it = areas_.find(index);
    if (it == areas_.end()) {
      fail(i, t, "parameter area " + std::to_string(index) + " is not declared before");
    }
    if (it->second.inserted) {
      fail(i, t, "parameter area " + std::to_string(index) + " was already inserted");
    }
    return it->second;
  }

  void check_parameter_usage(std::size_t i, const ParameterUsage& u) {
    std::uint64_t needed = 1;
    switch (u.type) {
      case HeaderType::kVpCountParameter:
      case HeaderType::kEnvironmentInfoParameter:
        needed = 4;
        break;
      case HeaderType::kMemoryMap:
        needed = sizeof(MemoryMapEntry);
        break;
      case HeaderType::kMmioRanges:
        needed = sizeof(MmioRanges);
        break;
      case HeaderType::kSrat:
      case HeaderType::kMadt:
      case HeaderType::kCommandLine:
      case HeaderType::kSlit:
      case HeaderType::kPptt:
      case HeaderType::kDeviceTree:
        break;
      default:
        fail(i, u.type, "is not a parameter type");
    }
    const AreaState& area = unused_area(i, u.type, u.parameter.parameter_area_index);
    if (u.parameter.byte_offset > area.size || needed > area.size - u.parameter.byte_offset) {
      fail(i, u.type,
           "byte offset " + hex(u.parameter.byte_offset) + " leaves no room for " +
               std::to_string(needed) + " bytes in parameter area " +
               std::to_string(u.parameter.parameter_area_index) + " (size " + hex(area.size) + ")");
    }
  }

  void check_vp_context(std::size_t i, const VpContextDirective& vp) {
    const HeaderType t = HeaderType::kVpContext;
    check_mask(i, t, vp.compatibility_mask);
    if (!single_bit(vp.compatibility_mask)) {
      fail(i, t,
           "compatibility mask " + hex(vp.compatibility_mask) + " must name exactly one platform");
    }
    const PlatformType platform = platform_of_bit_.at(vp.compatibility_mask);
    const std::string pname = platform_type_name(static_cast<std::uint8_t>(platform));
    switch (platform) {
      case PlatformType::kSevSnp:
      case PlatformType::kSevEs:
        if (!aligned(vp.gpa, kPageSize))
          fail(i, t, "VMSA gpa " + hex(vp.gpa) + " is not 4 KiB aligned");
        if (vp.data.size() != kPageSize) fail(i, t, "VMSA data is not one 4 KiB page");
        break;
      case PlatformType::kNative:
      case PlatformType::kSev: {
        if (vp.gpa != 0) fail(i, t, "gpa must be 0 for platform " + pname);
        if (file_.architecture != Architecture::kX64) fail(i, t, "native VP context needs X64");
        if (vp.data.size() != kPageSize) fail(i, t, "native VP context data is not one 4 KiB page");
        const auto rest = vp.data.span().subspan(sizeof(NativeVpContextX64));
        if (!std::all_of(rest.begin(), rest.end(), [](std::uint8_t b) { return b == 0; })) {
          fail(i, t, "bytes after the 232-byte native VP context are not zero");
        }
        break;
      }
      case PlatformType::kVsmIsolation: {
        if (vp.gpa != 0) fail(i, t, "gpa must be 0 for platform " + pname);
        if (vp.data.size() < sizeof(VbsVpContextHeader)) fail(i, t, "VBS VP context is truncated");
        const std::uint64_t count = load_le<std::uint32_t>(vp.data.span().data());
        if (vp.data.size() != sizeof(VbsVpContextHeader) + count * sizeof(VbsVpContextRegister)) {
          fail(i, t,
               "VBS VP context size does not match its register count " + std::to_string(count));
        }
        break;
      }
      case PlatformType::kTdx:
        fail(i, t, "TDX starts in its architectural reset state; a VP context is invalid");
      case PlatformType::kCca:
        fail(i, t, "VP contexts of platform cca are not supported");
    }
    for (const VpRef& other : vp_contexts_) {
      if (other.mask == vp.compatibility_mask && other.vp_index == vp.vp_index) {
        fail(i, t,
             "a second VP context for vp_index " + std::to_string(vp.vp_index) + " of platform " +
                 pname + " (first: header " + std::to_string(other.index) + ")");
      }
    }
    vp_contexts_.push_back(VpRef{vp.compatibility_mask, vp.vp_index, i});
  }

  // Reports the later of two ranges imported for a common platform that overlap.
  void check_no_overlap(const std::vector<Import>& ranges, const char* what) const {
    for (const auto& [bit, platform] : platform_of_bit_) {
      std::vector<const Import*> mine;
      for (const Import& r : ranges) {
        if (r.mask & bit) mine.push_back(&r);
      }
      std::sort(mine.begin(), mine.end(),
                [](const Import* a, const Import* b) { return a->gpa < b->gpa; });
      for (std::size_t k = 1; k < mine.size(); ++k) {
        const Import* a = mine[k - 1];
        const Import* b = mine[k];
        if (b->gpa - a->gpa < a->size) {
          const Import* later = a->index > b->index ? a : b;
          const Import* earlier = later == a ? b : a;
          const HeaderType type = static_cast<HeaderType>(header_type_at(later->index));
          fail(later->index, type,
               std::string(what) + " [" + hex(later->gpa) + ", " + hex(later->gpa + later->size) +
                   ") overlaps header " + std::to_string(earlier->index) + " [" +
                   hex(earlier->gpa) + ", " + hex(earlier->gpa + earlier->size) +
                   ") for platform " + platform_type_name(static_cast<std::uint8_t>(platform)));
        }
      }
    }
  }

  void check_imports_do_not_overlap() const { check_no_overlap(imports_, "page range"); }

  void check_relocation_vps() const {
    for (const VpRef& r : relocations_) {
      const bool found = std::any_of(vp_contexts_.begin(), vp_contexts_.end(), [&](const VpRef& v) {
        return (v.mask & r.mask) != 0 && v.vp_index == r.vp_index;
      });
      if (!found) {
        fail(r.index, static_cast<HeaderType>(header_type_at(r.index)),
             "refers to vp_index " + std::to_string(r.vp_index) + ", which has no VP context");
      }
    }
  }

  std::uint32_t header_type_at(std::size_t index) const {
    const std::size_t p = file_.platforms.size(), n = file_.initialization.size();
    if (index < p) return static_cast<std::uint32_t>(HeaderType::kSupportedPlatform);
    if (index < p + n)
      return static_cast<std::uint32_t>(header_type(file_.initialization[index - p]));
    return static_cast<std::uint32_t>(header_type(file_.directives[index - p - n]));
  }

  const IgvmFile& file_;
  const std::string& name_;
  std::span<const std::size_t> offsets_;
  std::uint32_t declared_ = 0;
  std::map<std::uint32_t, PlatformType> platform_of_bit_;
  std::map<std::uint32_t, AreaState> areas_;
  std::vector<Import> imports_;
  std::vector<Import> relocation_regions_;
  std::vector<VpRef> relocations_;
  std::vector<VpRef> vp_contexts_;
};

}  // namespace

void validate_igvm(const IgvmFile& file, const std::string& name,
                   std::span<const std::size_t> header_offsets) {
  Validator(file, name, header_offsets).run();
}

}  // namespace cvtpm::formats::igvm
