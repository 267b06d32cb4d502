// Assembles the image: headers, then directives in the order QEMU/KVM measure them (parameter
// inserts, pages by ascending GPA, the SNP VMSA last); see docs/igvm.md "Image layout".
#include "cvtpm/igvmgen/image_builder.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "cpuid_page.h"
#include "cvtpm/support/error.h"

namespace cvtpm::igvmgen {
namespace {

namespace boot = formats::boot;
namespace igvm = formats::igvm;
using igvm::kPageSize;

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string range(std::uint64_t begin, std::uint64_t end) {
  return "[" + hex(begin) + ", " + hex(end) + ")";
}

constexpr std::uint64_t align_down(std::uint64_t v) {
  return v & ~(kPageSize - 1);
}
constexpr std::uint64_t align_up(std::uint64_t v) {
  return align_down(v + kPageSize - 1);
}

bool overlaps(std::uint64_t a_begin, std::uint64_t a_end, std::uint64_t b_begin,
              std::uint64_t b_end) {
  return a_begin < b_end && b_begin < a_end;
}

template <typename T>
ByteBuffer page_of(const T& value) {
  static_assert(sizeof(T) <= kPageSize);
  std::vector<std::uint8_t> page(kPageSize, 0);
  std::memcpy(page.data(), &value, sizeof value);
  return ByteBuffer(std::move(page));
}

void check_options(const BuildOptions& o) {
  if (!o.snp && !o.native) throw InputError("--platform", "names no platform (snp, native)");
  if (o.guest_vmpl < 1 || o.guest_vmpl > 3) {
    throw InputError("--guest-vmpl", std::to_string(o.guest_vmpl) +
                                         " is not a lower VMPL (1..3): VMPL0 is the firmware's");
  }
  const std::pair<const char*, std::uint64_t> feature_sets[] = {
      {"--sev-features", o.sev_features}, {"--guest-sev-features", o.guest_sev_features}};
  for (const auto& [what, features] : feature_sets) {
    if (!(features & formats::snp::sev_features::kSnpActive)) {
      throw InputError(what, hex(features) + " lacks bit 0 (SNP active)");
    }
    if ((features & formats::snp::sev_features::kRestrictedInjection) &&
        (features & formats::snp::sev_features::kAlternateInjection)) {
      throw InputError(what, hex(features) +
                                 " sets both Restricted and Alternate Injection, which VMRUN "
                                 "refuses (AMD APM vol. 2, 15.36.16)");
    }
    if (features & formats::snp::sev_features::kVirtualTom) {
      throw InputError(what, hex(features) +
                                 " sets vTOM (bit 1); the image declares no vTOM "
                                 "boundary, so the guest would not boot");
    }
  }
}

struct Builder {
  const formats::elf::ElfImage& elf;
  const formats::ovmf::OvmfImage& ovmf;
  const BuildOptions& options;
  BuiltImage out;
  std::uint32_t all_mask = 0;
  std::vector<igvm::PageDirective> pages;

  static constexpr std::uint64_t kRegionBegin = boot::kFirmwareBase;
  static constexpr std::uint64_t kRegionEnd = boot::kFirmwareBase + boot::kFirmwareRegionSize;

  void plan_layout() {
    ImageLayout& l = out.layout;
    for (const formats::elf::LoadSegment& s : elf.segments()) {
      if (s.paddr < kRegionBegin || s.paddr + s.memsz > kRegionEnd) {
        throw InputError(elf.name(), "PT_LOAD segment " + range(s.paddr, s.paddr + s.memsz) +
                                         " lies outside the firmware region " +
                                         range(kRegionBegin, kRegionEnd) +
                                         " (link the firmware at kFirmwareBase)");
      }
    }
    l.image_begin = align_down(elf.lowest_address());
    l.elf_end = align_up(elf.highest_address());
    if (l.elf_end + kBootPagesSize > kRegionEnd) {
      throw InputError(elf.name(), "segments end at " + hex(l.elf_end) + ", leaving no room for " +
                                       "the boot pages (" + hex(kBootPagesSize) +
                                       " bytes) before the firmware region ends at " +
                                       hex(kRegionEnd));
    }
    l.boot_params_gpa = l.elf_end + kBootParamsOffset;
    l.cpuid_gpa = l.elf_end + kCpuidPageOffset;
    l.secrets_gpa = l.elf_end + kSecretsPageOffset;
    l.vp_env_area_gpa = l.elf_end + kVpEnvAreaOffset;
    l.memory_map_gpa = l.elf_end + kMemoryMapAreaOffset;
    l.image_end = l.elf_end + kBootPagesSize;
    l.entry = elf.entry();
    if (l.entry > UINT32_MAX) {
      throw InputError(elf.name(), "entry point " + hex(l.entry) +
                                       " is above 4 GiB; the entry runs in 32-bit mode");
    }

    l.ovmf_gpa = ovmf.gpa();
    l.ovmf_size = ovmf.size();
    if (ovmf.size() > kMaxOvmfSize) {
      throw InputError(ovmf.name(), "is " + hex(ovmf.size()) + " bytes; OVMF ending at 4 GiB may " +
                                        "be at most " + hex(kMaxOvmfSize) +
                                        " to stay above the MMIO window of q35 guests");
    }
    if (overlaps(l.ovmf_gpa, formats::ovmf::kFourGiB, kRegionBegin, kRegionEnd)) {
      throw InputError(ovmf.name(), "flash range " + range(l.ovmf_gpa, formats::ovmf::kFourGiB) +
                                        " overlaps the firmware region " +
                                        range(kRegionBegin, kRegionEnd));
    }
    for (const formats::ovmf::SevMetadataSection& s : ovmf.sev_sections()) {
      if (overlaps(s.gpa, std::uint64_t{s.gpa} + s.size, kRegionBegin, kRegionEnd)) {
        throw InputError(ovmf.name(), std::string("OVMF SEV metadata section ") +
                                          formats::ovmf::section_type_name(s.type) + " " +
                                          range(s.gpa, std::uint64_t{s.gpa} + s.size) +
                                          " overlaps the firmware region " +
                                          range(kRegionBegin, kRegionEnd));
      }
    }
  }

  boot::BootParams boot_params(bool snp, const GuestFirmware& guest) const {
    const ImageLayout& l = out.layout;
    boot::BootParams p{};
    p.magic = boot::kBootParamsMagic;
    p.version = boot::kBootParamsVersion;
    p.size = sizeof p;
    p.flags = options.boot_flags;
    p.firmware = {kRegionBegin, boot::kFirmwareRegionSize};
    p.secrets_gpa = snp ? l.secrets_gpa : 0;
    p.cpuid_gpa = snp ? l.cpuid_gpa : 0;
    p.vp_count_gpa = l.vp_env_area_gpa;
    p.environment_gpa = l.vp_env_area_gpa + 4;
    p.memory_map_gpa = l.memory_map_gpa;
    p.memory_map_size = kMemoryMapAreaSize;
    p.debug_serial_port = options.serial_port;
    p.guest_vmpl = options.guest_vmpl;
    p.ek_algorithm = static_cast<std::uint8_t>(options.ek_algorithm);
    p.guest_sev_features = options.guest_sev_features;
    p.guest = guest.info;
    p.image = {l.image_begin, l.image_end - l.image_begin};
    p.guest_memory_map = guest.memory_map;
    p.state_binding = static_cast<std::uint32_t>(options.state_binding);
    p.state_min_svn = options.state_min_svn;
    return p;
  }

  void add_page(std::uint64_t gpa, std::uint32_t mask, igvm::PageDataType type, ByteBuffer data) {
    pages.push_back(igvm::PageDirective{gpa, mask, 0, type, igvm::FileData{std::move(data)}});
  }

  // The ELF's pages and every page between its segments, zero-filled where it has no bytes:
  // the whole range is then loaded (and, under SNP, validated) at launch. Pages that lie wholly
  // inside one segment's file bytes are slices of the (mapped) ELF; pages without any file byte
  // share one zero page; only pages at segment edges are composed.
  void add_firmware_pages() {
    const ImageLayout& l = out.layout;
    const ByteBuffer zero_page(std::vector<std::uint8_t>(kPageSize, 0));
    const auto& segments = elf.segments();
    std::size_t first = 0;  // segments before it end below the current page
    for (std::uint64_t gpa = l.image_begin; gpa < l.elf_end; gpa += kPageSize) {
      while (first < segments.size() &&
             segments[first].paddr + segments[first].file_bytes.size() <= gpa) {
        ++first;
      }
      ByteBuffer page = zero_page;
      std::vector<std::uint8_t> composed;
      for (std::size_t i = first; i < segments.size() && segments[i].paddr < gpa + kPageSize; ++i) {
        const formats::elf::LoadSegment& s = segments[i];
        const std::uint64_t begin = std::max(gpa, s.paddr);
        const std::uint64_t end = std::min(gpa + kPageSize, s.paddr + s.file_bytes.size());
        if (begin >= end) continue;
        const auto from = s.file_bytes.subspan(begin - s.paddr, end - begin);
        if (begin == gpa && end == gpa + kPageSize) {
          page = elf.buffer().slice(static_cast<std::size_t>(from.data() - elf.buffer().data()),
                                    kPageSize);
          break;
        }
        if (composed.empty()) composed.resize(kPageSize, 0);
        std::copy(from.begin(), from.end(),
                  composed.begin() + static_cast<std::ptrdiff_t>(begin - gpa));
      }
      if (!composed.empty()) page = ByteBuffer(std::move(composed));
      add_page(gpa, all_mask, igvm::PageDataType::kNormal, std::move(page));
    }
  }

  void add_boot_pages(const GuestFirmware& guest) {
    const ImageLayout& l = out.layout;
    // One BootParams page per platform at the same GPA: only the SNP one names the CPUID and
    // secrets pages, which exist only on SNP.
    if (options.snp) {
      out.snp_boot_params = boot_params(true, guest);
      add_page(l.boot_params_gpa, kSnpMask, igvm::PageDataType::kNormal,
               page_of(*out.snp_boot_params));
    }
    if (options.native) {
      out.native_boot_params = boot_params(false, guest);
      add_page(l.boot_params_gpa, kNativeMask, igvm::PageDataType::kNormal,
               page_of(*out.native_boot_params));
    }
    if (options.snp) {
      const auto cpuid = snp_cpuid_template();
      add_page(l.cpuid_gpa, kSnpMask, igvm::PageDataType::kCpuidData,
               ByteBuffer(cpuid.data(), cpuid.size()));
      add_page(l.secrets_gpa, kSnpMask, igvm::PageDataType::kSecrets, {});
    }
  }

  void add_ovmf_pages() {
    const ImageLayout& l = out.layout;
    for (std::uint64_t off = 0; off < l.ovmf_size; off += kPageSize) {
      add_page(l.ovmf_gpa + off, all_mask, igvm::PageDataType::kNormal,
               ovmf.buffer().slice(off, kPageSize));
    }
  }

  void build() {
    check_options(options);
    all_mask = (options.snp ? kSnpMask : 0) | (options.native ? kNativeMask : 0);
    plan_layout();
    const GuestFirmware guest = guest_firmware_info(ovmf, options.allow_non_svsm_ovmf);
    const ImageLayout& l = out.layout;

    igvm::IgvmFile& f = out.file;
    // The native VP context is a version 2 structure; SNP-only images stay version 1.
    f.format_version = options.native ? igvm::kFormatVersion2 : igvm::kFormatVersion1;
    f.architecture = igvm::Architecture::kX64;
    if (options.snp) {
      f.platforms.push_back(igvm::SupportedPlatform{
          kSnpMask, 2, static_cast<std::uint8_t>(igvm::PlatformType::kSevSnp),
          igvm::kPlatformVersion, 0});
      f.initialization.emplace_back(igvm::GuestPolicy{options.policy, kSnpMask, 0});
    }
    if (options.native) {
      f.platforms.push_back(igvm::SupportedPlatform{
          kNativeMask, 0, static_cast<std::uint8_t>(igvm::PlatformType::kNative),
          igvm::kPlatformVersion, 0});
    }

    f.directives.emplace_back(igvm::RequiredMemory{
        kRegionBegin, all_mask, static_cast<std::uint32_t>(boot::kFirmwareRegionSize), 0, 0});
    f.directives.emplace_back(igvm::ParameterAreaDirective{kPageSize, kVpEnvAreaIndex, {}});
    f.directives.emplace_back(
        igvm::ParameterAreaDirective{kMemoryMapAreaSize, kMemoryMapAreaIndex, {}});
    f.directives.emplace_back(
        igvm::ParameterUsage{igvm::HeaderType::kVpCountParameter, {kVpEnvAreaIndex, 0}});
    f.directives.emplace_back(
        igvm::ParameterUsage{igvm::HeaderType::kEnvironmentInfoParameter, {kVpEnvAreaIndex, 4}});
    f.directives.emplace_back(
        igvm::ParameterUsage{igvm::HeaderType::kMemoryMap, {kMemoryMapAreaIndex, 0}});
    f.directives.emplace_back(igvm::ParameterInsert{l.vp_env_area_gpa, all_mask, kVpEnvAreaIndex});
    f.directives.emplace_back(
        igvm::ParameterInsert{l.memory_map_gpa, all_mask, kMemoryMapAreaIndex});

    add_firmware_pages();
    add_boot_pages(guest);
    add_ovmf_pages();
    std::stable_sort(
        pages.begin(), pages.end(),
        [](const igvm::PageDirective& a, const igvm::PageDirective& b) { return a.gpa < b.gpa; });
    f.directives.reserve(f.directives.size() + pages.size() + 2);
    for (igvm::PageDirective& p : pages) f.directives.emplace_back(std::move(p));

    if (options.native) {
      f.directives.emplace_back(igvm::VpContextDirective{
          0, kNativeMask, 0,
          igvm::FileData{page_of(native_boot_context(l.entry, l.boot_params_gpa))}});
    }
    if (options.snp) {
      f.directives.emplace_back(igvm::VpContextDirective{
          formats::snp::kVmsaGpa, kSnpMask, 0,
          igvm::FileData{
              page_of(snp_boot_vmsa(l.entry, l.boot_params_gpa, options.sev_features))}});
    }
    igvm::validate_igvm(f, "generated image");
  }
};

}  // namespace

BuiltImage build_image(const formats::elf::ElfImage& firmware, const formats::ovmf::OvmfImage& ovmf,
                       const BuildOptions& options) {
  Builder b{firmware, ovmf, options, {}, 0, {}};
  b.build();
  return std::move(b.out);
}

}  // namespace cvtpm::igvmgen
