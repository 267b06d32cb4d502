#include "cvtpm/launch/cli.h"

#include <sys/un.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstring>
#include <sstream>

#include "cvtpm/formats/boot/boot_params.h"
#include "cvtpm/formats/snp/id_block.h"
#include "cvtpm/launch/emulator.h"
#include "cvtpm/launch/host_checks.h"
#include "cvtpm/launch/image_info.h"
#include "cvtpm/launch/launch_config.h"
#include "cvtpm/launch/qemu_command.h"
#include "cvtpm/launch/state_server.h"
#include "cvtpm/launch/state_store.h"
#include "cvtpm/support/data_files.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/files.h"
#include "cvtpm/support/process.h"
#include "cvtpm/support/tool_main.h"

namespace cvtpm::launch {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kTool = "cvtpm-launch";
constexpr const char* kDefaultQemu = "qemu-system-x86_64";

// ---------------------------------------------------------------------------------------------
// check

struct CheckOptions {
  std::string qemu = kDefaultQemu;
  std::string root = "/";
  std::string memory = "2G";
  bool json = false;
};

ordered_json requirements_json(const std::vector<Requirement>& reqs) {
  ordered_json rows = ordered_json::array();
  for (const Requirement& r : reqs) {
    ordered_json row{
        {"requirement", r.name}, {"status", status_name(r.status)}, {"detail", r.detail}};
    if (r.status == Requirement::Status::kMissing) row["fix"] = r.fix;
    if (r.status == Requirement::Status::kUnknown) row["needs"] = r.fix;
    rows.push_back(row);
  }
  return rows;
}

std::size_t count(const std::vector<Requirement>& reqs, Requirement::Status status) {
  std::size_t n = 0;
  for (const Requirement& r : reqs) n += r.status == status ? 1 : 0;
  return n;
}

// Exit status: 0 when nothing detectable is missing (UNKNOWN requirements are listed with what
// they need: only the launch can tell), kExitHostUnsuitable when something is missing.
int run_check(const CheckOptions& o, std::ostream& out) {
  const std::uint64_t memory = parse_memory_mib(o.memory, "--memory") << 20;
  const HostFacts facts = probe_host(o.root, o.qemu);
  const std::vector<Requirement> reqs = evaluate_host(facts, memory);
  const std::size_t unknown = count(reqs, Requirement::Status::kUnknown);
  if (o.json) {
    out << ordered_json{{"nothing_missing", none_missing(reqs)},
                        {"missing", count(reqs, Requirement::Status::kMissing)},
                        {"unknown", unknown},
                        {"requirements", requirements_json(reqs)}}
               .dump(2)
        << "\n";
  } else {
    out << requirements_table(reqs);
    if (!none_missing(reqs)) {
      out << "\nThis host cannot launch SEV-SNP guests with cvtpm images (see the fixes above);\n"
             "`cvtpm-launch emulate` runs the vTPM firmware under QEMU TCG instead.\n";
    } else if (unknown > 0) {
      out << "\nNothing detectable is missing. " << unknown
          << (unknown == 1 ? " requirement" : " requirements")
          << " cannot be detected from here (UNKNOWN, with what it needs); the launch itself "
             "will tell.\n";
    } else {
      out << "\nThis host can launch SEV-SNP guests with cvtpm images.\n";
    }
  }
  return none_missing(reqs) ? 0 : kExitHostUnsuitable;
}

// ---------------------------------------------------------------------------------------------
// run

struct RunOptions {
  std::optional<std::string> config;
  LaunchSettings flags;
  std::vector<std::string> disks;
  bool no_network = false;
  bool author_key_enabled = false;
  std::string root = "/";
  bool dry_run = false;
  bool json = false;
  std::string state_file;
  bool state_reset = false;
};

void add_run_options(CLI::App& cmd, RunOptions& o) {
  LaunchSettings& f = o.flags;
  cmd.add_option("--igvm", f.igvm, "IGVM image to launch (from cvtpm-igvmgen)")->type_name("IMAGE");
  cmd.add_option("--config", o.config, "JSON config file with any of these settings (flags win)")
      ->type_name("FILE");
  cmd.add_option("--qemu", f.qemu, "QEMU binary (default qemu-system-x86_64 from PATH)")
      ->type_name("PATH");
  cmd.add_option("--vcpus", f.vcpus, "vCPUs (default 1)")->type_name("N");
  cmd.add_option("--memory", f.memory, "Guest memory, e.g. 4G or 2048M (default 2G)")
      ->type_name("SIZE");
  cmd.add_option("--cpu", f.cpu, "QEMU CPU model (default EPYC-v4)")->type_name("MODEL");
  cmd.add_option("--cbitpos", f.cbitpos, "C-bit position (default: the host's, from CPUID)")
      ->type_name("N");
  cmd.add_option("--reduced-phys-bits", f.reduced_phys_bits,
                 "Reduced physical address bits (default: the host's)")
      ->type_name("N");
  cmd.add_option("--policy", f.policy, "SNP guest policy (default 0x30000)")->type_name("VALUE");
  cmd.add_option("--id-block", f.id_block, "SNP ID block, base64 (cvtpm-measure id-block)")
      ->type_name("B64");
  cmd.add_option("--id-auth", f.id_auth, "SNP ID authentication information, base64")
      ->type_name("B64");
  cmd.add_flag("--author-key-enabled", o.author_key_enabled, "The ID auth carries an author key");
  cmd.add_option("--host-data", f.host_data, "32 bytes of HOST_DATA for the report, base64")
      ->type_name("B64");
  cmd.add_option("--disk", o.disks, "Disk image (raw, or qcow2 by extension); repeatable")
      ->type_name("FILE");
  cmd.add_flag("--no-network", o.no_network, "No network device (default: user networking)");
  cmd.add_option("--serial", f.serial, "QEMU -serial value (default mon:stdio)")->type_name("SPEC");
  cmd.add_option("--guest-vmpl", f.guest_vmpl,
                 "VMPL of the guest firmware, for the host's device-plane (default 2)")
      ->type_name("N");
  cmd.add_option("--out-dir", f.out_dir, "Where the expected launch digest JSON goes (default .)")
      ->type_name("DIR");
  cmd.add_option("--root", o.root, "Read host facts below this directory (tests)")
      ->type_name("DIR");
  cmd.add_option("--state", o.state_file,
                 "Persistent vTPM: its sealed state lives in FILE, served to the firmware on COM3 "
                 "while QEMU runs (created if absent; docs/persistence.md)")
      ->type_name("FILE");
  cmd.add_flag("--state-reset", o.state_reset,
               "With --state: start a new TPM; the first write replaces FILE");
  cmd.add_flag("--dry-run", o.dry_run, "Print the QEMU command instead of running it");
  cmd.add_flag("--json", o.json, "With --dry-run: print the command and digest as JSON");
}

LaunchSettings settings_from(const RunOptions& o) {
  LaunchSettings base = o.config ? load_settings_file(*o.config) : LaunchSettings{};
  LaunchSettings flags = o.flags;
  if (!o.disks.empty()) {
    std::vector<Disk> disks;
    for (const std::string& d : o.disks) disks.push_back({d, ""});
    flags.disks = disks;
  }
  if (o.no_network) flags.network = false;
  if (o.author_key_enabled) flags.author_key_enabled = true;
  return layer(base, flags);
}

// An image whose vTPM state is bound to its ID block (identity) gets its key only from a launch
// whose ID block has a guest SVN >= the image's minimum (the PSP refuses a higher GUEST_SVN than
// the launch's, and a launch without an ID block has SVN 0): the firmware would not start the TPM,
// so say it before anything starts. --id-block, when given, is the block QEMU passes; else the
// image's own.
void check_state_binding(const ImageInfo& image, const LaunchPlan& plan, const std::string& igvm) {
  if (image.state_binding != static_cast<std::uint32_t>(formats::boot::StateBinding::kIdentity)) {
    return;
  }
  std::optional<std::uint32_t> svn = image.id_block_svn;
  if (plan.id_block) {
    const std::vector<std::uint8_t> block = parse_base64(*plan.id_block, "--id-block");
    formats::snp::IdBlock parsed{};
    if (block.size() < sizeof parsed) throw InputError("--id-block", "shorter than an ID block");
    std::memcpy(&parsed, block.data(), sizeof parsed);
    svn = parsed.guest_svn;
  }
  const std::string minimum = std::to_string(image.state_min_svn);
  if (!svn) {
    throw InputError("--state",
                     igvm + " binds its vTPM state to its ID block (identity, minimum SVN " +
                         minimum +
                         ") but the launch has none: the firmware would not start the "
                         "TPM (sign the image: cvtpm-measure igvm sign --svn N)");
  }
  if (*svn < image.state_min_svn) {
    throw InputError("--state", igvm + " binds its vTPM state to ID blocks with SVN >= " + minimum +
                                    ", the launch's has " + std::to_string(*svn) +
                                    ": the firmware would not start the TPM");
  }
}

// `run --state`: QEMU as a child (on this terminal), the state link served on its COM3 socket
// until QEMU ends; QEMU's exit status is the command's.
int run_with_state(const RunOptions& o, const LaunchPlan& plan,
                   const std::vector<std::string>& argv, const std::filesystem::path& stem,
                   std::ostream& out, std::ostream& err) {
  std::error_code ec;
  std::filesystem::remove(plan.state_socket, ec);
  const std::filesystem::path log = stem.string() + ".state.log";
  StateLinkThread server(o.state_file, o.state_reset, plan.state_socket, log);
  out << "vTPM state: " << o.state_file << (o.state_reset ? " (--state-reset: a new TPM)" : "")
      << ", served on COM3; events in " << log.string() << "\n";
  out.flush();
  int status = 0;
  try {
    ChildProcess qemu(argv, {});
    status = qemu.wait();
  } catch (const std::runtime_error& e) {
    throw InputError(plan.qemu, std::string("cannot start: ") + e.what());
  }
  server.stop();
  std::filesystem::remove(plan.state_socket, ec);
  if (status != 0) err << kTool << ": QEMU exited with status " << status << "\n";
  return status;
}

int run_run(const RunOptions& o, std::ostream& out, std::ostream& err) {
  const LaunchSettings settings = settings_from(o);
  if (!settings.igvm) throw InputError("--igvm", "required: the IGVM image to launch");
  check_state_file_options(o.state_file, o.state_reset);

  // The image must be an IGVM file that can launch on SNP: measure it before anything else.
  const ImageInfo image = inspect_image(*settings.igvm);

  const std::string qemu = settings.qemu.value_or(kDefaultQemu);
  const HostFacts facts = probe_host(o.root, qemu);
  LaunchPlan plan = resolve_plan(settings, facts.qemu.has_device_plane);
  if (!settings.guest_vmpl && image.guest_vmpl) plan.guest_vmpl = *image.guest_vmpl;
  // An ID block vouches for one launch digest; the PSP refuses to launch anything else, so
  // catch the mismatch here with a message instead of an opaque launch failure.
  if (plan.id_block) {
    const std::vector<std::uint8_t> block = parse_base64(*plan.id_block, "--id-block");
    const std::string vouched = to_hex(std::span(block).first(48));
    if (vouched != image.launch_digest_hex) {
      throw InputError("--id-block", "vouches for launch digest " + vouched + ", but " + plan.igvm +
                                         " measures " + image.launch_digest_hex);
    }
  }
  if (!o.state_file.empty()) check_state_binding(image, plan, *settings.igvm);
  const std::vector<Requirement> reqs = evaluate_host(facts, plan.memory_mib << 20);
  if (!o.dry_run && !none_missing(reqs)) {
    err << kTool << ": error: this host cannot launch SEV-SNP guests:\n";
    for (const Requirement& r : reqs) {
      if (r.status == Requirement::Status::kMissing) {
        err << "  " << r.name << ": " << r.detail << " (fix: " << r.fix << ")\n";
      }
    }
    err << kTool
        << ": nothing was started; `cvtpm-launch emulate` runs the vTPM firmware under "
           "QEMU TCG on any host\n";
    return kExitHostUnsuitable;
  }
  plan.cbitpos = resolve_cbitpos(settings, host_cbit_position(facts.cpu));
  const std::filesystem::path stem =
      std::filesystem::path(plan.out_dir) / std::filesystem::path(plan.igvm).stem();
  if (!o.state_file.empty()) {
    // QEMU's COM3 socket and the state server's log, next to the launch record.
    plan.state_socket = stem.string() + ".state.sock";
    if (plan.state_socket.find(',') != std::string::npos) {
      throw InputError("--out-dir", plan.state_socket + ": QEMU's -serial unix: takes no comma");
    }
    if (plan.state_socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
      throw InputError("--out-dir", plan.state_socket + ": too long for a Unix socket path");
    }
  }
  const std::vector<std::string> argv = snp_qemu_command(plan);

  ordered_json record;
  record["tool"] = version_line(kTool);
  record["igvm"] = {{"file", std::filesystem::path(plan.igvm).filename().string()},
                    {"sha256", image.sha256_hex}};
  record["expected_launch_digest"] = image.launch_digest_hex;
  record["vcpus"] = plan.vcpus;
  record["policy"] = "0x" + [&] {
    std::ostringstream s;
    s << std::hex << plan.policy;
    return s.str();
  }();
  record["qemu_argv"] = argv;
  if (!o.state_file.empty()) {
    record["state"] = {{"file", o.state_file}, {"reset", o.state_reset}};
  }

  for (const Requirement& r : reqs) {
    if (r.status == Requirement::Status::kUnknown) {
      err << kTool << ": note: cannot be detected here: " << r.name << " (needs: " << r.fix
          << ")\n";
    }
  }
  if (o.dry_run) {
    if (!none_missing(reqs)) {
      err << kTool << ": note: this host cannot run the command (`cvtpm-launch check` says why)\n";
    }
    if (o.json) {
      ordered_json j = record;
      j["command"] = shell_join(argv);
      out << j.dump(2) << "\n";
    } else {
      out << "# expected SNP launch digest: " << image.launch_digest_hex << "\n"
          << shell_join(argv) << "\n";
    }
    return 0;
  }

  const std::filesystem::path record_path =
      std::filesystem::path(plan.out_dir) /
      (std::filesystem::path(plan.igvm).stem().string() + ".launch.json");
  write_file_atomic(record_path, record.dump(2) + "\n");
  out << "expected SNP launch digest: " << image.launch_digest_hex << " (recorded in "
      << record_path.string() << ")\n"
      << "starting: " << shell_join(argv) << "\n";
  out.flush();
  if (!o.state_file.empty()) return run_with_state(o, plan, argv, stem, out, err);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  throw InputError(plan.qemu, std::string("cannot start: ") + std::strerror(errno));
}

// ---------------------------------------------------------------------------------------------
// emulate

std::atomic<bool> g_stop{false};
void on_stop_signal(int) {
  g_stop.store(true);
}

struct EmulateCliOptions {
  EmulateOptions options;
  std::optional<unsigned> port;
  unsigned ready_timeout = 120;
  bool guest = false;
  std::optional<std::string> ovmf, ovmf_vars, kernel, initrd, append, guest_memory;
  std::vector<std::string> disks;
  std::optional<std::string> data_dir;
};

// The guest VM's options, each only with --guest; none without it.
std::optional<GuestVmOptions> guest_options(const EmulateCliOptions& o) {
  const std::pair<const char*, bool> given[] = {{"--ovmf", o.ovmf.has_value()},
                                                {"--ovmf-vars", o.ovmf_vars.has_value()},
                                                {"--kernel", o.kernel.has_value()},
                                                {"--initrd", o.initrd.has_value()},
                                                {"--append", o.append.has_value()},
                                                {"--disk", !o.disks.empty()},
                                                {"--guest-memory", o.guest_memory.has_value()}};
  GuestVmOptions g;
  for (const auto& [option, present] : given) {
    if (present && !o.guest) throw InputError(option, "needs --guest");
  }
  if (!o.guest) return std::nullopt;
  if (o.ovmf_vars && !o.ovmf) throw InputError("--ovmf-vars", "needs --ovmf");
  if (o.ovmf) {
    // One file is a unified image (code and variable store): loaded with -bios.
    g.ovmf_code = *o.ovmf;
    g.ovmf_vars = o.ovmf_vars.value_or("");
  }
  g.kernel = o.kernel.value_or("");
  g.initrd = o.initrd.value_or("");
  g.append = o.append.value_or(o.kernel ? "console=ttyS0" : "");
  for (const std::string& d : o.disks) g.disks.push_back(resolve_disk({d, ""}));
  if (o.guest_memory) g.memory_mib = parse_memory_mib(*o.guest_memory, "--guest-memory");
  check_guest_options(g);
  return g;
}

int run_emulate(EmulateCliOptions& o, std::ostream& out, std::ostream& err) {
  if (o.port) {
    if (*o.port == 0 || *o.port > 65534) {
      throw InputError("--port",
                       std::to_string(*o.port) + " is not a port with a free successor (1..65534)");
    }
    o.options.port = static_cast<std::uint16_t>(*o.port);
  }
  o.options.ready_timeout = std::chrono::seconds(o.ready_timeout);
  if (o.guest && o.options.smoke) throw InputError("--smoke", "not with --guest");
  o.options.guest = guest_options(o);
  check_state_options(o.options);
  // The firmware last: a mistake in the options is reported as itself, whether or not this
  // build has a firmware (the asan preset builds none). The search order every tool shares
  // (cvtpm/support/data_files.h).
  if (o.options.firmware.empty()) {
    o.options.firmware = find_data_file("cvtpm-fw.elf", process_data_search(o.data_dir)).string();
  }
  // The bridge is a tool: beside this one in the build tree's bin/ and in an installed bin/.
  if (o.options.bridge.empty()) {
    o.options.bridge = (running_tool_dir() / "cvtpm-tpm-bridge").string();
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return run_emulation(o.options, out, err, g_stop);
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  init_tool_crypto();
  CLI::App app{
      "Launch a confidential VM with the cvtpm vTPM from an IGVM image (SEV-SNP), check "
      "whether this host can, or emulate the vTPM firmware anywhere.",
      std::string(kTool)};
  app.set_version_flag("--version", version_line(kTool));
  app.require_subcommand(1);
  app.footer(data_search_help());

  CheckOptions check;
  CLI::App* check_cmd =
      app.add_subcommand("check", "Check every host requirement for SEV-SNP launches");
  check_cmd->add_option("--qemu", check.qemu, "QEMU binary to check")->type_name("PATH");
  check_cmd->add_option("--memory", check.memory, "Guest memory to check for (default 2G)")
      ->type_name("SIZE");
  check_cmd->add_option("--root", check.root, "Read host facts below this directory (tests)")
      ->type_name("DIR");
  check_cmd->add_flag("--json", check.json, "Print the requirements as JSON");

  RunOptions run;
  CLI::App* run_cmd =
      app.add_subcommand("run", "Launch the IGVM image as an SEV-SNP guest with QEMU");
  add_run_options(*run_cmd, run);

  EmulateCliOptions emulate;
  CLI::App* emulate_cmd = app.add_subcommand(
      "emulate",
      "Run the vTPM firmware in its native mode under QEMU TCG (any Linux host) and expose its "
      "TPM to tpm2-tools on a loopback port, or (--guest) to a second VM with OVMF as its TPM");
  emulate_cmd
      ->add_option("--port", emulate.port,
                   "TPM port for tpm2-tools (control on PORT+1; default: free ports, none with "
                   "--guest)")
      ->type_name("N");
  emulate_cmd->add_flag("--guest", emulate.guest,
                        "Boot a guest VM (OVMF, TCG) whose TPM is the firmware's, its console on "
                        "standard output; the command ends with it");
  emulate_cmd
      ->add_option("--ovmf", emulate.ovmf,
                   std::string("Guest OVMF: a code image with --ovmf-vars, or one unified image "
                               "(default ") +
                       kDebianOvmfCode + " with " + kDebianOvmfVars + ", Debian 12's)")
      ->type_name("FILE");
  emulate_cmd
      ->add_option("--ovmf-vars", emulate.ovmf_vars,
                   "Variable store template for --ovmf (copied, never written)")
      ->type_name("FILE");
  emulate_cmd->add_option("--kernel", emulate.kernel, "Guest kernel, loaded by OVMF")
      ->type_name("FILE");
  emulate_cmd->add_option("--initrd", emulate.initrd, "Guest initrd")->type_name("FILE");
  emulate_cmd
      ->add_option("--append", emulate.append, "Guest kernel command line (default console=ttyS0)")
      ->type_name("STR");
  emulate_cmd
      ->add_option("--disk", emulate.disks, "Guest disk (raw, or qcow2 by extension); repeatable")
      ->type_name("FILE");
  emulate_cmd->add_option("--guest-memory", emulate.guest_memory, "Guest memory (default 512M)")
      ->type_name("SIZE");
  emulate_cmd->add_flag("--smoke", emulate.options.smoke, "Run a short TPM smoke test, then stop");
  emulate_cmd
      ->add_option("--firmware", emulate.options.firmware,
                   "Firmware ELF (default: cvtpm-fw.elf, found as `cvtpm-launch --help` says)")
      ->type_name("ELF");
  emulate_cmd
      ->add_option("--data-dir", emulate.data_dir,
                   "Directory holding cvtpm-fw.elf (overrides " + std::string(kDataDirEnv) +
                       " and the default search)")
      ->type_name("DIR")
      ->excludes("--firmware");
  emulate_cmd
      ->add_option("--bridge", emulate.options.bridge,
                   "cvtpm-tpm-bridge binary (default: next to cvtpm-launch)")
      ->type_name("PATH");
  emulate_cmd->add_option("--qemu", emulate.options.qemu, "QEMU binary")->type_name("PATH");
  emulate_cmd
      ->add_option("--log-dir", emulate.options.log_dir,
                   "Keep QEMU, console and bridge logs here (default: a temporary directory)")
      ->type_name("DIR");
  emulate_cmd
      ->add_option("--ready-timeout", emulate.ready_timeout,
                   "Seconds the firmware may take to come up (default 120)")
      ->type_name("SECONDS");
  emulate_cmd
      ->add_option("--state", emulate.options.state_file,
                   "Persistent vTPM: its sealed state lives in FILE, read at boot and written "
                   "after every change (created if absent; docs/persistence.md)")
      ->type_name("FILE");
  emulate_cmd->add_flag("--state-reset", emulate.options.state_reset,
                        "With --state: start a new TPM; the first write replaces FILE");
  emulate_cmd
      ->add_option("--dev-key", emulate.options.dev_key,
                   "With --state: the INSECURE development key, 64 hex digits (default: the "
                   "published one)")
      ->type_name("HEX");

  if (auto status = parse_command_line(app, kTool, argc, argv, out, err)) return *status;

  std::ostringstream result;
  int status = run_guarded(kTool, err, [&] {
    try {
      if (check_cmd->parsed()) return run_check(check, result);
      if (emulate_cmd->parsed()) return run_emulate(emulate, out, err);
      // `run` prints its own progress before handing the terminal to QEMU.
      out << result.str();
      result.str("");
      return run_run(run, out, err);
    } catch (const HostUnsuitableError& e) {
      err << kTool << ": error: " << e.what() << "\n";
      return kExitHostUnsuitable;
    }
  });
  out << result.str();
  return status;
}

}  // namespace cvtpm::launch
