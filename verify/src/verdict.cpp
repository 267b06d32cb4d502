#include "cvtpm/verify/verdict.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "cvtpm/support/encoding.h"

namespace cvtpm::verify {
namespace {

using nlohmann::ordered_json;
namespace fs = formats::snp;

template <std::size_t N>
std::string hex(const std::uint8_t (&bytes)[N]) {
  return to_hex(std::span<const std::uint8_t>(bytes, N));
}

std::string headline(const Verdict& v) {
  const std::size_t total = v.checks.size();
  const std::vector<std::string> failed = v.failed();
  if (!failed.empty()) {
    std::string names;
    for (const std::string& n : failed) names += (names.empty() ? "" : ", ") + n;
    return "REJECTED (" + std::to_string(failed.size()) + " of " + std::to_string(total) +
           " checks failed: " + names + ")";
  }
  if (!v.attested) {
    return "ACCEPTED, BINDING ONLY: NOTHING IS ATTESTED (unsigned cvtpm native report; " +
           std::to_string(total) + " checks passed)";
  }
  return "ACCEPTED (" + std::to_string(total) + " checks passed)";
}

std::string name_alg_label(std::uint16_t alg) {
  switch (alg) {
    case 0x000B:
      return "SHA-256";
    case 0x000C:
      return "SHA-384";
    case 0x000D:
      return "SHA-512";
    default:
      return hex_number(alg);
  }
}

std::string ek_summary(const EndorsementKey& ek) {
  return ek.algorithm + ", " +
         (ek.tcg_template ? "TCG EK template " + *ek.tcg_template : "not a cvtpm EK template") +
         ", nameAlg " + name_alg_label(ek.name_alg);
}

// The TCB layout the report is decoded with: the VCEK's product, else the report's CPUID, else
// Milan's (identical to Genoa's, and what version-2 reports of both use).
ProductLine layout(const Verdict& v) {
  return v.product.value_or(ProductLine::kMilan);
}

ordered_json tcb_json(const fs::TcbVersion& raw, ProductLine line) {
  const Tcb t = decode_tcb(raw, line);
  std::uint64_t value;
  static_assert(sizeof value == sizeof raw);
  std::memcpy(&value, &raw, sizeof value);
  ordered_json j{{"raw", hex_number(value)},
                 {"boot_loader", t.boot_loader},
                 {"tee", t.tee},
                 {"snp", t.snp},
                 {"microcode", t.microcode}};
  if (t.fmc) j["fmc"] = *t.fmc;
  return j;
}

struct NamedBit {
  const char* name;
  std::uint64_t mask;
};

// A bit field as its value and each named bit as a boolean.
ordered_json bits_json(std::uint64_t value, std::initializer_list<NamedBit> bits) {
  ordered_json j{{"value", hex_number(value)}};
  for (const NamedBit& b : bits) j[b.name] = (value & b.mask) != 0;
  return j;
}

ordered_json policy_json(std::uint64_t policy) {
  namespace gp = fs::guest_policy;
  ordered_json j = bits_json(policy, {{"smt_allowed", gp::kSmt},
                                      {"migrate_ma_allowed", gp::kMigrateMa},
                                      {"debug_allowed", gp::kDebug},
                                      {"single_socket", gp::kSingleSocket},
                                      {"cxl_allowed", gp::kCxlAllowed},
                                      {"mem_aes_256_xts", gp::kMemAes256Xts},
                                      {"rapl_disabled", gp::kRaplDisabled},
                                      {"ciphertext_hiding", gp::kCiphertextHiding},
                                      {"page_swap_disabled", gp::kPageSwapDisabled}});
  j["abi_minor"] = policy & gp::kAbiMinorMask;
  j["abi_major"] = (policy & gp::kAbiMajorMask) >> 8;
  return j;
}

ordered_json platform_info_json(std::uint64_t info) {
  namespace pi = fs::platform_info;
  return bits_json(info, {{"smt_enabled", pi::kSmtEnabled},
                          {"tsme_enabled", pi::kTsmeEnabled},
                          {"ecc_enabled", pi::kEccEnabled},
                          {"rapl_disabled", pi::kRaplDisabled},
                          {"ciphertext_hiding_enabled", pi::kCiphertextHidingEnabled},
                          {"alias_check_complete", pi::kAliasCheckComplete}});
}

std::string version_text(std::uint8_t major, std::uint8_t minor, std::uint8_t build) {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build);
}

ordered_json report_json(const Verdict& v) {
  const fs::AttestationReport& r = v.report.fields;
  const ProductLine line = layout(v);
  ordered_json j;
  j["version"] = r.version;
  j["guest_svn"] = r.guest_svn;
  j["policy"] = policy_json(r.policy);
  j["family_id"] = hex(r.family_id);
  j["image_id"] = hex(r.image_id);
  j["vmpl"] = r.vmpl;
  j["signature_algo"] = r.signature_algo;
  j["tcb_layout"] = std::string(product_line_name(line)) + (v.product ? "" : " (assumed)");
  j["current_tcb"] = tcb_json(r.current_tcb, line);
  j["platform_info"] = platform_info_json(r.platform_info);
  j["flags"] = {{"value", hex_number(r.flags)},
                {"author_key_en", (r.flags & fs::report_flags::kAuthorKeyEn) != 0},
                {"mask_chip_key", v.report.chip_id_masked()},
                {"signing_key", v.report.signing_key()}};
  j["report_data"] = hex(r.report_data);
  j["measurement"] = hex(r.measurement);
  j["host_data"] = hex(r.host_data);
  j["id_key_digest"] = hex(r.id_key_digest);
  j["author_key_digest"] = hex(r.author_key_digest);
  j["report_id"] = hex(r.report_id);
  j["report_id_ma"] = hex(r.report_id_ma);
  j["reported_tcb"] = tcb_json(r.reported_tcb, line);
  if (r.version >= fs::kReportVersionWithCpuid) {
    j["cpuid"] = {
        {"family", r.cpuid_fam_id}, {"model", r.cpuid_mod_id}, {"stepping", r.cpuid_step}};
  }
  j["chip_id"] = hex(r.chip_id);
  j["committed_tcb"] = tcb_json(r.committed_tcb, line);
  j["current_version"] = version_text(r.current_major, r.current_minor, r.current_build);
  j["committed_version"] = version_text(r.committed_major, r.committed_minor, r.committed_build);
  j["launch_tcb"] = tcb_json(r.launch_tcb, line);
  // r and s as the report stores them: little-endian, zero-extended to 72 bytes.
  j["signature"] = {{"r", hex(r.signature.r)}, {"s", hex(r.signature.s)}};
  return j;
}

ordered_json vcek_json(const VcekExtensions& e) {
  ordered_json j;
  auto opt = [](const auto& value) { return value ? ordered_json(*value) : ordered_json(nullptr); };
  j["product_name"] = opt(e.product_name);
  j["bl_spl"] = opt(e.boot_loader_spl);
  j["tee_spl"] = opt(e.tee_spl);
  j["snp_spl"] = opt(e.snp_spl);
  j["ucode_spl"] = opt(e.microcode_spl);
  j["fmc_spl"] = opt(e.fmc_spl);
  j["hwid"] = e.hwid ? ordered_json(to_hex(*e.hwid)) : ordered_json(nullptr);
  j["csp_id"] = opt(e.csp_id);
  return j;
}

}  // namespace

bool Verdict::accepted() const {
  return !checks.empty() &&
         std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.passed; });
}

std::vector<std::string> Verdict::failed() const {
  std::vector<std::string> names;
  for (const Check& c : checks) {
    if (!c.passed) names.push_back(c.name);
  }
  return names;
}

std::string verdict_text(const Verdict& v) {
  std::string out = "verdict: " + headline(v) + "\n";
  out += "trust root: " + v.trust_root + "\n";
  for (const Check& c : v.checks) {
    out += std::string(c.passed ? "  pass  " : "  FAIL  ") + c.name + "\n";
    out += "          expected: " + c.expected + "\n";
    out += "          actual:   " + c.actual + "\n";
  }
  for (const std::string& n : v.not_checked) out += "  --    " + n + "\n";
  if (v.manifest && v.manifest->ek) {
    const EndorsementKey& ek = *v.manifest->ek;
    out += "ek: " + ek_summary(ek) + "\n";
    out += "ek-name: " + to_hex(ek.name) + "\n";
  }
  if (v.manifest && v.manifest->state) {
    const StateEntry& st = *v.manifest->state;
    out += std::string("state: ") + state_status_name(st.status) + ", binding " +
           state_binding_name(st.binding) + ", boot generation " +
           std::to_string(st.boot_generation) + " (digest " + to_hex(st.boot_digest) +
           "), current generation " + std::to_string(st.current_generation) + " (digest " +
           to_hex(st.current_digest) + ")\n";
  }
  return out;
}

std::string verdict_json(const Verdict& v, const std::string& tool_version) {
  ordered_json j;
  j["tool"] = tool_version;
  j["verdict"] = v.accepted() ? "accepted" : "rejected";
  j["attested"] = v.attested;
  j["summary"] = headline(v);
  j["trust_root"] = v.trust_root;
  ordered_json checks = ordered_json::array();
  for (const Check& c : v.checks) {
    checks.push_back({{"name", c.name},
                      {"result", c.passed ? "pass" : "fail"},
                      {"expected", c.expected},
                      {"actual", c.actual}});
  }
  j["checks"] = checks;
  j["not_checked"] = v.not_checked;
  j["report"] = report_json(v);
  j["vcek"] = v.vcek ? vcek_json(*v.vcek) : ordered_json(nullptr);
  if (v.manifest) {
    ordered_json m{{"kind", v.manifest->services ? "services"
                            : v.manifest->state  ? "single-service (cvtpm state)"
                                                 : "single-service"},
                   {"services", v.manifest->service_count}};
    if (v.manifest->ek) {
      const EndorsementKey& ek = *v.manifest->ek;
      m["ek"] = {{"algorithm", ek.algorithm},
                 {"tcg_template",
                  ek.tcg_template ? ordered_json(*ek.tcg_template) : ordered_json(nullptr)},
                 {"attributes", hex_number(ek.attributes)},
                 {"name", to_hex(ek.name)},
                 {"public_key_pem", public_key_pem(ek)}};
    }
    if (v.manifest->state) {
      const StateEntry& st = *v.manifest->state;
      m["state"] = {{"status", state_status_name(st.status)},
                    {"binding", state_binding_name(st.binding)},
                    {"boot_generation", st.boot_generation},
                    {"boot_digest", to_hex(st.boot_digest)},
                    {"current_generation", st.current_generation},
                    {"current_digest", to_hex(st.current_digest)}};
    } else {
      m["state"] = nullptr;
    }
    j["manifest"] = m;
  } else {
    j["manifest"] = nullptr;
  }
  // Strings from the command line may not be UTF-8: replaced, never an exception.
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace cvtpm::verify
