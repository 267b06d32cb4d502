#include "cvtpm/formats/ovmf/ovmf_image.h"

#include <algorithm>
#include <cstring>

#include "cvtpm/formats/byte_reader.h"
#include "cvtpm/support/error.h"

namespace cvtpm::formats::ovmf {
namespace {

constexpr std::uint32_t kPageMask = 0xFFF;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

OvmfImage OvmfImage::parse(ByteBuffer bytes, std::string name) {
  OvmfImage image(std::move(bytes), std::move(name));
  if (image.bytes_.empty()) throw InputError(image.name_, "is empty, not an OVMF image");
  if (image.bytes_.size() % 4096 != 0) {
    throw InputError(image.name_, "size " + std::to_string(image.bytes_.size()) +
                                      " is not a multiple of 4096 (not a flash image)");
  }
  if (image.bytes_.size() > kFourGiB) throw InputError(image.name_, "is larger than 4 GiB");
  image.parse_footer_table();
  image.parse_sev_metadata();
  image.parse_igvm_metadata();
  return image;
}

void OvmfImage::parse_footer_table() {
  constexpr std::size_t kTrailer = sizeof(FooterEntryTrailer);
  if (bytes_.size() < kFooterTableEndGap + kTrailer) return;
  const std::size_t footer_at = bytes_.size() - kFooterTableEndGap - kTrailer;
  ByteReader reader(bytes_.span(), name_);
  auto footer = reader.read<FooterEntryTrailer>(footer_at);
  if (!(footer.guid == guids::kFooterTable)) return;
  has_footer_table_ = true;

  if (footer.size < kTrailer || footer.size - kTrailer > footer_at) {
    throw InputError(name_, "OVMF footer table at offset " + hex(footer_at) + " claims size " +
                                std::to_string(footer.size) + ", which does not fit the image");
  }
  const std::size_t table_start = footer_at - (footer.size - kTrailer);
  // Entries are walked backwards from the footer: each ends with its trailer.
  std::size_t end = footer_at;
  while (end - table_start >= kTrailer) {
    auto trailer = reader.read<FooterEntryTrailer>(end - kTrailer);
    if (trailer.size < kTrailer || trailer.size > end - table_start) {
      throw InputError(name_, "OVMF footer table entry at offset " + hex(end - kTrailer) +
                                  " has invalid size " + std::to_string(trailer.size));
    }
    footer_entries_.push_back(
        FooterEntry{trailer.guid, end - trailer.size, trailer.size - kTrailer});
    end -= trailer.size;
  }
}

void OvmfImage::parse_igvm_metadata() {
  if (!footer_entry(guids::kIgvmMetadata)) return;
  const std::uint32_t offset_from_end = u32_entry(guids::kIgvmMetadata, "IGVM metadata");
  if (offset_from_end < sizeof(IgvmMetadataHeader) || offset_from_end > bytes_.size()) {
    throw InputError(name_,
                     "IGVM metadata offset " + hex(offset_from_end) + " points outside the image");
  }
  const std::size_t header_at = bytes_.size() - offset_from_end;
  ByteReader reader(bytes_.span(), name_);
  auto header = reader.read<IgvmMetadataHeader>(header_at);
  const std::string at_header = "IGVM metadata at offset " + hex(header_at);
  if (std::memcmp(header.signature, "IGVM", 4) != 0) {
    throw InputError(name_, at_header + " has a wrong signature (expected \"IGVM\")");
  }
  if (header.version != kIgvmMetadataVersion) {
    throw InputError(name_,
                     at_header + " has unsupported version " + std::to_string(header.version));
  }
  const std::uint64_t needed =
      sizeof(IgvmMetadataHeader) + std::uint64_t{header.num_sections} * sizeof(IgvmMetadataSection);
  if (header.size < needed || header.size > offset_from_end) {
    throw InputError(name_, at_header + " declares " + std::to_string(header.num_sections) +
                                " sections in " + std::to_string(header.size) +
                                " bytes, which does not fit");
  }
  IgvmParameters p{};
  bool have_area = false;
  std::uint32_t map_offset = 0;
  bool have_map = false;
  for (std::uint32_t i = 0; i < header.num_sections; ++i) {
    const std::size_t at = header_at + sizeof(IgvmMetadataHeader) + i * sizeof(IgvmMetadataSection);
    auto e = reader.read<IgvmMetadataSection>(at);
    const std::string where =
        "IGVM metadata section " + std::to_string(i) + " (offset " + hex(at) + ")";
    switch (static_cast<IgvmSectionType>(e.type)) {
      case IgvmSectionType::kParamArea:
      case IgvmSectionType::kHobArea: {
        const bool area = static_cast<IgvmSectionType>(e.type) == IgvmSectionType::kParamArea;
        if ((area && have_area) || (!area && p.hob_area_size != 0)) {
          throw InputError(name_, where + " repeats the " + (area ? "parameter" : "HOB") + " area");
        }
        if (e.size == 0 || (e.start & kPageMask) != 0 || (e.size & kPageMask) != 0 ||
            std::uint64_t{e.start} + e.size > kFourGiB || e.start == 0) {
          throw InputError(name_, where + " is not a page-aligned area below 4 GiB (start " +
                                      hex(e.start) + ", size " + hex(e.size) + ")");
        }
        if (area) {
          p.param_area_gpa = e.start;
          p.param_area_size = e.size;
          have_area = true;
        } else {
          p.hob_area_gpa = e.start;
          p.hob_area_size = e.size;
        }
        break;
      }
      case IgvmSectionType::kMemoryMap:
        // An offset into the parameter area, which must come first (as COCONUT-SVSM's
        // igvmbuilder requires, tools/igvmbuilder/src/ovmf_firmware.rs).
        if (!have_area) {
          throw InputError(name_, where + ": a memory map before the parameter area");
        }
        if (have_map) throw InputError(name_, where + " repeats the memory map");
        map_offset = e.start;
        p.memory_map_size = e.size;
        have_map = true;
        if (e.size == 0 || std::uint64_t{e.start} + e.size > p.param_area_size) {
          throw InputError(name_, where + ": the memory map (offset " + hex(e.start) + ", size " +
                                      hex(e.size) + ") is not inside the parameter area");
        }
        break;
      case IgvmSectionType::kVpCount:
        if (!have_area || std::uint64_t{e.start} + e.size > p.param_area_size) {
          throw InputError(name_, where + ": the VP count is not inside the parameter area");
        }
        break;
      default:
        break;  // other types name nothing the firmware uses (COCONUT-SVSM ignores them too)
    }
  }
  if (!have_area) return;  // no parameter area: OVMF reads no IGVM parameters
  if (have_map) p.memory_map_gpa = p.param_area_gpa + map_offset;
  igvm_parameters_ = p;
}

std::optional<std::span<const std::uint8_t>> OvmfImage::footer_entry(const Guid& guid) const {
  for (const FooterEntry& e : footer_entries_) {
    if (e.guid == guid) return bytes_.span().subspan(e.data_offset, e.data_size);
  }
  return std::nullopt;
}

std::uint32_t OvmfImage::u32_entry(const Guid& guid, const char* entry_name) const {
  auto data = footer_entry(guid);
  if (!data) {
    require_footer_table();
    throw InputError(name_, std::string("OVMF footer table has no ") + entry_name + " entry");
  }
  if (data->size() < 4) {
    throw InputError(name_,
                     std::string("OVMF footer entry ") + entry_name + " is shorter than 4 bytes");
  }
  return load_le<std::uint32_t>(data->data());
}

void OvmfImage::parse_sev_metadata() {
  if (!footer_entry(guids::kSevMetadata)) return;
  const std::uint32_t offset_from_end = u32_entry(guids::kSevMetadata, "SEV metadata");
  if (offset_from_end < sizeof(SevMetadataHeader) || offset_from_end > bytes_.size()) {
    throw InputError(name_,
                     "SEV metadata offset " + hex(offset_from_end) + " points outside the image");
  }
  const std::size_t header_at = bytes_.size() - offset_from_end;
  ByteReader reader(bytes_.span(), name_);
  auto header = reader.read<SevMetadataHeader>(header_at);
  if (std::memcmp(header.signature, "ASEV", 4) != 0) {
    throw InputError(name_, "SEV metadata at offset " + hex(header_at) +
                                " has a wrong signature (expected \"ASEV\")");
  }
  if (header.version != kSevMetadataVersion) {
    throw InputError(name_, "SEV metadata at offset " + hex(header_at) +
                                " has unsupported version " + std::to_string(header.version));
  }
  const std::uint64_t needed =
      sizeof(SevMetadataHeader) + std::uint64_t{header.num_sections} * sizeof(SevMetadataSection);
  if (header.size < needed || header.size > offset_from_end) {
    throw InputError(name_, "SEV metadata at offset " + hex(header_at) + " declares " +
                                std::to_string(header.num_sections) + " sections in " +
                                std::to_string(header.size) + " bytes, which does not fit");
  }
  has_sev_metadata_ = true;
  for (std::uint32_t i = 0; i < header.num_sections; ++i) {
    const std::size_t at = header_at + sizeof(SevMetadataHeader) + i * sizeof(SevMetadataSection);
    auto s = reader.read<SevMetadataSection>(at);
    const std::string where =
        "SEV metadata section " + std::to_string(i) + " (offset " + hex(at) + ")";
    if (s.size == 0) throw InputError(name_, where + " is empty");
    if ((s.gpa & kPageMask) != 0 || (s.size & kPageMask) != 0) {
      throw InputError(
          name_, where + " is not page aligned (gpa " + hex(s.gpa) + ", size " + hex(s.size) + ")");
    }
    if (std::uint64_t{s.gpa} + s.size > kFourGiB) {
      throw InputError(
          name_, where + " overflows 4 GiB (gpa " + hex(s.gpa) + ", size " + hex(s.size) + ")");
    }
    for (std::size_t j = 0; j < sev_sections_.size(); ++j) {
      const SevMetadataSection& o = sev_sections_[j];
      if (s.gpa < std::uint64_t{o.gpa} + o.size && o.gpa < std::uint64_t{s.gpa} + s.size) {
        throw InputError(name_, where + " overlaps section " + std::to_string(j) + " ([" +
                                    hex(s.gpa) + ", +" + hex(s.size) + ") and [" + hex(o.gpa) +
                                    ", +" + hex(o.size) + "))");
      }
    }
    switch (static_cast<SevSectionType>(s.type)) {
      case SevSectionType::kSnpSecMem:
      case SevSectionType::kSnpSecrets:
      case SevSectionType::kCpuid:
      case SevSectionType::kSvsmCaa:
      case SevSectionType::kSnpKernelHashes:
        break;
      default:
        throw InputError(name_, where + " has unknown type " + std::to_string(s.type));
    }
    sev_sections_.push_back(s);
  }
}

bool OvmfImage::has_sev_section(SevSectionType type) const {
  return std::any_of(sev_sections_.begin(), sev_sections_.end(), [&](const SevMetadataSection& s) {
    return s.type == static_cast<std::uint32_t>(type);
  });
}

void OvmfImage::require_footer_table() const {
  if (!has_footer_table_) {
    throw InputError(name_,
                     "no OVMF footer table (GUID 96b582de-1fb2-45f7-baea-a366c55a082d) "
                     "before the last 32 bytes: not an OVMF image with SEV support");
  }
}

void OvmfImage::require_sev_metadata() const {
  require_footer_table();
  if (!has_sev_metadata_) {
    throw InputError(name_,
                     "OVMF footer table has no SEV metadata entry: this OVMF build "
                     "cannot launch SEV-SNP guests");
  }
}

std::uint32_t OvmfImage::sev_es_reset_eip() const {
  return u32_entry(guids::kSevEsResetBlock, "SEV_ES_RESET_BLOCK");
}

std::uint32_t OvmfImage::svsm_entry_offset() const {
  return u32_entry(guids::kSvsmInfo, "SVSM_INFO");
}

std::optional<HashTableArea> OvmfImage::sev_hash_table() const {
  auto data = footer_entry(guids::kSevHashTable);
  if (!data) return std::nullopt;
  if (data->size() < 8)
    throw InputError(name_, "OVMF footer entry SEV_HASH_TABLE_RV is shorter than 8 bytes");
  HashTableArea area{load_le<std::uint32_t>(data->data()),
                     load_le<std::uint32_t>(data->data() + 4)};
  if (area.gpa == 0) return std::nullopt;
  return area;
}

const char* section_type_name(std::uint32_t type) {
  switch (static_cast<SevSectionType>(type)) {
    case SevSectionType::kSnpSecMem:
      return "SNP_SEC_MEM";
    case SevSectionType::kSnpSecrets:
      return "SNP_SECRETS";
    case SevSectionType::kCpuid:
      return "CPUID";
    case SevSectionType::kSvsmCaa:
      return "SVSM_CAA";
    case SevSectionType::kSnpKernelHashes:
      return "SNP_KERNEL_HASHES";
  }
  return "unknown";
}

}  // namespace cvtpm::formats::ovmf
