#include "cvtpm/measure/guest_launch.h"

#include <gtest/gtest.h>

#include "cvtpm/support/error.h"
#include "reference_chain.h"
#include "synthetic_ovmf.h"

namespace cvtpm::measure {
namespace {

using formats::ovmf::OvmfImage;
using testing::ReferenceChain;
using testing::SyntheticOvmf;

std::vector<std::uint8_t> as_vector(std::span<const std::uint8_t> s) {
  return {s.begin(), s.end()};
}
std::vector<std::uint8_t> as_vector(const Sha384Digest& d) {
  return {d.begin(), d.end()};
}

// Adds the synthetic image's default sections (see SyntheticOvmf) the way QEMU does.
void reference_sections(ReferenceChain& ref,
                        const std::optional<std::array<std::uint8_t, 4096>>& kernel_page,
                        VmmType vmm = VmmType::kQemu) {
  auto sec_mem = vmm == VmmType::kGce ? ReferenceChain::kUnmeasured : ReferenceChain::kZero;
  ref.pages(0x800000, 0x9000, sec_mem);
  ref.pages(0x80A000, 0x3000, sec_mem);
  ref.page(0x80D000, ReferenceChain::kSecrets);
  if (vmm != VmmType::kEc2) ref.page(0x80E000, ReferenceChain::kCpuid);
  ref.page(0x80F000, ReferenceChain::kZero);  // SVSM calling area
  if (kernel_page) {
    ref.page(0x810000, ReferenceChain::kNormal, *kernel_page);
  } else {
    ref.page(0x810000, ReferenceChain::kZero);
  }
  ref.pages(0x811000, 0xF000, sec_mem);
  if (vmm == VmmType::kEc2) ref.page(0x80E000, ReferenceChain::kCpuid);
}

class GuestLaunchTest : public ::testing::Test {
 protected:
  GuestLaunchTest() : ovmf_(OvmfImage::parse(SyntheticOvmf{}.build(), "ovmf.fd")) {}

  GuestLaunch snp(unsigned vcpus) const {
    GuestLaunch l;
    l.mode = GuestMode::kSnp;
    l.ovmf = &ovmf_;
    l.vcpus = vcpus;
    l.vcpu_signature = 0x00A00F11;
    l.guest_features = 0x21;
    return l;
  }

  void reference_vmsas(ReferenceChain& ref, unsigned vcpus, VmmType vmm = VmmType::kQemu) const {
    for (unsigned i = 0; i < vcpus; ++i) {
      Vmsa v = reset_vmsa({i == 0 ? kBspResetEip : 0x0080B004u, 0x21, 0x00A00F11, vmm});
      ref.page(0xFFFFFFFFF000, ReferenceChain::kVmsa, vmsa_bytes(v));
    }
  }

  OvmfImage ovmf_;
};

TEST_F(GuestLaunchTest, SnpWithoutKernel) {
  for (unsigned vcpus : {1u, 3u}) {
    ReferenceChain ref;
    ref.normal(ovmf_.gpa(), ovmf_.bytes());
    reference_sections(ref, std::nullopt);
    reference_vmsas(ref, vcpus);
    LaunchMeasurement m = measure_guest_launch(snp(vcpus));
    EXPECT_EQ(m.digest, as_vector(ref.digest())) << vcpus;
    EXPECT_EQ(m.vmsas.size(), vcpus);
  }
}

TEST_F(GuestLaunchTest, SnpMeasuredDirectBoot) {
  GuestLaunch l = snp(2);
  const std::string kernel = "bzImage";
  l.kernel =
      kernel_hashes(std::span(reinterpret_cast<const std::uint8_t*>(kernel.data()), kernel.size()),
                    std::nullopt, "root=/dev/vda");
  ReferenceChain ref;
  ref.normal(ovmf_.gpa(), ovmf_.bytes());
  reference_sections(ref, kernel_hashes_page(*l.kernel, 0xC00));  // hash table base 0x810C00
  reference_vmsas(ref, 2);
  EXPECT_EQ(measure_guest_launch(l).digest, as_vector(ref.digest()));
}

TEST_F(GuestLaunchTest, SnpOtherVmms) {
  for (VmmType vmm : {VmmType::kEc2, VmmType::kGce}) {
    GuestLaunch l = snp(2);
    l.vmm = vmm;
    ReferenceChain ref;
    ref.normal(ovmf_.gpa(), ovmf_.bytes());
    reference_sections(ref, std::nullopt, vmm);
    reference_vmsas(ref, 2, vmm);
    EXPECT_EQ(measure_guest_launch(l).digest, as_vector(ref.digest())) << vmm_type_name(vmm);
  }
}

TEST_F(GuestLaunchTest, SnpFromPrecomputedOvmfHash) {
  const Sha384Digest ovmf_hash = snp_ovmf_hash(ovmf_);
  ReferenceChain ovmf_only;
  ovmf_only.normal(ovmf_.gpa(), ovmf_.bytes());
  EXPECT_EQ(as_vector(ovmf_hash), as_vector(ovmf_only.digest()));

  GuestLaunch l = snp(1);
  l.ovmf_hash = ovmf_hash;
  EXPECT_EQ(measure_guest_launch(l).digest, measure_guest_launch(snp(1)).digest);
}

TEST_F(GuestLaunchTest, SnpRecordsEveryRegion) {
  LaunchMeasurement m = measure_guest_launch(snp(2));
  ASSERT_FALSE(m.regions.runs().empty());
  EXPECT_EQ(m.regions.runs().front().gpa, ovmf_.gpa());
  EXPECT_EQ(m.regions.runs().front().length, ovmf_.size());
  EXPECT_EQ(m.regions.runs().back().type, PageType::kVmsa);
}

TEST_F(GuestLaunchTest, KernelNeedsTheKernelHashesSection) {
  SyntheticOvmf spec;
  spec.sections = {{0x800000, 0x9000, 1}, {0x80D000, 0x1000, 2}, {0x80E000, 0x1000, 3}};
  OvmfImage no_hashes = OvmfImage::parse(spec.build(), "OvmfX64.fd");
  GuestLaunch l = snp(1);
  l.ovmf = &no_hashes;
  l.kernel = KernelHashes{};
  try {
    measure_guest_launch(l);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "OvmfX64.fd: OVMF SEV metadata has no SNP_KERNEL_HASHES section, so this OVMF cannot "
              "boot a measured --kernel (use an AmdSev build)");
  }
}

TEST_F(GuestLaunchTest, VcpuCountBounds) {
  EXPECT_THROW(measure_guest_launch(snp(0)), InputError);
  EXPECT_THROW(measure_guest_launch(snp(kMaxVcpus + 1)), InputError);
  EXPECT_NO_THROW(measure_guest_launch(snp(kMaxVcpus)));
}

TEST_F(GuestLaunchTest, SevAndSevEsHashTheLaunchedBytes) {
  GuestLaunch l = snp(2);
  l.mode = GuestMode::kSev;
  l.kernel = KernelHashes{};
  auto table = sev_hash_table(*l.kernel);
  std::vector<std::uint8_t> expected_input = as_vector(ovmf_.bytes());
  auto t = std::span(reinterpret_cast<const std::uint8_t*>(&table), sizeof table);
  expected_input.insert(expected_input.end(), t.begin(), t.end());
  EXPECT_EQ(measure_guest_launch(l).digest, as_vector(testing::reference_sha256(expected_input)));

  l.mode = GuestMode::kSevEs;
  for (unsigned i = 0; i < 2; ++i) {
    Vmsa v = reset_vmsa({i == 0 ? kBspResetEip : 0x0080B004u, 0, 0x00A00F11, VmmType::kQemu});
    auto b = vmsa_bytes(v);
    expected_input.insert(expected_input.end(), b.begin(), b.end());
  }
  LaunchMeasurement m = measure_guest_launch(l);
  EXPECT_EQ(m.digest, as_vector(testing::reference_sha256(expected_input)));
  ASSERT_EQ(m.vmsas.size(), 2u);
  EXPECT_EQ(m.vmsas[0].sev_features, 0u);
}

TEST_F(GuestLaunchTest, LegacySvsmFlashLaunch) {
  SyntheticOvmf svsm_spec;
  svsm_spec.pages = 3;
  svsm_spec.fill_seed = 7;
  svsm_spec.reset_eip.reset();
  svsm_spec.hash_table_gpa.reset();
  svsm_spec.svsm_info = 0x20;
  svsm_spec.sections = {{0x806000, 0x1000, 2},
                        {0x807000, 0x1000, 3},
                        {0x808000, 0x2000, 1},
                        {0x80A000, 0x1000, 16},
                        {0x80B000, 0x1000, 4}};
  OvmfImage svsm = OvmfImage::parse(svsm_spec.build(), "svsm.bin");

  GuestLaunch l = snp(2);
  l.mode = GuestMode::kSnpSvsm;
  l.svsm = &svsm;
  l.ovmf_vars_size = 0x20000;

  const std::uint64_t svsm_gpa = ovmf_.gpa() - 0x20000 - svsm.size();
  ReferenceChain ref;
  ref.normal(ovmf_.gpa(), ovmf_.bytes());
  ref.normal(svsm_gpa, svsm.bytes());
  ref.page(0x806000, ReferenceChain::kSecrets);
  ref.page(0x807000, ReferenceChain::kCpuid);
  ref.pages(0x808000, 0x2000, ReferenceChain::kZero);
  ref.page(0x80A000, ReferenceChain::kZero);
  ref.page(0x80B000, ReferenceChain::kZero);
  Vmsa v = legacy_svsm_vmsa(svsm_gpa + 0x20, 0x00A00F11);
  ref.page(0xFFFFFFFFF000, ReferenceChain::kVmsa, vmsa_bytes(v));
  ref.page(0xFFFFFFFFF000, ReferenceChain::kVmsa, vmsa_bytes(v));
  EXPECT_EQ(measure_guest_launch(l).digest, as_vector(ref.digest()));

  l.ovmf_vars_size = 0x123;
  EXPECT_THROW(measure_guest_launch(l), InputError);
}

TEST(GuestMode, NamesRoundTrip) {
  for (GuestMode m : {GuestMode::kSev, GuestMode::kSevEs, GuestMode::kSnp, GuestMode::kSnpSvsm}) {
    EXPECT_EQ(parse_guest_mode(guest_mode_name(m)), m);
  }
}

}  // namespace
}  // namespace cvtpm::measure
