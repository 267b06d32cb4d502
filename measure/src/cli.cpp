#include "cvtpm/measure/cli.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

#include "cli_common.h"
#include "cvtpm/measure/guest_launch.h"
#include "cvtpm/measure/id_block.h"
#include "cvtpm/measure/vcpu_types.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "cvtpm/support/tool_main.h"
#include "igvm_cli.h"

namespace cvtpm::measure {
namespace {

using formats::ovmf::OvmfImage;
using namespace cli;

// ---------------------------------------------------------------------------------------------
// Launch digest of an OVMF launch (the sev-snp-measure command line).

struct LaunchOptions {
  std::string mode;
  std::string vcpus;
  std::string vcpu_type;
  std::string vcpu_sig;
  std::string vcpu_family, vcpu_model, vcpu_stepping;
  std::string vmm_type = "QEMU";
  std::string ovmf;
  std::optional<std::string> kernel, initrd, append;
  std::string guest_features = "0x1";
  std::string output_format = "hex";
  std::optional<std::string> snp_ovmf_hash;
  bool dump_vmsa = false;
  std::optional<std::string> svsm;
  std::optional<std::string> vars_size;
  std::optional<std::string> vars_file;
  bool verbose = false;
};

void add_launch_options(CLI::App& app, LaunchOptions& o) {
  std::string cpu_names;
  for (const CpuModel& m : known_cpu_models())
    cpu_names += (cpu_names.empty() ? "" : ", ") + std::string(m.name);

  app.add_option("--mode", o.mode, "Guest mode: sev, seves, snp, snp:ovmf-hash, snp:svsm")
      ->check(CLI::IsMember({"sev", "seves", "snp", "snp:ovmf-hash", "snp:svsm"}));
  app.add_option("--vcpus", o.vcpus, "Number of guest vCPUs")->type_name("N");
  app.add_option("--vcpu-type", o.vcpu_type, "Type of guest vCPU (" + cpu_names + ")")
      ->type_name("CPUTYPE");
  app.add_option("--vcpu-sig", o.vcpu_sig, "Guest vCPU signature value (CPUID 1 EAX)")
      ->type_name("VALUE");
  app.add_option("--vcpu-family", o.vcpu_family, "Guest vCPU family")->type_name("FAMILY");
  app.add_option("--vcpu-model", o.vcpu_model, "Guest vCPU model")->type_name("MODEL");
  app.add_option("--vcpu-stepping", o.vcpu_stepping, "Guest vCPU stepping")->type_name("STEPPING");
  app.add_option("--vmm-type", o.vmm_type, "Type of guest VMM (QEMU, ec2, gce)")
      ->type_name("VMMTYPE")
      ->capture_default_str();
  app.add_option("--ovmf", o.ovmf, "OVMF file to calculate the hash from")->type_name("PATH");
  app.add_option("--kernel", o.kernel, "Kernel file to calculate the hash from")->type_name("PATH");
  app.add_option("--initrd", o.initrd, "Initrd file to calculate the hash from (with --kernel)")
      ->type_name("PATH");
  app.add_option("--append", o.append, "Kernel command line to calculate the hash from")
      ->type_name("CMDLINE");
  app.add_option("--guest-features", o.guest_features,
                 "SEV_FEATURES of the guest's VMSAs (0x1 = SNP; 0x21 adds DebugSwap)")
      ->type_name("VALUE")
      ->capture_default_str();
  app.add_option("--output-format", o.output_format, "Measurement output format")
      ->check(CLI::IsMember({"hex", "base64", "json"}))
      ->capture_default_str();
  app.add_option("--snp-ovmf-hash", o.snp_ovmf_hash,
                 "Precalculated hash of the OVMF binary (hex), from --mode snp:ovmf-hash")
      ->type_name("HASH");
  app.add_flag("--dump-vmsa", o.dump_vmsa,
               "Write the measured VMSAs to vmsa<N>.bin (seves, snp and snp:svsm modes)");
  auto* svsm = app.add_option_group("snp:svsm mode",
                                    "Legacy COCONUT-SVSM flash launch (pre-IGVM): needs --svsm "
                                    "and --vars-size or --vars-file");
  svsm->add_option("--svsm", o.svsm, "SVSM binary")->type_name("PATH");
  auto* size = svsm->add_option("--vars-size", o.vars_size, "Size of the OVMF_VARS file in bytes")
                   ->type_name("SIZE");
  auto* file = svsm->add_option("--vars-file", o.vars_file, "OVMF_VARS file")->type_name("PATH");
  size->excludes(file);
  file->excludes(size);
  app.add_flag("-v,--verbose", o.verbose,
               "Label the measurement, and list every measured region on stderr");
}

std::uint32_t resolve_vcpu_signature(const LaunchOptions& o, VmmType vmm, GuestMode mode) {
  if (mode == GuestMode::kSev) return 0;
  if (!o.vcpu_family.empty()) {
    if (o.vcpu_model.empty() || o.vcpu_stepping.empty()) {
      throw InputError("--vcpu-family", "needs --vcpu-model and --vcpu-stepping too");
    }
    return cpu_signature(
        static_cast<unsigned>(parse_uint(o.vcpu_family, "--vcpu-family", 0xFF + 0xF)),
        static_cast<unsigned>(parse_uint(o.vcpu_model, "--vcpu-model", 0xFF)),
        static_cast<unsigned>(parse_uint(o.vcpu_stepping, "--vcpu-stepping", 0xF)));
  }
  if (!o.vcpu_sig.empty()) {
    return static_cast<std::uint32_t>(parse_uint(o.vcpu_sig, "--vcpu-sig", UINT32_MAX));
  }
  if (!o.vcpu_type.empty()) {
    auto model = find_cpu_model(o.vcpu_type);
    if (!model)
      throw InputError("--vcpu-type", "unknown vCPU type '" + o.vcpu_type + "' (see --help)");
    return cpu_signature(model->family, model->model, model->stepping);
  }
  if (vmm == VmmType::kQemu) {
    throw InputError(
        "--vcpu-type",
        "missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '" + o.mode + "'");
  }
  return 0;  // EC2 and GCE put a fixed value in RDX
}

std::string launch_json(const LaunchOptions& o, GuestMode mode, const GuestLaunch& launch,
                        const LaunchMeasurement& m, const InputFile& ovmf,
                        const std::optional<InputFile>& kernel,
                        const std::optional<InputFile>& initrd,
                        const std::optional<InputFile>& svsm) {
  ordered_json j;
  j["tool"] = version_line(kTool);
  j["mode"] = std::string(guest_mode_name(mode));
  j["launch_digest"] = to_hex(m.digest);
  j["launch_digest_base64"] = to_base64(m.digest);
  if (mode != GuestMode::kSev) {
    j["vcpus"] = launch.vcpus;
    j["vcpu_signature"] = hex32(launch.vcpu_signature, 8);
    if (!o.vcpu_type.empty()) j["vcpu_type"] = o.vcpu_type;
    j["vmm_type"] = std::string(vmm_type_name(launch.vmm));
  }
  if (mode == GuestMode::kSnp) j["guest_features"] = hex32(launch.guest_features);
  if (launch.ovmf_hash) j["snp_ovmf_hash"] = to_hex(*launch.ovmf_hash);
  ordered_json inputs;
  inputs["ovmf"] = ovmf.describe();
  if (kernel) {
    inputs["kernel"] = kernel->describe();
    inputs["initrd"] = initrd ? initrd->describe() : ordered_json(nullptr);
    inputs["append"] = o.append.value_or("");
  }
  if (svsm) {
    inputs["svsm"] = svsm->describe();
    inputs["ovmf_vars_size"] = launch.ovmf_vars_size;
  }
  j["inputs"] = inputs;
  return j.dump(2) + "\n";
}

int run_launch(const LaunchOptions& o, std::ostream& out, std::ostream& err) {
  if (o.mode.empty())
    throw InputError("--mode", "required (sev, seves, snp, snp:ovmf-hash, snp:svsm)");
  if (o.ovmf.empty()) throw InputError("--ovmf", "required");

  if (o.mode == "snp:ovmf-hash") {
    InputFile ovmf = load(o.ovmf);
    Sha384Digest hash = snp_ovmf_hash(OvmfImage::parse(ovmf.bytes, ovmf.name));
    if (o.output_format == "json") {
      ordered_json j{{"tool", version_line(kTool)},
                     {"mode", o.mode},
                     {"snp_ovmf_hash", to_hex(hash)},
                     {"inputs", {{"ovmf", ovmf.describe()}}}};
      out << j.dump(2) << "\n";
    } else {
      out << to_hex(hash) << "\n";  // always hex, as sev-snp-measure does
    }
    return 0;
  }

  const GuestMode mode = *parse_guest_mode(o.mode);
  if (o.initrd && !o.kernel) throw InputError("--initrd", "--kernel required when using --initrd");
  if (o.append && !o.append->empty() && !o.kernel) {
    throw InputError("--append", "--kernel required when using --append");
  }
  if (o.snp_ovmf_hash && mode != GuestMode::kSnp) {
    throw InputError("--snp-ovmf-hash", "only works with --mode snp");
  }
  if (o.dump_vmsa && mode == GuestMode::kSev) {
    throw InputError("--dump-vmsa", "is not available in mode 'sev' (no VMSAs are measured)");
  }
  auto vmm = parse_vmm_type(o.vmm_type);
  if (!vmm)
    throw InputError("--vmm-type", "unknown VMM type '" + o.vmm_type + "' (QEMU, ec2, gce)");

  GuestLaunch launch;
  launch.mode = mode;
  launch.vmm = *vmm;
  if (mode != GuestMode::kSev) {
    if (o.vcpus.empty())
      throw InputError("--vcpus", "missing --vcpus N in guest mode '" + o.mode + "'");
    launch.vcpus = static_cast<unsigned>(parse_uint(o.vcpus, "--vcpus", UINT32_MAX));
    if (launch.vcpus == 0 || launch.vcpus > kMaxVcpus) {
      throw InputError("--vcpus", "'" + o.vcpus + "' is not a vCPU count between 1 and " +
                                      std::to_string(kMaxVcpus));
    }
  }
  launch.vcpu_signature = resolve_vcpu_signature(o, *vmm, mode);
  launch.guest_features = parse_uint(o.guest_features, "--guest-features");
  if (mode == GuestMode::kSnp &&
      !(launch.guest_features & formats::snp::sev_features::kSnpActive)) {
    throw InputError("--guest-features", hex32(launch.guest_features) +
                                             " lacks bit 0 (SNP active), which every SNP VMSA has");
  }
  if (o.snp_ovmf_hash) {
    auto bytes = parse_hex(*o.snp_ovmf_hash, "--snp-ovmf-hash");
    if (bytes.size() != 48) {
      throw InputError("--snp-ovmf-hash",
                       "must be 48 bytes (96 hex digits), got " + std::to_string(bytes.size()));
    }
    Sha384Digest seed;
    std::copy(bytes.begin(), bytes.end(), seed.begin());
    launch.ovmf_hash = seed;
  }

  InputFile ovmf_file = load(o.ovmf);
  const OvmfImage ovmf = OvmfImage::parse(ovmf_file.bytes, ovmf_file.name);
  launch.ovmf = &ovmf;

  std::optional<InputFile> kernel, initrd, svsm_file;
  if (o.kernel) {
    kernel = load(*o.kernel);
    if (o.initrd) initrd = load(*o.initrd);
    launch.kernel =
        kernel_hashes(kernel->bytes.span(),
                      initrd ? std::optional(initrd->bytes.span()) : std::nullopt, o.append);
  }

  std::optional<OvmfImage> svsm;
  if (mode == GuestMode::kSnpSvsm) {
    if (*vmm != VmmType::kQemu)
      throw InputError("--vmm-type", "snp:svsm mode is only defined for QEMU");
    if (!o.svsm) throw InputError("--svsm", "snp:svsm mode requires --svsm");
    if (o.vars_file) {
      launch.ovmf_vars_size = load(*o.vars_file).bytes.size();
    } else if (o.vars_size) {
      launch.ovmf_vars_size = parse_uint(*o.vars_size, "--vars-size");
    } else {
      throw InputError("--vars-size", "snp:svsm mode requires --vars-size or --vars-file");
    }
    svsm_file = load(*o.svsm);
    svsm = OvmfImage::parse(svsm_file->bytes, svsm_file->name);
    launch.svsm = &*svsm;
  } else if (o.svsm || o.vars_file || o.vars_size) {
    throw InputError("--svsm", "--svsm, --vars-size and --vars-file only apply to --mode snp:svsm");
  }

  const LaunchMeasurement m = measure_guest_launch(launch);

  if (o.dump_vmsa) {
    for (std::size_t i = 0; i < m.vmsas.size(); ++i) {
      write_file_atomic("vmsa" + std::to_string(i) + ".bin", vmsa_bytes(m.vmsas[i]));
    }
  }
  if (o.verbose && !m.regions.runs().empty()) err << m.regions.to_text();

  if (o.output_format == "json") {
    out << launch_json(o, mode, launch, m, ovmf_file, kernel, initrd, svsm_file);
  } else if (o.verbose) {
    out << "Calculated " << guest_mode_label(mode)
        << " guest measurement: " << encode_digest(m.digest, o.output_format) << "\n";
  } else {
    out << encode_digest(m.digest, o.output_format) << "\n";
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// id-block: sign an ID block for a launch digest.

struct IdBlockOptions {
  std::string measurement;
  std::string id_key;
  std::optional<std::string> author_key;
  std::string policy = "0x30000";
  std::optional<std::string> family_id, image_id;
  std::string svn = "0";
  std::string output_format = "text";
};

void add_id_block_options(CLI::App& cmd, IdBlockOptions& o) {
  cmd.add_option("--measurement,--launch-digest", o.measurement,
                 "Launch digest the ID block vouches for (hex or base64)")
      ->required()
      ->type_name("DIGEST");
  cmd.add_option("--id-key,--idkey", o.id_key, "ID key: EC P-384 private key (PEM)")
      ->required()
      ->type_name("PEM");
  cmd.add_option("--author-key,--authorkey", o.author_key,
                 "Author key: EC P-384 private key (PEM) that signs the ID key")
      ->type_name("PEM");
  cmd.add_option("--policy", o.policy, "Guest policy the PSP must enforce")
      ->type_name("VALUE")
      ->capture_default_str();
  cmd.add_option("--family-id", o.family_id, "16-byte family ID (hex), default zero")
      ->type_name("HEX");
  cmd.add_option("--image-id", o.image_id, "16-byte image ID (hex), default zero")
      ->type_name("HEX");
  cmd.add_option("--svn", o.svn, "Guest security version number")
      ->type_name("N")
      ->capture_default_str();
  cmd.add_option("--output-format", o.output_format, "text (QEMU properties) or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

std::vector<std::uint8_t> parse_digest_text(const std::string& text, const std::string& what) {
  std::vector<std::uint8_t> bytes = text.size() == 96 || text.starts_with("0x")
                                        ? parse_hex(text, what)
                                        : parse_base64(text, what);
  if (bytes.size() != 48) {
    throw InputError(what,
                     "a launch digest is 48 bytes (96 hex digits or 64 base64 "
                     "characters), got " +
                         std::to_string(bytes.size()) + " bytes");
  }
  return bytes;
}

int run_id_block(const IdBlockOptions& o, std::ostream& out) {
  IdBlockRequest request;
  auto digest = parse_digest_text(o.measurement, "--measurement");
  std::copy(digest.begin(), digest.end(), request.launch_digest.begin());
  request.policy = parse_uint(o.policy, "--policy");
  if (!(request.policy & formats::snp::guest_policy::kReservedMustBeOne)) {
    throw InputError("--policy", hex32(request.policy) + " lacks bit 17, which SNP requires set");
  }
  request.family_id = parse_id(o.family_id, "--family-id");
  request.image_id = parse_id(o.image_id, "--image-id");
  request.guest_svn = static_cast<std::uint32_t>(parse_uint(o.svn, "--svn", UINT32_MAX));

  const EcP384PrivateKey id_key = EcP384PrivateKey::load_pem_file(o.id_key);
  std::optional<EcP384PrivateKey> author_key;
  if (o.author_key) author_key = EcP384PrivateKey::load_pem_file(*o.author_key);
  const SignedIdBlock signed_block =
      sign_id_block(request, id_key, author_key ? &*author_key : nullptr);

  const std::string block_b64 = to_base64(struct_bytes(signed_block.block));
  const std::string auth_b64 = to_base64(struct_bytes(signed_block.auth));
  std::string qemu = "id-block=" + block_b64 + ",id-auth=" + auth_b64;
  if (author_key) qemu += ",author-key-enabled=on";

  if (o.output_format == "json") {
    ordered_json j;
    j["tool"] = version_line(kTool);
    j["launch_digest"] = to_hex(request.launch_digest);
    j["policy"] = hex32(request.policy);
    j["family_id"] = to_hex(request.family_id);
    j["image_id"] = to_hex(request.image_id);
    j["guest_svn"] = request.guest_svn;
    j["id_block"] = block_b64;
    j["id_auth"] = auth_b64;
    j["author_key_enabled"] = author_key.has_value();
    j["id_key_digest"] = to_hex(signed_block.id_key_digest);
    j["author_key_digest"] = signed_block.author_key_digest
                                 ? ordered_json(to_hex(*signed_block.author_key_digest))
                                 : ordered_json(nullptr);
    j["qemu_sev_snp_guest_properties"] = qemu;
    out << j.dump(2) << "\n";
    return 0;
  }
  out << qemu << "\n";
  out << "id_key_hash: " << to_base64(signed_block.id_key_digest) << "\n";
  if (signed_block.author_key_digest) {
    out << "author_key: " << to_base64(*signed_block.author_key_digest) << "\n";
  }
  return 0;
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  init_tool_crypto();
  CLI::App app{
      "Precompute AMD SEV/SEV-ES/SEV-SNP launch measurements (command-line compatible with "
      "sev-snp-measure), launch digests of IGVM images, and SNP ID blocks.",
      std::string(kTool)};
  app.set_version_flag("--version", version_line(kTool));
  app.require_subcommand(0, 1);

  LaunchOptions launch;
  add_launch_options(app, launch);

  IdBlockOptions id_block;
  CLI::App* id_cmd = app.add_subcommand(
      "id-block", "Sign an SNP ID block and ID auth structure for a launch digest");
  add_id_block_options(*id_cmd, id_block);

  IgvmCommand igvm;
  add_igvm_command(app, igvm);

  if (auto status = parse_command_line(app, kTool, argc, argv, out, err)) return *status;

  // Results are fully computed before anything reaches stdout: an error leaves it empty.
  std::ostringstream result;
  int status = run_guarded(kTool, err, [&] {
    if (id_cmd->parsed()) return run_id_block(id_block, result);
    if (igvm.measure->parsed()) return run_igvm_command(igvm, result, err);
    return run_launch(launch, result, err);
  });
  if (status == 0) out << result.str();
  return status;
}

}  // namespace cvtpm::measure
