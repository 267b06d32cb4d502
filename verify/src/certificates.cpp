#include "cvtpm/verify/certificates.h"

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

#include "cvtpm/measure/snp_keys.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/openssl_ptr.h"
#include "der.h"

namespace cvtpm::verify {
namespace {

template <typename T>
using Owned = OpenSslPtr<T>;

constexpr std::string_view kPemCertificate = "-----BEGIN CERTIFICATE-----";
// Certificates are a few KiB; a chain file of AMD's is two of them.
constexpr std::size_t kMaxCertificates = 8;

bool looks_like_pem(std::span<const std::uint8_t> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return text.find(kPemCertificate) != std::string_view::npos;
}

// The DER of a PEM file holding exactly one certificate, else nothing.
std::optional<std::vector<std::uint8_t>> single_pem_der(std::span<const std::uint8_t> bytes) {
  Owned<BIO> bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) openssl_failure("BIO_new_mem_buf");
  std::optional<std::vector<std::uint8_t>> der;
  for (int block = 0;; ++block) {
    char* type = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    if (PEM_read_bio(bio.get(), &type, &header, &data, &length) != 1) break;
    if (block == 0 && std::strcmp(type, PEM_STRING_X509) == 0) {
      der.emplace(data, data + length);
    } else {
      der.reset();
    }
    OPENSSL_free(type);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (!der) break;
  }
  ERR_clear_error();
  return der;
}

std::string common_name(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return printable_ascii({reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                          static_cast<std::size_t>(ASN1_STRING_length(data))});
}

std::string nid_name(int nid) {
  const char* name = OBJ_nid2sn(nid);
  return name ? name : "unknown algorithm";
}

// The NID of the algorithm an AlgorithmIdentifier names, or NID_undef.
int algorithm_nid(const X509_ALGOR* algorithm) {
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, algorithm);
  return OBJ_obj2nid(oid);
}

// What AMD's PSS parameters must be, checked field by field (RFC 4055 defaults: SHA-1, MGF1
// with SHA-1, salt length 20, trailer field 1).
std::string pss_parameters_problem(const X509_ALGOR& signature_algorithm) {
  const int algorithm = algorithm_nid(&signature_algorithm);
  if (algorithm != NID_rsassaPss) return "signed with " + nid_name(algorithm) + ", not RSASSA-PSS";
  const ASN1_TYPE* parameter = signature_algorithm.parameter;
  if (parameter == nullptr || ASN1_TYPE_get(parameter) != V_ASN1_SEQUENCE) {
    return "RSASSA-PSS without parameters";
  }
  Owned<RSA_PSS_PARAMS> pss(static_cast<RSA_PSS_PARAMS*>(
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), parameter)));
  ERR_clear_error();
  if (!pss) return "RSASSA-PSS parameters that do not parse";
  const int hash = pss->hashAlgorithm ? algorithm_nid(pss->hashAlgorithm) : NID_sha1;
  if (hash != NID_sha384) return "RSASSA-PSS with " + nid_name(hash) + ", not SHA-384";
  int mgf_hash = NID_sha1;
  if (const X509_ALGOR* mgf = pss->maskGenAlgorithm) {
    if (algorithm_nid(mgf) != NID_mgf1 || mgf->parameter == nullptr ||
        ASN1_TYPE_get(mgf->parameter) != V_ASN1_SEQUENCE) {
      return "RSASSA-PSS with a mask generation function other than MGF1";
    }
    Owned<X509_ALGOR> mgf_digest(static_cast<X509_ALGOR*>(
        ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR), mgf->parameter)));
    ERR_clear_error();
    if (!mgf_digest) return "RSASSA-PSS MGF1 parameters that do not parse";
    mgf_hash = algorithm_nid(mgf_digest.get());
  }
  if (mgf_hash != NID_sha384) return "RSASSA-PSS with MGF1-" + nid_name(mgf_hash);
  const long salt = pss->saltLength ? ASN1_INTEGER_get(pss->saltLength) : 20;
  if (salt != 48) return "RSASSA-PSS with salt length " + std::to_string(salt) + ", not 48";
  const long trailer = pss->trailerField ? ASN1_INTEGER_get(pss->trailerField) : 1;
  if (trailer != 1) return "RSASSA-PSS with trailer field " + std::to_string(trailer);
  return "";
}

std::string extension_label(std::string_view suffix, std::string_view field) {
  return "extension 1.3.6.1.4.1.3704.1." + std::string(suffix) + " (" + std::string(field) + ")";
}

}  // namespace

Certificate::Certificate(X509* x509, std::string name)
    : x509_(x509, OpenSslFree()), name_(std::move(name)) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(x509, &der);
  if (length <= 0) throw InputError(name_, "certificate cannot be re-encoded");
  der_.assign(der, der + length);
  OPENSSL_free(der);
}

Certificate Certificate::parse(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (looks_like_pem(bytes)) {
    std::vector<Certificate> all = parse_pem_bundle(bytes, name);
    if (all.size() != 1) {
      throw InputError(
          name, "holds " + std::to_string(all.size()) + " certificates where one is expected");
    }
    return std::move(all.front());
  }
  const unsigned char* p = bytes.data();
  X509* x509 = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
  ERR_clear_error();
  if (x509 == nullptr) throw InputError(name, "not an X.509 certificate (DER or PEM)");
  Certificate certificate(x509, name);
  if (p != bytes.data() + bytes.size()) {
    throw InputError(name, "trailing bytes after the DER certificate");
  }
  return certificate;
}

Certificate Certificate::parse_reusing(std::span<const std::uint8_t> bytes, const std::string& name,
                                       std::span<const Certificate> known) {
  std::optional<std::vector<std::uint8_t>> der;
  if (looks_like_pem(bytes)) {
    der = single_pem_der(bytes);
  } else {
    der.emplace(bytes.begin(), bytes.end());
  }
  for (const Certificate& k : known) {
    if (der && std::equal(der->begin(), der->end(), k.der_.begin(), k.der_.end())) {
      Certificate same = k;
      same.name_ = name;
      return same;
    }
  }
  return parse(bytes, name);
}

std::vector<Certificate> Certificate::parse_pem_bundle(std::span<const std::uint8_t> bytes,
                                                       const std::string& name) {
  if (!looks_like_pem(bytes)) throw InputError(name, "not a PEM certificate file");
  Owned<BIO> bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) openssl_failure("BIO_new_mem_buf");
  std::vector<Certificate> out;
  for (;;) {
    X509* x509 = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x509 == nullptr) {
      const unsigned long error = ERR_peek_last_error();
      ERR_clear_error();
      // The end of the file, or a block that is not a certificate.
      if (ERR_GET_REASON(error) == PEM_R_NO_START_LINE && !out.empty()) break;
      throw InputError(name, "PEM certificate " + std::to_string(out.size() + 1) +
                                 " does not parse as an X.509 certificate");
    }
    out.push_back(Certificate(x509, name));
    if (out.size() > kMaxCertificates) {
      throw InputError(name, "more than " + std::to_string(kMaxCertificates) + " certificates");
    }
  }
  return out;
}

std::string Certificate::subject_common_name() const {
  return common_name(X509_get_subject_name(x509_.get()));
}

std::string Certificate::issuer_common_name() const {
  return common_name(X509_get_issuer_name(x509_.get()));
}

bool Certificate::self_issued() const {
  return X509_NAME_cmp(X509_get_subject_name(x509_.get()), X509_get_issuer_name(x509_.get())) == 0;
}

bool Certificate::named_issuer(const Certificate& issuer) const {
  return X509_NAME_cmp(X509_get_issuer_name(x509_.get()),
                       X509_get_subject_name(issuer.x509_.get())) == 0;
}

const EVP_PKEY& Certificate::public_key() const {
  const EVP_PKEY* key = X509_get0_pubkey(x509_.get());
  if (key == nullptr) throw InputError(name_, "the certificate's public key does not parse");
  return *key;
}

std::optional<std::vector<std::uint8_t>> Certificate::extension(const std::string& oid) const {
  Owned<ASN1_OBJECT> object(OBJ_txt2obj(oid.c_str(), 1));
  if (!object) openssl_failure("OBJ_txt2obj " + oid);
  const int index = X509_get_ext_by_OBJ(x509_.get(), object.get(), -1);
  if (index < 0) return std::nullopt;
  if (X509_get_ext_by_OBJ(x509_.get(), object.get(), index) >= 0) {
    throw InputError(name_, "extension " + oid + " appears twice");
  }
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(x509_.get(), index));
  const unsigned char* p = ASN1_STRING_get0_data(data);
  return std::vector<std::uint8_t>(p, p + ASN1_STRING_length(data));
}

SignatureCheck check_signed_by(const Certificate& subject, const Certificate& issuer) {
  const X509_ALGOR* algorithm = nullptr;
  X509_get0_signature(nullptr, &algorithm, &subject.x509());
  if (std::string problem = pss_parameters_problem(*algorithm); !problem.empty()) {
    return {false, problem};
  }
  EVP_PKEY* key = X509_get0_pubkey(&issuer.x509());
  if (key == nullptr) return {false, "the issuer's public key does not parse"};
  const bool valid = X509_verify(&subject.x509(), key) == 1;
  ERR_clear_error();
  const std::string by = issuer.subject_common_name() + "'s key";
  return {valid, valid ? "valid RSASSA-PSS SHA-384 signature by " + by
                       : "RSASSA-PSS SHA-384 signature INVALID with " + by};
}

VcekExtensions read_vcek_extensions(const Certificate& certificate) {
  const std::string& name = certificate.name();
  auto spl = [&](std::string_view suffix, std::string_view field) -> std::optional<std::uint8_t> {
    const auto value = certificate.extension("1.3.6.1.4.1.3704.1." + std::string(suffix));
    if (!value) return std::nullopt;
    return der::read_u8_integer(*value, name + ": " + extension_label(suffix, field));
  };
  VcekExtensions out;
  if (const auto value = certificate.extension("1.3.6.1.4.1.3704.1.2")) {
    const der::Element e =
        der::read_single(*value, name + ": " + extension_label("2", "productName"));
    if (e.tag != der::kIa5String) {
      throw InputError(name, extension_label("2", "productName") + ": not an IA5String");
    }
    out.product_name =
        printable_ascii({reinterpret_cast<const char*>(e.value.data()), e.value.size()});
  }
  out.boot_loader_spl = spl("3.1", "blSPL");
  out.tee_spl = spl("3.2", "teeSPL");
  out.snp_spl = spl("3.3", "snpSPL");
  for (std::size_t i = 0; i < out.reserved_spl.size(); ++i) {
    out.reserved_spl[i] = spl("3." + std::to_string(4 + i), "spl_" + std::to_string(4 + i));
  }
  out.microcode_spl = spl("3.8", "ucodeSPL");
  out.fmc_spl = spl("3.9", "fmcSPL");
  if (const auto value = certificate.extension("1.3.6.1.4.1.3704.1.4")) {
    // An OCTET STRING of the 64-byte chip ID; early KDS certificates carried the bare 64 bytes
    // (go-sev-guest kds/kds.go asn1OctetString; snpguest src/verify.rs check_cert_bytes).
    std::span<const std::uint8_t> id = *value;
    if (id.size() != 64) {
      const der::Element e = der::read_single(id, name + ": " + extension_label("4", "hwID"));
      if (e.tag != der::kOctetString) {
        throw InputError(name, extension_label("4", "hwID") + ": not an OCTET STRING");
      }
      id = e.value;
    }
    if (id.size() != 64) {
      throw InputError(name, extension_label("4", "hwID") + ": " + std::to_string(id.size()) +
                                 " bytes, a chip ID has 64");
    }
    out.hwid.emplace();
    std::memcpy(out.hwid->data(), id.data(), 64);
  }
  if (const auto value = certificate.extension("1.3.6.1.4.1.3704.1.5")) {
    const der::Element e = der::read_single(*value, name + ": " + extension_label("5", "cspId"));
    if (e.tag != der::kIa5String) {
      throw InputError(name, extension_label("5", "cspId") + ": not an IA5String");
    }
    out.csp_id = printable_ascii({reinterpret_cast<const char*>(e.value.data()), e.value.size()});
  }
  return out;
}

formats::snp::EcdsaPublicKey snp_public_key(const Certificate& certificate) {
  return measure::snp_public_key(certificate.public_key(), certificate.name());
}

}  // namespace cvtpm::verify
