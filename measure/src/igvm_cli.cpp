#include "igvm_cli.h"

#include <algorithm>
#include <cctype>

#include "cli_common.h"
#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/measure/igvm_id_block.h"
#include "cvtpm/measure/igvm_measure.h"
#include "cvtpm/support/tool_main.h"

namespace cvtpm::measure::cli {
namespace {

namespace igvm = formats::igvm;

void add_measure_options(CLI::App& cmd, IgvmCommand& c) {
  cmd.add_flag("-c,--check-kvm", c.check_kvm,
               "Reject files that QEMU/KVM would not measure as written (one VMSA at "
               "0xFFFFFFFFF000 for vCPU 0, last; only the VMSA fields KVM takes; cr0 0x30/0x31)");
  cmd.add_flag("-n,--native-zero", c.native_zero,
               "Measure data-less pages as SNP ZERO pages (hypervisors with a native zero page "
               "type) instead of NORMAL pages of zeros (QEMU)");
  cmd.add_option("-p,--platform", c.platform, "Platform whose launch digest to compute")
      ->check(CLI::IsMember({"sev-snp", "sev-es", "sev"}))
      ->capture_default_str();
}

IgvmMeasureOptions measure_options(const IgvmCommand& c) {
  IgvmMeasureOptions o;
  o.platform = *parse_igvm_platform(c.platform);
  o.check_kvm = c.check_kvm;
  o.native_zero = c.native_zero;
  o.ignore_id_block = c.ignore_id_block;
  return o;
}

igvm::IgvmFile load_igvm(const InputFile& input) {
  return igvm::parse_igvm(input.bytes, input.name);
}

std::string upper_hex(std::span<const std::uint8_t> digest) {
  std::string s = to_hex(digest);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::toupper(ch); });
  return s;
}

int run_measure(const IgvmCommand& c, std::ostream& out, std::ostream& err) {
  if (c.file.empty()) throw InputError("igvm", "the IGVM file to measure is required");
  const InputFile input = load(c.file);
  const IgvmMeasureOptions options = measure_options(c);
  const IgvmMeasurement m = measure_igvm(load_igvm(input), options, input.name);
  if (c.verbose) err << m.regions.to_text();

  if (c.bare) {
    out << upper_hex(m.digest) << "\n";  // igvmmeasure --bare
  } else if (c.output_format == "json") {
    ordered_json j;
    j["tool"] = version_line(kTool);
    j["mode"] = "igvm";
    j["platform"] = std::string(igvm_platform_name(options.platform));
    j["launch_digest"] = to_hex(m.digest);
    j["launch_digest_base64"] = to_base64(m.digest);
    j["compatibility_mask"] = hex32(m.compatibility_mask);
    j["vmsa_count"] = m.vmsa_count;
    j["check_kvm"] = options.check_kvm;
    j["native_zero"] = options.native_zero;
    j["guest_policy"] =
        m.guest_policy ? ordered_json(hex32(*m.guest_policy)) : ordered_json(nullptr);
    if (m.id_block_digest) {
      j["id_block"] = {
          {"launch_digest", to_hex(*m.id_block_digest)},
          {"matches", std::equal(m.digest.begin(), m.digest.end(), m.id_block_digest->begin())}};
    } else {
      j["id_block"] = nullptr;
    }
    j["inputs"] = {{"igvm", input.describe()}};
    out << j.dump(2) << "\n";
  } else if (c.output_format == "text") {
    // igvmmeasure's report layout, so scripts that read "Launch Digest:" keep working.
    const std::string rule(111, '=');
    out << "\n"
        << rule << "\n"
        << "cvtpm-measure igvm '" << c.file << "'\n"
        << "Launch Digest: " << upper_hex(m.digest) << "\n"
        << rule << "\n\n";
  } else {
    out << encode_digest(m.digest, c.output_format) << "\n";
  }
  return 0;
}

int run_sign(const IgvmCommand& c, std::ostream& out) {
  if (c.file.empty()) throw InputError("igvm sign", "the IGVM file to sign is required");
  IgvmIdBlockRequest request;
  request.family_id = parse_id(c.family_id, "--family-id");
  request.image_id = parse_id(c.image_id, "--image-id");
  request.guest_svn = static_cast<std::uint32_t>(parse_uint(c.svn, "--svn", UINT32_MAX));
  const EcP384PrivateKey id_key = EcP384PrivateKey::load_pem_file(c.id_key);
  std::optional<EcP384PrivateKey> author_key;
  if (c.author_key) author_key = EcP384PrivateKey::load_pem_file(*c.author_key);

  const InputFile input = load(c.file);
  const SignedIgvm signed_igvm = sign_igvm(load_igvm(input), measure_options(c), request, id_key,
                                           author_key ? &*author_key : nullptr, input.name);
  write_file_atomic(c.output, igvm::serialize_igvm(signed_igvm.file, c.output).all());

  const SignedIdBlock& block = signed_igvm.id_block;
  if (c.sign_output_format == "json") {
    ordered_json j;
    j["tool"] = version_line(kTool);
    j["launch_digest"] = to_hex(signed_igvm.measurement.digest);
    j["policy"] = hex32(block.block.policy);
    j["family_id"] = to_hex(request.family_id);
    j["image_id"] = to_hex(request.image_id);
    j["guest_svn"] = request.guest_svn;
    j["author_key_enabled"] = author_key.has_value();
    j["id_key_digest"] = to_hex(block.id_key_digest);
    j["author_key_digest"] = block.author_key_digest
                                 ? ordered_json(to_hex(*block.author_key_digest))
                                 : ordered_json(nullptr);
    j["inputs"] = {{"igvm", input.describe()}};
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "launch_digest: " << to_hex(signed_igvm.measurement.digest) << "\n";
  out << "id_key_hash: " << to_base64(block.id_key_digest) << "\n";
  if (block.author_key_digest) out << "author_key: " << to_base64(*block.author_key_digest) << "\n";
  return 0;
}

}  // namespace

void add_igvm_command(CLI::App& app, IgvmCommand& c) {
  c.measure = app.add_subcommand(
      "igvm", "Launch digest of an IGVM file (igvmmeasure's options), or `igvm sign` it");
  CLI::App& m = *c.measure;
  m.add_option("file", c.file, "IGVM file")->type_name("FILE");
  add_measure_options(m, c);
  m.add_flag("-i,--ignore-idblock", c.ignore_id_block,
             "Measure even if the file's SNP ID block vouches for a different digest");
  m.add_flag("-b,--bare", c.bare, "Print only the digest, in upper-case hex (igvmmeasure -b)");
  m.add_option("-o,--output-format", c.output_format,
               "text (igvmmeasure's report), hex, base64 or json")
      ->check(CLI::IsMember({"text", "hex", "base64", "json"}))
      ->capture_default_str();
  m.add_flag("-v,--verbose", c.verbose, "List every measured region on stderr");
  m.require_subcommand(0, 1);

  c.sign = m.add_subcommand(
      "sign", "Embed an SNP ID block signed for the file's launch digest (writes a new file)");
  CLI::App& s = *c.sign;
  s.add_option("file", c.file, "IGVM file to sign")->type_name("FILE");
  add_measure_options(s, c);
  s.add_option("--id-key,--idkey", c.id_key, "ID key: EC P-384 private key (PEM)")
      ->required()
      ->type_name("PEM");
  s.add_option("--author-key,--authorkey", c.author_key,
               "Author key: EC P-384 private key (PEM) that signs the ID key")
      ->type_name("PEM");
  s.add_option("-o,--output", c.output, "Signed IGVM file to write")->required()->type_name("FILE");
  s.add_option("--family-id", c.family_id, "16-byte family ID (hex), default zero")
      ->type_name("HEX");
  s.add_option("--image-id", c.image_id, "16-byte image ID (hex), default zero")->type_name("HEX");
  s.add_option("--svn", c.svn, "Guest security version number")
      ->type_name("N")
      ->capture_default_str();
  s.add_option("--output-format", c.sign_output_format, "What to print: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

int run_igvm_command(const IgvmCommand& c, std::ostream& out, std::ostream& err) {
  if (c.sign->parsed()) return run_sign(c, out);
  return run_measure(c, out, err);
}

}  // namespace cvtpm::measure::cli
