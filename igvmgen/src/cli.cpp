#include "cvtpm/igvmgen/cli.h"

#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>

#include "cvtpm/formats/igvm/igvm_file.h"
#include "cvtpm/formats/snp/page_info.h"
#include "cvtpm/igvmgen/dump.h"
#include "cvtpm/igvmgen/image_builder.h"
#include "cvtpm/support/data_files.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "cvtpm/support/tool_main.h"
#include "sev_features.h"

namespace cvtpm::igvmgen {
namespace {

namespace boot = formats::boot;
constexpr std::string_view kTool = "cvtpm-igvmgen";

std::string hex(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

struct BuildCommand {
  std::string firmware, ovmf, output;
  std::optional<std::string> data_dir;
  std::string platforms = "snp,native";
  std::string policy = "0x30000";
  std::string sev_features = "snp,restricted-injection,debug-swap";
  std::string guest_sev_features = "snp";
  std::string guest_vmpl = "2";
  std::string serial_port = "0x3F8";
  std::string ek_algorithm = "rsa2048";
  std::string state_binding = "measurement";
  std::optional<std::string> state_min_svn;
  bool debug_log = false;
  bool self_test = false;
  bool allow_non_svsm_ovmf = false;
  bool verbose = false;
};

struct DumpCommand {
  std::string file;
  bool json = false;
};

void add_build_options(CLI::App& cmd, BuildCommand& b) {
  cmd.add_option("--firmware", b.firmware,
                 "The VMPL0 firmware: a static x86-64 ELF linked at 128 MiB (default: "
                 "cvtpm-fw.elf, found as `cvtpm-igvmgen --help` says)")
      ->type_name("ELF");
  cmd.add_option("--data-dir", b.data_dir,
                 "Directory holding cvtpm-fw.elf (overrides " + std::string(kDataDirEnv) +
                     " and the default search)")
      ->type_name("DIR")
      ->excludes("--firmware");
  cmd.add_option("--ovmf", b.ovmf, "The guest firmware (OVMF flash image), placed to end at 4 GiB")
      ->required()
      ->type_name("FD");
  cmd.add_option("-o,--output", b.output, "The IGVM file to write")->required()->type_name("FILE");
  cmd.add_option("--platform", b.platforms,
                 "Platforms the image supports: snp, native, or both (comma-separated)")
      ->type_name("LIST")
      ->capture_default_str();
  cmd.add_option("--policy", b.policy, "SEV-SNP guest policy")
      ->type_name("VALUE")
      ->capture_default_str();
  cmd.add_option("--sev-features", b.sev_features,
                 "SEV_FEATURES of the firmware's VMPL0 VMSA: names (" + sev_feature_name_list() +
                     ") and/or numbers, comma-separated; snp is always set. The default is "
                     "COCONUT-SVSM's VMPL0 set")
      ->type_name("LIST")
      ->capture_default_str();
  cmd.add_option("--guest-sev-features", b.guest_sev_features,
                 "SEV_FEATURES the firmware gives OVMF's VMSA (same syntax)")
      ->type_name("LIST")
      ->capture_default_str();
  cmd.add_option("--guest-vmpl", b.guest_vmpl, "VMPL OVMF runs at (1..3)")
      ->type_name("N")
      ->capture_default_str();
  cmd.add_option("--serial-port", b.serial_port,
                 "I/O port of the firmware's debug console (0 = none; com1..com4)")
      ->type_name("PORT")
      ->capture_default_str();
  cmd.add_option("--ek-algorithm", b.ek_algorithm, "vTPM endorsement key algorithm")
      ->check(CLI::IsMember({"rsa2048", "ecc-p256", "ecc-p384"}))
      ->capture_default_str();
  cmd.add_option("--state-binding", b.state_binding,
                 "Persistent vTPM under SNP: the state key from the launch measurement "
                 "(measurement) or from the ID block's family ID, image ID and SVN (identity; "
                 "needs --state-min-svn and an image signed with cvtpm-measure igvm sign)")
      ->type_name("BINDING")
      ->capture_default_str();
  cmd.add_option("--state-min-svn", b.state_min_svn,
                 "With --state-binding identity: the minimum guest SVN (1..2^32-1) whose launches "
                 "share the state key")
      ->type_name("N");
  cmd.add_flag("--debug-log", b.debug_log, "Ask the firmware for verbose console logging");
  cmd.add_flag("--self-test", b.self_test, "Ask the firmware to run its self-tests and stop");
  cmd.add_flag("--allow-non-svsm-ovmf", b.allow_non_svsm_ovmf,
               "Build even if OVMF has no SVSM calling-area section (for measurement "
               "experiments: such an OVMF cannot run under the firmware)");
  cmd.add_flag("-v,--verbose", b.verbose, "Print the image layout on stderr");
}

std::uint16_t parse_serial_port(const std::string& text) {
  const std::pair<const char*, std::uint16_t> names[] = {
      {"com1", 0x3F8}, {"com2", 0x2F8}, {"com3", 0x3E8}, {"com4", 0x2E8}};
  for (const auto& [name, port] : names) {
    if (text == name) return port;
  }
  return static_cast<std::uint16_t>(parse_uint(text, "--serial-port", 0xFFFF));
}

BuildOptions build_options(const BuildCommand& b) {
  BuildOptions o;
  o.snp = o.native = false;
  std::string_view list = b.platforms;
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    if (item == "snp" || item == "sev-snp") {
      o.snp = true;
    } else if (item == "native") {
      o.native = true;
    } else {
      throw InputError("--platform", "unknown platform '" + std::string(item) + "' (snp, native)");
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  o.policy = parse_uint(b.policy, "--policy");
  if (!(o.policy & formats::snp::guest_policy::kReservedMustBeOne)) {
    throw InputError("--policy", hex(o.policy) + " lacks bit 17, which SNP requires set");
  }
  const std::uint64_t snp = formats::snp::sev_features::kSnpActive;
  o.sev_features = snp | parse_sev_features(b.sev_features, "--sev-features");
  o.guest_sev_features = snp | parse_sev_features(b.guest_sev_features, "--guest-sev-features");
  o.guest_vmpl = static_cast<std::uint8_t>(parse_uint(b.guest_vmpl, "--guest-vmpl", 0xFF));
  o.serial_port = parse_serial_port(b.serial_port);
  o.ek_algorithm = b.ek_algorithm == "ecc-p256"   ? boot::EkAlgorithm::kEccP256
                   : b.ek_algorithm == "ecc-p384" ? boot::EkAlgorithm::kEccP384
                                                  : boot::EkAlgorithm::kRsa2048;
  if (b.state_binding == "measurement") {
    o.state_binding = boot::StateBinding::kMeasurement;
    if (b.state_min_svn) throw InputError("--state-min-svn", "needs --state-binding identity");
  } else if (b.state_binding == "identity") {
    o.state_binding = boot::StateBinding::kIdentity;
    if (!b.state_min_svn) {
      throw InputError("--state-binding",
                       "identity needs --state-min-svn N (the ID block's minimum SVN)");
    }
    const std::uint64_t svn = parse_uint(*b.state_min_svn, "--state-min-svn", 0xFFFF'FFFF);
    // A launch without an ID block has guest SVN 0: a minimum of 0 would let any such launch of
    // any image with zero IDs derive the key (docs/persistence.md, "Keys").
    if (svn == 0) {
      throw InputError("--state-min-svn",
                       "0 would let any launch without an ID block derive the key; use 1 or more");
    }
    o.state_min_svn = static_cast<std::uint32_t>(svn);
  } else {
    throw InputError("--state-binding",
                     "unknown binding '" + b.state_binding + "' (measurement, identity)");
  }
  if (b.debug_log) o.boot_flags |= boot::boot_flags::kDebugLog;
  if (b.self_test) o.boot_flags |= boot::boot_flags::kSelfTest;
  o.allow_non_svsm_ovmf = b.allow_non_svsm_ovmf;
  return o;
}

std::string layout_text(const BuiltImage& image) {
  const ImageLayout& l = image.layout;
  std::ostringstream s;
  auto row = [&](std::uint64_t gpa, std::uint64_t size, const std::string& what) {
    char line[160];
    std::snprintf(line, sizeof line, "  %#14llx  %#10llx  %s\n",
                  static_cast<unsigned long long>(gpa), static_cast<unsigned long long>(size),
                  what.c_str());
    s << line;
  };
  s << "image layout (gpa, size, contents):\n";
  row(boot::kFirmwareBase, boot::kFirmwareRegionSize, "firmware region (REQUIRED_MEMORY)");
  row(l.image_begin, l.elf_end - l.image_begin, "firmware ELF segments, entry " + hex(l.entry));
  row(l.boot_params_gpa, 0x1000, "boot parameters (one page per platform)");
  if (image.snp_boot_params) {
    row(l.cpuid_gpa, 0x1000, "SNP CPUID page");
    row(l.secrets_gpa, 0x1000, "SNP secrets page");
  }
  row(l.vp_env_area_gpa, 0x1000, "parameter area 0: VP count (+0), environment info (+4)");
  row(l.memory_map_gpa, kMemoryMapAreaSize, "parameter area 1: memory map");
  row(l.ovmf_gpa, l.ovmf_size, "OVMF");
  if (image.snp_boot_params)
    row(formats::snp::kVmsaGpa, 0x1000, "SNP VMSA of the boot vCPU (VMPL0)");
  return s.str();
}

int run_build(const BuildCommand& b, std::ostream& err) {
  const BuildOptions options = build_options(b);
  // The search order every tool shares (cvtpm/support/data_files.h).
  const std::string firmware =
      b.firmware.empty() ? find_data_file("cvtpm-fw.elf", process_data_search(b.data_dir)).string()
                         : b.firmware;
  const auto elf = formats::elf::ElfImage::parse(load_file(firmware), firmware);
  const auto ovmf = formats::ovmf::OvmfImage::parse(load_file(b.ovmf), b.ovmf);
  const BuiltImage image = build_image(elf, ovmf, options);
  const formats::igvm::IgvmPieces pieces = formats::igvm::serialize_igvm(image.file, b.output);
  write_file_atomic(b.output, pieces.all());
  if (b.verbose) err << layout_text(image);
  return 0;
}

int run_dump(const DumpCommand& d, std::ostream& out) {
  const ByteBuffer bytes = load_file(d.file);
  const formats::igvm::IgvmFile file = formats::igvm::parse_igvm(bytes, d.file);
  DumpInput input;
  input.file = &file;
  input.name = std::filesystem::path(d.file).filename().string();
  input.file_size = bytes.size();
  input.sha256 = to_hex(sha256(bytes));
  out << (d.json ? dump_json(input) : dump_text(input));
  return 0;
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  init_tool_crypto();
  CLI::App app{"Build the cvtpm IGVM image (VMPL0 firmware + OVMF) and inspect IGVM files.",
               std::string(kTool)};
  app.set_version_flag("--version", version_line(kTool));
  app.require_subcommand(1);
  app.footer(data_search_help());

  BuildCommand build;
  CLI::App* build_cmd =
      app.add_subcommand("build", "Build an IGVM image from the firmware and OVMF");
  add_build_options(*build_cmd, build);

  DumpCommand dump;
  CLI::App* dump_cmd = app.add_subcommand("dump", "Describe every header of an IGVM file");
  dump_cmd->add_option("file", dump.file, "IGVM file")->required()->type_name("FILE");
  dump_cmd->add_flag("--json", dump.json, "JSON instead of text");

  if (auto status = parse_command_line(app, kTool, argc, argv, out, err)) return *status;

  std::ostringstream result;
  const int status = run_guarded(kTool, err, [&] {
    if (build_cmd->parsed()) return run_build(build, err);
    return run_dump(dump, result);
  });
  if (status == 0) out << result.str();
  return status;
}

}  // namespace cvtpm::igvmgen
