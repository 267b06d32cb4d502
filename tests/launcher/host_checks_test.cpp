#include "cvtpm/launch/host_checks.h"

#include <gtest/gtest.h>

#include <list>
#include <map>

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
    facts_root_ = testing::make_fake_host(dir, host);
    qemu_ = testing::make_fake_qemu(dir, "qemu", qemu);
    facts_ = probe_host(facts_root_, qemu_.string());
    return evaluate_host(facts_, memory);
  }
  static const Requirement& find(const std::vector<Requirement>& reqs, const std::string& prefix) {
    for (const Requirement& r : reqs) {
      if (r.name.starts_with(prefix)) return r;
    }
    throw std::runtime_error("no requirement " + prefix);
  }
  static std::vector<std::string> with_status(const std::vector<Requirement>& reqs,
                                              Requirement::Status status) {
    std::vector<std::string> names;
    for (const Requirement& r : reqs) {
      if (r.status == status) names.push_back(r.name);
    }
    return names;
  }
  static std::vector<std::string> missing(const std::vector<Requirement>& reqs) {
    return with_status(reqs, Requirement::Status::kMissing);
  }
  std::list<cvtpm::testing::TempDir> dirs_;
  std::filesystem::path facts_root_, qemu_;
  HostFacts facts_;
};

FakeQemuSpec snp_svsm_qemu() {
  FakeQemuSpec q;
  q.version = "11.0.0";
  q.device_plane = true;
  return q;
}

const std::vector<std::string> kUndetectable = {"Host kernel with SVSM (multi-VMPL) support"};

TEST_F(HostChecks, SnpHostWithAnSvsmCapableQemuMissesNothing) {
  auto reqs = check({}, snp_svsm_qemu());
  EXPECT_TRUE(none_missing(reqs)) << requirements_table(reqs);
  // What lives in the host kernel cannot be seen from here: UNKNOWN, never OK or MISSING.
  EXPECT_EQ(with_status(reqs, Requirement::Status::kUnknown), kUndetectable);
  EXPECT_EQ(find(reqs, "CPU").detail,
            "SEV-SNP, C-bit 51, 4 VMPLs, host physical address reduction 5 bits");
  EXPECT_EQ(find(reqs, "QEMU >= 11.0.0").detail, "version 11.0.0");
  EXPECT_EQ(find(reqs, "QEMU with SVSM").status, Requirement::Status::kOk);
  ASSERT_TRUE(facts_.cpu.info);
  EXPECT_EQ(facts_.cpu.info->cbitpos, 51u);
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
}

TEST_F(HostChecks, UnreadableCpuidIsUnknownNotMissing) {
  FakeHostSpec host;
  host.cpuid_device = false;
  auto reqs = check(host, snp_svsm_qemu());
  const Requirement& cpu = find(reqs, "CPU");
  EXPECT_EQ(cpu.status, Requirement::Status::kUnknown);
  EXPECT_EQ(cpu.detail, "cannot read CPUID from " + facts_root_.string() +
                            "/dev/cpu/0/cpuid (load the cpuid module: modprobe cpuid)");
  EXPECT_EQ(cpu.fix, "load the cpuid module (modprobe cpuid)");
  EXPECT_TRUE(none_missing(reqs));
}

TEST_F(HostChecks, QemuTooOld) {
  FakeQemuSpec q;
  q.version = "7.2.22";
  q.sev_snp_guest = q.igvm_cfg = false;
  auto reqs = check({}, q);
  EXPECT_EQ(missing(reqs),
            (std::vector<std::string>{"QEMU >= 11.0.0 (" + qemu_.string() + ")",
                                      "QEMU object sev-snp-guest", "QEMU object igvm-cfg",
                                      "QEMU with SVSM (multi-VMPL) support"}));
  EXPECT_EQ(find(reqs, "QEMU with SVSM").detail, "no QEMU below 11.0 has it");
  EXPECT_EQ(find(reqs, "QEMU >=").detail, "version 7.2.22");
  EXPECT_EQ(find(reqs, "QEMU >=").fix,
            "QEMU >= 11.0 with SVSM support: COCONUT-SVSM's qemu, branch 'svsm' (its "
            "INSTALL.md), or pass --qemu PATH");
}

TEST_F(HostChecks, QemuWithoutIgvm) {
  FakeQemuSpec q;
  q.version = "9.2.0";
  q.igvm_cfg = false;
  auto reqs = check({}, q);
  EXPECT_EQ(find(reqs, "QEMU object igvm-cfg").status, Requirement::Status::kMissing);
  EXPECT_EQ(find(reqs, "QEMU object igvm-cfg").fix,
            "QEMU 10.1 or newer configured with --enable-igvm");
  EXPECT_EQ(find(reqs, "QEMU object sev-snp-guest").status, Requirement::Status::kOk);
}

// launch_guest.sh launches without device-plane when `qemu -h` lacks it, so its absence is not
// missing; whether such a QEMU has the SVSM patches cannot be told: UNKNOWN.
TEST_F(HostChecks, QemuWithoutDevicePlaneIsUnknownNotMissing) {
  FakeQemuSpec q;
  q.version = "11.0.0";
  auto reqs = check({}, q);
  EXPECT_TRUE(missing(reqs).empty()) << requirements_table(reqs);
  const Requirement& svsm = find(reqs, "QEMU with SVSM");
  EXPECT_EQ(svsm.status, Requirement::Status::kUnknown);
  EXPECT_NE(svsm.detail.find("`qemu -h` offers no device-plane=: launched without it"),
            std::string::npos);
  EXPECT_FALSE(facts_.qemu.has_device_plane);
  const std::string table = requirements_table(reqs);
  const std::string row = table.substr(table.find("QEMU with SVSM"));
  EXPECT_NE(row.find(" UNKNOWN  `qemu -h` offers no"), std::string::npos) << table;
  EXPECT_LT(row.find(" UNKNOWN  `qemu -h` offers no"), row.find('\n')) << table;
  EXPECT_NE(table.find("needs: the host kernel of COCONUT-SVSM's linux, branch 'svsm'"),
            std::string::npos)
      << table;
  EXPECT_EQ(table.find("MISSING"), std::string::npos) << table;
}

TEST_F(HostChecks, UpstreamQemuIsBelowCoconutsMinimum) {
  auto reqs = check({}, FakeQemuSpec{});
  EXPECT_EQ(missing(reqs), (std::vector<std::string>{"QEMU >= 11.0.0 (" + qemu_.string() + ")",
                                                     "QEMU with SVSM (multi-VMPL) support"}));
}

TEST_F(HostChecks, MissingQemuBinary) {
  cvtpm::testing::TempDir dir;
  auto root = testing::make_fake_host(dir, {});
  auto reqs = evaluate_host(probe_host(root, (dir / "no-qemu").string()), 1ull << 30);
  EXPECT_EQ(find(reqs, "QEMU >=").detail, "not found or not executable");
  EXPECT_EQ(find(reqs, "QEMU with SVSM").status, Requirement::Status::kMissing);
  EXPECT_EQ(find(reqs, "QEMU object igvm-cfg").detail, "QEMU does not run");
}

TEST_F(HostChecks, NotEnoughMemory) {
  FakeHostSpec host;
  host.mem_available_kib = 1024 * 1024;  // 1 GiB
  auto reqs = check(host, snp_svsm_qemu(), 4ull << 30);
  EXPECT_EQ(missing(reqs), std::vector<std::string>{"Memory for a 4096 MiB guest"});
  EXPECT_EQ(find(reqs, "Memory").detail, "1024 MiB available");
}

// A CPU that answers from a table; leaves it lacks cannot be read.
class FakeCpuid final : public CpuidReader {
 public:
  explicit FakeCpuid(std::map<std::uint32_t, CpuidRegisters> leaves) : leaves_(std::move(leaves)) {}
  std::optional<CpuidRegisters> read(std::uint32_t leaf) const override {
    auto it = leaves_.find(leaf);
    if (it == leaves_.end()) return std::nullopt;
    return it->second;
  }
  std::string unreadable_hint() const override { return "the fake CPU has no such leaf"; }

 private:
  std::map<std::uint32_t, CpuidRegisters> leaves_;
};

// An SNP host's Fn8000_001F: EAX SME|SEV|SEV-ES|SNP..., EBX = 4 VMPLs, reduction 5, C-bit 51.
constexpr CpuidRegisters kSnpLeaf{0x0001'1F1F, 4u << 12 | 5u << 6 | 51u, 0, 0};
constexpr CpuidRegisters kMaxExtended{0x8000'0028, 0, 0, 0};

TEST(HostCpuid, CbitFromAFakedCpu) {
  FakeCpuid cpu({{kCpuidMaxExtendedLeaf, kMaxExtended}, {kCpuidEncryptedMemory, kSnpLeaf}});
  const SevCpuReading reading = read_sev_cpu(cpu);
  ASSERT_TRUE(reading.info) << reading.problem;
  EXPECT_TRUE(reading.info->sev);
  EXPECT_TRUE(reading.info->snp);
  EXPECT_EQ(reading.info->cbitpos, 51u);
  EXPECT_EQ(reading.info->host_phys_addr_reduction, 5u);
  EXPECT_EQ(reading.info->vmpls, 4u);
  EXPECT_EQ(host_cbit_position(reading).cbitpos, 51u);

  FakeCpuid other({{kCpuidMaxExtendedLeaf, kMaxExtended},
                   {kCpuidEncryptedMemory, CpuidRegisters{0x1F, 47u, 0, 0}}});
  EXPECT_EQ(host_cbit_position(read_sev_cpu(other)).cbitpos, 47u);
}

TEST(HostCpuid, SaysWhyTheCbitCannotBeRead) {
  auto problem = [](std::map<std::uint32_t, CpuidRegisters> leaves) {
    const CbitReading r = host_cbit_position(read_sev_cpu(FakeCpuid(std::move(leaves))));
    EXPECT_FALSE(r.cbitpos);
    return r.problem;
  };
  // No SEV: EBX means nothing, as COCONUT-SVSM's tools/cbit says by failing.
  EXPECT_EQ(problem({{kCpuidMaxExtendedLeaf, kMaxExtended},
                     {kCpuidEncryptedMemory, CpuidRegisters{0x1, 51u, 0, 0}}}),
            "CPUID 0x8000001F reports no SEV (EAX bit 1 clear)");
  EXPECT_EQ(problem({{kCpuidMaxExtendedLeaf, CpuidRegisters{0x8000'0008, 0, 0, 0}}}),
            "the CPU has no CPUID leaf 0x8000001F (no AMD memory encryption)");
  EXPECT_EQ(problem({}), "the fake CPU has no such leaf");
  EXPECT_TRUE(read_sev_cpu(FakeCpuid({})).unreadable);
}

TEST(HostCpuid, ProbeTakesTheCpuFromTheReader) {
  cvtpm::testing::TempDir dir;
  testing::FakeHostSpec host;
  host.cpuid_device = false;  // the reader, not the tree, answers
  const auto root = testing::make_fake_host(dir, host);
  FakeCpuid cpu({{kCpuidMaxExtendedLeaf, kMaxExtended},
                 {kCpuidEncryptedMemory, CpuidRegisters{0x1F, 47u, 0, 0}}});
  const HostFacts facts = probe_host(root, cpu, (dir / "no-qemu").string());
  ASSERT_TRUE(facts.cpu.info);
  EXPECT_EQ(facts.cpu.info->cbitpos, 47u);
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
