// The verifier against chains and reports made in the tests (tests/verify/test_pki.h): a valid
// set is accepted with every check passing, and each field that matters, changed alone (and the
// report signed again where the change is inside it), is rejected by exactly the check that
// names it.
#include <gtest/gtest.h>

#include <cstring>

#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/verify/verifier.h"
#include "test_pki.h"

namespace cvtpm::verify::testing {
namespace {

namespace fs = formats::snp;
using Strings = std::vector<std::string>;

Report as_report(const fs::AttestationReport& r) {
  return parse_report({reinterpret_cast<const std::uint8_t*>(&r), sizeof r}, "report.bin");
}

class Verifier : public ::testing::Test {
 protected:
  // The test chain, with the test ARK as the (overridden) root.
  Evidence evidence(const fs::AttestationReport& r, const VcekSpec& vcek = {}) const {
    Evidence e;
    e.report = as_report(r);
    e.vcek = amd_.vcek(vcek);
    e.cert_chain = {amd_.ask(), amd_.ark()};
    e.ark_override = amd_.ark();
    return e;
  }
  // The same with the vTPM binding: REPORT_DATA = SHA-512(nonce || manifest).
  Evidence bound(fs::AttestationReport r, const Bytes& manifest, const VcekSpec& vcek = {}) const {
    const Bytes digest = sha512_of(nonce_, manifest);
    std::memcpy(r.report_data, digest.data(), 64);
    amd_.sign(r);
    Evidence e = evidence(r, vcek);
    e.nonce = nonce_;
    e.manifest_bytes = manifest;
    e.manifest = parse_manifest(manifest, "manifest.bin");
    return e;
  }
  fs::AttestationReport resigned(fs::AttestationReport r) const {
    amd_.sign(r);
    return r;
  }

  const TestAmd& amd_ = TestAmd::get();
  const Bytes nonce_ = Bytes(64, 0x5C);
};

TEST_F(Verifier, AValidTestChainReportAndBindingIsAccepted) {
  const Bytes ek = ek_tpmt_public_rsa2048();
  const Verdict v = verify_report(bound(amd_.report(), ek), {});
  EXPECT_TRUE(v.accepted()) << verdict_text(v);
  EXPECT_TRUE(v.attested);
  EXPECT_EQ(v.failed(), Strings{});
  Strings names;
  for (const Check& c : v.checks) names.push_back(c.name);
  EXPECT_EQ(names, (Strings{"vcek-product", "trust-root", "ark-signature", "ask-signature",
                            "vcek-signature", "report-signature", "signature-padding",
                            "signing-key", "reported-tcb", "chip-id", "report-version", "vmpl",
                            "debug", "report-data", "ek-attributes"}));
  EXPECT_NE(v.trust_root.find("TEST OVERRIDE"), std::string::npos) << v.trust_root;
  ASSERT_TRUE(v.manifest && v.manifest->ek);
  EXPECT_EQ(v.manifest->ek->tcg_template, "L-1");
  EXPECT_EQ(v.manifest->ek->algorithm, "rsa2048");
}

struct ReportChange {
  const char* name;
  const char* failing_check;
  void (*apply)(fs::AttestationReport&);
};

void PrintTo(const ReportChange& c, std::ostream* os) {
  *os << c.name;
}

class ReportField : public Verifier, public ::testing::WithParamInterface<ReportChange> {};

// Each field changed alone and the report signed again: only its check fails.
TEST_P(ReportField, ChangedAloneIsRejectedByItsCheck) {
  fs::AttestationReport r = amd_.report();
  GetParam().apply(r);
  amd_.sign(r);
  Policy policy;
  policy.measurements = {{{}, "reference"}};
  std::memcpy(policy.measurements[0].digest.data(), amd_.report().measurement, 48);
  policy.host_data.emplace();
  policy.id_key_digest.emplace();
  policy.author_key_digest.emplace();
  policy.min_tcb = MinimumTcb{3, 0, 8, 115, std::nullopt};
  EXPECT_TRUE(verify_report(evidence(amd_.report()), policy).accepted());
  const Verdict v = verify_report(evidence(r), policy);
  EXPECT_EQ(v.failed(), Strings{GetParam().failing_check}) << verdict_text(v);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ReportField,
    ::testing::Values(
        ReportChange{"Vmpl", "vmpl", [](fs::AttestationReport& r) { r.vmpl = 1; }},
        ReportChange{"DebugPolicy", "debug",
                     [](fs::AttestationReport& r) { r.policy |= fs::guest_policy::kDebug; }},
        ReportChange{"Measurement", "measurement",
                     [](fs::AttestationReport& r) { r.measurement[47] ^= 1; }},
        ReportChange{"HostData", "host-data", [](fs::AttestationReport& r) { r.host_data[0] = 1; }},
        ReportChange{"IdKeyDigest", "id-key-digest",
                     [](fs::AttestationReport& r) { r.id_key_digest[5] = 9; }},
        ReportChange{"AuthorKeyDigest", "author-key-digest",
                     [](fs::AttestationReport& r) { r.author_key_digest[47] = 9; }},
        ReportChange{"ChipId", "chip-id", [](fs::AttestationReport& r) { r.chip_id[63] ^= 0x80; }},
        ReportChange{"SigningKeyVlek", "signing-key",
                     [](fs::AttestationReport& r) { r.flags = 1u << 2; }},
        ReportChange{"SigningKeyNone", "signing-key",
                     [](fs::AttestationReport& r) { r.flags = 7u << 2; }},
        ReportChange{"Version1", "report-version", [](fs::AttestationReport& r) { r.version = 1; }},
        ReportChange{"SignatureAlgo", "report-signature",
                     [](fs::AttestationReport& r) { r.signature_algo = 2; }},
        ReportChange{"ReportedTcbSnp", "reported-tcb",
                     [](fs::AttestationReport& r) { r.reported_tcb.snp = 9; }},
        ReportChange{"ReportedTcbReservedByte", "reported-tcb",
                     [](fs::AttestationReport& r) { r.reported_tcb.reserved[1] = 1; }}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(Verifier, ALowerReportedTcbFailsBothTheVcekAndTheMinimum) {
  fs::AttestationReport r = amd_.report();
  r.reported_tcb.microcode = 100;
  Policy policy;
  policy.min_tcb = MinimumTcb{3, 0, 8, 115, std::nullopt};
  const Verdict v = verify_report(evidence(resigned(r), VcekSpec{.microcode = 100}), policy);
  EXPECT_EQ(v.failed(), Strings{"min-tcb"}) << verdict_text(v);
  policy.min_tcb->microcode = 100;
  EXPECT_TRUE(verify_report(evidence(resigned(r), VcekSpec{.microcode = 100}), policy).accepted());
}

TEST_F(Verifier, AnFmcMinimumIsRejectedOnMilan) {
  Policy policy;
  policy.min_tcb = MinimumTcb{0, 0, 0, 0, std::uint8_t{1}};
  const Verdict v = verify_report(evidence(amd_.report()), policy);
  EXPECT_EQ(v.failed(), Strings{"min-tcb"});
  EXPECT_NE(v.checks.back().actual.find("no FMC"), std::string::npos);
}

TEST_F(Verifier, AllowDebugAcceptsADebugPolicy) {
  fs::AttestationReport r = amd_.report();
  r.policy |= fs::guest_policy::kDebug;
  Policy policy;
  policy.allow_debug = true;
  EXPECT_TRUE(verify_report(evidence(resigned(r)), policy).accepted());
}

TEST_F(Verifier, VmplOptionAcceptsThatVmplOnly) {
  fs::AttestationReport r = amd_.report();
  r.vmpl = 2;
  Policy policy;
  policy.vmpl = 2;
  EXPECT_TRUE(verify_report(evidence(resigned(r)), policy).accepted());
  EXPECT_EQ(verify_report(evidence(amd_.report()), policy).failed(), Strings{"vmpl"});
}

TEST_F(Verifier, AMaskedChipIdIsNotCompared) {
  fs::AttestationReport r = amd_.report();
  std::memset(r.chip_id, 0, sizeof r.chip_id);
  r.flags = fs::report_flags::kMaskChipKey;
  const Verdict v = verify_report(evidence(resigned(r)), {});
  EXPECT_TRUE(v.accepted()) << verdict_text(v);
}

TEST_F(Verifier, ABitChangedAfterSigningBreaksTheSignature) {
  for (std::size_t offset :
       {std::size_t{0x00}, std::size_t{0x50}, std::size_t{0x90}, std::size_t{0x1A0},
        std::size_t{0x29F}, std::size_t{0x2A0}, std::size_t{0x2E8}}) {
    fs::AttestationReport r = amd_.report();
    reinterpret_cast<std::uint8_t*>(&r)[offset] ^= 0x01;
    const Verdict v = verify_report(evidence(r), {});
    const Strings failed = v.failed();
    EXPECT_NE(std::find(failed.begin(), failed.end(), "report-signature"), failed.end())
        << "offset " << offset << ": " << verdict_text(v);
  }
}

TEST_F(Verifier, BytesPastRAndSMustBeZero) {
  for (std::size_t offset :
       {std::size_t{0x2A0 + 48}, std::size_t{0x2E8 + 60}, std::size_t{0x330}, std::size_t{0x49F}}) {
    fs::AttestationReport r = amd_.report();
    reinterpret_cast<std::uint8_t*>(&r)[offset] = 0x01;
    const Strings failed = verify_report(evidence(r), {}).failed();
    EXPECT_NE(std::find(failed.begin(), failed.end(), "signature-padding"), failed.end())
        << "offset " << offset;
  }
}

TEST_F(Verifier, AReportSignedByAnotherKeyIsRejected) {
  fs::AttestationReport r = amd_.report();
  amd_.sign(r, generate_ec("P-384"));
  EXPECT_EQ(verify_report(evidence(r), {}).failed(), Strings{"report-signature"});
}

TEST_F(Verifier, Version3CpuidMustNameTheVcekProduct) {
  fs::AttestationReport r = amd_.report();
  r.version = 3;
  r.cpuid_fam_id = 0x19;
  r.cpuid_mod_id = 0x01;  // Milan
  EXPECT_TRUE(verify_report(evidence(resigned(r)), {}).accepted());
  r.cpuid_mod_id = 0x11;  // Genoa
  EXPECT_EQ(verify_report(evidence(resigned(r)), {}).failed(), Strings{"product-line"});
}

struct VcekChange {
  const char* name;
  Strings failing;
  const char* detail;  // in what the first failing check found
  VcekSpec (*make)();
};

void PrintTo(const VcekChange& c, std::ostream* os) {
  *os << c.name;
}

class VcekField : public Verifier, public ::testing::WithParamInterface<VcekChange> {};

TEST_P(VcekField, ChangedAloneIsRejectedByItsCheck) {
  const Verdict v = verify_report(evidence(amd_.report(), GetParam().make()), {});
  EXPECT_EQ(v.failed(), GetParam().failing) << verdict_text(v);
  for (const Check& c : v.checks) {
    if (c.name != GetParam().failing.front()) continue;
    EXPECT_NE(c.actual.find(GetParam().detail), std::string::npos) << c.actual;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fields, VcekField,
    ::testing::Values(
        VcekChange{"BlSpl", {"reported-tcb"}, "VCEK bl=4", [] { return VcekSpec{.bl = 4}; }},
        VcekChange{
            "TeeSpl", {"reported-tcb"}, "VCEK bl=3 tee=1", [] { return VcekSpec{.tee = 1}; }},
        VcekChange{"SnpSpl", {"reported-tcb"}, "snp=7", [] { return VcekSpec{.snp = 7}; }},
        VcekChange{"MicrocodeSpl",
                   {"reported-tcb"},
                   "microcode=200",
                   [] { return VcekSpec{.microcode = 200}; }},
        VcekChange{"ReservedSpl",
                   {"reported-tcb"},
                   "vs spl_6 0x05",
                   [] {
                     return VcekSpec{.reserved = {0, 0, 5, 0}};
                   }},
        VcekChange{"MissingBlSpl",
                   {"reported-tcb"},
                   "the VCEK lacks blSPL",
                   [] { return VcekSpec{.bl = std::nullopt}; }},
        VcekChange{"TurinLayout",
                   {"reported-tcb"},
                   "(Turin layout)",
                   [] { return VcekSpec{.product_name = "Turin-B0", .fmc = 3}; }},
        VcekChange{
            "HwId", {"chip-id"}, "hwID 4242", [] { return VcekSpec{.hwid = Bytes(64, 0x42)}; }},
        VcekChange{"MissingHwId",
                   {"chip-id"},
                   "no hwID extension",
                   [] { return VcekSpec{.csp_id = "csp"}; }},
        VcekChange{"VlekCommonName",
                   {"signing-key"},
                   "certificate CN 'SEV-VLEK'",
                   [] { return VcekSpec{.cn = "SEV-VLEK"}; }},
        VcekChange{"OtherCommonName",
                   {"signing-key"},
                   "certificate CN 'SEV-Other'",
                   [] { return VcekSpec{.cn = "SEV-Other"}; }},
        VcekChange{"UnknownProduct",
                   {"vcek-product", "reported-tcb"},
                   "productName 'Rome-B0'",
                   [] { return VcekSpec{.product_name = "Rome-B0"}; }},
        VcekChange{"NoProductName",
                   {"vcek-product", "reported-tcb"},
                   "no productName extension",
                   [] { return VcekSpec{.product_name = std::nullopt}; }},
        VcekChange{"SignedByAnotherKey",
                   {"vcek-signature"},
                   "INVALID",
                   [] { return VcekSpec{.signer = generate_rsa(2048)}; }},
        VcekChange{"PssSalt32",
                   {"vcek-signature"},
                   "salt length 32",
                   [] { return VcekSpec{.signing = Signing{.salt = 32}}; }},
        VcekChange{"Sha256",
                   {"vcek-signature"},
                   "RSASSA-PSS with SHA256, not SHA-384",
                   [] { return VcekSpec{.signing = Signing{.digest = "SHA256"}}; }},
        VcekChange{"Mgf1Sha256",
                   {"vcek-signature"},
                   "MGF1-SHA256",
                   [] { return VcekSpec{.signing = Signing{.mgf1_digest = "SHA256"}}; }},
        VcekChange{"Pkcs1",
                   {"vcek-signature"},
                   "not RSASSA-PSS",
                   [] { return VcekSpec{.signing = Signing{.pss = false}}; }},
        VcekChange{"AnotherKey",
                   {"report-signature"},
                   "signature INVALID",
                   [] { return VcekSpec{.key = generate_ec("P-384")}; }},
        VcekChange{"P256Key",
                   {"report-signature"},
                   "P-384",
                   [] { return VcekSpec{.key = generate_ec("P-256")}; }}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(Verifier, NamesFromCertificatesCannotForgeVerdictLinesOrBreakJson) {
  const std::string forged = "Milan-B0\n  pass  trust-root\xb3";
  const Verdict v = verify_report(evidence(amd_.report(), VcekSpec{.product_name = forged}), {});
  EXPECT_EQ(v.failed(), (Strings{"vcek-product", "reported-tcb"}));
  const std::string text = verdict_text(v);
  EXPECT_NE(text.find("productName 'Milan-B0\\x0a  pass  trust-root\\xb3'"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("\n  pass  trust-root\xb3"), std::string::npos);
  EXPECT_NE(verdict_json(v, "t").find("\"product_name\": \"Milan-B0\\\\x0a"), std::string::npos);
}

TEST_F(Verifier, KdsSerialNumbersZeroAndNegativeAreAccepted) {
  EXPECT_TRUE(verify_report(evidence(amd_.report(), VcekSpec{.serial = 0}), {}).accepted());
  EXPECT_TRUE(verify_report(evidence(amd_.report(), VcekSpec{.serial = -5}), {}).accepted());
}

TEST_F(Verifier, AHwIdWithoutAnOctetStringTagIsRead) {
  EXPECT_TRUE(verify_report(evidence(amd_.report(), VcekSpec{.hwid_bare = true}), {}).accepted());
}

TEST_F(Verifier, ChainChanges) {
  const fs::AttestationReport r = amd_.report();
  // Another root given with --ark: the chain's ARK is not it, and it signed nothing here.
  const Key other = generate_rsa(2048);
  const Bytes other_ark = make_certificate_der({kAmdArkCn, kAmdArkCn, 1, other, other, {}, {}});
  Evidence e = evidence(r);
  e.ark_override = Certificate::parse(other_ark, "other-ark.der");
  EXPECT_EQ(verify_report(e, {}).failed(), (Strings{"trust-root", "ask-signature"}));
  // An ASK the ARK did not sign.
  e = evidence(r);
  e.cert_chain[0] = Certificate::parse(
      make_certificate_der({kAmdAskCn, kAmdArkCn, 2, amd_.ask_key(), other, {}, {}}), "ask.der");
  EXPECT_EQ(verify_report(e, {}).failed(), Strings{"ask-signature"});
  // An ARK whose self-signature is broken.
  Bytes broken = amd_.ark_der();
  broken.back() ^= 1;
  e = evidence(r);
  e.ark_override = Certificate::parse(broken, "broken-ark.der");
  e.cert_chain[1] = *e.ark_override;
  EXPECT_EQ(verify_report(e, {}).failed(), Strings{"ark-signature"});
  // The ASK alone: checked against the root directly.
  e = evidence(r);
  e.cert_chain.pop_back();
  EXPECT_TRUE(verify_report(e, {}).accepted());
}

TEST_F(Verifier, WithoutArkOverrideTheTestChainDoesNotLeadToAmd) {
  Evidence e = evidence(amd_.report());
  e.ark_override.reset();
  const Verdict v = verify_report(e, {});
  EXPECT_EQ(v.failed(), (Strings{"trust-root", "ask-signature"})) << verdict_text(v);
  EXPECT_NE(v.trust_root.find("pinned"), std::string::npos);
  // Nor without a chain: the built-in ASK did not sign the test VCEK.
  e.cert_chain.clear();
  EXPECT_EQ(verify_report(e, {}).failed(), Strings{"vcek-signature"});
}

TEST_F(Verifier, ChainsInTheWrongOrderOrTooLongAreBadInput) {
  Evidence e = evidence(amd_.report());
  e.cert_chain = {amd_.ark(), amd_.ask()};
  EXPECT_THROW(verify_report(e, {}), InputError);
  e.cert_chain = {amd_.ask(), amd_.ask()};
  EXPECT_THROW(verify_report(e, {}), InputError);
  e.cert_chain = {amd_.ask(), amd_.ark(), amd_.ark()};
  EXPECT_THROW(verify_report(e, {}), InputError);
}

TEST_F(Verifier, AVlekVerifiesThroughItsAsvkChain) {
  const Key asvk_key = generate_rsa(2048);
  const Bytes asvk =
      make_certificate_der({"SEV-VLEK-Milan", kAmdArkCn, 3, asvk_key, amd_.ark_key(), {}, {}});
  fs::AttestationReport r = amd_.report();
  r.flags = fs::report_flags::kSigningKeyVlek << fs::report_flags::kSigningKeyShift;
  amd_.sign(r);
  Evidence e = evidence(
      r,
      VcekSpec{.cn = "SEV-VLEK", .product_name = "Milan", .csp_id = "cloud", .signer = asvk_key});
  e.cert_chain = {Certificate::parse(asvk, "asvk.der"), amd_.ark()};
  const Verdict v = verify_report(e, {});
  EXPECT_TRUE(v.accepted()) << verdict_text(v);
  EXPECT_NE(std::find(v.not_checked.begin(), v.not_checked.end(),
                      "chip-id: a VLEK certifies a cloud provider, not a chip (no hwID)"),
            v.not_checked.end());
  e.cert_chain.clear();
  EXPECT_THROW(verify_report(e, {}), InputError) << "a VLEK needs its ASVK";
}

TEST_F(Verifier, ASignedReportNeedsAVcek) {
  Evidence e = evidence(amd_.report());
  e.vcek.reset();
  EXPECT_THROW(verify_report(e, {}), InputError);
}

TEST_F(Verifier, BindingChanges) {
  const Bytes ek = ek_tpmt_public_rsa2048();
  Evidence e = bound(amd_.report(), ek);
  e.nonce->at(0) ^= 1;
  EXPECT_EQ(verify_report(e, {}).failed(), Strings{"report-data"});

  e = bound(amd_.report(), ek);
  Bytes other = ek_tpmt_public_rsa2048();
  e.manifest_bytes = other;
  e.manifest = parse_manifest(other, "other.bin");
  EXPECT_EQ(verify_report(e, {}).failed(), Strings{"report-data"});

  // An EK without `restricted`: bound correctly, but no key to make credentials for.
  Bytes unrestricted = ek;
  unrestricted[5] &= ~0x01;  // TPMA_OBJECT bit 16, big-endian at offset 4
  const Verdict v = verify_report(bound(amd_.report(), unrestricted), {});
  EXPECT_EQ(v.failed(), Strings{"ek-attributes"});
  EXPECT_NE(v.checks.back().actual.find("lacks restricted"), std::string::npos);
}

TEST(Manifest, MalformedEndorsementKeysAreBadInput) {
  const Bytes ek = ek_tpmt_public_rsa2048();
  EXPECT_NO_THROW(parse_manifest(ek, "ek"));
  Bytes even = ek;
  even.back() &= 0xFE;  // an RSA modulus is odd
  EXPECT_THROW(parse_manifest(even, "ek"), InputError);
  Bytes short_modulus = ek;
  short_modulus[ek.size() - 256] = 0x01;  // fewer than keyBits bits
  EXPECT_THROW(parse_manifest(short_modulus, "ek"), InputError);
  Bytes trailing = ek;
  trailing.push_back(0);
  EXPECT_THROW(parse_manifest(trailing, "ek"), InputError);
  Bytes truncated(ek.begin(), ek.end() - 1);
  EXPECT_THROW(parse_manifest(truncated, "ek"), InputError);
  Bytes off_curve = ek_tpmt_public_ecc_p256();
  off_curve.back() ^= 1;  // y no longer on P-256
  EXPECT_THROW(parse_manifest(off_curve, "ek"), InputError);
  // A services manifest whose size field disagrees with the file, or whose entry points
  // outside it.
  Bytes services = services_manifest({{vtpm_service_guid(), ek}});
  services[0x10] ^= 1;
  EXPECT_THROW(parse_manifest(services, "manifest"), InputError);
  services = services_manifest({{vtpm_service_guid(), ek}});
  services[0x28] = 0xFF;  // the entry's offset
  EXPECT_THROW(parse_manifest(services, "manifest"), InputError);
  // Two vTPM entries.
  EXPECT_THROW(
      parse_manifest(services_manifest({{vtpm_service_guid(), ek}, {vtpm_service_guid(), ek}}),
                     "manifest"),
      InputError);
}

TEST_F(Verifier, ExplicitReportDataIsCompared) {
  fs::AttestationReport r = amd_.report();
  std::memset(r.report_data, 0x77, 64);
  Policy policy;
  policy.report_data.emplace();
  policy.report_data->fill(0x77);
  EXPECT_TRUE(verify_report(evidence(resigned(r)), policy).accepted());
  policy.report_data->fill(0x78);
  EXPECT_EQ(verify_report(evidence(resigned(r)), policy).failed(), Strings{"report-data"});
}

TEST_F(Verifier, ServicesManifestBindsTheVtpmByGuid) {
  const Bytes ek = ek_tpmt_public_ecc_p256();
  const Bytes other_guid(16, 0x11);
  const Bytes manifest =
      services_manifest({{other_guid, Bytes(20, 0xEE)}, {vtpm_service_guid(), ek}});
  const Verdict v = verify_report(bound(amd_.report(), manifest), {});
  EXPECT_TRUE(v.accepted()) << verdict_text(v);
  ASSERT_TRUE(v.manifest && v.manifest->ek);
  EXPECT_TRUE(v.manifest->services);
  EXPECT_EQ(v.manifest->service_count, 2u);
  EXPECT_EQ(v.manifest->ek->tpmt_public, ek);
  EXPECT_EQ(v.manifest->ek->tcg_template, "L-2");

  const Bytes without = services_manifest({{other_guid, Bytes(20, 0xEE)}});
  EXPECT_EQ(verify_report(bound(amd_.report(), without), {}).failed(), Strings{"vtpm-service"});
}

TEST_F(Verifier, TheNativeUnsignedReportIsRejectedUnlessAllowedThenBindingOnly) {
  fs::AttestationReport r{};
  r.version = 2;
  std::memcpy(r.host_data, fs::kCvtpmNativeNotAttested, sizeof fs::kCvtpmNativeNotAttested);
  const Bytes ek = ek_tpmt_public_rsa2048();
  const Bytes digest = sha512_of(nonce_, ek);
  std::memcpy(r.report_data, digest.data(), 64);
  Evidence e;
  e.report = as_report(r);
  e.nonce = nonce_;
  e.manifest_bytes = ek;
  e.manifest = parse_manifest(ek, "manifest.bin");
  Policy policy;
  policy.measurements = {{{}, "reference"}};
  Verdict v = verify_report(e, policy);
  EXPECT_EQ(v.failed(), Strings{"report-signature"});
  EXPECT_FALSE(v.attested);

  policy.allow_unsigned_native = true;
  v = verify_report(e, policy);
  EXPECT_TRUE(v.accepted()) << verdict_text(v);
  EXPECT_FALSE(v.attested);
  EXPECT_NE(verdict_text(v).find("NOTHING IS ATTESTED"), std::string::npos);
  EXPECT_NE(std::find(v.not_checked.begin(), v.not_checked.end(),
                      "measurement: the report is unsigned, nothing is attested"),
            v.not_checked.end());
  // A wrong nonce still fails: the binding is what is checked.
  e.nonce->back() ^= 1;
  EXPECT_EQ(verify_report(e, policy).failed(), Strings{"report-data"});
}

TEST_F(Verifier, TheJsonVerdictCarriesTheDecodedReport) {
  const Verdict v = verify_report(bound(amd_.report(), ek_tpmt_public_rsa2048()), {});
  const std::string json = verdict_json(v, "cvtpm-verify test");
  for (const char* needle :
       {"\"verdict\": \"accepted\"", "\"reported_tcb\"", "\"microcode\": 115", "\"chip_id\"",
        "\"tcb_layout\": \"Milan\"", "\"product_name\": \"Milan-B0\"", "\"tcg_template\": \"L-1\"",
        "\"signing_key\": 0", "\"name\": \"report-signature\""}) {
    EXPECT_NE(json.find(needle), std::string::npos) << needle << " in " << json;
  }
}

TEST(Manifest, TheStateEntryIsReadFromServicesAndSingleServiceManifests) {
  const Bytes ek = ek_tpmt_public_rsa2048();
  StateEntrySpec spec;
  spec.boot_generation = 0x0102030405060708;
  spec.current_generation = 0x1112131415161718;
  const Manifest m = parse_manifest(
      services_manifest({{vtpm_service_guid(), ek}, {state_service_guid(), state_entry(spec)}}),
      "manifest");
  ASSERT_TRUE(m.ek && m.state);
  EXPECT_EQ(m.service_count, 2u);
  EXPECT_EQ(m.state->status, StateEntry::Status::kRestored);
  EXPECT_EQ(m.state->binding, 1u);
  EXPECT_EQ(m.state->boot_generation, 0x0102030405060708u);
  EXPECT_EQ(m.state->current_generation, 0x1112131415161718u);
  EXPECT_EQ(Bytes(m.state->boot_digest.begin(), m.state->boot_digest.end()), Bytes(32, 0xB7));
  EXPECT_EQ(Bytes(m.state->current_digest.begin(), m.state->current_digest.end()), Bytes(32, 0xC9));
  // Without persistence, SERVICES has no state entry.
  EXPECT_FALSE(parse_manifest(services_manifest({{vtpm_service_guid(), ek}}), "m").state);

  // SVSM_ATTEST_SINGLE_SERVICE of the state GUID: the 96 bytes alone.
  spec.status = 0;
  spec.binding = 0;
  const Manifest single = parse_manifest(state_entry(spec), "manifest");
  EXPECT_FALSE(single.services);
  EXPECT_FALSE(single.ek);
  ASSERT_TRUE(single.state);
  EXPECT_EQ(single.state->status, StateEntry::Status::kEphemeral);
}

TEST(Manifest, MalformedStateEntriesAreBadInput) {
  const Bytes ek = ek_tpmt_public_rsa2048();
  auto with = [&](const Bytes& entry) {
    return services_manifest({{vtpm_service_guid(), ek}, {state_service_guid(), entry}});
  };
  auto expect_refused = [&](const Bytes& manifest, const std::string& why) {
    try {
      parse_manifest(manifest, "manifest.bin");
      ADD_FAILURE() << "accepted; expected: " << why;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("manifest.bin"), std::string::npos) << e.what();
    }
  };
  Bytes entry = state_entry();
  expect_refused(with(Bytes(entry.begin(), entry.end() - 1)), "95 bytes");
  entry.push_back(0);
  expect_refused(with(entry), "97 bytes");
  StateEntrySpec spec;
  spec.version = 2;
  expect_refused(with(state_entry(spec)), "version 2");
  spec = {};
  spec.status = 4;
  expect_refused(with(state_entry(spec)), "status 4");
  spec = {};
  spec.binding = 4;
  expect_refused(with(state_entry(spec)), "binding 4");
  spec = {};
  spec.reserved = 1;
  expect_refused(with(state_entry(spec)), "reserved");
  expect_refused(services_manifest({{vtpm_service_guid(), ek},
                                    {state_service_guid(), state_entry()},
                                    {state_service_guid(), state_entry()}}),
                 "a second cvtpm state entry");
  spec = {};
  spec.version = 2;
  EXPECT_THROW(parse_manifest(state_entry(spec), "m"), InputError);  // nor a TPMT_PUBLIC
}

// Rollback evidence: the boot generation against the last one the verifier saw, the digest
// when it is that generation, and the status.
TEST_F(Verifier, StateChecksCompareTheBootGenerationDigestAndStatus) {
  const Bytes ek = ek_tpmt_public_rsa2048();
  auto manifest = [&](const StateEntrySpec& spec) {
    return services_manifest(
        {{vtpm_service_guid(), ek}, {state_service_guid(), state_entry(spec)}});
  };
  const StateEntrySpec restored;  // boot generation 7, digest B7..., current 9
  const Evidence e = bound(amd_.report(), manifest(restored));

  Verdict v = verify_report(e, {});
  EXPECT_TRUE(v.accepted());
  EXPECT_NE(std::find(v.not_checked.begin(), v.not_checked.end(),
                      "state: no --min-state-generation, --state-digest or --require-state"),
            v.not_checked.end());
  EXPECT_NE(verdict_text(v).find("state: restored, binding development, boot generation 7 "
                                 "(digest " +
                                 to_hex(Bytes(32, 0xB7)) + "), current generation 9 (digest " +
                                 to_hex(Bytes(32, 0xC9)) + ")\n"),
            std::string::npos)
      << verdict_text(v);

  Policy p;
  p.min_state_generation = 7;
  EXPECT_TRUE(verify_report(e, p).accepted());
  p.min_state_generation = 8;  // the verifier saw generation 8: the host rolled back
  v = verify_report(e, p);
  EXPECT_EQ(v.failed(), Strings{"state-generation"});
  EXPECT_EQ(v.checks.back().expected, "boot generation at least 8 (--min-state-generation)");
  EXPECT_EQ(v.checks.back().actual, "boot generation 7 (restored)");

  std::array<std::uint8_t, 32> digest;
  digest.fill(0xB7);
  p.min_state_generation = 7;
  p.state_digest = digest;
  EXPECT_TRUE(verify_report(e, p).accepted());
  digest.fill(0xC9);  // generation 7 with another digest: a fork, not the state the verifier saw
  p.state_digest = digest;
  v = verify_report(e, p);
  EXPECT_EQ(v.failed(), Strings{"state-digest"});
  p.min_state_generation = 6;  // a newer generation than the one seen: its digest is not known
  EXPECT_TRUE(verify_report(e, p).accepted());

  Policy status;
  status.require_state = RequiredState::kRestored;
  EXPECT_TRUE(verify_report(e, status).accepted());
  StateEntrySpec fresh;
  fresh.status = 1;
  fresh.boot_generation = 0;
  fresh.boot_digest = 0;
  const Evidence fresh_e = bound(amd_.report(), manifest(fresh));
  EXPECT_EQ(verify_report(fresh_e, status).failed(), Strings{"state-status"});
  status.require_state = RequiredState::kPersistent;
  EXPECT_TRUE(verify_report(fresh_e, status).accepted());
  StateEntrySpec failed;
  failed.status = 3;
  EXPECT_EQ(verify_report(bound(amd_.report(), manifest(failed)), status).failed(),
            Strings{"state-status"});
  StateEntrySpec ephemeral;
  ephemeral.status = 0;
  ephemeral.binding = 0;
  EXPECT_EQ(verify_report(bound(amd_.report(), manifest(ephemeral)), status).failed(),
            Strings{"state-status"});

  // No state entry at all (an ephemeral TPM, or a vTPM-only manifest): every state check fails.
  Policy all;
  all.min_state_generation = 0;
  all.require_state = RequiredState::kPersistent;
  v = verify_report(bound(amd_.report(), services_manifest({{vtpm_service_guid(), ek}})), all);
  EXPECT_EQ(v.failed(), (Strings{"state-generation", "state-status"}));
  EXPECT_NE(v.checks.back().actual.find("no cvtpm state entry"), std::string::npos);
  EXPECT_EQ(verify_report(bound(amd_.report(), ek), all).failed(),
            (Strings{"state-generation", "state-status"}));
}

TEST_F(Verifier, TheJsonVerdictCarriesTheStateEntry) {
  const Bytes manifest = services_manifest(
      {{vtpm_service_guid(), ek_tpmt_public_rsa2048()}, {state_service_guid(), state_entry()}});
  const std::string json = verdict_json(verify_report(bound(amd_.report(), manifest), {}), "t");
  for (const std::string& needle :
       {std::string("\"status\": \"restored\""), std::string("\"binding\": \"development\""),
        std::string("\"boot_generation\": 7"), std::string("\"current_generation\": 9"),
        "\"boot_digest\": \"" + to_hex(Bytes(32, 0xB7)) + "\"",
        "\"current_digest\": \"" + to_hex(Bytes(32, 0xC9)) + "\""}) {
    EXPECT_NE(json.find(needle), std::string::npos) << needle << " in " << json;
  }
  const std::string without =
      verdict_json(verify_report(bound(amd_.report(), ek_tpmt_public_rsa2048()), {}), "t");
  EXPECT_NE(without.find("\"state\": null"), std::string::npos) << without;
}

}  // namespace
}  // namespace cvtpm::verify::testing
