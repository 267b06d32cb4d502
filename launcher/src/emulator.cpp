#include "cvtpm/launch/emulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "cvtpm/launch/qemu_command.h"
#include "cvtpm/launch/state_server.h"
#include "cvtpm/launch/state_store.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
#include "cvtpm/support/files.h"
#include "cvtpm/support/process.h"

namespace cvtpm::launch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool port_free(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The last lines of a log, for error messages.
std::string tail(const fs::path& p, std::size_t lines) {
  std::string text = read_text(p);
  std::size_t pos = text.size();
  for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

struct Step {
  std::string what;
  std::vector<std::string> argv;
};

// The complete lines a growing log file gained since the last call.
class LineFollower {
 public:
  explicit LineFollower(fs::path path) : path_(std::move(path)) {}
  std::vector<std::string> next() {
    const std::string text = read_text(path_);
    std::vector<std::string> lines;
    while (offset_ < text.size()) {
      const std::size_t end = text.find('\n', offset_);
      if (end == std::string::npos) break;
      lines.push_back(text.substr(offset_, end - offset_));
      offset_ = end + 1;
    }
    return lines;
  }

 private:
  fs::path path_;
  std::size_t offset_ = 0;
};

bool is_hex_key(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

}  // namespace

void check_state_options(const EmulateOptions& o) {
  if (o.state_file.empty() && !o.dev_key.empty()) throw InputError("--dev-key", "needs --state");
  check_state_file_options(o.state_file, o.state_reset);
  if (!o.dev_key.empty() && !is_hex_key(o.dev_key)) {
    throw InputError("--dev-key", "must be 64 hex digits (32 bytes)");
  }
}

std::uint16_t find_free_port_pair() {
  // Ephemeral-range candidates; the bridge binds them right after, so a collision is unlikely
  // and reported clearly by the bridge if it happens.
  for (int attempt = 0; attempt < 200; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) ::close(fd);
      continue;
    }
    ::close(fd);
    const std::uint16_t port = ntohs(addr.sin_port);
    if (port < 65535 && port_free(port) && port_free(static_cast<std::uint16_t>(port + 1)))
      return port;
  }
  throw std::runtime_error("no two consecutive free TCP ports on 127.0.0.1");
}

bool run_smoke_test(std::uint16_t port, const fs::path& work_dir, std::ostream& out) {
  const std::string tcti = "swtpm:host=127.0.0.1,port=" + std::to_string(port);
  const std::string measurement_text = "cvtpm smoke test";
  const Sha256Digest measurement = sha256(std::span(
      reinterpret_cast<const std::uint8_t*>(measurement_text.data()), measurement_text.size()));
  // PCR 16 (debug, resettable) starts at zero after TPM2_Startup(CLEAR): one extend gives
  // SHA-256(zeros || measurement).
  std::vector<std::uint8_t> extend_input(32, 0);
  extend_input.insert(extend_input.end(), measurement.begin(), measurement.end());
  const std::string expected_pcr = to_hex(sha256(extend_input));
  const std::string primary = (work_dir / "smoke-primary.ctx").string();

  const std::vector<Step> steps = {
      {"TPM2_Startup(CLEAR)", {"tpm2_startup", "-T", tcti, "-c"}},
      {"TPM2_GetRandom(16)", {"tpm2_getrandom", "-T", tcti, "16", "--hex"}},
      {"TPM2_PCR_Extend(16)", {"tpm2_pcrextend", "-T", tcti, "16:sha256=" + to_hex(measurement)}},
      {"TPM2_PCR_Read(16)", {"tpm2_pcrread", "-T", tcti, "sha256:16"}},
      {"TPM2_CreatePrimary(ECC P-256)",
       {"tpm2_createprimary", "-T", tcti, "-C", "o", "-G", "ecc", "-c", primary}},
      {"TPM2_FlushContext", {"tpm2_flushcontext", "-T", tcti, "-t"}},
  };
  bool ok = true;
  for (const Step& s : steps) {
    const auto start = std::chrono::steady_clock::now();
    ProcessResult r = run_process(s.argv, work_dir, 300s);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::string problem;
    if (r.timed_out) {
      problem = "timed out";
    } else if (r.exit_code != 0) {
      // tpm2-tools print the TPM response code on a later line than the first; keep them all.
      std::string detail;
      for (char c : r.err) detail += c == '\n' ? ' ' : c;
      if (detail.size() > 300) detail = detail.substr(0, 300) + "...";
      problem =
          "exit status " + std::to_string(r.exit_code) + (detail.empty() ? "" : ": " + detail);
    } else if (s.argv[0] == "tpm2_getrandom" &&
               r.out.find_first_not_of("0123456789abcdef\n") != std::string::npos) {
      problem = "unexpected output '" + r.out + "'";
    } else if (s.argv[0] == "tpm2_pcrread" && r.out.find("0x" + [&] {
                 std::string upper = expected_pcr;
                 for (char& c : upper)
                   c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                 return upper;
               }()) == std::string::npos) {
      problem = "PCR 16 is not SHA-256(0^32 || measurement) = " + expected_pcr;
    }
    out << "smoke: " << s.what << " ... " << (problem.empty() ? "ok" : "FAILED (" + problem + ")")
        << " (" << ms.count() << " ms)\n";
    out.flush();
    if (!problem.empty()) {
      ok = false;
      break;
    }
  }
  return ok;
}

void check_guest_options(const GuestVmOptions& g) {
  auto readable = [](const std::string& path, const std::string& option, const std::string& fix) {
    if (!fs::is_regular_file(path) || ::access(path.c_str(), R_OK) != 0) {
      throw InputError(option, path + ": not a readable file" + fix);
    }
  };
  readable(
      g.ovmf_code, "--ovmf",
      g.ovmf_code == kDebianOvmfCode ? " (install Debian's ovmf: scripts/install-deps.sh)" : "");
  if (!g.ovmf_vars.empty()) readable(g.ovmf_vars, "--ovmf-vars", "");
  if (!g.kernel.empty()) readable(g.kernel, "--kernel", "");
  if (!g.initrd.empty()) {
    if (g.kernel.empty()) throw InputError("--initrd", "needs --kernel");
    readable(g.initrd, "--initrd", "");
  }
  if (!g.append.empty() && g.kernel.empty()) throw InputError("--append", "needs --kernel");
  for (const Disk& d : g.disks) readable(d.path, "--disk", "");
}

namespace {

// The firmware's VM and its bridge, started together and stopped together.
class FirmwareVm {
 public:
  FirmwareVm(const EmulateOptions& o, const fs::path& dir, std::optional<std::uint16_t> port,
             const std::string& qemu_socket)
      : dir_(dir) {
    EmulationPlan plan;
    plan.qemu = o.qemu;
    plan.firmware = o.firmware;
    plan.console_log = (dir / "console.log").string();
    plan.link_socket = (dir / "vtpm-link.sock").string();
    std::error_code ec;
    fs::remove(plan.link_socket, ec);
    if (!o.state_file.empty()) {
      plan.state_socket = (dir / "state.sock").string();
      fs::remove(plan.state_socket, ec);
      plan.append = "state";
      if (!o.dev_key.empty()) plan.append += " devkey=" + o.dev_key;
      start_state_server(o, plan.state_socket);
    }
    qemu_.emplace(emulation_qemu_command(plan),
                  ChildProcess::Options{{}, dir / "qemu.log", dir / "qemu.log"});
    // QEMU creates the link socket at start-up; the bridge keeps retrying until it can connect.
    std::vector<std::string> bridge = {o.bridge, "--serial", "unix:" + plan.link_socket,
                                       "--connect-timeout",
                                       std::to_string(o.ready_timeout.count())};
    if (port) bridge.insert(bridge.end(), {"--port", std::to_string(*port)});
    if (!qemu_socket.empty()) bridge.insert(bridge.end(), {"--qemu-socket", qemu_socket});
    bridge_.emplace(bridge, ChildProcess::Options{{}, dir / "bridge.log", dir / "bridge.log"});
  }

  // Waits until the bridge reports the firmware's link up; returns why not otherwise. With
  // `progress`, the firmware's boot stages are copied there as they appear on its console.
  std::string wait_ready(std::chrono::seconds timeout, const std::atomic<bool>& stop,
                         std::ostream* progress, std::ostream& out) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t shown = 0;
    for (;;) {
      if (progress) shown = show_stages(*progress, shown);
      show_state(out);
      if (!refusal_.empty()) return "the firmware refused the stored vTPM state (above)";
      if (read_text(dir_ / "bridge.log").find("firmware link up") != std::string::npos) {
        return "";
      }
      if (stop) return "interrupted";
      if (qemu_->poll() >= 0) return "QEMU exited with status " + std::to_string(qemu_->poll());
      if (bridge_->poll() >= 0) {
        return "cvtpm-tpm-bridge exited with status " + std::to_string(bridge_->poll());
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return "the firmware did not come up within " + std::to_string(timeout.count()) + " s";
      }
      std::this_thread::sleep_for(50ms);
    }
  }

  // Why the firmware side ended, or empty while QEMU and the bridge both run.
  std::string ended() {
    if (qemu_->poll() >= 0) {
      return "the firmware's QEMU exited with status " + std::to_string(qemu_->poll());
    }
    if (bridge_->poll() >= 0) {
      return "cvtpm-tpm-bridge exited with status " + std::to_string(bridge_->poll());
    }
    return "";
  }

  std::string log_tails() const {
    return "--- console.log (end) ---\n" + tail(dir_ / "console.log", 15) +
           "--- qemu.log (end) ---\n" + tail(dir_ / "qemu.log", 5) + "--- bridge.log (end) ---\n" +
           tail(dir_ / "bridge.log", 5);
  }

  void stop() {
    bridge_->stop(SIGTERM, 2s);
    qemu_->stop(SIGTERM, 5s);
    if (state_thread_) state_thread_->stop();
  }

  ~FirmwareVm() {
    if (state_thread_) state_thread_->stop();
  }

  // Copies the persistence lines to `out`: the firmware's ("state: ...", including a refusal)
  // and the host state server's (state.log). Returns whether the firmware refused its state.
  bool show_state(std::ostream& out) {
    if (!state_) return false;
    for (const std::string& line : console_follower_.next()) {
      const auto at = line.find("] ");
      const std::string text = at == std::string::npos ? line : line.substr(at + 2);
      if (text.find("state: ") == std::string::npos) continue;
      out << "  firmware " << text << "\n";
      if (text.find("state: REFUSED") != std::string::npos && refusal_.empty()) refusal_ = text;
    }
    for (const std::string& line : state_follower_.next()) out << "  host " << line << "\n";
    out.flush();
    return !refusal_.empty();
  }
  const std::string& refusal() const { return refusal_; }

 private:
  // The console's "init:" and "ready:" lines after the first `shown`; returns how many there are.
  std::size_t show_stages(std::ostream& out, std::size_t shown) const {
    std::istringstream lines(read_text(dir_ / "console.log"));
    std::size_t seen = 0;
    for (std::string line; std::getline(lines, line);) {
      // "[   0.514042] I ready: vTPM up in 514034 us"
      const auto at = line.find("] I ");
      if (at == std::string::npos) continue;
      const std::string text = line.substr(at + 4);
      if (!text.starts_with("init: ") && !text.starts_with("ready: ")) continue;
      if (seen++ >= shown) out << "  firmware " << text << "\n" << std::flush;
    }
    return std::max(seen, shown);
  }

  // The host's end of the state link, on its own thread for QEMU's lifetime, logging to
  // state.log (which show_state() copies to the user).
  void start_state_server(const EmulateOptions& o, const std::string& socket) {
    state_ = true;
    state_thread_.emplace(o.state_file, o.state_reset, socket, dir_ / "state.log");
  }

  fs::path dir_;
  std::optional<ChildProcess> qemu_;
  std::optional<ChildProcess> bridge_;
  bool state_ = false;
  std::optional<StateLinkThread> state_thread_;
  LineFollower console_follower_{dir_ / "console.log"};
  LineFollower state_follower_{dir_ / "state.log"};
  std::string refusal_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string one_decimal(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", seconds);
  return text;
}

// The guest VM on the firmware's TPM; its serial console is this process's standard output.
int run_guest_vm(const EmulateOptions& o, FirmwareVm& firmware, const fs::path& dir,
                 std::chrono::steady_clock::time_point started, std::ostream& out,
                 std::ostream& err, const std::atomic<bool>& stop) {
  const GuestVmOptions& g = *o.guest;
  GuestVmPlan plan;
  plan.qemu = o.qemu;
  plan.memory_mib = g.memory_mib;
  plan.ovmf_code = g.ovmf_code;
  if (!g.ovmf_vars.empty()) {
    // A private copy: the guest's variable writes never reach the template.
    plan.ovmf_vars = (dir / "OVMF_VARS.fd").string();
    fs::copy_file(g.ovmf_vars, plan.ovmf_vars, fs::copy_options::overwrite_existing);
    fs::permissions(plan.ovmf_vars, fs::perms::owner_read | fs::perms::owner_write);
  }
  plan.tpm_socket = (dir / "tpm.sock").string();
  plan.kernel = g.kernel;
  plan.initrd = g.initrd;
  plan.append = g.append;
  plan.disks = g.disks;
  const std::vector<std::string> argv = guest_vm_qemu_command(plan);
  // The exact command, for whoever reruns the guest with another TPM (bench/guest_boot.py).
  write_file_atomic(dir / "guest-qemu.cmdline", shell_join(argv) + "\n");
  out << "starting the guest VM (" << (g.kernel.empty() ? "OVMF" : "OVMF, then the kernel")
      << "); its console follows, QEMU's messages go to " << (dir / "guest-qemu.log").string()
      << "\n";
  out.flush();
  ChildProcess guest(argv, {{}, {}, dir / "guest-qemu.log"});
  const auto guest_started = std::chrono::steady_clock::now();
  std::string problem;
  int guest_status = -1;
  for (;;) {
    guest_status = guest.poll();
    if (guest_status >= 0) break;
    if (stop) break;
    problem = firmware.ended();
    if (!problem.empty()) break;
    firmware.show_state(out);
    std::this_thread::sleep_for(50ms);
  }
  if (guest_status < 0) guest_status = guest.stop(SIGTERM, 5s);
  firmware.stop();
  firmware.show_state(out);
  out << "\n";
  if (!problem.empty()) {
    err << "cvtpm-launch: error: " << problem << "; the guest VM was stopped\n"
        << firmware.log_tails();
  } else if (stop) {
    out << "interrupted: the guest VM was stopped\n";
  } else if (guest_status != 0) {
    err << "cvtpm-launch: error: the guest VM's QEMU exited with status " << guest_status << "\n"
        << "--- guest-qemu.log (end) ---\n"
        << tail(dir / "guest-qemu.log", 5);
  }
  out << "guest VM ran " << one_decimal(seconds_since(guest_started)) << " s ("
      << one_decimal(seconds_since(started))
      << " s in all); both QEMUs are gone; firmware console: " << (dir / "console.log").string()
      << "\n";
  if (!problem.empty()) return 1;
  if (stop) return 0;
  return guest_status == 0 ? 0 : 1;
}

}  // namespace

int run_emulation(const EmulateOptions& o, std::ostream& out, std::ostream& err,
                  const std::atomic<bool>& stop) {
  const auto started = std::chrono::steady_clock::now();
  if (o.guest) check_guest_options(*o.guest);
  check_state_options(o);
  if (!fs::is_regular_file(o.firmware)) {
    throw InputError(
        o.firmware,
        "firmware not found (build it: cmake --build --preset default --target cvtpm-fw)");
  }
  if (::access(o.bridge.c_str(), X_OK) != 0) {
    throw InputError(o.bridge, "cvtpm-tpm-bridge not found or not executable");
  }
  fs::path dir = o.log_dir;
  std::string temp;
  if (dir.empty()) {
    temp = (fs::temp_directory_path() / "cvtpm-emulate-XXXXXX").string();
    if (!::mkdtemp(temp.data())) throw std::runtime_error("mkdtemp failed");
    dir = temp;
  } else {
    fs::create_directories(dir);
  }
  // tpm2-tools' ports: always without a guest (its only client), on request with one.
  std::optional<std::uint16_t> port = o.port;
  if (!port && !o.guest) port = find_free_port_pair();
  const std::string qemu_socket = o.guest ? (dir / "tpm.sock").string() : "";

  out << "Emulating the cvtpm vTPM firmware under QEMU TCG (native platform: no SEV-SNP, no "
         "VMPLs; the TPM and the SVSM vTPM protocol path are the same code)\n"
      << "  logs: " << dir.string() << "/{console.log,qemu.log,bridge.log"
      << (o.guest ? ",guest-qemu.log" : "") << (o.state_file.empty() ? "" : ",state.log") << "}\n";
  if (!o.state_file.empty()) {
    out << "  vTPM state: " << o.state_file << (o.state_reset ? " (--state-reset: a new TPM)" : "")
        << ", sealed with the INSECURE development key (emulation only)\n";
  }
  out.flush();

  FirmwareVm firmware(o, dir, port, qemu_socket);
  const std::string problem =
      firmware.wait_ready(o.ready_timeout, stop, o.guest ? &out : nullptr, out);
  if (!problem.empty()) {
    firmware.stop();
    firmware.show_state(out);
    if (!firmware.refusal().empty()) {
      err << "cvtpm-launch: error: " << firmware.refusal() << "\n";
      return 1;
    }
    err << "cvtpm-launch: error: emulation failed: " << problem << "\n" << firmware.log_tails();
    return 1;
  }
  if (o.guest) {
    out << "firmware ready after " << one_decimal(seconds_since(started)) << " s: its vTPM is the "
        << "guest VM's TPM (QEMU tpm-emulator on " << qemu_socket << ")";
    if (port) out << "; tpm2-tools: -T swtpm:host=127.0.0.1,port=" << *port;
    out << "\n";
    return run_guest_vm(o, firmware, dir, started, out, err, stop);
  }

  const std::string tcti = "swtpm:host=127.0.0.1,port=" + std::to_string(*port);
  out << "vTPM ready on 127.0.0.1:" << *port << " (control " << *port + 1 << ")\n"
      << "  connect with:  tpm2_getrandom -T " << tcti << " 8 --hex\n"
      << "  or:            export TPM2TOOLS_TCTI=" << tcti << "\n";
  out.flush();

  int status = 0;
  if (o.smoke) {
    bool passed = run_smoke_test(*port, dir, out);
    out << (passed ? "smoke test passed\n" : "smoke test FAILED (logs above)\n");
    status = passed ? 0 : 1;
  } else {
    out << "Ctrl-C stops the emulation.\n";
    out.flush();
    while (!stop && firmware.ended().empty()) {
      firmware.show_state(out);
      std::this_thread::sleep_for(100ms);
    }
    if (!stop) {
      err << "cvtpm-launch: " << firmware.ended() << "\n";
      status = 1;
    }
  }
  firmware.stop();
  firmware.show_state(out);
  out << "emulation stopped; QEMU is gone\n";
  std::error_code ec;
  if (!temp.empty() && status == 0) fs::remove_all(temp, ec);
  return status;
}

}  // namespace cvtpm::launch
