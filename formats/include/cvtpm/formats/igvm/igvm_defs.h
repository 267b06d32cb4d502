// The IGVM file format (Independent Guest Virtual Machine), versions 1 and 2, as defined by
// microsoft/igvm's igvm_defs (IGVM_FIXED_HEADER, IGVM_VHS_* structures): the fixed headers, the
// type-length-value variable headers of the platform, initialization and directive sections,
// and the formats a loader writes into parameter areas or reads as VP context data.
// All integers are little-endian. Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cvtpm::formats::igvm {

inline constexpr std::uint32_t kMagic = 0x4D56'4749;  // "IGVM" read little-endian
inline constexpr std::uint32_t kFormatVersion1 = 1;
inline constexpr std::uint32_t kFormatVersion2 = 2;
inline constexpr std::uint64_t kPageSize = 4096;
inline constexpr std::uint64_t kPageSize2M = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// File layout: fixed header | variable headers (TLV list) | file data (to the end of the file).

// IGVM_FIXED_HEADER.
struct FixedHeaderV1 {
  std::uint32_t magic;
  std::uint32_t format_version;
  std::uint32_t variable_header_offset;  // >= sizeof(fixed header), 8-byte aligned
  std::uint32_t variable_header_size;    // all variable headers including their padding
  std::uint32_t total_file_size;
  std::uint32_t checksum;  // CRC-32 of this header (checksum zeroed) + the variable headers
};
static_assert(sizeof(FixedHeaderV1) == 24);
static_assert(offsetof(FixedHeaderV1, checksum) == 0x14);

enum class Architecture : std::uint32_t { kX64 = 0, kAArch64 = 1 };

// IGVM_FIXED_HEADER_V2.
struct FixedHeaderV2 {
  FixedHeaderV1 v1;
  std::uint32_t architecture;  // Architecture
  std::uint32_t page_size;     // must be 4096
};
static_assert(sizeof(FixedHeaderV2) == 32);
static_assert(offsetof(FixedHeaderV2, architecture) == 0x18);
static_assert(offsetof(FixedHeaderV2, page_size) == 0x1C);

// IGVM_VHS_VARIABLE_HEADER: `length` is the exact size of the structure that follows; the next
// header starts at the next 8-byte boundary, the padding being zero.
struct VariableHeader {
  std::uint32_t type;
  std::uint32_t length;
};
static_assert(sizeof(VariableHeader) == 8);

inline constexpr std::size_t kVariableHeaderAlignment = 8;

// Loaders may ignore a header of unknown type with this bit set (the reference parser does not).
inline constexpr std::uint32_t kOptionalTypeBit = 1u << 31;

// IgvmVariableHeaderType.
enum class HeaderType : std::uint32_t {
  // Platform section (0x001..0x100).
  kSupportedPlatform = 0x001,
  // Initialization section (0x101..0x200).
  kGuestPolicy = 0x101,
  kRelocatableRegion = 0x102,
  kPageTableRelocationRegion = 0x103,
  kCorimDocument = 0x104,
  kCorimSignature = 0x105,
  kCcaPolicy = 0x106,
  // Directive section (0x301..0x400).
  kParameterArea = 0x301,
  kPageData = 0x302,
  kParameterInsert = 0x303,
  kVpContext = 0x304,
  kRequiredMemory = 0x305,
  kReservedDoNotUse = 0x306,  // formerly SHARED_BOUNDARY_GPA; never valid
  kVpCountParameter = 0x307,
  kSrat = 0x308,
  kMadt = 0x309,
  kMmioRanges = 0x30A,
  kSnpIdBlock = 0x30B,
  kMemoryMap = 0x30C,
  kErrorRange = 0x30D,
  kCommandLine = 0x30E,
  kSlit = 0x30F,
  kPptt = 0x310,
  kVbsMeasurement = 0x311,
  kDeviceTree = 0x312,
  kEnvironmentInfoParameter = 0x313,
};

inline constexpr std::uint32_t kPlatformTypesFirst = 0x001, kPlatformTypesLast = 0x100;
inline constexpr std::uint32_t kInitTypesFirst = 0x101, kInitTypesLast = 0x200;
inline constexpr std::uint32_t kDirectiveTypesFirst = 0x301, kDirectiveTypesLast = 0x400;

// ---------------------------------------------------------------------------------------------
// Platform section.

// IgvmPlatformType.
enum class PlatformType : std::uint8_t {
  kNative = 0,
  kVsmIsolation = 1,
  kSevSnp = 2,
  kTdx = 3,
  kSev = 4,
  kSevEs = 5,
  kCca = 6,
};

inline constexpr std::uint16_t kPlatformVersion = 1;  // the only version of every platform

// IGVM_VHS_SUPPORTED_PLATFORM.
struct SupportedPlatform {
  std::uint32_t compatibility_mask;   // exactly one bit: the bit other headers use for it
  std::uint8_t highest_vtl;           // 0 or 2
  std::uint8_t platform_type;         // PlatformType
  std::uint16_t platform_version;     // kPlatformVersion
  std::uint64_t shared_gpa_boundary;  // 0 = enlightened shared memory; must be 0 for NATIVE/VSM
  friend bool operator==(const SupportedPlatform&, const SupportedPlatform&) = default;
};
static_assert(sizeof(SupportedPlatform) == 16);
static_assert(offsetof(SupportedPlatform, platform_type) == 5);
static_assert(offsetof(SupportedPlatform, shared_gpa_boundary) == 8);

// ---------------------------------------------------------------------------------------------
// Initialization section.

// IGVM_VHS_GUEST_POLICY. For SEV-SNP `policy` is the SNP ABI GUEST_POLICY
// (formats/snp/id_block.h guest_policy bits).
struct GuestPolicy {
  std::uint64_t policy;
  std::uint32_t compatibility_mask;
  std::uint32_t reserved;  // must be 0
  friend bool operator==(const GuestPolicy&, const GuestPolicy&) = default;
};
static_assert(sizeof(GuestPolicy) == 16);
static_assert(offsetof(GuestPolicy, compatibility_mask) == 8);

namespace relocatable_region_flags {
inline constexpr std::uint8_t kIsVtl2 = 0x1;
inline constexpr std::uint8_t kApplyPc = 0x2;    // adjust RIP of (vp_index, vtl)
inline constexpr std::uint8_t kApplyGdtr = 0x4;  // adjust GDTR of (vp_index, vtl)
inline constexpr std::uint8_t kAll = 0x7;
}  // namespace relocatable_region_flags

// IGVM_VHS_RELOCATABLE_REGION (X64 only).
struct RelocatableRegion {
  std::uint32_t compatibility_mask;
  std::uint16_t vp_index;
  std::uint8_t vtl;
  std::uint8_t flags;                  // relocatable_region_flags
  std::uint64_t relocation_alignment;  // multiple of 4 KiB
  std::uint64_t relocation_region_gpa;
  std::uint64_t relocation_region_size;
  std::uint64_t minimum_relocation_gpa;
  std::uint64_t maximum_relocation_gpa;
  friend bool operator==(const RelocatableRegion&, const RelocatableRegion&) = default;
};
static_assert(sizeof(RelocatableRegion) == 48);
static_assert(offsetof(RelocatableRegion, relocation_alignment) == 8);
static_assert(offsetof(RelocatableRegion, maximum_relocation_gpa) == 40);

// IGVM_VHS_PAGE_TABLE_RELOCATION.
struct PageTableRelocation {
  std::uint32_t compatibility_mask;
  std::uint16_t vp_index;
  std::uint8_t vtl;
  std::uint8_t reserved;  // must be 0
  std::uint64_t gpa;
  std::uint64_t size;
  std::uint64_t used_size;
  friend bool operator==(const PageTableRelocation&, const PageTableRelocation&) = default;
};
static_assert(sizeof(PageTableRelocation) == 32);
static_assert(offsetof(PageTableRelocation, gpa) == 8);

// IGVM_VHS_CORIM_DOCUMENT / IGVM_VHS_CORIM_SIGNATURE (same layout): a CoRIM document (CBOR) or
// its COSE signature stored in the file data section.
struct CorimData {
  std::uint32_t compatibility_mask;
  std::uint32_t file_offset;
  std::uint32_t size_bytes;
  std::uint32_t reserved;  // must be 0
};
static_assert(sizeof(CorimData) == 16);

// IGVM_VHS_CCA_POLICY (Arm CCA, AArch64 files only). Its field layout was not available in the
// sources this project read; the reader carries it as opaque bytes (docs/igvm.md).
inline constexpr std::size_t kCcaPolicySize = 32;

// ---------------------------------------------------------------------------------------------
// Directive section.

// IGVM_VHS_PARAMETER_AREA: a loader-filled area; inserted into the guest by PARAMETER_INSERT.
struct ParameterArea {
  std::uint64_t number_of_bytes;  // multiple of 4 KiB
  std::uint32_t parameter_area_index;
  std::uint32_t file_offset;  // initial contents (number_of_bytes long), or 0 for zeros
};
static_assert(sizeof(ParameterArea) == 16);

// IgvmPageDataFlags.
namespace page_data_flags {
inline constexpr std::uint32_t kIs2MbPage = 1u << 0;
inline constexpr std::uint32_t kUnmeasured = 1u << 1;
inline constexpr std::uint32_t kShared = 1u << 2;
inline constexpr std::uint32_t kKnown = kIs2MbPage | kUnmeasured | kShared;
}  // namespace page_data_flags

// IgvmPageDataType.
enum class PageDataType : std::uint16_t {
  kNormal = 0,
  kSecrets = 1,
  kCpuidData = 2,
  kCpuidXf = 3,
};

// IGVM_VHS_PAGE_DATA.
struct PageData {
  std::uint64_t gpa;  // 4 KiB aligned (2 MiB for 2 MiB pages)
  std::uint32_t compatibility_mask;
  std::uint32_t file_offset;  // absolute file offset of 4 KiB of data, or 0 for a page of zeros
  std::uint32_t flags;        // page_data_flags
  std::uint16_t data_type;    // PageDataType
  std::uint16_t reserved;     // must be 0
};
static_assert(sizeof(PageData) == 24);
static_assert(offsetof(PageData, file_offset) == 0xC);
static_assert(offsetof(PageData, data_type) == 0x14);

// IGVM_VHS_PARAMETER_INSERT: imports a parameter area as unmeasured pages at `gpa`.
struct ParameterInsert {
  std::uint64_t gpa;
  std::uint32_t compatibility_mask;
  std::uint32_t parameter_area_index;
  friend bool operator==(const ParameterInsert&, const ParameterInsert&) = default;
};
static_assert(sizeof(ParameterInsert) == 16);

// IGVM_VHS_PARAMETER: where the loader deposits one parameter (the types VP_COUNT, SRAT, MADT,
// MMIO_RANGES, MEMORY_MAP, COMMAND_LINE, SLIT, PPTT, DEVICE_TREE, ENVIRONMENT_INFO).
struct Parameter {
  std::uint32_t parameter_area_index;
  std::uint32_t byte_offset;
  friend bool operator==(const Parameter&, const Parameter&) = default;
};
static_assert(sizeof(Parameter) == 8);

// IGVM_VHS_VP_CONTEXT. 20 bytes, so `gpa` is an unaligned u64 in the file and the header is
// followed by 4 bytes of padding. The data format depends on the platform of the (single-bit)
// compatibility mask: an SNP/SEV-ES VMSA page, an IgvmNativeVpContextX64 (NATIVE, SEV), or VBS
// registers (VSM).
#pragma pack(push, 1)
struct VpContext {
  std::uint64_t gpa;  // where the VMSA goes (SEV-ES, SNP); 0 otherwise
  std::uint32_t compatibility_mask;
  std::uint32_t file_offset;
  std::uint16_t vp_index;
  std::uint16_t reserved;  // must be 0
};
#pragma pack(pop)
static_assert(sizeof(VpContext) == 20);
static_assert(offsetof(VpContext, compatibility_mask) == 8);
static_assert(offsetof(VpContext, vp_index) == 16);

namespace required_memory_flags {
inline constexpr std::uint32_t kVtl2Protectable = 1u << 0;
}

// IGVM_VHS_REQUIRED_MEMORY: memory the guest needs present (not measured).
struct RequiredMemory {
  std::uint64_t gpa;
  std::uint32_t compatibility_mask;
  std::uint32_t number_of_bytes;
  std::uint32_t flags;     // required_memory_flags
  std::uint32_t reserved;  // must be 0
  friend bool operator==(const RequiredMemory&, const RequiredMemory&) = default;
};
static_assert(sizeof(RequiredMemory) == 24);
static_assert(offsetof(RequiredMemory, flags) == 0x10);

// IGVM_VHS_ERROR_RANGE: pages the guest uses to report errors to the host (shared).
struct ErrorRange {
  std::uint64_t gpa;
  std::uint32_t compatibility_mask;
  std::uint32_t size_bytes;
  friend bool operator==(const ErrorRange&, const ErrorRange&) = default;
};
static_assert(sizeof(ErrorRange) == 16);

// IGVM_VHS_SNP_ID_BLOCK_SIGNATURE: r and s little-endian, zero-extended to 72 bytes.
struct SnpIdBlockSignature {
  std::uint8_t r_comp[72];
  std::uint8_t s_comp[72];
  friend bool operator==(const SnpIdBlockSignature&, const SnpIdBlockSignature&) = default;
};
static_assert(sizeof(SnpIdBlockSignature) == 144);

// IGVM_VHS_SNP_ID_BLOCK_PUBLIC_KEY. Unlike the SNP ABI's public key structure it has a reserved
// u32 after `curve`; loaders convert it to the ABI form.
struct SnpIdBlockPublicKey {
  std::uint32_t curve;
  std::uint32_t reserved;
  std::uint8_t qx[72];
  std::uint8_t qy[72];
  friend bool operator==(const SnpIdBlockPublicKey&, const SnpIdBlockPublicKey&) = default;
};
static_assert(sizeof(SnpIdBlockPublicKey) == 152);

// IGVM_VHS_SNP_ID_BLOCK. The policy the PSP checks it with comes from GUEST_POLICY.
struct SnpIdBlock {
  std::uint32_t compatibility_mask;
  std::uint8_t author_key_enabled;
  std::uint8_t reserved[3];
  std::uint8_t ld[48];  // the launch digest the block vouches for
  std::uint8_t family_id[16];
  std::uint8_t image_id[16];
  std::uint32_t version;
  std::uint32_t guest_svn;
  std::uint32_t id_key_algorithm;
  std::uint32_t author_key_algorithm;
  SnpIdBlockSignature id_key_signature;
  SnpIdBlockPublicKey id_public_key;
  SnpIdBlockSignature author_key_signature;
  SnpIdBlockPublicKey author_public_key;
  friend bool operator==(const SnpIdBlock&, const SnpIdBlock&) = default;
};
static_assert(sizeof(SnpIdBlock) == 0x2B8);
static_assert(offsetof(SnpIdBlock, ld) == 0x008);
static_assert(offsetof(SnpIdBlock, family_id) == 0x038);
static_assert(offsetof(SnpIdBlock, image_id) == 0x048);
static_assert(offsetof(SnpIdBlock, version) == 0x058);
static_assert(offsetof(SnpIdBlock, guest_svn) == 0x05C);
static_assert(offsetof(SnpIdBlock, id_key_algorithm) == 0x060);
static_assert(offsetof(SnpIdBlock, id_key_signature) == 0x068);
static_assert(offsetof(SnpIdBlock, id_public_key) == 0x0F8);
static_assert(offsetof(SnpIdBlock, author_key_signature) == 0x190);
static_assert(offsetof(SnpIdBlock, author_public_key) == 0x220);

// IGVM_VHS_VBS_MEASUREMENT (Hyper-V VBS isolation).
struct VbsMeasurement {
  std::uint32_t compatibility_mask;
  std::uint32_t version;
  std::uint32_t product_id;
  std::uint32_t module_id;
  std::uint32_t security_version;
  std::uint32_t policy_flags;
  std::uint32_t boot_digest_algo;  // 1 = SHA-256
  std::uint32_t signing_algo;      // 1 = ECDSA P-384
  std::uint8_t boot_measurement_digest[64];
  std::uint8_t signature[256];
  std::uint8_t public_key[512];
  friend bool operator==(const VbsMeasurement&, const VbsMeasurement&) = default;
};
static_assert(sizeof(VbsMeasurement) == 864);
static_assert(offsetof(VbsMeasurement, boot_measurement_digest) == 32);
static_assert(offsetof(VbsMeasurement, public_key) == 352);

// The size of the structure a variable header of `type` carries (its TLV length before the
// 8-byte padding); 0 for a type this definition does not know.
constexpr std::size_t header_body_size(std::uint32_t type) {
  switch (static_cast<HeaderType>(type)) {
    case HeaderType::kSupportedPlatform:
      return sizeof(SupportedPlatform);
    case HeaderType::kGuestPolicy:
      return sizeof(GuestPolicy);
    case HeaderType::kRelocatableRegion:
      return sizeof(RelocatableRegion);
    case HeaderType::kPageTableRelocationRegion:
      return sizeof(PageTableRelocation);
    case HeaderType::kCorimDocument:
    case HeaderType::kCorimSignature:
      return sizeof(CorimData);
    case HeaderType::kCcaPolicy:
      return kCcaPolicySize;
    case HeaderType::kParameterArea:
      return sizeof(ParameterArea);
    case HeaderType::kPageData:
      return sizeof(PageData);
    case HeaderType::kParameterInsert:
      return sizeof(ParameterInsert);
    case HeaderType::kVpContext:
      return sizeof(VpContext);
    case HeaderType::kRequiredMemory:
      return sizeof(RequiredMemory);
    case HeaderType::kVpCountParameter:
    case HeaderType::kSrat:
    case HeaderType::kMadt:
    case HeaderType::kMmioRanges:
    case HeaderType::kMemoryMap:
    case HeaderType::kCommandLine:
    case HeaderType::kSlit:
    case HeaderType::kPptt:
    case HeaderType::kDeviceTree:
    case HeaderType::kEnvironmentInfoParameter:
      return sizeof(Parameter);
    case HeaderType::kSnpIdBlock:
      return sizeof(SnpIdBlock);
    case HeaderType::kErrorRange:
      return sizeof(ErrorRange);
    case HeaderType::kVbsMeasurement:
      return sizeof(VbsMeasurement);
    case HeaderType::kReservedDoNotUse:
      break;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// What a loader writes into parameter areas.

// IgvmEnvironmentInfo (ENVIRONMENT_INFO parameter, u32).
namespace environment_info {
inline constexpr std::uint32_t kMemoryIsShared = 1u << 0;  // memory starts host-visible
}

// MemoryMapEntryType.
enum class MemoryMapEntryType : std::uint16_t {
  kMemory = 0,
  kPlatformReserved = 1,
  kPersistent = 2,
  kVtl2Protectable = 3,
  kSpecificPurpose = 4,
  kHidden = 5,
};

// IGVM_VHS_MEMORY_MAP_ENTRY (MEMORY_MAP parameter): sorted; an entry with zero pages ends it.
struct MemoryMapEntry {
  std::uint64_t starting_gpa_page_number;
  std::uint64_t number_of_pages;
  std::uint16_t entry_type;  // MemoryMapEntryType
  std::uint16_t flags;
  std::uint32_t reserved;
};
static_assert(sizeof(MemoryMapEntry) == 24);
static_assert(offsetof(MemoryMapEntry, entry_type) == 16);

// IGVM_VHS_MEMORY_RANGE and IGVM_VHS_MMIO_RANGES (MMIO_RANGES parameter).
struct MemoryRange {
  std::uint64_t starting_gpa_page_number;
  std::uint64_t number_of_pages;
};
static_assert(sizeof(MemoryRange) == 16);

struct MmioRanges {
  MemoryRange mmio_ranges[2];
};
static_assert(sizeof(MmioRanges) == 32);

// ---------------------------------------------------------------------------------------------
// VP context data formats (besides the SNP VMSA, formats/snp/vmsa.h).

// IgvmNativeVpContextX64: the BSP's registers for the NATIVE (and SEV) platforms; the rest of
// the 4 KiB data page must be zero. Segment attributes are descriptor bits 8..23 with bits
// 11..8 zero (0xC09B = flat 32-bit code, 0xA09B = 64-bit code, 0xC093 = flat data); the data
// segment applies to DS, ES, FS, GS and SS.
struct NativeVpContextX64 {
  std::uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
  std::uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  std::uint64_t rip;
  std::uint64_t rflags;
  std::uint64_t idtr_base;
  std::uint16_t idtr_limit;
  std::uint16_t reserved[2];
  std::uint16_t gdtr_limit;
  std::uint64_t gdtr_base;
  std::uint16_t code_selector;
  std::uint16_t code_attributes;
  std::uint32_t code_base;
  std::uint32_t code_limit;
  std::uint16_t data_selector;
  std::uint16_t data_attributes;
  std::uint32_t data_base;
  std::uint32_t data_limit;
  std::uint64_t gs_base;
  std::uint64_t cr0;
  std::uint64_t cr3;
  std::uint64_t cr4;
  std::uint64_t efer;
};
static_assert(sizeof(NativeVpContextX64) == 232);
static_assert(offsetof(NativeVpContextX64, rip) == 0x80);
static_assert(offsetof(NativeVpContextX64, rflags) == 0x88);
static_assert(offsetof(NativeVpContextX64, idtr_base) == 0x90);
static_assert(offsetof(NativeVpContextX64, idtr_limit) == 0x98);
static_assert(offsetof(NativeVpContextX64, gdtr_limit) == 0x9E);
static_assert(offsetof(NativeVpContextX64, gdtr_base) == 0xA0);
static_assert(offsetof(NativeVpContextX64, code_selector) == 0xA8);
static_assert(offsetof(NativeVpContextX64, data_selector) == 0xB4);
static_assert(offsetof(NativeVpContextX64, gs_base) == 0xC0);
static_assert(offsetof(NativeVpContextX64, cr0) == 0xC8);
static_assert(offsetof(NativeVpContextX64, efer) == 0xE0);

// VbsVpContextHeader followed by `register_count` VbsVpContextRegister (Hyper-V register names
// and values as the TLFS defines them).
struct VbsVpContextHeader {
  std::uint32_t register_count;
};
static_assert(sizeof(VbsVpContextHeader) == 4);

#pragma pack(push, 1)
struct VbsVpContextRegister {
  std::uint8_t vtl;
  std::uint32_t register_name;
  std::uint8_t mbz[11];
  std::uint8_t register_value[16];
};
#pragma pack(pop)
static_assert(sizeof(VbsVpContextRegister) == 32);
static_assert(offsetof(VbsVpContextRegister, register_value) == 16);

}  // namespace cvtpm::formats::igvm
