#include "cvtpm/bridge/cli.h"

#include <csignal>

#include "cvtpm/bridge/bridge.h"
#include "cvtpm/support/encoding.h"
#include "cvtpm/support/tool_main.h"

namespace cvtpm::bridge {

namespace {

constexpr std::string_view kTool = "cvtpm-tpm-bridge";
std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop.store(true);
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "Serve a cvtpm firmware's vTPM, reached through the QEMU chardev socket of its COM2 serial "
      "link: to tpm2-tools as swtpm does (TPM commands on --port, control requests on --port + "
      "1), and to a VM as QEMU's tpm-emulator backend (--qemu-socket).",
      std::string(kTool)};
  app.set_version_flag("--version", version_line(kTool));
  std::string serial;
  std::string port;
  std::string qemu_socket;
  std::string listen_address = "127.0.0.1";
  std::string timeout = "300";
  std::string connect_timeout = "60";
  bool verbose = false;
  app.add_option("--serial", serial,
                 "QEMU's chardev server socket for COM2: unix:PATH or tcp:HOST:PORT")
      ->required()
      ->type_name("ENDPOINT");
  app.add_option("--port", port,
                 "TCP port for TPM commands; control requests use PORT+1 (default 2321 unless "
                 "--qemu-socket is given)")
      ->type_name("PORT");
  app.add_option("--qemu-socket", qemu_socket,
                 "Unix socket for QEMU's tpm-emulator backend: -chardev socket,id=chrtpm,path=PATH "
                 "-tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0")
      ->type_name("PATH");
  app.add_option("--listen-address", listen_address, "IPv4 address to listen on")
      ->type_name("ADDRESS");
  app.add_option("--timeout", timeout, "Seconds the firmware may take for one request")
      ->type_name("SECONDS");
  app.add_option("--connect-timeout", connect_timeout,
                 "Seconds to wait for QEMU's socket and the firmware's first answer")
      ->type_name("SECONDS");
  app.add_flag("-v,--verbose", verbose, "Log every request and response");
  if (auto status = parse_command_line(app, kTool, argc, argv, out, err)) return *status;

  return run_guarded(kTool, err, [&] {
    BridgeOptions options;
    options.serial = parse_serial_endpoint(serial, "--serial");
    if (port.empty() && qemu_socket.empty()) port = "2321";
    if (!port.empty()) {
      options.port = static_cast<std::uint16_t>(parse_uint(port, "--port", 65534));
      if (options.port == 0) throw InputError("--port", "0 is not a port");
    }
    options.qemu_socket = qemu_socket;
    options.listen_address = listen_address;
    options.request_timeout = std::chrono::seconds(parse_uint(timeout, "--timeout", 86400));
    options.connect_timeout =
        std::chrono::seconds(parse_uint(connect_timeout, "--connect-timeout", 86400));
    options.verbose = verbose;

    Bridge bridge(options, err);
    bridge.listen();
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    return bridge.run(g_stop);
  });
}

}  // namespace cvtpm::bridge
