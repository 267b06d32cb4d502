// Parser for OVMF flash images: the footer GUID table and the SEV metadata. Every offset is
// bounds-checked; malformed input raises InputError naming the image and the byte offset.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cvtpm/formats/guid.h"
#include "cvtpm/formats/ovmf/ovmf_layout.h"
#include "cvtpm/support/files.h"

namespace cvtpm::formats::ovmf {

inline constexpr std::uint64_t kFourGiB = 0x1'0000'0000ULL;

struct FooterEntry {
  Guid guid;
  std::size_t data_offset;  // offset of the entry's data inside the image
  std::size_t data_size;
};

// Where OVMF reads the IGVM memory map (guest-physical), and its IGVM parameter and HOB areas.
struct IgvmParameters {
  std::uint32_t param_area_gpa;
  std::uint32_t param_area_size;
  std::uint32_t memory_map_gpa;  // 0: the metadata has no memory map
  std::uint32_t memory_map_size;
  std::uint32_t hob_area_gpa;  // 0: none
  std::uint32_t hob_area_size;
};

// Location of the SEV hash table (SEV_HASH_TABLE_RV footer entry).
struct HashTableArea {
  std::uint32_t gpa;
  std::uint32_t size;
};

class OvmfImage {
 public:
  // Validates the structure of whatever metadata the image carries; `name` labels errors.
  // An image without a footer table or without SEV metadata parses (plain SEV launches need
  // neither); callers that need them use the require_* accessors.
  static OvmfImage parse(ByteBuffer bytes, std::string name);

  const std::string& name() const { return name_; }
  std::span<const std::uint8_t> bytes() const { return bytes_.span(); }
  const ByteBuffer& buffer() const { return bytes_; }
  std::size_t size() const { return bytes_.size(); }

  // GPA of the first byte when the image ends at `end` (4 GiB for the flash of a q35 guest).
  std::uint64_t gpa(std::uint64_t end = kFourGiB) const { return end - bytes_.size(); }

  bool has_footer_table() const { return has_footer_table_; }
  const std::vector<FooterEntry>& footer_entries() const { return footer_entries_; }
  std::optional<std::span<const std::uint8_t>> footer_entry(const Guid& guid) const;

  bool has_sev_metadata() const { return has_sev_metadata_; }
  const std::vector<SevMetadataSection>& sev_sections() const { return sev_sections_; }
  bool has_sev_section(SevSectionType type) const;

  // Throw InputError unless the image carries these.
  void require_footer_table() const;
  void require_sev_metadata() const;
  std::uint32_t sev_es_reset_eip() const;               // SEV_ES_RESET_BLOCK: AP reset vector
  std::uint32_t svsm_entry_offset() const;              // SVSM_INFO (legacy SVSM binaries)
  std::optional<HashTableArea> sev_hash_table() const;  // absent or zero base => nullopt
  // The IGVM metadata of edk2 >= stable202511; nullopt for an older OVMF. Parsing checked that
  // it names one parameter area, and that the memory map and VP count lie inside it.
  const std::optional<IgvmParameters>& igvm_parameters() const { return igvm_parameters_; }

 private:
  OvmfImage(ByteBuffer bytes, std::string name)
      : bytes_(std::move(bytes)), name_(std::move(name)) {}
  void parse_footer_table();
  void parse_sev_metadata();
  void parse_igvm_metadata();
  std::uint32_t u32_entry(const Guid& guid, const char* entry_name) const;

  ByteBuffer bytes_;
  std::string name_;
  bool has_footer_table_ = false;
  bool has_sev_metadata_ = false;
  std::vector<FooterEntry> footer_entries_;
  std::vector<SevMetadataSection> sev_sections_;
  std::optional<IgvmParameters> igvm_parameters_;
};

const char* section_type_name(std::uint32_t type);

}  // namespace cvtpm::formats::ovmf
