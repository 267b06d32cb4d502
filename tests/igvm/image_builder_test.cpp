// The cvtpm image: layout, boot parameters, VP contexts, the launch digest against an
// independent chain built from the inputs, reproducibility and every refusal.
#include "cvtpm/igvmgen/image_builder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>

#include "cvtpm/measure/igvm_measure.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"
#include "raw_igvm.h"
#include "reference_chain.h"
#include "synthetic_elf.h"
#include "synthetic_ovmf.h"
#include "temp_dir.h"

namespace cvtpm::igvmgen {
namespace {

namespace boot = formats::boot;
namespace igvm = formats::igvm;
using formats::elf::ElfImage;
using formats::ovmf::OvmfImage;
using testing::Bytes;
using testing::ReferenceChain;
using testing::SyntheticOvmf;

constexpr const char* kDebianOvmf = "/usr/share/OVMF/OVMF_CODE.fd";

ElfImage test_firmware() {
  return ElfImage::parse(load_file(CVTPM_TEST_FIRMWARE), "test_firmware.elf");
}

OvmfImage ovmf_of(const SyntheticOvmf& spec, const std::string& name = "ovmf.fd") {
  return OvmfImage::parse(ByteBuffer(spec.build()), name);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// The page at `gpa` for `mask`, from the model.
const igvm::PageDirective* page_at(const igvm::IgvmFile& f, std::uint64_t gpa, std::uint32_t mask) {
  for (const igvm::Directive& d : f.directives) {
    const auto* p = std::get_if<igvm::PageDirective>(&d);
    if (p && p->gpa == gpa && p->compatibility_mask == mask) return p;
  }
  return nullptr;
}

template <typename T>
T read_struct(const igvm::FileData& data) {
  T value;
  EXPECT_GE(data.size(), sizeof value);
  std::memcpy(&value, data.span().data(), sizeof value);
  return value;
}

template <typename T>
Bytes page_bytes(const T& value) {
  Bytes page(4096, 0);
  std::memcpy(page.data(), &value, sizeof value);
  return page;
}

// The boot parameters the documentation promises for the synthetic OVMF of SyntheticOvmf{}.
boot::BootParams expected_boot_params(bool snp, std::uint64_t elf_end, std::uint64_t image_begin) {
  boot::BootParams p{};
  p.magic = 0x42545643;
  p.version = 3;
  p.size = sizeof p;
  p.flags = 0;
  p.firmware = {0x8000000, 0x2000000};
  p.secrets_gpa = snp ? elf_end + 0x2000 : 0;
  p.cpuid_gpa = snp ? elf_end + 0x1000 : 0;
  p.vp_count_gpa = elf_end + 0x3000;
  p.environment_gpa = elf_end + 0x3004;
  p.memory_map_gpa = elf_end + 0x4000;
  p.memory_map_size = 0x1000;
  p.debug_serial_port = 0x3F8;
  p.guest_vmpl = 2;
  p.ek_algorithm = 0;
  p.guest_sev_features = 1;
  p.guest.flash_gpa = 0x100000000 - 4 * 4096;
  p.guest.flash_size = 4 * 4096;
  p.guest.reset_eip = 0xFFFFFFF0;
  p.guest.secrets_gpa = 0x80D000;
  p.guest.cpuid_gpa = 0x80E000;
  p.guest.caa_gpa = 0x80F000;
  p.guest.prevalidated_count = 3;
  p.guest.prevalidated[0] = {0x800000, 0x9000};
  p.guest.prevalidated[1] = {0x80A000, 0x3000};
  p.guest.prevalidated[2] = {0x810000, 0x10000};  // kernel hashes + the SEC_MEM after it
  p.image = {image_begin, elf_end + 0x5000 - image_begin};
  p.guest_memory_map = {0x812000, 0xC0};  // the synthetic OVMF's IGVM parameter area + 0
  p.state_binding = 2;                    // measurement
  return p;
}

// The SNP VMSA of the entry contract, written out field by field.
formats::snp::Vmsa expected_vmsa(std::uint64_t entry, std::uint64_t boot_params,
                                 std::uint64_t features) {
  formats::snp::Vmsa v{};
  v.cs = {0x08, 0xC9B, 0xFFFFFFFF, 0};
  v.ds = v.es = v.fs = v.gs = v.ss = {0x10, 0xC93, 0xFFFFFFFF, 0};
  v.efer = 0x1000;
  v.cr0 = 0x31;
  v.cr4 = 0x40;
  v.dr6 = 0xFFFF0FF0;
  v.dr7 = 0x400;
  v.rflags = 0x2;
  v.rip = entry;
  v.rax = 0xC7B00003;
  v.rsi = boot_params;
  v.g_pat = 0x0007040600070406;
  v.xcr0 = 1;
  v.mxcsr = 0x1F80;
  v.x87_fcw = 0x37F;
  v.sev_features = features;
  return v;
}

class ImageBuilder : public ::testing::Test {
 protected:
  const ElfImage elf_ = test_firmware();
  const SyntheticOvmf ovmf_spec_{};
  const OvmfImage ovmf_ = ovmf_of(ovmf_spec_);
};

TEST_F(ImageBuilder, LaysOutTheFirmwareRegion) {
  const BuiltImage image = build_image(elf_, ovmf_, {});
  const ImageLayout& l = image.layout;
  EXPECT_EQ(l.image_begin, 0x8000000u);
  EXPECT_EQ(l.elf_end, 0x8005000u);  // .data at 0x8001000 + 0x3008 bytes with .bss
  EXPECT_EQ(l.boot_params_gpa, 0x8005000u);
  EXPECT_EQ(l.cpuid_gpa, 0x8006000u);
  EXPECT_EQ(l.secrets_gpa, 0x8007000u);
  EXPECT_EQ(l.vp_env_area_gpa, 0x8008000u);
  EXPECT_EQ(l.memory_map_gpa, 0x8009000u);
  EXPECT_EQ(l.image_end, 0x800A000u);
  EXPECT_EQ(l.entry, 0x8000000u);
  EXPECT_EQ(l.ovmf_gpa, 0xFFFFC000u);
  EXPECT_EQ(l.ovmf_size, 0x4000u);
}

TEST_F(ImageBuilder, HeadersAndDirectiveOrder) {
  const igvm::IgvmFile& f = build_image(elf_, ovmf_, {}).file;
  EXPECT_EQ(f.format_version, 2u);  // the native VP context is a version 2 structure
  ASSERT_EQ(f.platforms.size(), 2u);
  EXPECT_EQ(f.platforms[0], (igvm::SupportedPlatform{1, 2, 2, 1, 0}));
  EXPECT_EQ(f.platforms[1], (igvm::SupportedPlatform{2, 0, 0, 1, 0}));
  ASSERT_EQ(f.initialization.size(), 1u);
  EXPECT_EQ(std::get<igvm::GuestPolicy>(f.initialization[0]), (igvm::GuestPolicy{0x30000, 1, 0}));

  // Required memory, areas and their usages, inserts; then pages by GPA; the SNP VMSA last.
  const auto& ds = f.directives;
  EXPECT_EQ(std::get<igvm::RequiredMemory>(ds[0]),
            (igvm::RequiredMemory{0x8000000, 3, 0x2000000, 0, 0}));
  EXPECT_EQ(std::get<igvm::ParameterAreaDirective>(ds[1]).parameter_area_index, 0u);
  EXPECT_EQ(std::get<igvm::ParameterAreaDirective>(ds[2]).number_of_bytes, 0x1000u);
  EXPECT_EQ(std::get<igvm::ParameterUsage>(ds[3]),
            (igvm::ParameterUsage{igvm::HeaderType::kVpCountParameter, {0, 0}}));
  EXPECT_EQ(std::get<igvm::ParameterUsage>(ds[4]),
            (igvm::ParameterUsage{igvm::HeaderType::kEnvironmentInfoParameter, {0, 4}}));
  EXPECT_EQ(std::get<igvm::ParameterUsage>(ds[5]),
            (igvm::ParameterUsage{igvm::HeaderType::kMemoryMap, {1, 0}}));
  EXPECT_EQ(std::get<igvm::ParameterInsert>(ds[6]), (igvm::ParameterInsert{0x8008000, 3, 0}));
  EXPECT_EQ(std::get<igvm::ParameterInsert>(ds[7]), (igvm::ParameterInsert{0x8009000, 3, 1}));
  std::uint64_t last_gpa = 0;
  std::size_t pages = 0;
  std::size_t k = 8;
  for (; k < ds.size() && std::holds_alternative<igvm::PageDirective>(ds[k]); ++k, ++pages) {
    const auto& p = std::get<igvm::PageDirective>(ds[k]);
    EXPECT_GE(p.gpa, last_gpa);
    last_gpa = p.gpa;
  }
  // 5 firmware pages, 2 boot parameter pages, CPUID, secrets, 4 OVMF pages.
  EXPECT_EQ(pages, 5u + 2 + 1 + 1 + 4);
  ASSERT_EQ(ds.size(), k + 2);
  EXPECT_EQ(std::get<igvm::VpContextDirective>(ds[k]).compatibility_mask, 2u);
  const auto& vmsa = std::get<igvm::VpContextDirective>(ds[k + 1]);
  EXPECT_EQ(vmsa.compatibility_mask, 1u);
  EXPECT_EQ(vmsa.gpa, 0xFFFFFFFFF000u);
  EXPECT_EQ(vmsa.vp_index, 0);

  const igvm::PageDirective* cpuid = page_at(f, 0x8006000, 1);
  ASSERT_NE(cpuid, nullptr);
  EXPECT_EQ(cpuid->data_type, igvm::PageDataType::kCpuidData);
  EXPECT_EQ(testing::get_le(Bytes(cpuid->data.span().begin(), cpuid->data.span().end()), 0, 4),
            34u);  // functions in the template
  const igvm::PageDirective* secrets = page_at(f, 0x8007000, 1);
  ASSERT_NE(secrets, nullptr);
  EXPECT_EQ(secrets->data_type, igvm::PageDataType::kSecrets);
  EXPECT_TRUE(secrets->data.empty());
  EXPECT_EQ(page_at(f, 0x8006000, 2), nullptr);  // SNP only
}

// QEMU's IGVM loader treats any header type it has no handler for as fatal, whatever its mask
// (reference section 7): the image uses only types it handles.
TEST_F(ImageBuilder, UsesOnlyHeaderTypesQemuHandles) {
  const std::set<igvm::HeaderType> handled = {igvm::HeaderType::kGuestPolicy,
                                              igvm::HeaderType::kRequiredMemory,
                                              igvm::HeaderType::kParameterArea,
                                              igvm::HeaderType::kVpCountParameter,
                                              igvm::HeaderType::kEnvironmentInfoParameter,
                                              igvm::HeaderType::kMemoryMap,
                                              igvm::HeaderType::kMadt,
                                              igvm::HeaderType::kParameterInsert,
                                              igvm::HeaderType::kPageData,
                                              igvm::HeaderType::kVpContext,
                                              igvm::HeaderType::kSnpIdBlock};
  const igvm::IgvmFile f = build_image(elf_, ovmf_, {}).file;
  for (const auto& h : f.initialization) EXPECT_TRUE(handled.contains(igvm::header_type(h)));
  for (const auto& d : f.directives) {
    EXPECT_TRUE(handled.contains(igvm::header_type(d)))
        << igvm::header_type_name(static_cast<std::uint32_t>(igvm::header_type(d)));
  }
}

TEST_F(ImageBuilder, BootParametersPerPlatform) {
  const BuiltImage image = build_image(elf_, ovmf_, {});
  const std::uint64_t bp = image.layout.boot_params_gpa;
  const igvm::PageDirective* snp = page_at(image.file, bp, 1);
  const igvm::PageDirective* native = page_at(image.file, bp, 2);
  ASSERT_NE(snp, nullptr);
  ASSERT_NE(native, nullptr);
  EXPECT_EQ(Bytes(snp->data.span().begin(), snp->data.span().end()),
            page_bytes(expected_boot_params(true, 0x8005000, 0x8000000)));
  EXPECT_EQ(Bytes(native->data.span().begin(), native->data.span().end()),
            page_bytes(expected_boot_params(false, 0x8005000, 0x8000000)));
}

TEST_F(ImageBuilder, BootParametersFollowTheOptions) {
  BuildOptions o;
  o.guest_vmpl = 1;
  o.serial_port = 0x2F8;
  o.ek_algorithm = boot::EkAlgorithm::kEccP384;
  o.guest_sev_features = 0x9;
  o.boot_flags = boot::boot_flags::kDebugLog | boot::boot_flags::kSelfTest;
  const BuiltImage image = build_image(elf_, ovmf_, o);
  const auto p = read_struct<boot::BootParams>(page_at(image.file, 0x8005000, 1)->data);
  EXPECT_EQ(p.guest_vmpl, 1);
  EXPECT_EQ(p.debug_serial_port, 0x2F8);
  EXPECT_EQ(p.ek_algorithm, 2);
  EXPECT_EQ(p.guest_sev_features, 0x9u);
  EXPECT_EQ(p.flags, 3u);
}

TEST_F(ImageBuilder, VpContextsFollowTheEntryContract) {
  BuildOptions o;
  o.sev_features = 0x21;
  const BuiltImage image = build_image(elf_, ovmf_, o);
  const auto& ds = image.file.directives;
  const auto& native = std::get<igvm::VpContextDirective>(ds[ds.size() - 2]);
  const auto& snp = std::get<igvm::VpContextDirective>(ds[ds.size() - 1]);
  EXPECT_EQ(Bytes(snp.data.span().begin(), snp.data.span().end()),
            page_bytes(expected_vmsa(0x8000000, 0x8005000, 0x21)));

  igvm::NativeVpContextX64 c{};
  c.rax = 0xC7B00002;
  c.rsi = 0x8005000;
  c.rip = 0x8000000;
  c.rflags = 2;
  c.code_selector = 0x08;
  c.code_attributes = 0xC09B;
  c.code_limit = 0xFFFFFFFF;
  c.data_selector = 0x10;
  c.data_attributes = 0xC093;
  c.data_limit = 0xFFFFFFFF;
  c.cr0 = 0x31;
  EXPECT_EQ(Bytes(native.data.span().begin(), native.data.span().end()), page_bytes(c));
  EXPECT_EQ(native.gpa, 0u);
}

// The digest QEMU/KVM would measure, from the inputs alone.
TEST_F(ImageBuilder, LaunchDigestMatchesAnIndependentChainOverTheInputs) {
  const BuiltImage image = build_image(elf_, ovmf_, {});
  const Bytes file = igvm::write_igvm(image.file);

  ReferenceChain ref;
  ref.pages(0x8008000, 0x1000, ReferenceChain::kUnmeasured);
  ref.pages(0x8009000, 0x1000, ReferenceChain::kUnmeasured);
  Bytes firmware(0x5000, 0);
  for (const auto& s : elf_.segments()) {
    std::copy(s.file_bytes.begin(), s.file_bytes.end(), firmware.begin() + (s.paddr - 0x8000000));
  }
  ref.normal(0x8000000, firmware);
  ref.page(0x8005000, ReferenceChain::kNormal,
           page_bytes(expected_boot_params(true, 0x8005000, 0x8000000)));
  ref.page(0x8006000, ReferenceChain::kCpuid);
  ref.page(0x8007000, ReferenceChain::kSecrets);
  ref.normal(0xFFFFC000, ovmf_spec_.build());
  ref.page(0xFFFFFFFFF000, ReferenceChain::kVmsa,
           page_bytes(expected_vmsa(0x8000000, 0x8005000, kVmpl0SevFeatures)));

  measure::IgvmMeasureOptions o;
  o.check_kvm = true;
  const auto m = measure::measure_igvm(igvm::parse_igvm(ByteBuffer(file), "image"), o, "image");
  EXPECT_EQ(m.digest, Bytes(ref.digest().begin(), ref.digest().end()));
  // --native-zero changes nothing: the image has no data-less NORMAL pages.
  o.native_zero = true;
  EXPECT_EQ(measure::measure_igvm(igvm::parse_igvm(ByteBuffer(file), "image"), o, "image").digest,
            m.digest);
}

TEST_F(ImageBuilder, IsReproducibleAndRoundTrips) {
  const Bytes a = igvm::write_igvm(build_image(elf_, ovmf_, {}).file);
  // Same inputs read from elsewhere, under other names.
  testing::TempDir dir;
  const auto elf_copy = dir.write("other-name.elf", read_file(CVTPM_TEST_FIRMWARE));
  const auto ovmf_copy = dir.write("x.fd", ovmf_spec_.build());
  const Bytes b =
      igvm::write_igvm(build_image(ElfImage::parse(load_file(elf_copy), elf_copy.string()),
                                   OvmfImage::parse(load_file(ovmf_copy), ovmf_copy.string()), {})
                           .file);
  EXPECT_EQ(a, b);
  EXPECT_EQ(igvm::write_igvm(igvm::parse_igvm(ByteBuffer(a), "a")), a);
  // Options change the bytes.
  BuildOptions o;
  o.policy = 0x70000;
  EXPECT_NE(igvm::write_igvm(build_image(elf_, ovmf_, o).file), a);
}

TEST_F(ImageBuilder, PlatformSubsets) {
  BuildOptions snp_only;
  snp_only.native = false;
  const BuiltImage s = build_image(elf_, ovmf_, snp_only);
  EXPECT_EQ(s.file.format_version, 1u);
  EXPECT_EQ(s.file.platforms.size(), 1u);
  EXPECT_FALSE(s.native_boot_params.has_value());
  EXPECT_EQ(page_at(s.file, 0x8000000, 1)->compatibility_mask, 1u);
  EXPECT_TRUE(std::holds_alternative<igvm::VpContextDirective>(s.file.directives.back()));

  BuildOptions native_only;
  native_only.snp = false;
  const BuiltImage n = build_image(elf_, ovmf_, native_only);
  EXPECT_EQ(n.file.format_version, 2u);
  EXPECT_TRUE(n.file.initialization.empty());  // no SNP guest policy
  EXPECT_EQ(page_at(n.file, 0x8006000, 2), nullptr);
  EXPECT_EQ(page_at(n.file, 0x8007000, 2), nullptr);
  EXPECT_EQ(n.native_boot_params->secrets_gpa, 0u);
  EXPECT_NE(
      error_of([&] { measure::measure_igvm(n.file, {}, "n.igvm"); }).find("declares no sev-snp"),
      std::string::npos);
}

TEST_F(ImageBuilder, FillsGapsBetweenSegmentsWithZeroPages) {
  testing::SyntheticElf spec;
  spec.segments = {{1, 5, 0x8000000, 0x8000000, Bytes(10, 0x90), 0},
                   {1, 6, 0x8004800, 0x8004800, Bytes(16, 0xAA), 0x800}};
  const BuiltImage image =
      build_image(ElfImage::parse(ByteBuffer(spec.build()), "gap.elf"), ovmf_, {});
  EXPECT_EQ(image.layout.elf_end, 0x8005000u);
  for (std::uint64_t gpa = 0x8000000; gpa < 0x8005000; gpa += 0x1000) {
    const igvm::PageDirective* p = page_at(image.file, gpa, 3);
    ASSERT_NE(p, nullptr) << std::hex << gpa;
    EXPECT_EQ(p->data.size(), 4096u);  // explicit zeros: measured the same with --native-zero
  }
  const auto last = page_at(image.file, 0x8004000, 3)->data.span();
  EXPECT_EQ(last[0x800], 0xAA);
  EXPECT_EQ(last[0x7FF], 0);
}

// An SVSM-aware OVMF older than edk2-stable202511 reads its RAM from the hypervisor's e820 map,
// pre-validates the firmware region through the SVSM and stops in PEI: refused, unless the
// image is only for measurement experiments.
TEST_F(ImageBuilder, AnOvmfWithoutAnIgvmMemoryMapIsRefusedUnlessAllowed) {
  cvtpm::testing::SyntheticOvmf old = ovmf_spec_;
  old.igvm_metadata = false;
  const OvmfImage ovmf = ovmf_of(old);
  const std::string msg = error_of([&] { build_image(elf_, ovmf, {}); });
  EXPECT_NE(msg.find("OVMF has no IGVM memory map (edk2 before edk2-stable202511)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("--allow-non-svsm-ovmf"), std::string::npos);
  BuildOptions o;
  o.allow_non_svsm_ovmf = true;
  const BuiltImage image = build_image(elf_, ovmf, o);
  EXPECT_EQ(image.snp_boot_params->guest_memory_map.gpa, 0u);
  EXPECT_EQ(image.snp_boot_params->guest_memory_map.size, 0u);
}

// The IGVM parameter and HOB areas are pre-validated too (merged into what covers them).
TEST_F(ImageBuilder, TheIgvmParameterAndHobAreasArePrevalidated) {
  cvtpm::testing::SyntheticOvmf spec = ovmf_spec_;
  spec.sections = {
      {0x800000, 0x9000, 1}, {0x80D000, 0x1000, 2}, {0x80E000, 0x1000, 3}, {0x80F000, 0x1000, 4}};
  spec.hash_table_gpa.reset();
  const BuiltImage image = build_image(elf_, ovmf_of(spec), {});
  const boot::GuestFirmwareInfo& g = image.snp_boot_params->guest;
  ASSERT_EQ(g.prevalidated_count, 2u);
  EXPECT_EQ(g.prevalidated[0].gpa, 0x800000u);
  EXPECT_EQ(g.prevalidated[0].size, 0x9000u);
  EXPECT_EQ(g.prevalidated[1].gpa, 0x812000u);  // parameter area + HOB area, contiguous
  EXPECT_EQ(g.prevalidated[1].size, 0x2000u);
  EXPECT_EQ(image.snp_boot_params->guest_memory_map.gpa, 0x812000u);
}

TEST_F(ImageBuilder, DebianOvmfNeedsAllowNonSvsm) {
  if (!std::filesystem::exists(kDebianOvmf)) GTEST_SKIP() << kDebianOvmf << " not installed";
  const OvmfImage debian = OvmfImage::parse(load_file(kDebianOvmf), kDebianOvmf);
  const std::string msg = error_of([&] { build_image(elf_, debian, {}); });
  EXPECT_TRUE(msg.starts_with(std::string(kDebianOvmf) + ": OVMF SEV metadata has no SVSM_CAA"))
      << msg;
  EXPECT_NE(msg.find("--allow-non-svsm-ovmf"), std::string::npos);

  BuildOptions o;
  o.allow_non_svsm_ovmf = true;
  const BuiltImage image = build_image(elf_, debian, o);
  const boot::GuestFirmwareInfo& g = image.snp_boot_params->guest;
  EXPECT_EQ(g.caa_gpa, 0u);
  EXPECT_EQ(g.flash_gpa, 0x100000000 - debian.size());
  EXPECT_EQ(g.flash_size, debian.size());
  // Pre-validated ranges: OVMF's SEC_MEM and kernel-hashes sections, merged where contiguous.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> expected;
  std::vector<formats::ovmf::SevMetadataSection> sections = debian.sev_sections();
  std::sort(sections.begin(), sections.end(), [](auto& a, auto& b) { return a.gpa < b.gpa; });
  for (const auto& s : sections) {
    if (s.type == 2) {
      EXPECT_EQ(g.secrets_gpa, s.gpa);
    }
    if (s.type == 3) {
      EXPECT_EQ(g.cpuid_gpa, s.gpa);
    }
    if (s.type != 1 && s.type != 16) continue;
    if (!expected.empty() && expected.back().first + expected.back().second == s.gpa) {
      expected.back().second += s.size;
    } else {
      expected.emplace_back(s.gpa, s.size);
    }
  }
  ASSERT_EQ(g.prevalidated_count, expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(g.prevalidated[i].gpa, expected[i].first);
    EXPECT_EQ(g.prevalidated[i].size, expected[i].second);
  }
  // OVMF's pages: all NORMAL, ending at 4 GiB, for both platforms.
  EXPECT_NE(page_at(image.file, 0x100000000 - debian.size(), 3), nullptr);
  EXPECT_NE(page_at(image.file, 0xFFFFF000, 3), nullptr);
}

TEST_F(ImageBuilder, RefusesImpossibleImages) {
  struct Case {
    const char* what;
    std::function<void()> build;
    std::vector<const char*> expected;
  };
  auto elf_at = [](std::uint64_t paddr, std::uint64_t memsz) {
    testing::SyntheticElf spec;
    spec.segments[0].paddr = spec.segments[0].vaddr = paddr;
    spec.segments[0].memsz = memsz;
    spec.entry = paddr;
    return ElfImage::parse(ByteBuffer(spec.build()), "fw.elf");
  };
  auto ovmf_with = [](auto change) {
    SyntheticOvmf spec;
    change(spec);
    return OvmfImage::parse(ByteBuffer(spec.build()), "ovmf.fd");
  };
  const std::vector<Case> cases = {
      {"segment below the region",
       [&] { build_image(elf_at(0x100000, 2), ovmf_, {}); },
       {"fw.elf: PT_LOAD segment [0x100000, 0x100002) lies outside the firmware region "
        "[0x8000000, 0xa000000)"}},
      {"segment past the region",
       [&] { build_image(elf_at(0x9FFF000, 0x2000), ovmf_, {}); },
       {"fw.elf: PT_LOAD segment [0x9fff000, 0xa001000) lies outside"}},
      {"no room for the boot pages",
       [&] { build_image(elf_at(0x8000000, 0x1FFD000), ovmf_, {}); },
       {"fw.elf: segments end at 0x9ffd000, leaving no room for the boot pages"}},
      {"OVMF without footer",
       [&] { build_image(elf_, ovmf_with([](SyntheticOvmf& s) { s.footer = false; }), {}); },
       {"ovmf.fd: no OVMF footer table"}},
      {"OVMF without metadata",
       [&] { build_image(elf_, ovmf_with([](SyntheticOvmf& s) { s.metadata = false; }), {}); },
       {"ovmf.fd: OVMF footer table has no SEV metadata entry"}},
      {"OVMF without secrets page",
       [&] {
         build_image(elf_,
                     ovmf_with([](SyntheticOvmf& s) { s.sections.erase(s.sections.begin() + 2); }),
                     {});
       },
       {"ovmf.fd: OVMF SEV metadata has no SNP_SECRETS section"}},
      {"OVMF without CPUID page",
       [&] {
         build_image(elf_,
                     ovmf_with([](SyntheticOvmf& s) { s.sections.erase(s.sections.begin() + 3); }),
                     {});
       },
       {"no CPUID section"}},
      {"OVMF section in the firmware region",
       [&] {
         build_image(elf_, ovmf_with([](SyntheticOvmf& s) {
                       s.sections.push_back({0x9000000, 0x1000, 1});
                     }),
                     {});
       },
       {"ovmf.fd: OVMF SEV metadata section SNP_SEC_MEM [0x9000000, 0x9001000) overlaps the "
        "firmware region"}},
      {"OVMF over 16 MiB",
       [&] { build_image(elf_, ovmf_with([](SyntheticOvmf& s) { s.pages = 4097; }), {}); },
       {"ovmf.fd: is 0x1001000 bytes", "MMIO"}},
      {"no platform",
       [&] {
         BuildOptions o;
         o.snp = o.native = false;
         build_image(elf_, ovmf_, o);
       },
       {"--platform: names no platform"}},
      {"guest VMPL 0",
       [&] {
         BuildOptions o;
         o.guest_vmpl = 0;
         build_image(elf_, ovmf_, o);
       },
       {"--guest-vmpl: 0 is not a lower VMPL"}},
      {"features without SNP",
       [&] {
         BuildOptions o;
         o.sev_features = 0x20;
         build_image(elf_, ovmf_, o);
       },
       {"--sev-features: 0x20 lacks bit 0"}},
      {"vTOM",
       [&] {
         BuildOptions o;
         o.guest_sev_features = 0x3;
         build_image(elf_, ovmf_, o);
       },
       {"--guest-sev-features: 0x3 sets vTOM"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string msg = error_of(c.build);
    for (const char* part : c.expected) EXPECT_NE(msg.find(part), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace cvtpm::igvmgen
