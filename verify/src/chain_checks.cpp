#include "chain_checks.h"

#include <cstdio>
#include <cstring>

#include "cvtpm/measure/snp_keys.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/verify/amd_roots.h"

namespace cvtpm::verify {
namespace {

namespace fs = formats::snp;

enum class KeyKind { kVcek, kVlek, kUnknown };

// The subject CN of the two endorsement keys (KDS specification, pub. 57230; go-sev-guest
// verify/verify.go endorsementKeyCommonName: "SEV-" + VCEK or VLEK).
KeyKind key_kind(const Certificate& certificate) {
  const std::string cn = certificate.subject_common_name();
  if (cn == "SEV-VCEK") return KeyKind::kVcek;
  if (cn == "SEV-VLEK") return KeyKind::kVlek;
  return KeyKind::kUnknown;
}

std::string signing_key_label(std::uint32_t value) {
  switch (value) {
    case fs::report_flags::kSigningKeyVcek:
      return "0 (VCEK)";
    case fs::report_flags::kSigningKeyVlek:
      return "1 (VLEK)";
    case fs::report_flags::kSigningKeyNone:
      return "7 (none: unsigned)";
    default:
      return std::to_string(value) + " (reserved)";
  }
}

std::string fingerprint(const Certificate& certificate) {
  return "SHA-256 " + to_hex(sha256(certificate.der()));
}

// KDS order: the intermediate (ASK or ASVK), then optionally the root (ARK). Anything else is not
// a chain AMD serves, so the verifier refuses to judge it.
void require_kds_order(const std::vector<Certificate>& chain) {
  if (chain.empty()) return;
  const std::string& name = chain.front().name();
  if (chain.size() > 2) {
    throw InputError(name,
                     "holds " + std::to_string(chain.size()) +
                         " certificates; AMD's cert_chain is the ASK (or ASVK), then the ARK");
  }
  if (chain[0].self_issued()) {
    throw InputError(name,
                     "wrong order: the first certificate ('" + chain[0].subject_common_name() +
                         "') is self-issued, a root; AMD's cert_chain is the ASK (or ASVK) first, "
                         "then the ARK");
  }
  if (chain.size() == 2 && (!chain[1].self_issued() || !chain[0].named_issuer(chain[1]))) {
    throw InputError(name, "the second certificate ('" + chain[1].subject_common_name() +
                               "') is not the self-issued root that issued the first ('" +
                               chain[0].subject_common_name() + "')");
  }
}

void add_signature_check(Verdict& v, const char* name, const std::string& subject_role,
                         const Certificate* subject, const Certificate* issuer,
                         const std::string& issuer_role) {
  const std::string expected = subject_role + " signed by the " + issuer_role +
                               " (RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48)";
  if (subject == nullptr || issuer == nullptr) {
    v.add(name, false, expected, "no " + (subject ? issuer_role : subject_role) + " to check");
    return;
  }
  const SignatureCheck check = check_signed_by(*subject, *issuer);
  v.add(name, check.valid, expected, check.description);
}

// The VCEK's SPL extensions as a TCB, with what is missing for the product's layout.
struct CertificateTcb {
  Tcb tcb;
  std::string missing;
};

CertificateTcb certificate_tcb(const VcekExtensions& ext, ProductLine line) {
  CertificateTcb out;
  auto take = [&](const std::optional<std::uint8_t>& spl, std::uint8_t& into, const char* what) {
    if (spl) {
      into = *spl;
    } else {
      out.missing += std::string(out.missing.empty() ? "" : ", ") + what;
    }
  };
  take(ext.boot_loader_spl, out.tcb.boot_loader, "blSPL");
  take(ext.tee_spl, out.tcb.tee, "teeSPL");
  take(ext.snp_spl, out.tcb.snp, "snpSPL");
  take(ext.microcode_spl, out.tcb.microcode, "ucodeSPL");
  if (line == ProductLine::kTurin) {
    std::uint8_t fmc = 0;
    take(ext.fmc_spl, fmc, "fmcSPL");
    out.tcb.fmc = fmc;
  }
  return out;
}

void check_reported_tcb(const Report& report, const VcekExtensions& ext,
                        std::optional<ProductLine> line, Verdict& v) {
  const char* kName = "reported-tcb";
  const std::string expected = "REPORTED_TCB = the VCEK's SPL extensions";
  if (!line) {
    v.add(kName, false, expected, "unknown product line: no TCB layout to decode REPORTED_TCB");
    return;
  }
  const Tcb reported = decode_tcb(report.fields.reported_tcb, *line);
  const CertificateTcb cert = certificate_tcb(ext, *line);
  std::string actual = "REPORTED_TCB " + describe_tcb(reported) + " (" +
                       std::string(product_line_name(*line)) + " layout)";
  if (!cert.missing.empty()) {
    v.add(kName, false, expected, actual + "; the VCEK lacks " + cert.missing);
    return;
  }
  bool equal = reported.boot_loader == cert.tcb.boot_loader && reported.tee == cert.tcb.tee &&
               reported.snp == cert.tcb.snp && reported.microcode == cert.tcb.microcode &&
               reported.fmc == cert.tcb.fmc;
  actual += ", VCEK " + describe_tcb(cert.tcb);
  // Milan and Genoa keep four reserved SPL bytes (2-5) that KDS certifies as .3.4-.3.7
  // (go-sev-guest kds/kds.go ComposeTCBParts); where the VCEK has them, they must agree too.
  // Turin's reserved bytes have no documented extension: UNKNOWN, not compared.
  if (*line != ProductLine::kTurin) {
    for (std::size_t i = 0; i < ext.reserved_spl.size(); ++i) {
      const std::uint8_t in_report = report.fields.reported_tcb.reserved[i];
      if (ext.reserved_spl[i] && *ext.reserved_spl[i] != in_report) {
        equal = false;
        actual += "; reserved byte " + std::to_string(2 + i) + " " + hex_number(in_report, 2) +
                  " vs spl_" + std::to_string(4 + i) + " " + hex_number(*ext.reserved_spl[i], 2);
      }
    }
  }
  v.add(kName, equal, expected, actual);
}

void check_chip_id(const Report& report, const VcekExtensions& ext, KeyKind kind, Verdict& v) {
  if (kind == KeyKind::kVlek) {
    v.not_checked.push_back("chip-id: a VLEK certifies a cloud provider, not a chip (no hwID)");
    return;
  }
  const std::string expected = "CHIP_ID = the VCEK's hwID (unless MASK_CHIP_KEY)";
  const std::span<const std::uint8_t> chip(report.fields.chip_id);
  if (report.chip_id_masked()) {
    v.add("chip-id", true, expected,
          "MASK_CHIP_KEY set: CHIP_ID " + to_hex(chip) + " not compared");
    return;
  }
  if (!ext.hwid) {
    v.add("chip-id", false, expected, "the certificate has no hwID extension");
    return;
  }
  const bool equal = std::memcmp(ext.hwid->data(), chip.data(), chip.size()) == 0;
  v.add("chip-id", equal, expected,
        "CHIP_ID " + to_hex(chip) + (equal ? " = hwID" : ", hwID " + to_hex(*ext.hwid)));
}

void check_report_signature(const Report& report, const Certificate& vcek, Verdict& v) {
  const std::string expected =
      "SIGNATURE_ALGO 1 (ECDSA P-384 with SHA-384) and a valid signature of bytes 0x000-0x29F "
      "by the VCEK's key";
  const std::uint32_t algo = report.fields.signature_algo;
  if (algo != fs::kAlgoEcdsaP384Sha384) {
    v.add("report-signature", false, expected, "SIGNATURE_ALGO " + std::to_string(algo));
  } else {
    try {
      const fs::EcdsaPublicKey key = snp_public_key(vcek);
      const bool valid =
          measure::verify_snp_signature(key, report.signed_bytes(), report.fields.signature);
      v.add("report-signature", valid, expected,
            valid ? "SIGNATURE_ALGO 1, signature valid" : "SIGNATURE_ALGO 1, signature INVALID");
    } catch (const InputError& e) {
      v.add("report-signature", false, expected, e.what());
    }
  }
  v.add("signature-padding", report.signature_padding_zero(),
        "zero beyond the 48 bytes of r and of s and in the reserved bytes 0x330-0x49F",
        report.signature_padding_zero() ? "zero" : "non-zero bytes");
}

void check_signing_key(const Report& report, const Certificate& vcek, KeyKind kind, Verdict& v) {
  const std::uint32_t field = report.signing_key();
  std::string expected;
  bool passed = false;
  switch (kind) {
    case KeyKind::kVcek:
      expected = "SIGNING_KEY 0 (VCEK), the certificate given";
      passed = field == fs::report_flags::kSigningKeyVcek;
      break;
    case KeyKind::kVlek:
      expected = "SIGNING_KEY 1 (VLEK), the certificate given";
      passed = field == fs::report_flags::kSigningKeyVlek;
      break;
    case KeyKind::kUnknown:
      expected = "a VCEK or VLEK certificate (subject CN SEV-VCEK or SEV-VLEK)";
      break;
  }
  v.add("signing-key", passed, expected,
        "SIGNING_KEY " + signing_key_label(field) + ", certificate CN '" +
            vcek.subject_common_name() + "'");
}

void check_product_line(const Report& report, std::optional<ProductLine> line, Verdict& v) {
  if (report.fields.version < fs::kReportVersionWithCpuid) {
    v.not_checked.push_back("product-line: a version " + std::to_string(report.fields.version) +
                            " report has no CPUID fields");
    return;
  }
  const auto cpu = product_line_from_cpuid(report.fields.cpuid_fam_id, report.fields.cpuid_mod_id);
  const std::string actual = "CPUID family " + hex_number(report.fields.cpuid_fam_id, 2) +
                             " model " + hex_number(report.fields.cpuid_mod_id, 2) + " = " +
                             (cpu ? std::string(product_line_name(*cpu)) : "unknown product");
  v.add("product-line", cpu && line && *cpu == *line,
        "the report's CPUID names the VCEK's product line" +
            (line ? " (" + std::string(product_line_name(*line)) + ")" : std::string()),
        actual);
}

}  // namespace

void check_chain_and_signature(const Evidence& evidence, Verdict& v) {
  const Certificate& vcek = *evidence.vcek;
  const Report& report = evidence.report;
  const VcekExtensions ext = read_vcek_extensions(vcek);
  const KeyKind kind = key_kind(vcek);
  require_kds_order(evidence.cert_chain);
  v.vcek = ext;

  const std::optional<ProductLine> line =
      ext.product_name ? product_line_from_name(*ext.product_name) : std::nullopt;
  v.product = line;
  v.add("vcek-product", line.has_value(),
        "a productName of Milan, Genoa or Turin (the pinned roots built in)",
        ext.product_name ? "productName '" + *ext.product_name + "'"
                         : "no productName extension (1.3.6.1.4.1.3704.1.2)");

  std::optional<Certificate> root;
  if (evidence.ark_override) {
    root = *evidence.ark_override;
    v.trust_root = "--ark " + root->name() + ": TEST OVERRIDE, not AMD's pinned root (" +
                   fingerprint(*root) + ")";
  } else if (line) {
    const std::string label = "built-in ARK-" + std::string(product_line_name(*line));
    const std::string_view pem = pinned_roots(*line).ark_pem;
    root =
        Certificate::parse_reusing({reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()},
                                   label, evidence.cert_chain);
    v.trust_root = "AMD ARK-" + std::string(product_line_name(*line)) + ", pinned (" +
                   fingerprint(*root) + ")";
  } else {
    v.trust_root = "none: no pinned root for the VCEK's product";
  }

  std::optional<Certificate> intermediate;
  if (!evidence.cert_chain.empty()) {
    intermediate = evidence.cert_chain.front();
  } else if (kind == KeyKind::kVlek) {
    throw InputError("--cert-chain",
                     "required for a VLEK: it chains to AMD's ASVK, which is not built in "
                     "(KDS vlek/v1/<product>/cert_chain)");
  } else if (line) {
    const std::string_view pem = pinned_roots(*line).ask_pem;
    intermediate =
        Certificate::parse({reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()},
                           "built-in ASK-" + std::string(product_line_name(*line)));
  }

  if (!root) {
    v.add("trust-root", false, "a pinned AMD root for the VCEK's product", "none");
  } else if (evidence.cert_chain.size() == 2) {
    const Certificate& chain_ark = evidence.cert_chain[1];
    const bool same = std::equal(chain_ark.der().begin(), chain_ark.der().end(),
                                 root->der().begin(), root->der().end());
    v.add(
        "trust-root", same, "the chain's ARK is the trust root (" + fingerprint(*root) + ")",
        "the chain's ARK '" + chain_ark.subject_common_name() + "' has " + fingerprint(chain_ark));
  } else {
    v.add("trust-root", true, "the chain leads to the trust root",
          evidence.cert_chain.empty() ? "built-in intermediate, checked against the root"
                                      : "chain without an ARK: checked against the root");
  }
  const bool vlek = kind == KeyKind::kVlek;
  add_signature_check(v, "ark-signature", "ARK", root ? &*root : nullptr, root ? &*root : nullptr,
                      "ARK itself");
  add_signature_check(v, "ask-signature", vlek ? "ASVK" : "ASK",
                      intermediate ? &*intermediate : nullptr, root ? &*root : nullptr, "ARK");
  add_signature_check(v, "vcek-signature", vlek ? "VLEK" : "VCEK", &vcek,
                      intermediate ? &*intermediate : nullptr, vlek ? "ASVK" : "ASK");
  check_report_signature(report, vcek, v);
  check_signing_key(report, vcek, kind, v);
  check_reported_tcb(report, ext, line, v);
  check_chip_id(report, ext, kind, v);
  check_product_line(report, line, v);
}

}  // namespace cvtpm::verify
