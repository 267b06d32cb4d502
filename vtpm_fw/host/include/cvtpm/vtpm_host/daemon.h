// cvtpm-vtpmd: the SVSM vTPM service on the host, for real TPM clients.
//
//   cvtpm-vtpmd --port N [--ek rsa2048|ecc-p256|ecc-p384] [--log-level error|warn|info|debug]
//
// Serves swtpm's socket protocol on 127.0.0.1 only (TPM commands on port N, control channel on
// N+1), so tpm2-tools reach it with `-T swtpm:host=127.0.0.1,port=N`. Every TPM command becomes
// the exact SVSM_VTPM_CMD request a guest writes (in the simulated guest memory of the host
// platform) and goes through the real dispatcher with RAX = (2 << 32) | 1, RCX = its GPA; the
// response comes back the way the guest driver reads it. One TPM, shared by all clients one
// command at a time. SIGINT and SIGTERM (or CMD_SHUTDOWN) stop it cleanly with status 0.
#pragma once

#include <ostream>

namespace cvtpm::vtpm::host {

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace cvtpm::vtpm::host
