// SVSM_ATTEST_SERVICES and SVSM_ATTEST_SINGLE_SERVICE: the manifest and report verified
// independently (layout parsed by hand, REPORT_DATA recomputed, signature checked with the test
// key), buffer sizing as Linux relies on, and every rejection without side effects.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/formats/snp/attestation_report.h"
#include "cvtpm/formats/state/state_evidence.h"
#include "cvtpm/measure/snp_keys.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/vtpm/ek_template.h"
#include "cvtpm/vtpm_host/guest.h"
#include "vtpm_testing.h"

namespace cvtpm::vtpm {
namespace {

using testing::Bytes;
using testing::ByteWriter;
using testing::le32_at;
using testing::ServiceTest;

constexpr std::uint64_t kNotGiven = ~std::uint64_t{0};

// The operation struct, written byte by byte from the specification's tables 11 and 13.
struct Op {
  std::uint64_t report_gpa = 0;
  std::uint32_t report_size = 4096;
  std::uint64_t nonce_gpa = 0;
  std::uint16_t nonce_size = 64;
  std::uint64_t manifest_gpa = 0;
  std::uint32_t manifest_size = 4096;
  std::uint64_t certs_gpa = 0;
  std::uint32_t certs_size = 0;
  Bytes service_guid;  // empty: SVSM_ATTEST_SERVICES
  std::uint32_t manifest_version = 0;
  std::size_t poison_reserved = 0;  // 1-based index of a reserved byte to set (0: none)

  Bytes bytes() const {
    ByteWriter w;
    w.le64(report_gpa).le32(report_size).le32(0);
    w.le64(nonce_gpa).le16(nonce_size).zeros(6);
    w.le64(manifest_gpa).le32(manifest_size).le32(0);
    w.le64(certs_gpa).le32(certs_size).le32(0);
    if (!service_guid.empty()) w.raw(service_guid).le32(manifest_version).le32(0);
    Bytes b = w.bytes();
    static constexpr std::size_t kReserved[] = {0x0C, 0x1A, 0x1F, 0x2C, 0x3C, 0x54};
    if (poison_reserved != 0) b.at(kReserved[poison_reserved - 1]) = 1;
    return b;
  }
};

Bytes vtpm_guid() {
  return testing::from_hex("ebf176c4 2301 a545 9641 b4e7dde5bfe3");
}

// cvtpm's state service, 31e5bf5a-87b1-4ca7-a415-75feaccacbc8, in UEFI byte order.
Bytes state_guid() {
  return testing::from_hex("5abfe531 b187 a74c a415 75feaccacbc8");
}

// The state entry (docs/persistence.md, "Rollback") written field by field.
Bytes state_entry(std::uint32_t status, std::uint32_t binding, std::uint64_t boot_generation,
                  std::uint64_t current_generation, const Bytes& boot_digest,
                  const Bytes& current_digest) {
  ByteWriter w;
  w.le32(1).le32(status).le32(binding).le32(0);
  w.le64(boot_generation).le64(current_generation);
  w.raw(boot_digest).raw(current_digest);
  return w.bytes();
}

class AttestTest : public ServiceTest {
 protected:
  explicit AttestTest(host::HostPlatformConfig config = {}, bool with_tpm = true)
      : ServiceTest(std::move(config), with_tpm) {
    for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(i * 7 + 1);
  }

  Op default_op(bool single) {
    Op op;
    op.report_gpa = gpa(0x10000);
    op.nonce_gpa = gpa(0x9000) + 0x40;
    op.manifest_gpa = gpa(0x12000);
    op.certs_gpa = gpa(0x14000);
    if (single) op.service_guid = vtpm_guid();
    return op;
  }

  SvsmRegisters attest(const Op& op, std::uint64_t op_gpa = 0) {
    if (op_gpa == 0) op_gpa = platform.vcpus()[0].caa_gpa + 8;  // where Linux puts it
    const Bytes bytes = op.bytes();
    if (platform.guest_owns(op_gpa, bytes.size())) write_guest(op_gpa, bytes);
    if (op.nonce_gpa != 0 && platform.guest_owns(op.nonce_gpa, 64))
      write_guest(op.nonce_gpa, nonce);
    const std::uint32_t id =
        op.service_guid.empty() ? attest_call::kServices : attest_call::kSingleService;
    return call(Protocol::kAttestation, id, op_gpa, kNotGiven, kNotGiven);
  }

  // Checks the report at `at`: REPORT_DATA = SHA-512(nonce || manifest), VMPL 0, the test
  // signature, the platform's measurement.
  void expect_valid_report(std::uint64_t at, const Bytes& manifest) {
    formats::snp::AttestationReport report;
    const Bytes bytes = read_guest(at, sizeof report);
    std::memcpy(&report, bytes.data(), sizeof report);
    Bytes material(nonce.begin(), nonce.end());
    material.insert(material.end(), manifest.begin(), manifest.end());
    const auto expected = cvtpm::sha512(material);
    EXPECT_EQ(Bytes(report.report_data, report.report_data + 64),
              Bytes(expected.begin(), expected.end()));
    EXPECT_EQ(report.vmpl, 0u);
    EXPECT_EQ(report.signature_algo, 1u);
    EXPECT_EQ(Bytes(report.measurement, report.measurement + 48),
              Bytes(platform.config().report.measurement.begin(),
                    platform.config().report.measurement.end()));
    EXPECT_TRUE(measure::verify_snp_signature(platform.signer().public_key(),
                                              {bytes.data(), formats::snp::kReportSignedBytes},
                                              report.signature));
  }

  void expect_nothing_written(const Op& op) {
    for (const auto& a : platform.accesses()) {
      EXPECT_EQ(a.access, GuestAccess::kRead) << "wrote to 0x" << std::hex << a.gpa;
    }
    EXPECT_EQ(platform.reports_signed(), 0u);
    (void)op;
  }

  std::array<std::uint8_t, 64> nonce;
};

TEST_F(AttestTest, ServicesManifestListsTheVtpmWithItsEk) {
  const Op op = default_op(false);
  const SvsmRegisters out = attest(op);
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  const std::span<const std::uint8_t> ek = engine->ek_public();
  const std::size_t manifest_size = 0x18 + 0x18 + ek.size();
  EXPECT_EQ(out.rcx, manifest_size);
  EXPECT_EQ(out.rdx, 0u);  // no certificates asked for
  EXPECT_EQ(out.r8, 0x4A0u);

  const Bytes manifest = read_guest(op.manifest_gpa, manifest_size);
  EXPECT_EQ(Bytes(manifest.begin(), manifest.begin() + 16),
            testing::from_hex("bb9e8463 923d 7046 a1ff 58f9c94b87bb"));
  EXPECT_EQ(le32_at(manifest, 0x10), manifest_size);
  EXPECT_EQ(le32_at(manifest, 0x14), 1u);
  EXPECT_EQ(Bytes(manifest.begin() + 0x18, manifest.begin() + 0x28), vtpm_guid());
  EXPECT_EQ(le32_at(manifest, 0x28), 0x30u);
  EXPECT_EQ(le32_at(manifest, 0x2C), ek.size());
  EXPECT_EQ(Bytes(manifest.begin() + 0x30, manifest.end()), Bytes(ek.begin(), ek.end()));
  expect_valid_report(op.report_gpa, manifest);
}

TEST_F(AttestTest, SingleServiceManifestIsTheEkThatCreatePrimaryReturns) {
  const Op op = default_op(true);
  const SvsmRegisters out = attest(op);
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  const Bytes manifest = read_guest(op.manifest_gpa, out.rcx);
  expect_valid_report(op.report_gpa, manifest);

  // The guest's own TPM2_CreatePrimary with the TCG template returns the same public area.
  start_tpm();
  const Bytes created = tpm(testing::tpm_create_primary_endorsement(
                                testing::expected_ek_template(engine->ek_algorithm())),
                            gpa(0x1000));
  ASSERT_EQ(testing::tpm_rc(created), 0u);
  const std::uint16_t size = testing::be16_at(created, 18);
  EXPECT_EQ(manifest, Bytes(created.begin() + 20, created.begin() + 20 + size));
  EXPECT_EQ(
      testing::tpm_rc(tpm(testing::tpm_flush_context(testing::be32_at(created, 10)), gpa(0x1000))),
      0u);
}

TEST_F(AttestTest, ReportDataFollowsTheNonce) {
  Op op = default_op(true);
  ASSERT_EQ(result(attest(op)), SvsmResult::kSuccess);
  const Bytes first = read_guest(op.report_gpa + 0x50, 64);
  nonce[0] ^= 1;
  ASSERT_EQ(result(attest(op)), SvsmResult::kSuccess);
  EXPECT_NE(read_guest(op.report_gpa + 0x50, 64), first);
}

TEST_F(AttestTest, TooSmallBuffersReportTheSizesNeeded) {
  for (int which = 0; which < 2; ++which) {
    Op op = default_op(false);
    (which == 0 ? op.report_size : op.manifest_size) = 16;
    platform.record_accesses(true);
    platform.clear_accesses();
    const SvsmRegisters out = attest(op);
    EXPECT_EQ(result(out), SvsmResult::kInvalidParameter);
    EXPECT_EQ(out.rcx, 0x30 + engine->ek_public().size());
    EXPECT_EQ(out.rdx, 0u);
    EXPECT_EQ(out.r8, 0x4A0u);
    expect_nothing_written(op);
  }
}

TEST_F(AttestTest, UnknownServiceAndManifestVersion) {
  Op op = default_op(true);
  op.service_guid = testing::from_hex("593a45a4 1b9e 8747 a033 1986d6adbe55");  // COCONUT UEFI MM
  platform.record_accesses(true);
  SvsmRegisters out = attest(op);
  EXPECT_EQ(result(out), SvsmResult::kUnsupportedProtocol);
  EXPECT_EQ(out.rcx, platform.vcpus()[0].caa_gpa + 8);  // no sizes for an unknown service
  EXPECT_EQ(out.r8, kNotGiven);
  op = default_op(true);
  op.manifest_version = 1;
  EXPECT_EQ(result(attest(op)), SvsmResult::kInvalidParameter);
  expect_nothing_written(op);
}

TEST_F(AttestTest, MalformedOperationsAreRejectedWithoutEffect) {
  platform.record_accesses(true);
  for (std::size_t reserved = 1; reserved <= 6; ++reserved) {
    Op op = default_op(true);
    op.poison_reserved = reserved;
    EXPECT_EQ(result(attest(op)), SvsmResult::kInvalidParameter) << "reserved field " << reserved;
  }
  struct Case {
    const char* what;
    void (*mutate)(Op&);
  };
  for (const Case& c : {
           Case{"report not page aligned", [](Op& o) { o.report_gpa += 8; }},
           Case{"manifest not page aligned", [](Op& o) { o.manifest_gpa += 0x800; }},
           Case{"certificates not page aligned",
                [](Op& o) {
                  o.certs_gpa += 1;
                  o.certs_size = 4096;
                }},
           Case{"nonce of 63 bytes", [](Op& o) { o.nonce_size = 63; }},
           Case{"nonce of 65 bytes", [](Op& o) { o.nonce_size = 65; }},
           Case{"no nonce", [](Op& o) { o.nonce_size = 0; }},
           Case{"nonce crossing a page", [](Op& o) { o.nonce_gpa = (o.nonce_gpa | 0xFFF) - 31; }},
       }) {
    Op op = default_op(false);
    c.mutate(op);
    EXPECT_EQ(result(attest(op)), SvsmResult::kInvalidParameter) << c.what;
  }
  // An unaligned certificates address with size 0 means "no certificates": fine.
  Op op = default_op(false);
  op.certs_gpa = 3;
  expect_nothing_written(op);
  EXPECT_EQ(result(attest(op)), SvsmResult::kSuccess);
}

TEST_F(AttestTest, AddressesOutsideGuestMemory) {
  platform.record_accesses(true);
  Op op = default_op(false);
  EXPECT_EQ(result(attest(op, platform.svsm_base())), SvsmResult::kInvalidAddress);
  EXPECT_EQ(result(attest(op, platform.guest_end() - 0x20)), SvsmResult::kInvalidAddress);
  EXPECT_EQ(result(call(Protocol::kAttestation, 0, ~std::uint64_t{0} - 8)),
            SvsmResult::kInvalidAddress);
  for (int which = 0; which < 3; ++which) {
    op = default_op(false);
    if (which == 0) op.report_gpa = platform.svsm_base();
    if (which == 1) op.manifest_gpa = platform.guest_end();
    if (which == 2) op.nonce_gpa = platform.svsm_base() + 0x40;
    const SvsmRegisters out = attest(op);
    EXPECT_EQ(result(out), SvsmResult::kInvalidAddress) << which;
    EXPECT_EQ(out.r8, 0x4A0u) << "sizes are known by then";
  }
  expect_nothing_written(op);
}

TEST_F(AttestTest, TheOperationIsFetchedOnce) {
  // After the SVSM read the operation, the guest points every buffer at the SVSM's memory and
  // shrinks them: the SVSM keeps to what it read.
  const Op op = default_op(true);
  Op evil = op;
  evil.report_gpa = evil.manifest_gpa = platform.svsm_base();
  evil.report_size = evil.manifest_size = 1;
  const std::uint64_t op_gpa = platform.vcpus()[0].caa_gpa + 8;
  bool first = true;
  platform.after_access = [&](const host::GuestAccessRecord& record) {
    if (first && record.gpa == op_gpa) write_guest(op_gpa, evil.bytes());
    first = false;
  };
  const SvsmRegisters out = attest(op, op_gpa);
  platform.after_access = nullptr;
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  expect_valid_report(op.report_gpa, read_guest(op.manifest_gpa, out.rcx));
}

TEST_F(AttestTest, BusyTpm) {
  ASSERT_TRUE(engine->try_lock());
  EXPECT_EQ(result(attest(default_op(false))), SvsmResult::kBusy);
  engine->unlock();
  EXPECT_EQ(platform.reports_signed(), 0u);
}

TEST_F(AttestTest, SingleServiceOfTheStateGuidSaysEphemeralWithoutPersistence) {
  Op op = default_op(true);
  op.service_guid = state_guid();
  const SvsmRegisters out = attest(op);
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  ASSERT_EQ(out.rcx, 96u);
  const Bytes manifest = read_guest(op.manifest_gpa, 96);
  EXPECT_EQ(manifest, state_entry(0, 0, 0, 0, Bytes(32, 0), Bytes(32, 0)));
  expect_valid_report(op.report_gpa, manifest);
  // Its manifest version is 0 too.
  op.manifest_version = 1;
  EXPECT_EQ(result(attest(op)), SvsmResult::kInvalidParameter);
}

// With a persistent state attached, SERVICES lists it after the vTPM, and both calls read the
// evidence as it is at the time of the call.
TEST_F(AttestTest, ThePersistentStateIsAttestedAsItIsAtTheCall) {
  formats::state::StateEvidence evidence{};
  evidence.version = 1;
  evidence.status = 2;   // restored
  evidence.binding = 1;  // development
  evidence.boot_generation = 0x0102030405060708;
  evidence.current_generation = 0x0102030405060709;
  for (std::size_t i = 0; i < 32; ++i) {
    evidence.boot_digest[i] = static_cast<std::uint8_t>(0xB0 + i);
    evidence.current_digest[i] = static_cast<std::uint8_t>(0x40 + i);
  }
  dispatcher->set_state_evidence(&evidence);
  Bytes boot_digest(32), current_digest(32);
  for (std::size_t i = 0; i < 32; ++i) {
    boot_digest[i] = static_cast<std::uint8_t>(0xB0 + i);
    current_digest[i] = static_cast<std::uint8_t>(0x40 + i);
  }

  const Op op = default_op(false);
  SvsmRegisters out = attest(op);
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  const std::span<const std::uint8_t> ek = engine->ek_public();
  const std::size_t manifest_size = 0x18 + 2 * 0x18 + ek.size() + 96;
  ASSERT_EQ(out.rcx, manifest_size);
  Bytes manifest = read_guest(op.manifest_gpa, manifest_size);
  EXPECT_EQ(le32_at(manifest, 0x10), manifest_size);
  EXPECT_EQ(le32_at(manifest, 0x14), 2u);
  EXPECT_EQ(Bytes(manifest.begin() + 0x18, manifest.begin() + 0x28), vtpm_guid());
  EXPECT_EQ(le32_at(manifest, 0x28), 0x48u);
  EXPECT_EQ(le32_at(manifest, 0x2C), ek.size());
  EXPECT_EQ(Bytes(manifest.begin() + 0x30, manifest.begin() + 0x40), state_guid());
  EXPECT_EQ(le32_at(manifest, 0x40), 0x48u + ek.size());
  EXPECT_EQ(le32_at(manifest, 0x44), 96u);
  EXPECT_EQ(Bytes(manifest.begin() + 0x48, manifest.begin() + 0x48 + static_cast<long>(ek.size())),
            Bytes(ek.begin(), ek.end()));
  EXPECT_EQ(Bytes(manifest.end() - 96, manifest.end()),
            state_entry(2, 1, 0x0102030405060708, 0x0102030405060709, boot_digest, current_digest));
  expect_valid_report(op.report_gpa, manifest);

  // A write in between: the next attestation carries it.
  evidence.current_generation += 1;
  evidence.current_digest[0] ^= 0xFF;
  current_digest[0] ^= 0xFF;
  out = attest(op);
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  manifest = read_guest(op.manifest_gpa, manifest_size);
  EXPECT_EQ(Bytes(manifest.end() - 96, manifest.end()),
            state_entry(2, 1, 0x0102030405060708, 0x010203040506070A, boot_digest, current_digest));

  Op single = default_op(true);
  single.service_guid = state_guid();
  out = attest(single);
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  ASSERT_EQ(out.rcx, 96u);
  EXPECT_EQ(read_guest(single.manifest_gpa, 96),
            state_entry(2, 1, 0x0102030405060708, 0x010203040506070A, boot_digest, current_digest));
  // The vTPM's single service is still the EK alone.
  out = attest(default_op(true));
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  EXPECT_EQ(out.rcx, ek.size());

  // Too small a manifest buffer: the size needed comes back.
  Op small = op;
  small.manifest_size = static_cast<std::uint32_t>(manifest_size - 1);
  out = attest(small);
  EXPECT_EQ(result(out), SvsmResult::kInvalidParameter);
  EXPECT_EQ(out.rcx, manifest_size);
  dispatcher->set_state_evidence(nullptr);
}

class AttestWithCertificatesTest : public AttestTest {
 protected:
  static host::HostPlatformConfig with_certificates() {
    host::HostPlatformConfig config;
    config.certificates.resize(12000);
    for (std::size_t i = 0; i < config.certificates.size(); ++i) {
      config.certificates[i] = static_cast<std::uint8_t>(i * 31);
    }
    config.report.measurement.fill(0x42);
    return config;
  }
  AttestWithCertificatesTest() : AttestTest(with_certificates()) {}
};

TEST_F(AttestWithCertificatesTest, CertificatesOnlyWhenAskedForAndIfTheyFit) {
  Op op = default_op(false);
  SvsmRegisters out = attest(op);  // certificates size 0: none wanted
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  EXPECT_EQ(out.rdx, 0u);

  platform.record_accesses(true);
  op.certs_size = 8192;
  out = attest(op);
  EXPECT_EQ(result(out), SvsmResult::kInvalidParameter);
  EXPECT_EQ(out.rdx, 12000u);
  for (const auto& a : platform.accesses()) EXPECT_EQ(a.access, GuestAccess::kRead);
  platform.record_accesses(false);

  op.certs_size = 12288;
  out = attest(op);
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  EXPECT_EQ(out.rdx, 12000u);
  EXPECT_EQ(read_guest(op.certs_gpa, 12000), platform.config().certificates);
  expect_valid_report(op.report_gpa, read_guest(op.manifest_gpa, out.rcx));
}

TEST_F(AttestWithCertificatesTest, LinuxDriverGetsReportManifestAndCertificates) {
  host::GuestVcpu vcpu(platform, *dispatcher);
  host::GuestAttestation linux_driver(vcpu, platform, gpa(0x40000), 0x20000);
  const auto outcome = linux_driver.attest(nonce, kVtpmServiceGuid);
  ASSERT_EQ(outcome.result, SvsmResult::kSuccess);
  EXPECT_EQ(outcome.evidence.report.size(), 0x4A0u);
  EXPECT_EQ(outcome.evidence.certificates, platform.config().certificates);
  const std::span<const std::uint8_t> ek = engine->ek_public();
  EXPECT_EQ(outcome.evidence.manifest, Bytes(ek.begin(), ek.end()));
  EXPECT_EQ(platform.reports_signed(), 1u);
}

class AttestWithOversizedCertificatesTest : public AttestTest {
 protected:
  static host::HostPlatformConfig with_certificates() {
    host::HostPlatformConfig config;
    config.certificates.resize(0x4001);  // above the SNP extended-report limit
    return config;
  }
  AttestWithOversizedCertificatesTest() : AttestTest(with_certificates()) {}
};

TEST_F(AttestWithOversizedCertificatesTest, PlatformsBeyondTheLimitsCannotAttest) {
  Op op = default_op(false);
  op.certs_size = 0x8000;
  EXPECT_EQ(result(attest(op)), SvsmResult::kInvalidRequest);
  op.certs_size = 0;  // without certificates the report still works
  EXPECT_EQ(result(attest(op)), SvsmResult::kSuccess);
}

class AttestWithoutSha512Test : public AttestTest {
 protected:
  static host::HostPlatformConfig failing_hash() {
    host::HostPlatformConfig config;
    config.sha512_fails = true;
    return config;
  }
  AttestWithoutSha512Test() : AttestTest(failing_hash()) {}
};

// Fail closed: a REPORT_DATA that is not SHA-512(nonce || manifest) (a zero one, say) is never
// signed; the guest gets an error and no report is requested.
TEST_F(AttestWithoutSha512Test, NoReportWhenTheHashFails) {
  for (bool single : {false, true}) {
    const Op op = default_op(single);
    write_guest(op.report_gpa, Bytes(0x4A0, 0xEE));
    EXPECT_EQ(result(attest(op)), SvsmResult::kInvalidRequest);
    EXPECT_EQ(read_guest(op.report_gpa, 0x4A0), Bytes(0x4A0, 0xEE)) << "nothing written";
  }
  EXPECT_EQ(platform.reports_signed(), 0u);
}

class AttestWithoutTpmTest : public AttestTest {
 protected:
  AttestWithoutTpmTest() : AttestTest({}, /*with_tpm=*/false) {}
};

TEST_F(AttestWithoutTpmTest, NoServicesToAttest) {
  const Op op = default_op(false);
  const SvsmRegisters out = attest(op);
  ASSERT_EQ(result(out), SvsmResult::kSuccess);
  EXPECT_EQ(out.rcx, 0x18u);
  const Bytes manifest = read_guest(op.manifest_gpa, 0x18);
  EXPECT_EQ(le32_at(manifest, 0x14), 0u);
  expect_valid_report(op.report_gpa, manifest);
  EXPECT_EQ(result(attest(default_op(true))), SvsmResult::kUnsupportedProtocol);
  Op state = default_op(true);
  state.service_guid = state_guid();
  EXPECT_EQ(result(attest(state)), SvsmResult::kUnsupportedProtocol);
}

}  // namespace
}  // namespace cvtpm::vtpm
