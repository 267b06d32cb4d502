#include <algorithm>

#include "cvtpm/formats/igvm/igvm_file.h"

namespace cvtpm::formats::igvm {

bool operator==(const FileData& a, const FileData& b) {
  return std::ranges::equal(a.span(), b.span());
}

const SupportedPlatform* IgvmFile::platform(PlatformType type) const {
  for (const SupportedPlatform& p : platforms) {
    if (p.platform_type == static_cast<std::uint8_t>(type)) return &p;
  }
  return nullptr;
}

std::uint32_t IgvmFile::declared_mask() const {
  std::uint32_t mask = 0;
  for (const SupportedPlatform& p : platforms) mask |= p.compatibility_mask;
  return mask;
}

HeaderType header_type(const InitHeader& header) {
  struct {
    HeaderType operator()(const GuestPolicy&) const { return HeaderType::kGuestPolicy; }
    HeaderType operator()(const RelocatableRegion&) const { return HeaderType::kRelocatableRegion; }
    HeaderType operator()(const PageTableRelocation&) const {
      return HeaderType::kPageTableRelocationRegion;
    }
    HeaderType operator()(const CorimDocument&) const { return HeaderType::kCorimDocument; }
    HeaderType operator()(const CorimSignature&) const { return HeaderType::kCorimSignature; }
    HeaderType operator()(const CcaPolicy&) const { return HeaderType::kCcaPolicy; }
  } visitor;
  return std::visit(visitor, header);
}

HeaderType header_type(const Directive& directive) {
  struct {
    HeaderType operator()(const PageDirective&) const { return HeaderType::kPageData; }
    HeaderType operator()(const ParameterAreaDirective&) const {
      return HeaderType::kParameterArea;
    }
    HeaderType operator()(const ParameterInsert&) const { return HeaderType::kParameterInsert; }
    HeaderType operator()(const ParameterUsage& u) const { return u.type; }
    HeaderType operator()(const VpContextDirective&) const { return HeaderType::kVpContext; }
    HeaderType operator()(const RequiredMemory&) const { return HeaderType::kRequiredMemory; }
    HeaderType operator()(const ErrorRange&) const { return HeaderType::kErrorRange; }
    HeaderType operator()(const SnpIdBlockDirective&) const { return HeaderType::kSnpIdBlock; }
    HeaderType operator()(const VbsMeasurementDirective&) const {
      return HeaderType::kVbsMeasurement;
    }
  } visitor;
  return std::visit(visitor, directive);
}

const char* header_type_name(std::uint32_t type) {
  switch (static_cast<HeaderType>(type)) {
    case HeaderType::kSupportedPlatform:
      return "SUPPORTED_PLATFORM";
    case HeaderType::kGuestPolicy:
      return "GUEST_POLICY";
    case HeaderType::kRelocatableRegion:
      return "RELOCATABLE_REGION";
    case HeaderType::kPageTableRelocationRegion:
      return "PAGE_TABLE_RELOCATION_REGION";
    case HeaderType::kCorimDocument:
      return "CORIM_DOCUMENT";
    case HeaderType::kCorimSignature:
      return "CORIM_SIGNATURE";
    case HeaderType::kCcaPolicy:
      return "CCA_POLICY";
    case HeaderType::kParameterArea:
      return "PARAMETER_AREA";
    case HeaderType::kPageData:
      return "PAGE_DATA";
    case HeaderType::kParameterInsert:
      return "PARAMETER_INSERT";
    case HeaderType::kVpContext:
      return "VP_CONTEXT";
    case HeaderType::kRequiredMemory:
      return "REQUIRED_MEMORY";
    case HeaderType::kReservedDoNotUse:
      return "RESERVED_DO_NOT_USE";
    case HeaderType::kVpCountParameter:
      return "VP_COUNT_PARAMETER";
    case HeaderType::kSrat:
      return "SRAT";
    case HeaderType::kMadt:
      return "MADT";
    case HeaderType::kMmioRanges:
      return "MMIO_RANGES";
    case HeaderType::kSnpIdBlock:
      return "SNP_ID_BLOCK";
    case HeaderType::kMemoryMap:
      return "MEMORY_MAP";
    case HeaderType::kErrorRange:
      return "ERROR_RANGE";
    case HeaderType::kCommandLine:
      return "COMMAND_LINE";
    case HeaderType::kSlit:
      return "SLIT";
    case HeaderType::kPptt:
      return "PPTT";
    case HeaderType::kVbsMeasurement:
      return "VBS_MEASUREMENT";
    case HeaderType::kDeviceTree:
      return "DEVICE_TREE";
    case HeaderType::kEnvironmentInfoParameter:
      return "ENVIRONMENT_INFO_PARAMETER";
  }
  return "unknown";
}

const char* platform_type_name(std::uint8_t type) {
  switch (static_cast<PlatformType>(type)) {
    case PlatformType::kNative:
      return "native";
    case PlatformType::kVsmIsolation:
      return "vsm";
    case PlatformType::kSevSnp:
      return "sev-snp";
    case PlatformType::kTdx:
      return "tdx";
    case PlatformType::kSev:
      return "sev";
    case PlatformType::kSevEs:
      return "sev-es";
    case PlatformType::kCca:
      return "cca";
  }
  return "unknown";
}

const char* page_data_type_name(PageDataType type) {
  switch (type) {
    case PageDataType::kNormal:
      return "NORMAL";
    case PageDataType::kSecrets:
      return "SECRETS";
    case PageDataType::kCpuidData:
      return "CPUID_DATA";
    case PageDataType::kCpuidXf:
      return "CPUID_XF";
  }
  return "unknown";
}

}  // namespace cvtpm::formats::igvm
