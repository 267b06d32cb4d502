#include "cvtpm/launch/host_checks.h"

#include <gtest/gtest.h>

#include <list>

#include "fake_host.h"

namespace cvtpm::launch {
namespace {

using testing::FakeHostSpec;
using testing::FakeQemuSpec;

class HostChecks : public ::testing::Test {
 protected:
  std::vector<Requirement> check(const FakeHostSpec& host, const FakeQemuSpec& qemu,
                                 std::uint64_t memory = 2ull << 30) {
    cvtpm::testing::TempDir& dir = dirs_.emplace_back();
    auto root = testing::make_fake_host(dir, host);
    auto bin = testing::make_fake_qemu(dir, "qemu", qemu);
    facts_ = probe_host(root, bin.string());
    return evaluate_host(facts_, memory);
  }
  static const Requirement& find(const std::vector<Requirement>& reqs, const std::string& prefix) {
    for (const Requirement& r : reqs) {
      if (r.name.starts_with(prefix)) return r;
    }
    throw std::runtime_error("no requirement " + prefix);
  }
  static std::vector<std::string> missing(const std::vector<Requirement>& reqs) {
    std::vector<std::string> names;
    for (const Requirement& r : reqs) {
      if (!r.ok) names.push_back(r.name);
    }
    return names;
  }
  std::list<cvtpm::testing::TempDir> dirs_;
  HostFacts facts_;
};

FakeQemuSpec snp_svsm_qemu() {
  FakeQemuSpec q;
  q.version = "11.0.0";
  q.device_plane = true;
  return q;
}

TEST_F(HostChecks, SnpHostWithAnSvsmCapableQemuMeetsEverything) {
  auto reqs = check({}, snp_svsm_qemu());
  EXPECT_TRUE(all_met(reqs)) << requirements_table(reqs);
  EXPECT_EQ(find(reqs, "CPU").detail, "SEV-SNP, C-bit 51, reduced phys bits 1");
  EXPECT_EQ(find(reqs, "QEMU (").detail, "version 11.0.0");
  ASSERT_TRUE(facts_.cpu);
  EXPECT_EQ(facts_.cpu->cbitpos, 51u);
}

TEST_F(HostChecks, SnpDisabledInKvm) {
  FakeHostSpec host;
  host.sev_snp_param = "N";
  auto reqs = check(host, snp_svsm_qemu());
  EXPECT_EQ(missing(reqs), std::vector<std::string>{"kvm_amd with SEV-SNP enabled"});
  EXPECT_EQ(find(reqs, "kvm_amd").detail, "sev_snp=N");
  EXPECT_NE(requirements_table(reqs).find("fix: a host kernel with SEV-SNP host support"),
            std::string::npos);

  host.sev_snp_param = nullptr;
  EXPECT_EQ(find(check(host, snp_svsm_qemu()), "kvm_amd").detail,
            "kvm_amd has no sev_snp parameter (host kernel without SNP host support)");
  host.kvm_amd = false;
  EXPECT_EQ(find(check(host, snp_svsm_qemu()), "kvm_amd").detail, "kvm_amd not loaded");
}

TEST_F(HostChecks, NoDevSev) {
  FakeHostSpec host;
  host.dev_sev = false;
  auto reqs = check(host, snp_svsm_qemu());
  EXPECT_EQ(missing(reqs), std::vector<std::string>{"/dev/sev"});
  EXPECT_EQ(find(reqs, "/dev/sev").detail, "absent");
  EXPECT_EQ(find(reqs, "/dev/sev").fix,
            "load the ccp module (the AMD PSP driver that provides /dev/sev)");
  host.dev_sev = true;
  host.dev_sev_accessible = false;
  EXPECT_EQ(find(check(host, snp_svsm_qemu()), "/dev/sev").detail, "present, no read/write access");
}

TEST_F(HostChecks, CpuWithoutSnp) {
  FakeHostSpec host;
  host.cpu_snp = false;
  auto reqs = check(host, snp_svsm_qemu());
  EXPECT_EQ(missing(reqs), std::vector<std::string>{"CPU with SEV-SNP (CPUID 0x8000001F)"});
  host.cpuid_device = false;
  EXPECT_EQ(find(check(host, snp_svsm_qemu()), "CPU").detail,
            "cannot read CPUID (no /dev/cpu/0/cpuid)");
}

TEST_F(HostChecks, QemuTooOld) {
  FakeQemuSpec q;
  q.version = "7.2.22";
  q.sev_snp_guest = q.igvm_cfg = false;
  auto reqs = check({}, q);
  EXPECT_EQ(missing(reqs),
            (std::vector<std::string>{"QEMU object sev-snp-guest (>= 9.1)",
                                      "QEMU object igvm-cfg (>= 10.1)",
                                      "Multi-VMPL guests (QEMU machine option device-plane)"}));
  EXPECT_EQ(find(reqs, "QEMU (").detail, "version 7.2.22");
}

TEST_F(HostChecks, QemuWithoutIgvm) {
  FakeQemuSpec q;
  q.version = "9.2.0";
  q.igvm_cfg = false;
  auto reqs = check({}, q);
  EXPECT_FALSE(find(reqs, "QEMU object igvm-cfg").ok);
  EXPECT_EQ(find(reqs, "QEMU object igvm-cfg").fix,
            "QEMU 10.1 or newer configured with --enable-igvm");
  EXPECT_TRUE(find(reqs, "QEMU object sev-snp-guest").ok);
}

TEST_F(HostChecks, UpstreamQemuCannotRunLowerVmpls) {
  auto reqs = check({}, FakeQemuSpec{});
  EXPECT_EQ(missing(reqs),
            std::vector<std::string>{"Multi-VMPL guests (QEMU machine option device-plane)"});
}

TEST_F(HostChecks, MissingQemuBinary) {
  cvtpm::testing::TempDir dir;
  auto root = testing::make_fake_host(dir, {});
  auto reqs = evaluate_host(probe_host(root, (dir / "no-qemu").string()), 1ull << 30);
  EXPECT_EQ(find(reqs, "QEMU (").detail, "not found or not executable");
  EXPECT_EQ(find(reqs, "QEMU object igvm-cfg").detail, "QEMU does not run");
}

TEST_F(HostChecks, NotEnoughMemory) {
  FakeHostSpec host;
  host.mem_available_kib = 1024 * 1024;  // 1 GiB
  auto reqs = check(host, snp_svsm_qemu(), 4ull << 30);
  EXPECT_EQ(missing(reqs), std::vector<std::string>{"Memory for a 4096 MiB guest"});
  EXPECT_EQ(find(reqs, "Memory").detail, "1024 MiB available");
}

TEST(QemuVersion, ParsesVersionLines) {
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)"),
            (QemuVersion{7, 2, 22}));
  EXPECT_EQ(parse_qemu_version("QEMU emulator version 10.1"), (QemuVersion{10, 1, 0}));
  EXPECT_FALSE(parse_qemu_version("something else"));
  EXPECT_LT((QemuVersion{9, 2, 0}), kMinIgvmQemu);
}

}  // namespace
}  // namespace cvtpm::launch
