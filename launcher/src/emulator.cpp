#include "cvtpm/launch/emulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "cvtpm/launch/qemu_command.h"
#include "cvtpm/support/digest.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/error.h"
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

}  // namespace

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

int run_emulation(const EmulateOptions& o, std::ostream& out, std::ostream& err,
                  const std::atomic<bool>& stop) {
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
  const std::uint16_t port = o.port ? *o.port : find_free_port_pair();

  EmulationPlan plan;
  plan.qemu = o.qemu;
  plan.firmware = o.firmware;
  plan.console_log = (dir / "console.log").string();
  plan.link_socket = (dir / "vtpm-link.sock").string();
  std::error_code ec;
  fs::remove(plan.link_socket, ec);
  const std::vector<std::string> qemu_argv = emulation_qemu_command(plan);

  out << "Emulating the cvtpm vTPM firmware under QEMU TCG (native platform: no SEV-SNP, no "
         "VMPLs; the TPM and the SVSM vTPM protocol path are the same code)\n"
      << "  logs: " << dir.string() << "/{console.log,qemu.log,bridge.log}\n";
  out.flush();

  ChildProcess qemu(qemu_argv, {{}, dir / "qemu.log", dir / "qemu.log"});
  // QEMU creates the link socket at start-up; the bridge keeps retrying until it can connect.
  ChildProcess bridge(
      {o.bridge, "--serial", "unix:" + plan.link_socket, "--port", std::to_string(port),
       "--connect-timeout", std::to_string(o.ready_timeout.count())},
      {{}, dir / "bridge.log", dir / "bridge.log"});

  auto stop_all = [&] {
    bridge.stop(SIGTERM, 2s);
    qemu.stop(SIGTERM, 5s);
  };

  // Ready when the bridge reports the firmware's link up.
  const auto deadline = std::chrono::steady_clock::now() + o.ready_timeout;
  for (;;) {
    if (read_text(dir / "bridge.log").find("firmware link up") != std::string::npos) break;
    std::string problem;
    if (stop) problem = "interrupted";
    if (qemu.poll() >= 0) problem = "QEMU exited with status " + std::to_string(qemu.poll());
    if (bridge.poll() >= 0)
      problem = "cvtpm-tpm-bridge exited with status " + std::to_string(bridge.poll());
    if (std::chrono::steady_clock::now() > deadline)
      problem =
          "the firmware did not come up within " + std::to_string(o.ready_timeout.count()) + " s";
    if (!problem.empty()) {
      stop_all();
      err << "cvtpm-launch: error: emulation failed: " << problem << "\n"
          << "--- console.log (end) ---\n"
          << tail(dir / "console.log", 15) << "--- qemu.log (end) ---\n"
          << tail(dir / "qemu.log", 5) << "--- bridge.log (end) ---\n"
          << tail(dir / "bridge.log", 5);
      return 1;
    }
    std::this_thread::sleep_for(50ms);
  }
  const std::string tcti = "swtpm:host=127.0.0.1,port=" + std::to_string(port);
  out << "vTPM ready on 127.0.0.1:" << port << " (control " << port + 1 << ")\n"
      << "  connect with:  tpm2_getrandom -T " << tcti << " 8 --hex\n"
      << "  or:            export TPM2TOOLS_TCTI=" << tcti << "\n";
  out.flush();

  int status = 0;
  if (o.smoke) {
    bool passed = run_smoke_test(port, dir, out);
    out << (passed ? "smoke test passed\n" : "smoke test FAILED (logs above)\n");
    status = passed ? 0 : 1;
  } else {
    out << "Ctrl-C stops the emulation.\n";
    out.flush();
    while (!stop && qemu.poll() < 0) std::this_thread::sleep_for(100ms);
    if (qemu.poll() >= 0 && !stop) {
      err << "cvtpm-launch: QEMU exited with status " << qemu.poll() << "\n";
      status = 1;
    }
  }
  stop_all();
  out << "emulation stopped; QEMU is gone\n";
  if (!temp.empty() && status == 0) fs::remove_all(temp, ec);
  return status;
}

}  // namespace cvtpm::launch
