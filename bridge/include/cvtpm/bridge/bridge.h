// cvtpm-tpm-bridge: serves swtpm's interfaces on the host and forwards each complete request as
// one frame of the cvtpm serial link (transport/serial_link.h) to the firmware through QEMU's
// chardev socket for COM2:
//  - TPM commands on TCP port N and swtpm control requests on N+1, what tpm2-tss's swtpm TCTI
//    (and so tpm2-tools) speaks;
//  - QEMU's tpm-emulator backend on a Unix control socket, the data channel over the descriptor
//    QEMU passes with CMD_SET_DATAFD (emulator_control.h), so a VM's TPM is the firmware's.
// Responses go back to the client in one write. Requests from any number of clients are
// serialized, one in flight at a time, as a TPM runs them; the firmware has one TPM (and one
// locality) for all of them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace cvtpm::bridge {

// Where QEMU's chardev server socket is: "unix:PATH" or "tcp:HOST:PORT".
struct SerialEndpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;
  std::string host;
  std::uint16_t port = 0;
  std::string text;  // as given, for messages
};

// Throws InputError naming `what` if `text` is not a valid endpoint.
SerialEndpoint parse_serial_endpoint(const std::string& text, const std::string& what);

struct BridgeOptions {
  SerialEndpoint serial;
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 0;  // TPM commands; control on port + 1; 0: no TCP ports
  // QEMU's `-chardev socket,path=...` for `-tpmdev emulator`; empty: none. Connections are
  // accepted once the firmware's link is up (QEMU's first TPM command must be answered within
  // its one-second probe, tpm_util_test_tpmdev).
  std::string qemu_socket;
  // How long the firmware may take for one request (RSA key generation under TCG is slow).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(300)};
  // How long to wait for QEMU's socket and the firmware's first answer.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(60)};
  bool verbose = false;
};

// Updated by the thread in run(), readable from any other.
struct BridgeStats {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> responses{0};
  std::atomic<std::uint64_t> local_errors{0};   // malformed client input answered by the bridge
  std::atomic<std::uint64_t> local_answers{0};  // control requests the bridge answers itself
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> stale_frames{0};      // responses nobody waits for any more
  std::atomic<std::uint64_t> qemu_connections{0};  // QEMU control connections accepted
  std::atomic<std::uint64_t> data_channels{0};     // descriptors adopted with CMD_SET_DATAFD
  std::atomic<bool> link_up{false};                // the firmware acknowledged the last reset
};

class Bridge {
 public:
  Bridge(BridgeOptions options, std::ostream& log);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Binds the TCP ports and the QEMU socket asked for; throws InputError naming the option
  // (--port, --qemu-socket) on failure.
  void listen();
  // Serves until `stop` is set (status 0), the serial link closes (0: the VM ended), or the
  // firmware cannot be reached within connect_timeout (1). Call listen() first.
  int run(const std::atomic<bool>& stop);
  const BridgeStats& stats() const;

 private:
  struct State;
  State* state_;
};

}  // namespace cvtpm::bridge
