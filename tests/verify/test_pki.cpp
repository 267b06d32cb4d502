#include "test_pki.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>
#include <stdexcept>

#include "cvtpm/measure/snp_keys.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/vtpm/ek_template.h"
#include "cvtpm/vtpm/svsm_abi.h"

namespace cvtpm::verify::testing {
namespace {

namespace fs = formats::snp;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL failure in the test PKI: ") + what);
}

Key own(EVP_PKEY* key) {
  require(key != nullptr, "key");
  return Key(key, EVP_PKEY_free);
}

Bytes bn_bytes(const EVP_PKEY& key, const char* param, std::size_t size) {
  BIGNUM* bn = nullptr;
  require(EVP_PKEY_get_bn_param(&key, param, &bn) == 1, param);
  Bytes out(size);
  const int n = BN_bn2binpad(bn, out.data(), static_cast<int>(size));
  BN_free(bn);
  require(n == static_cast<int>(size), "BN_bn2binpad");
  return out;
}

X509_NAME* amd_name(const std::string& cn) {
  X509_NAME* name = X509_NAME_new();
  require(name != nullptr, "X509_NAME_new");
  const std::pair<const char*, std::string> fields[] = {
      {"OU", "Engineering"},           {"C", "US"}, {"L", "Santa Clara"}, {"ST", "CA"},
      {"O", "Advanced Micro Devices"}, {"CN", cn}};
  for (const auto& [field, value] : fields) {
    require(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.data()),
                                       static_cast<int>(value.size()), -1, 0) == 1,
            "X509_NAME_add_entry_by_txt");
  }
  return name;
}

void add_extension(X509* x509, const std::string& oid, const Bytes& der) {
  ASN1_OBJECT* object = OBJ_txt2obj(oid.c_str(), 1);
  ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
  require(object && value && ASN1_OCTET_STRING_set(value, der.data(), static_cast<int>(der.size())),
          "extension value");
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, object, 0, value);
  require(ext && X509_add_ext(x509, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(value);
  ASN1_OBJECT_free(object);
}

void sign_certificate(X509* x509, const Key& issuer, const Signing& s) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pkey = nullptr;
  require(md && EVP_DigestSignInit_ex(md, &pkey, s.digest, nullptr, nullptr, issuer.get(),
                                      nullptr) == 1,
          "EVP_DigestSignInit_ex");
  if (s.pss) {
    require(EVP_PKEY_CTX_set_rsa_padding(pkey, RSA_PKCS1_PSS_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pkey, s.salt) == 1 &&
                EVP_PKEY_CTX_set_rsa_mgf1_md_name(pkey, s.mgf1_digest, nullptr) == 1,
            "PSS parameters");
  }
  require(X509_sign_ctx(x509, md) > 0, "X509_sign_ctx");
  EVP_MD_CTX_free(md);
}

std::string spl_oid(int n) {
  return "1.3.6.1.4.1.3704.1.3." + std::to_string(n);
}

}  // namespace

Key generate_rsa(int bits) {
  return own(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
}

Key generate_ec(const char* curve) {
  return own(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

Key p384_public_key(const fs::EcdsaPublicKey& key) {
  std::uint8_t point[1 + 96] = {0x04};
  for (int i = 0; i < 48; ++i) {
    point[1 + i] = key.qx[47 - i];  // little-endian in the SNP ABI
    point[49 + i] = key.qy[47 - i];
  }
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  require(builder &&
              OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1",
                                              0) == 1 &&
              OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point,
                                               sizeof point) == 1,
          "P-384 parameters");
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* out = nullptr;
  require(params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
              EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_PUBLIC_KEY, params) == 1,
          "EVP_PKEY_fromdata");
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(builder);
  return own(out);
}

std::string private_key_pem(const Key& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  require(bio && PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr),
          "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

Bytes make_certificate_der(const CertificateSpec& spec) {
  X509* x509 = X509_new();
  require(x509 && X509_set_version(x509, 2) == 1, "X509_new");
  require(ASN1_INTEGER_set(X509_get_serialNumber(x509), spec.serial) == 1, "serial");
  X509_NAME* subject = amd_name(spec.subject_cn);
  X509_NAME* issuer = amd_name(spec.issuer_cn);
  require(X509_set_subject_name(x509, subject) == 1 && X509_set_issuer_name(x509, issuer) == 1,
          "names");
  X509_NAME_free(subject);
  X509_NAME_free(issuer);
  require(X509_gmtime_adj(X509_getm_notBefore(x509), 0) &&
              X509_gmtime_adj(X509_getm_notAfter(x509), 25L * 365 * 24 * 3600),
          "validity");
  require(X509_set_pubkey(x509, spec.subject_key.get()) == 1, "X509_set_pubkey");
  for (const auto& [oid, der] : spec.extensions) add_extension(x509, oid, der);
  sign_certificate(x509, spec.issuer_key, spec.signing);
  unsigned char* der = nullptr;
  const int length = i2d_X509(x509, &der);
  require(length > 0, "i2d_X509");
  Bytes out(der, der + length);
  OPENSSL_free(der);
  X509_free(x509);
  return out;
}

std::string der_to_pem(const Bytes& der) {
  const unsigned char* p = der.data();
  X509* x509 = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  BIO* bio = BIO_new(BIO_s_mem());
  require(x509 && bio && PEM_write_bio_X509(bio, x509) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  X509_free(x509);
  return pem;
}

Bytes der_integer(std::uint8_t value) {
  if (value & 0x80) return {0x02, 0x02, 0x00, value};
  return {0x02, 0x01, value};
}

// A short (< 128 bytes) DER value: tag, length, contents.
Bytes der_short(std::uint8_t tag, std::span<const std::uint8_t> contents) {
  Bytes out(2 + contents.size());
  out[0] = tag;
  out[1] = static_cast<std::uint8_t>(contents.size());
  std::copy(contents.begin(), contents.end(), out.begin() + 2);
  return out;
}

Bytes der_ia5(const std::string& text) {
  return der_short(0x16, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

Bytes der_octets(const Bytes& bytes) {
  return der_short(0x04, bytes);
}

const TestAmd& TestAmd::get() {
  static const TestAmd amd;
  return amd;
}

TestAmd::TestAmd()
    : ark_key_(generate_rsa(2048)), ask_key_(generate_rsa(2048)), vcek_key_(generate_ec("P-384")) {
  for (std::size_t i = 0; i < chip_id_.size(); ++i) {
    chip_id_[i] = static_cast<std::uint8_t>(i * 7 + 3);
  }
  ark_der_ = make_certificate_der({kAmdArkCn, kAmdArkCn, 0x10000, ark_key_, ark_key_, {}, {}});
  ask_der_ = make_certificate_der({kAmdAskCn, kAmdArkCn, 0x10001, ask_key_, ark_key_, {}, {}});
}

Bytes TestAmd::vcek_der(const VcekSpec& spec) const {
  CertificateSpec c;
  c.subject_cn = spec.cn;
  c.issuer_cn = kAmdAskCn;
  c.serial = spec.serial;
  c.subject_key = spec.key ? spec.key : vcek_key_;
  c.issuer_key = spec.signer ? spec.signer : ask_key_;
  c.signing = spec.signing;
  c.extensions.emplace_back("1.3.6.1.4.1.3704.1.1", der_integer(0));
  if (spec.product_name)
    c.extensions.emplace_back("1.3.6.1.4.1.3704.1.2", der_ia5(*spec.product_name));
  if (spec.bl) c.extensions.emplace_back(spl_oid(1), der_integer(*spec.bl));
  if (spec.tee) c.extensions.emplace_back(spl_oid(2), der_integer(*spec.tee));
  for (int i = 0; i < 4; ++i) {
    if (spec.reserved[static_cast<std::size_t>(i)]) {
      c.extensions.emplace_back(spl_oid(4 + i),
                                der_integer(*spec.reserved[static_cast<std::size_t>(i)]));
    }
  }
  if (spec.snp) c.extensions.emplace_back(spl_oid(3), der_integer(*spec.snp));
  if (spec.microcode) c.extensions.emplace_back(spl_oid(8), der_integer(*spec.microcode));
  if (spec.fmc) c.extensions.emplace_back(spl_oid(9), der_integer(*spec.fmc));
  if (spec.csp_id) {
    c.extensions.emplace_back("1.3.6.1.4.1.3704.1.5", der_ia5(*spec.csp_id));
  } else {
    const Bytes hwid = spec.hwid.value_or(Bytes(chip_id_.begin(), chip_id_.end()));
    c.extensions.emplace_back("1.3.6.1.4.1.3704.1.4", spec.hwid_bare ? hwid : der_octets(hwid));
  }
  return make_certificate_der(c);
}

std::string TestAmd::chain_pem() const {
  return der_to_pem(ask_der_) + der_to_pem(ark_der_);
}

fs::AttestationReport TestAmd::report() const {
  fs::AttestationReport r{};
  r.version = fs::kAttestationReportVersion;
  r.policy = fs::guest_policy::kDefault;
  r.vmpl = 0;
  r.signature_algo = fs::kAlgoEcdsaP384Sha384;
  fs::TcbVersion tcb{};
  tcb.boot_loader = 3;
  tcb.snp = 8;
  tcb.microcode = 115;
  r.current_tcb = r.reported_tcb = r.committed_tcb = r.launch_tcb = tcb;
  std::memcpy(r.chip_id, chip_id_.data(), chip_id_.size());
  for (std::size_t i = 0; i < sizeof r.measurement; ++i) {
    r.measurement[i] = static_cast<std::uint8_t>(0xA0 + i);
  }
  sign(r);
  return r;
}

void TestAmd::sign(fs::AttestationReport& report, const Key& key) const {
  const std::string pem = private_key_pem(key ? key : vcek_key_);
  const measure::EcP384PrivateKey signer = measure::EcP384PrivateKey::from_pem(
      {reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()}, "test VCEK key");
  report.signature =
      signer.sign({reinterpret_cast<const std::uint8_t*>(&report), fs::kReportSignedBytes});
}

verify::Certificate TestAmd::ark() const {
  return verify::Certificate::parse(ark_der_, "test-ark.der");
}
verify::Certificate TestAmd::ask() const {
  return verify::Certificate::parse(ask_der_, "test-ask.der");
}
verify::Certificate TestAmd::vcek(const VcekSpec& spec) const {
  return verify::Certificate::parse(vcek_der(spec), "test-vcek.der");
}

Bytes ek_tpmt_public_rsa2048() {
  std::uint8_t buffer[vtpm::kMaxEkPublicSize];
  const std::size_t size = vtpm::marshal_ek_template(vtpm::EkAlgorithm::kRsa2048, buffer);
  Bytes area(buffer, buffer + size);
  const Key key = generate_rsa(2048);
  const Bytes n = bn_bytes(*key, OSSL_PKEY_PARAM_RSA_N, 256);
  std::copy(n.begin(), n.end(), area.end() - 256);
  return area;
}

Bytes ek_tpmt_public_ecc_p256() {
  std::uint8_t buffer[vtpm::kMaxEkPublicSize];
  const std::size_t size = vtpm::marshal_ek_template(vtpm::EkAlgorithm::kEccP256, buffer);
  Bytes area(buffer, buffer + size);
  const Key key = generate_ec("P-256");
  const Bytes x = bn_bytes(*key, OSSL_PKEY_PARAM_EC_PUB_X, 32);
  const Bytes y = bn_bytes(*key, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
  std::copy(x.begin(), x.end(), area.end() - 66);
  std::copy(y.begin(), y.end(), area.end() - 32);
  return area;
}

Bytes vtpm_service_guid() {
  return Bytes(std::begin(vtpm::kVtpmServiceGuid.bytes), std::end(vtpm::kVtpmServiceGuid.bytes));
}

Bytes state_service_guid() {
  return {0x5a, 0xbf, 0xe5, 0x31, 0xb1, 0x87, 0xa7, 0x4c,
          0xa4, 0x15, 0x75, 0xfe, 0xac, 0xca, 0xcb, 0xc8};
}

Bytes state_entry(const StateEntrySpec& spec) {
  Bytes out;
  auto le = [&](std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  le(spec.version, 4);
  le(spec.status, 4);
  le(spec.binding, 4);
  le(spec.reserved, 4);
  le(spec.boot_generation, 8);
  le(spec.current_generation, 8);
  out.insert(out.end(), 32, spec.boot_digest);
  out.insert(out.end(), 32, spec.current_digest);
  return out;
}

Bytes services_manifest(const std::vector<std::pair<Bytes, Bytes>>& services) {
  auto le32 = [](Bytes& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  const std::size_t table = 0x18 + 0x18 * services.size();
  std::size_t total = table;
  for (const auto& s : services) total += s.second.size();
  Bytes out(std::begin(vtpm::kServicesManifestGuid.bytes),
            std::end(vtpm::kServicesManifestGuid.bytes));
  le32(out, static_cast<std::uint32_t>(total));
  le32(out, static_cast<std::uint32_t>(services.size()));
  std::size_t offset = table;
  for (const auto& [guid, data] : services) {
    out.insert(out.end(), guid.begin(), guid.end());
    le32(out, static_cast<std::uint32_t>(offset));
    le32(out, static_cast<std::uint32_t>(data.size()));
    offset += data.size();
  }
  for (const auto& s : services) out.insert(out.end(), s.second.begin(), s.second.end());
  return out;
}

Bytes sha512_of(const Bytes& a, const Bytes& b) {
  Bytes joined = a;
  joined.insert(joined.end(), b.begin(), b.end());
  const Sha512Digest d = sha512(joined);
  return Bytes(d.begin(), d.end());
}

}  // namespace cvtpm::verify::testing
