// `cvtpm-measure igvm` and `cvtpm-measure igvm sign` as users run them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/formats/snp/id_block.h"
#include "cvtpm/measure/igvm_measure.h"
#include "cvtpm/measure/snp_keys.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "process.h"
#include "raw_igvm.h"
#include "synthetic_ovmf.h"
#include "temp_dir.h"
#include "tool_errors.h"

namespace cvtpm::measure {
namespace {

namespace igvm = formats::igvm;
using testing::expect_one_line_error;
using testing::ProcessResult;
using testing::TempDir;

const std::string kMeasure = std::string(CVTPM_BIN_DIR) + "/cvtpm-measure";
const std::string kIgvmgen = std::string(CVTPM_BIN_DIR) + "/cvtpm-igvmgen";

class MeasureIgvmCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto ovmf = dir_.write("ovmf.fd", testing::SyntheticOvmf{}.build());
    ProcessResult b = testing::run_process({kIgvmgen, "build", "--firmware", CVTPM_TEST_FIRMWARE,
                                            "--ovmf", ovmf.string(), "-o", "image.igvm"},
                                           dir_.path());
    ASSERT_EQ(b.exit_code, 0) << b.err;
    const igvm::IgvmFile file = igvm::parse_igvm(load_file(dir_ / "image.igvm"), "image.igvm");
    digest_ = to_hex(measure_igvm(file, {}, "image.igvm").digest);
  }

  ProcessResult run(std::vector<std::string> args) const {
    args.insert(args.begin(), kMeasure);
    return testing::run_process(args, dir_.path());
  }

  void expect_bad_input(const std::vector<std::string>& args, const std::string& expected) const {
    const auto before = dir_.entries();
    expect_one_line_error(run(args), "cvtpm-measure", expected);
    EXPECT_EQ(dir_.entries(), before);
  }

  void make_keys() {
    for (const char* name : {"id.pem", "author.pem"}) {
      ProcessResult k = testing::run_process({"/usr/bin/openssl", "ecparam", "-name", "secp384r1",
                                              "-genkey", "-noout", "-out", (dir_ / name).string()});
      ASSERT_EQ(k.exit_code, 0) << k.err;
    }
  }

  static std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }

  TempDir dir_;
  std::string digest_;
};

TEST_F(MeasureIgvmCli, PrintsTheDigestLikeIgvmmeasure) {
  ProcessResult text = run({"igvm", "image.igvm"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  const std::string rule(111, '=');
  EXPECT_EQ(text.out, "\n" + rule + "\ncvtpm-measure igvm 'image.igvm'\nLaunch Digest: " +
                          upper(digest_) + "\n" + rule + "\n\n");
  ProcessResult bare = run({"igvm", "-b", "image.igvm"});
  EXPECT_EQ(bare.out, upper(digest_) + "\n");
  ProcessResult checked = run({"igvm", "--check-kvm", "--bare", "image.igvm"});
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_EQ(checked.out, bare.out);
  EXPECT_EQ(run({"igvm", "image.igvm", "-o", "hex"}).out, digest_ + "\n");
  ProcessResult b64 = run({"igvm", "image.igvm", "--output-format", "base64"});
  EXPECT_EQ(to_hex(parse_base64(b64.out.substr(0, b64.out.size() - 1), "b64")), digest_);
  EXPECT_EQ(run({"igvm", "-n", "-b", "image.igvm"}).out, bare.out);  // no data-less pages
}

TEST_F(MeasureIgvmCli, VerboseListsRegionsAndJsonRecordsInputs) {
  ProcessResult v = run({"igvm", "-v", "-b", "image.igvm"});
  ASSERT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.err,
            "gpa 0x8008000 len 0x2000 (Unmeasured page)\n"
            "gpa 0x8000000 len 0x6000 (Normal page)\n"
            "gpa 0x8006000 len 0x1000 (Cpuid page)\n"
            "gpa 0x8007000 len 0x1000 (Secrets page)\n"
            "gpa 0xffffc000 len 0x4000 (Normal page)\n"
            "gpa 0xfffffffff000 len 0x1000 (VMSA page)\n");
  ProcessResult json = run({"igvm", "-o", "json", "-c", "image.igvm"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["launch_digest"], digest_);
  EXPECT_EQ(j["platform"], "sev-snp");
  EXPECT_EQ(j["compatibility_mask"], "0x1");
  EXPECT_EQ(j["vmsa_count"], 1);
  EXPECT_EQ(j["check_kvm"], true);
  EXPECT_EQ(j["guest_policy"], "0x30000");
  EXPECT_TRUE(j["id_block"].is_null());
  EXPECT_EQ(j["inputs"]["igvm"]["file"], "image.igvm");
  EXPECT_EQ(j["inputs"]["igvm"]["sha256"], to_hex(sha256(read_file(dir_ / "image.igvm"))));
}

TEST_F(MeasureIgvmCli, RefusesBadFilesAndOptions) {
  auto bytes = read_file(dir_ / "image.igvm");
  auto bad_crc = bytes;
  bad_crc[0x20] ^= 1;
  dir_.write("crc.igvm", bad_crc);
  expect_bad_input({"igvm", "crc.igvm"}, "crc.igvm: offset 0x14: checksum");
  auto cut = bytes;
  cut.resize(cut.size() - 4096);
  dir_.write("cut.igvm", cut);
  expect_bad_input({"igvm", "cut.igvm"}, "cut.igvm: offset 0x10: total_file_size");
  expect_bad_input({"igvm", "missing.igvm"}, "missing.igvm: cannot open");
  expect_bad_input({"igvm"}, "igvm: the IGVM file to measure is required");
  expect_bad_input({"igvm", "-p", "sev-es", "image.igvm"},
                   "image.igvm: declares no sev-es platform (it declares: sev-snp, native)");
  expect_bad_input({"igvm", "-p", "tdx", "image.igvm"}, "--platform");
  // A VMSA that KVM would not measure as written.
  testing::RawIgvm raw;
  raw.platform(1, 2).vp_context(0x1000, 1, 0, testing::pattern_page(1));
  dir_.write("vmsa.igvm", raw.build());
  EXPECT_EQ(run({"igvm", "-b", "vmsa.igvm"}).exit_code, 0);
  expect_bad_input({"igvm", "-c", "vmsa.igvm"},
                   "vmsa.igvm: header 1 (VP_CONTEXT): --check-kvm: VMSA gpa 0x1000");
}

TEST_F(MeasureIgvmCli, EveryMalformationIsOneLineWithItsOffset) {
  using testing::Bytes;
  using testing::RawIgvm;
  const Bytes page = testing::pattern_page(1);
  std::vector<std::pair<Bytes, std::string>> cases;
  {
    RawIgvm f;
    f.platform(1, 2).page(0x1000, 1, 0, 0, page).page(0x1000, 1, 0, 0, std::nullopt);
    cases.emplace_back(f.build(), "header 2 (PAGE_DATA) at offset 0x50: page range [0x1000");
  }
  {
    RawIgvm f;
    f.platform(1, 2).page(0x1800, 1, 0, 0, page);
    cases.emplace_back(f.build(), "header 1 (PAGE_DATA) at offset 0x30: gpa 0x1800 is not 4 KiB");
  }
  {
    RawIgvm f;
    f.platform(1, 2).page(0x1000, 1, 0, 0, page);
    Bytes b = f.build();
    testing::set_le(b, 0x30 + 8 + 12, b.size() - 16, 4);  // file offset near the end
    testing::fix_crc(b);
    cases.emplace_back(b, "header 1 (PAGE_DATA) at offset 0x30: page data [");
  }
  {
    RawIgvm f;
    f.platform(1, 2).area(1ULL << 36, 0);
    cases.emplace_back(f.build(), "header 1 (PARAMETER_AREA) at offset 0x30: size 0x1000000000");
  }
  {
    RawIgvm f;
    f.platform(1, 2).vp_context(0xFFFFFFFFF000, 1, 0, page);
    Bytes b = f.build();
    b[0x30 + 8 + 20] = 1;  // padding after the 20-byte VP context
    testing::fix_crc(b);
    cases.emplace_back(b, "offset 0x4c: padding byte");
  }
  make_keys();
  int n = 0;
  for (const auto& [bytes, expected] : cases) {
    const std::string name = "bad" + std::to_string(n++) + ".igvm";
    dir_.write(name, bytes);
    expect_bad_input({"igvm", name}, name + ": " + expected);
    expect_bad_input({"igvm", "sign", name, "--id-key", "id.pem", "-o", "out.igvm"},
                     name + ": " + expected);
  }
}

TEST_F(MeasureIgvmCli, SignEmbedsAVerifiableIdBlock) {
  make_keys();
  ProcessResult s =
      run({"igvm", "sign", "image.igvm", "--id-key", "id.pem", "--author-key", "author.pem", "-o",
           "signed.igvm", "--family-id", "00112233445566778899aabbccddeeff", "--svn", "7"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const auto id_key = EcP384PrivateKey::load_pem_file(dir_ / "id.pem");
  const auto author_key = EcP384PrivateKey::load_pem_file(dir_ / "author.pem");
  EXPECT_EQ(s.out, "launch_digest: " + digest_ +
                       "\nid_key_hash: " + to_base64(public_key_digest(id_key.public_key())) +
                       "\nauthor_key: " + to_base64(public_key_digest(author_key.public_key())) +
                       "\n");

  // The original directives are unchanged; one ID block for the SNP platform was added last.
  const igvm::IgvmFile original = igvm::parse_igvm(load_file(dir_ / "image.igvm"), "image");
  const igvm::IgvmFile signed_file = igvm::parse_igvm(load_file(dir_ / "signed.igvm"), "signed");
  ASSERT_EQ(signed_file.directives.size(), original.directives.size() + 1);
  EXPECT_TRUE(std::equal(original.directives.begin(), original.directives.end(),
                         signed_file.directives.begin()));
  const igvm::SnpIdBlock& id = *std::get<igvm::SnpIdBlockDirective>(signed_file.directives.back());
  EXPECT_EQ(id.compatibility_mask, 1u);
  EXPECT_EQ(id.author_key_enabled, 1);
  EXPECT_EQ(to_hex(std::span(id.ld)), digest_);
  EXPECT_EQ(to_hex(std::span(id.family_id)), "00112233445566778899aabbccddeeff");
  EXPECT_EQ(id.guest_svn, 7u);
  EXPECT_EQ(id.version, 1u);
  EXPECT_EQ(id.id_key_algorithm, 1u);
  EXPECT_EQ(id.author_key_algorithm, 1u);

  // The signatures verify over the SNP ABI structures the PSP checks.
  formats::snp::IdBlock block{};
  std::memcpy(block.launch_digest, id.ld, 48);
  std::memcpy(block.family_id, id.family_id, 16);
  std::memcpy(block.image_id, id.image_id, 16);
  block.version = id.version;
  block.guest_svn = id.guest_svn;
  block.policy = 0x30000;  // from the image's GUEST_POLICY
  auto abi_key = [](const igvm::SnpIdBlockPublicKey& k) {
    EcdsaPublicKey p{};
    p.curve = k.curve;
    std::memcpy(p.qx, k.qx, 72);
    std::memcpy(p.qy, k.qy, 72);
    return p;
  };
  auto abi_sig = [](const igvm::SnpIdBlockSignature& sig) {
    EcdsaSignature out{};
    std::memcpy(out.r, sig.r_comp, 72);
    std::memcpy(out.s, sig.s_comp, 72);
    return out;
  };
  const EcdsaPublicKey id_pub = abi_key(id.id_public_key);
  EXPECT_EQ(
      std::memcmp(&id_pub, &static_cast<const EcdsaPublicKey&>(id_key.public_key()), sizeof id_pub),
      0);
  EXPECT_TRUE(verify_snp_signature(id_pub, struct_bytes(block), abi_sig(id.id_key_signature)));
  EXPECT_TRUE(verify_snp_signature(abi_key(id.author_public_key), struct_bytes(id_pub),
                                   abi_sig(id.author_key_signature)));
  block.guest_svn = 8;
  EXPECT_FALSE(verify_snp_signature(id_pub, struct_bytes(block), abi_sig(id.id_key_signature)));

  // The signed file measures the same and its ID block matches.
  ProcessResult m = run({"igvm", "-c", "-o", "json", "signed.igvm"});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  const auto j = nlohmann::json::parse(m.out);
  EXPECT_EQ(j["launch_digest"], digest_);
  EXPECT_EQ(j["id_block"]["matches"], true);

  // Signing again replaces the block instead of adding a second one.
  ProcessResult again =
      run({"igvm", "sign", "signed.igvm", "--id-key", "id.pem", "-o", "twice.igvm"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.find("author_key"), std::string::npos);
  const igvm::IgvmFile twice = igvm::parse_igvm(load_file(dir_ / "twice.igvm"), "twice");
  EXPECT_EQ(twice.directives.size(), signed_file.directives.size());
  EXPECT_EQ(std::get<igvm::SnpIdBlockDirective>(twice.directives.back())->author_key_enabled, 0);
}

TEST_F(MeasureIgvmCli, AnIdBlockForAnotherDigestIsRefused) {
  make_keys();
  ASSERT_EQ(
      run({"igvm", "sign", "image.igvm", "--id-key", "id.pem", "-o", "signed.igvm"}).exit_code, 0);
  // Change one measured page after signing.
  igvm::IgvmFile f = igvm::parse_igvm(load_file(dir_ / "signed.igvm"), "signed");
  for (auto& d : f.directives) {
    if (auto* p = std::get_if<igvm::PageDirective>(&d); p && p->gpa == 0xFFFFC000) {
      p->data = igvm::FileData{ByteBuffer(testing::pattern_page(42))};
    }
  }
  dir_.write("tampered.igvm", igvm::write_igvm(f));
  expect_bad_input({"igvm", "tampered.igvm"},
                   "tampered.igvm: its SNP ID block vouches for launch digest " + digest_);
  ProcessResult ignored = run({"igvm", "-i", "-o", "json", "tampered.igvm"});
  ASSERT_EQ(ignored.exit_code, 0) << ignored.err;
  const auto j = nlohmann::json::parse(ignored.out);
  EXPECT_EQ(j["id_block"]["matches"], false);
  EXPECT_NE(j["launch_digest"], digest_);
}

TEST_F(MeasureIgvmCli, SignRefusesBadInputWithoutWritingAFile) {
  make_keys();
  expect_bad_input({"igvm", "sign", "image.igvm", "--id-key", "missing.pem", "-o", "out.igvm"},
                   "missing.pem: cannot open");
  dir_.write("junk.pem", "junk");
  expect_bad_input({"igvm", "sign", "image.igvm", "--id-key", "junk.pem", "-o", "out.igvm"},
                   "junk.pem: not an unencrypted PEM private key");
  expect_bad_input({"igvm", "sign", "image.igvm", "--id-key", "id.pem"}, "--output is required");
  expect_bad_input(
      {"igvm", "sign", "image.igvm", "--id-key", "id.pem", "-o", "out.igvm", "-p", "sev-es"},
      "--platform: ID blocks exist only for sev-snp");
  expect_bad_input(
      {"igvm", "sign", "image.igvm", "--id-key", "id.pem", "-o", "out.igvm", "--family-id", "1234"},
      "--family-id: must be 16 bytes");
  testing::RawIgvm no_policy;
  no_policy.platform(1, 2).page(0x1000, 1, 0, 0, testing::pattern_page(1));
  dir_.write("nopolicy.igvm", no_policy.build());
  expect_bad_input({"igvm", "sign", "nopolicy.igvm", "--id-key", "id.pem", "-o", "out.igvm"},
                   "nopolicy.igvm: has no GUEST_POLICY header for the sev-snp platform");
  auto bytes = read_file(dir_ / "image.igvm");
  bytes[0x20] ^= 1;
  dir_.write("crc.igvm", bytes);
  expect_bad_input({"igvm", "sign", "crc.igvm", "--id-key", "id.pem", "-o", "out.igvm"},
                   "crc.igvm: offset 0x14: checksum");
}

}  // namespace
}  // namespace cvtpm::measure
