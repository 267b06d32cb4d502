#include "cvtpm/verify/cli.h"

#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "cvtpm/support/tool_main.h"
#include "cvtpm/verify/fetch.h"
#include "cvtpm/verify/verifier.h"

namespace cvtpm::verify {
namespace {

constexpr std::string_view kTool = "cvtpm-verify";

// Upper bounds on what each input can sensibly be; larger files are refused before being read.
constexpr std::size_t kMaxReportFile = 64 * 1024;
constexpr std::size_t kMaxCertificateFile = 64 * 1024;
constexpr std::size_t kMaxManifestFile = 64 * 1024;
constexpr std::size_t kMaxReferenceValuesFile = 4 * 1024 * 1024;
// A fetch waits this long for the vTPM: the emulated firmware under QEMU TCG is slow.
constexpr std::chrono::seconds kFetchTimeout{120};

ByteBuffer load_limited(const std::string& path, std::size_t max) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!ec && std::filesystem::is_regular_file(status)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size > max) {
      throw InputError(path, "oversized: " + std::to_string(size) + " bytes, at most " +
                                 std::to_string(max) + " expected");
    }
  }
  ByteBuffer bytes = load_file(path);
  if (bytes.size() > max) {
    throw InputError(path, "oversized: more than " + std::to_string(max) + " bytes");
  }
  return bytes;
}

template <std::size_t N>
std::array<std::uint8_t, N> parse_fixed_hex(const std::string& text, const std::string& what) {
  const std::vector<std::uint8_t> bytes = parse_hex(text, what);
  if (bytes.size() != N) {
    throw InputError(what, "must be " + std::to_string(N) + " bytes (" + std::to_string(2 * N) +
                               " hex digits), got " + std::to_string(bytes.size()));
  }
  std::array<std::uint8_t, N> out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

// "bl=N,tee=N,snp=N,microcode=N[,fmc=N]", each once.
MinimumTcb parse_min_tcb(const std::string& text) {
  const std::string what = "--min-tcb";
  MinimumTcb min;
  std::vector<std::string> seen;
  std::string rest = text;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string item = rest.substr(0, comma);
    rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    const std::size_t equals = item.find('=');
    if (equals == std::string::npos) throw InputError(what, "\"" + item + "\": expected KEY=N");
    const std::string key = item.substr(0, equals);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      throw InputError(what, "\"" + key + "\" given twice");
    }
    seen.push_back(key);
    const auto value =
        static_cast<std::uint8_t>(parse_uint(item.substr(equals + 1), what + " " + key, 255));
    if (key == "bl") {
      min.boot_loader = value;
    } else if (key == "tee") {
      min.tee = value;
    } else if (key == "snp") {
      min.snp = value;
    } else if (key == "microcode") {
      min.microcode = value;
    } else if (key == "fmc") {
      min.fmc = value;
    } else {
      throw InputError(what, "unknown key \"" + key + "\" (bl, tee, snp, microcode, fmc)");
    }
  }
  for (const char* required : {"bl", "tee", "snp", "microcode"}) {
    if (std::find(seen.begin(), seen.end(), required) == seen.end()) {
      throw InputError(
          what, std::string("missing ") + required + "=N (bl=N,tee=N,snp=N,microcode=N[,fmc=N])");
    }
  }
  return min;
}

struct ReportOptions {
  std::string report;
  std::optional<std::string> vcek, cert_chain, ark;
  std::vector<std::string> measurements;
  std::optional<std::string> reference_values;
  bool allow_debug = false;
  std::optional<std::string> vmpl;
  std::optional<std::string> min_tcb;
  std::optional<std::string> host_data, id_key_digest, author_key_digest;
  std::optional<std::string> report_data, nonce, manifest;
  std::optional<std::string> ek_out;
  std::string output_format = "text";
  bool allow_unsigned_native = false;
  std::optional<std::string> min_state_generation, state_digest, require_state;
};

CLI::App* add_report_command(CLI::App& app, ReportOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Verify an SEV-SNP attestation report offline: the AMD chain to a pinned root, the "
      "signature, the VCEK against the report, the policy and launch, and the vTPM binding. "
      "Exit 0 accepted, 1 rejected, 2 bad input.");
  cmd->add_option("--report", o.report, "The 0x4A0-byte binary report (configfs-tsm outblob)")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--vcek", o.vcek, "The VCEK (or VLEK) certificate, DER or PEM")
      ->type_name("FILE");
  cmd->add_option("--cert-chain", o.cert_chain,
                  "ASK (or ASVK) then ARK, PEM, as AMD KDS serves cert_chain; its ARK must be "
                  "the pinned one")
      ->type_name("FILE");
  cmd->add_option("--ark", o.ark,
                  "Replace the pinned AMD root with this ARK (test chains only; the verdict "
                  "says so)")
      ->type_name("FILE");
  cmd->add_option("--measurement", o.measurements,
                  "An accepted MEASUREMENT (96 hex digits); repeatable")
      ->type_name("HEX");
  cmd->add_option("--reference-values", o.reference_values,
                  "Accepted MEASUREMENTs from cvtpm-measure's JSON or examples/reference-values.sh")
      ->type_name("FILE");
  cmd->add_flag("--allow-debug", o.allow_debug, "Accept a guest policy that allows debugging");
  cmd->add_option("--vmpl", o.vmpl, "Expected VMPL (default 0: the SVSM's own report)")
      ->type_name("N");
  cmd->add_option("--min-tcb", o.min_tcb,
                  "Minimum REPORTED_TCB: bl=N,tee=N,snp=N,microcode=N[,fmc=N]")
      ->type_name("SPEC");
  cmd->add_option("--host-data", o.host_data, "Expected HOST_DATA (64 hex digits)")
      ->type_name("HEX");
  cmd->add_option("--id-key-digest", o.id_key_digest, "Expected ID_KEY_DIGEST (96 hex digits)")
      ->type_name("HEX");
  cmd->add_option("--author-key-digest", o.author_key_digest,
                  "Expected AUTHOR_KEY_DIGEST (96 hex digits)")
      ->type_name("HEX");
  auto* report_data =
      cmd->add_option("--report-data", o.report_data, "Expected REPORT_DATA (128 hex digits)")
          ->type_name("HEX");
  auto* nonce = cmd->add_option("--nonce", o.nonce,
                                "The 64-byte attestation nonce (128 hex digits): REPORT_DATA must "
                                "be SHA-512(nonce || manifest)")
                    ->type_name("HEX");
  auto* manifest =
      cmd->add_option("--manifest", o.manifest, "The SVSM manifest the report binds (manifestblob)")
          ->type_name("FILE");
  auto* ek_out = cmd->add_option("--ek-out", o.ek_out,
                                 "Write the manifest's EK as PEM here (only when accepted)")
                     ->type_name("FILE");
  cmd->add_option("--output-format", o.output_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_flag("--allow-unsigned-native", o.allow_unsigned_native,
                "Accept the cvtpm native firmware's unsigned report, checking the binding only "
                "(nothing is attested)");
  auto* min_state = cmd->add_option("--min-state-generation", o.min_state_generation,
                                    "The manifest's state entry: boot generation at least N (the "
                                    "last generation this verifier saw; rollback evidence)")
                        ->type_name("N");
  auto* state_digest = cmd->add_option("--state-digest", o.state_digest,
                                       "The state entry's boot digest if its boot generation is "
                                       "--min-state-generation (64 hex digits)")
                           ->type_name("HEX");
  auto* require_state = cmd->add_option("--require-state", o.require_state,
                                        "The state entry's status: restored, or persistent "
                                        "(fresh or restored; not ephemeral or failed)")
                            ->check(CLI::IsMember({"restored", "persistent"}))
                            ->type_name("STATUS");
  min_state->needs(manifest);
  state_digest->needs(min_state);
  require_state->needs(manifest);
  report_data->excludes(nonce)->excludes(manifest);
  nonce->needs(manifest);
  manifest->needs(nonce);
  ek_out->needs(manifest);
  return cmd;
}

std::vector<ReferenceMeasurement> accepted_measurements(const ReportOptions& o) {
  std::vector<ReferenceMeasurement> out;
  for (const std::string& text : o.measurements) {
    out.push_back({parse_measurement_hex(text, "--measurement"), "--measurement"});
  }
  if (o.reference_values) {
    const ByteBuffer json = load_limited(*o.reference_values, kMaxReferenceValuesFile);
    for (ReferenceMeasurement& m : parse_reference_values(json, *o.reference_values)) {
      out.push_back(std::move(m));
    }
  }
  return out;
}

Policy parse_policy(const ReportOptions& o) {
  Policy p;
  p.allow_debug = o.allow_debug;
  if (o.vmpl) p.vmpl = static_cast<std::uint32_t>(parse_uint(*o.vmpl, "--vmpl", 3));
  p.measurements = accepted_measurements(o);
  if (o.min_tcb) p.min_tcb = parse_min_tcb(*o.min_tcb);
  if (o.host_data) p.host_data = parse_fixed_hex<32>(*o.host_data, "--host-data");
  if (o.id_key_digest) p.id_key_digest = parse_fixed_hex<48>(*o.id_key_digest, "--id-key-digest");
  if (o.author_key_digest) {
    p.author_key_digest = parse_fixed_hex<48>(*o.author_key_digest, "--author-key-digest");
  }
  if (o.report_data) p.report_data = parse_fixed_hex<64>(*o.report_data, "--report-data");
  p.allow_unsigned_native = o.allow_unsigned_native;
  if (o.min_state_generation) {
    p.min_state_generation =
        parse_uint(*o.min_state_generation, "--min-state-generation", ~std::uint64_t{0});
  }
  if (o.state_digest) p.state_digest = parse_fixed_hex<32>(*o.state_digest, "--state-digest");
  if (o.require_state) {
    p.require_state =
        *o.require_state == "restored" ? RequiredState::kRestored : RequiredState::kPersistent;
  }
  return p;
}

Evidence load_evidence(const ReportOptions& o) {
  Evidence e;
  e.report = parse_report(load_limited(o.report, kMaxReportFile), o.report);
  if (o.vcek) e.vcek = Certificate::parse(load_limited(*o.vcek, kMaxCertificateFile), *o.vcek);
  if (o.cert_chain) {
    e.cert_chain = Certificate::parse_pem_bundle(load_limited(*o.cert_chain, kMaxCertificateFile),
                                                 *o.cert_chain);
  }
  if (o.ark) {
    e.ark_override =
        Certificate::parse_reusing(load_limited(*o.ark, kMaxCertificateFile), *o.ark, e.cert_chain);
  }
  if (o.nonce) {
    const auto nonce = parse_fixed_hex<64>(*o.nonce, "--nonce");
    e.nonce.emplace(nonce.begin(), nonce.end());
    const ByteBuffer manifest = load_limited(*o.manifest, kMaxManifestFile);
    e.manifest_bytes.emplace(manifest.data(), manifest.data() + manifest.size());
    e.manifest = parse_manifest(manifest, *o.manifest);
  }
  if (o.allow_unsigned_native && !o.nonce) {
    throw InputError("--allow-unsigned-native",
                     "checks the binding only: give --nonce and --manifest");
  }
  return e;
}

int run_report(const ReportOptions& o, std::ostream& out) {
  const Policy policy = parse_policy(o);
  const Evidence evidence = load_evidence(o);
  const Verdict verdict = verify_report(evidence, policy);
  std::string text = o.output_format == "json" ? verdict_json(verdict, version_line(kTool))
                                               : verdict_text(verdict);
  if (o.ek_out) {
    const auto& ek = verdict.manifest ? verdict.manifest->ek : std::nullopt;
    if (verdict.accepted() && ek) {
      write_file_atomic(*o.ek_out, public_key_pem(*ek));
    } else if (o.output_format == "text") {
      text += "ek-out: not written (" +
              std::string(verdict.accepted() ? "the manifest has no EK" : "rejected") + ")\n";
    }
  }
  out << text;
  return verdict.accepted() ? kExitAccepted : kExitRejected;
}

struct FetchOptions {
  std::string tcti;
  std::string nonce;
  std::string out_dir;
};

CLI::App* add_fetch_command(CLI::App& app, FetchOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "fetch",
      "Fetch report.bin and manifest.bin from a running cvtpm vTPM (cvtpm-vtpmd, or the firmware "
      "behind cvtpm-tpm-bridge) with an SVSM_ATTEST_SERVICES attestation: the services manifest "
      "with the vTPM's EK and, for a persistent vTPM, its state entry");
  cmd->add_option("--tcti", o.tcti, "The vTPM's swtpm TCTI: swtpm:host=HOST,port=PORT")
      ->required()
      ->type_name("TCTI");
  cmd->add_option("--nonce", o.nonce, "The 64-byte nonce (128 hex digits), fresh per attestation")
      ->required()
      ->type_name("HEX");
  cmd->add_option("--out", o.out_dir, "Directory for report.bin and manifest.bin")
      ->required()
      ->type_name("DIR");
  return cmd;
}

int run_fetch(const FetchOptions& o, std::ostream& out) {
  const SwtpmEndpoint endpoint = parse_swtpm_tcti(o.tcti, "--tcti");
  const auto nonce = parse_fixed_hex<64>(o.nonce, "--nonce");
  const std::filesystem::path dir(o.out_dir);
  if (!std::filesystem::is_directory(dir)) throw InputError(o.out_dir, "not a directory");
  const FetchedEvidence evidence =
      fetch_attestation(endpoint, nonce, AttestMode::kServices, kFetchTimeout, "--tcti");
  write_file_atomic(dir / "manifest.bin", evidence.manifest);
  write_file_atomic(dir / "report.bin", evidence.report);
  out << "report.bin: " << evidence.report.size() << " bytes\n"
      << "manifest.bin: " << evidence.manifest.size() << " bytes\n";
  return 0;
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  init_tool_crypto();
  CLI::App app{
      "Verify SEV-SNP attestation reports offline, and the binding of a cvtpm vTPM's "
      "endorsement key to them; fetch that evidence from a running cvtpm vTPM.",
      std::string(kTool)};
  app.set_version_flag("--version", version_line(kTool));
  app.require_subcommand(1);
  ReportOptions report;
  CLI::App* report_cmd = add_report_command(app, report);
  FetchOptions fetch;
  add_fetch_command(app, fetch);
  if (auto status = parse_command_line(app, kTool, argc, argv, out, err)) return *status;

  // The verdict is fully formed before anything reaches stdout: bad input leaves it empty.
  std::ostringstream result;
  const int status = run_guarded(kTool, err, [&] {
    return report_cmd->parsed() ? run_report(report, result) : run_fetch(fetch, result);
  });
  if (status != kExitBadInput) out << result.str();
  return status;
}

}  // namespace cvtpm::verify
