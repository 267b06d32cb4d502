// OVMF's reset-vector metadata: the GUIDed footer table at the end of the flash image and the
// SEV metadata it points to (edk2 OvmfPkg/ResetVector, "OvmfSevMetadata.asm"). Freestanding.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cvtpm/formats/guid.h"

namespace cvtpm::formats::ovmf {

// The table's footer entry ends this many bytes before the end of the image.
inline constexpr std::size_t kFooterTableEndGap = 32;

// Each table entry is data followed by this trailer; `size` includes the data and the trailer.
#pragma pack(push, 1)
struct FooterEntryTrailer {
  std::uint16_t size;
  Guid guid;
};
#pragma pack(pop)
static_assert(sizeof(FooterEntryTrailer) == 18);

namespace guids {
inline constexpr Guid kFooterTable = Guid::parse("96b582de-1fb2-45f7-baea-a366c55a082d");
inline constexpr Guid kSevEsResetBlock = Guid::parse("00f771de-1a7e-4fcb-890e-68c77e2fb44e");
inline constexpr Guid kSevMetadata = Guid::parse("dc886566-984a-4798-a75e-5585a7bf67cc");
inline constexpr Guid kSevHashTable = Guid::parse("7255371f-3a3b-4b04-927b-1da6efa8d454");
inline constexpr Guid kSevSecretBlock = Guid::parse("4c2eb361-7d9b-4cc3-8081-127c90d3d294");
inline constexpr Guid kTdxMetadata = Guid::parse("e47a6535-984a-4798-865e-4685a7bf8ec2");
// Legacy COCONUT-SVSM binaries (pre-IGVM): u32 offset of the entry point from the image base.
inline constexpr Guid kSvsmInfo = Guid::parse("a789a612-0597-4c4b-a49f-cbb1fe9d1ddd");
// IGVM parameter metadata (edk2 >= stable202511; COCONUT-SVSM boot/defs/src/firmware.rs
// OVMF_IGVM_METADATA_GUID): u32 offset of an "IGVM" descriptor from the image end.
inline constexpr Guid kIgvmMetadata = Guid::parse("784fa70e-3176-4677-8a20-04b68699e374");
}  // namespace guids

// SEV metadata ("ASEV"), located `offset` bytes before the image end, where `offset` is the
// u32 payload of the kSevMetadata footer entry.
struct SevMetadataHeader {
  std::uint8_t signature[4];  // "ASEV"
  std::uint32_t size;         // header plus all sections
  std::uint32_t version;      // 1
  std::uint32_t num_sections;
};
static_assert(sizeof(SevMetadataHeader) == 16);

struct SevMetadataSection {
  std::uint32_t gpa;
  std::uint32_t size;
  std::uint32_t type;
};
static_assert(sizeof(SevMetadataSection) == 12);

enum class SevSectionType : std::uint32_t {
  kSnpSecMem = 1,         // pre-validated memory for SEC
  kSnpSecrets = 2,        // the SNP secrets page
  kCpuid = 3,             // the SNP CPUID page
  kSvsmCaa = 4,           // calling area for an SVSM-aware OVMF
  kSnpKernelHashes = 16,  // page holding the SEV hash table for measured direct boot
};

inline constexpr std::uint32_t kSevMetadataVersion = 1;

// IGVM metadata ("IGVM"): edk2 OvmfPkg/ResetVector/X64/IgvmMetadata.nasm.inc. The same header
// layout as the SEV metadata, then sections of {start, size, type}: for the parameter and HOB
// areas `start` is a GPA, for the memory map and the VP count an offset into the parameter area.
using IgvmMetadataHeader = SevMetadataHeader;
struct IgvmMetadataSection {
  std::uint32_t start;
  std::uint32_t size;
  std::uint32_t type;
};
static_assert(sizeof(IgvmMetadataSection) == 12);

enum class IgvmSectionType : std::uint32_t {
  kParamArea = 0x100,  // the IGVM parameter area (OVMF's PcdOvmfIgvmParamBase/Size)
  kMemoryMap = 0x101,  // IGVM_VHS_MEMORY_MAP_ENTRY array, at an offset in the parameter area
  kVpCount = 0x102,    // u32 vCPU count, at an offset in the parameter area
  kHobArea = 0x200,    // IGVM data HOBs (PcdOvmfIgvmHobBase/Size)
};

inline constexpr std::uint32_t kIgvmMetadataVersion = 1;

}  // namespace cvtpm::formats::ovmf
