#!/usr/bin/env bash
# run_tpm2_tools_suite.sh vtpmd PATH_TO_CVTPM_VTPMD | swtpm | firmware CVTPM_FW_ELF CVTPM_TPM_BRIDGE
# Starts the TPM server on two free loopback ports (cvtpm-vtpmd, `swtpm socket` as the reference
# behaviour, or the firmware in QEMU TCG behind cvtpm-tpm-bridge), runs tpm2_tools_suite.sh
# against it, checks that cvtpm-vtpmd (or the firmware's QEMU and bridge) then stops cleanly on
# SIGTERM, and always stops the server and removes its files. Exits 77 (CTest: skipped) if a
# program it needs is not installed.
#
# CTest runs it as vtpm.tpm2-tools.cvtpm-vtpmd and vtpm.tpm2-tools.swtpm (tests/vtpm) and as
# firmware.tpm2-tools (tests/firmware). By hand, from the repository root:
#   tests/vtpm/run_tpm2_tools_suite.sh vtpmd build/bin/cvtpm-vtpmd
#   tests/vtpm/run_tpm2_tools_suite.sh swtpm
#   tests/vtpm/run_tpm2_tools_suite.sh firmware build/bin/cvtpm-fw.elf build/bin/cvtpm-tpm-bridge
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kind=${1:-}
usage="usage: $0 vtpmd PATH_TO_CVTPM_VTPMD | swtpm | firmware CVTPM_FW_ELF CVTPM_TPM_BRIDGE"
case $kind in
  vtpmd) [ $# -eq 2 ] || { echo "$usage" >&2; exit 2; } ;;
  swtpm) ;;
  firmware) [ $# -eq 3 ] || { echo "$usage" >&2; exit 2; } ;;
  *) echo "$usage" >&2; exit 2 ;;
esac

need() { command -v "$1" >/dev/null || { echo "SKIP: $1 is not installed"; exit 77; }; }
need tpm2_startup
need python3
need openssl
[ "$kind" = swtpm ] && need swtpm
[ "$kind" = firmware ] && need qemu-system-x86_64

# shellcheck source=tests/vtpm/tpm_server.sh
. "$here/tpm_server.sh"

work=$(mktemp -d)
server_pid=
cleanup() {
  stop_tpm_server "$server_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=
for _ in 1 2 3; do
  port=$(free_port_pair)
  if start_tpm_server "$kind" "$port" "$work" "${2:-}" "${3:-}"; then
    server_pid=$tpm_server_pid
    break
  fi
  stop_tpm_server "$tpm_server_pid"
  port=
done
[ -n "$port" ] || { echo "could not start the $kind server:"; cat "$work/server.log"; exit 1; }
echo "# $kind on 127.0.0.1:$port (control $((port + 1)))"

status=0
# Under TCG the firmware generates every RSA key in emulated code: more time.
suite_timeout=240
[ "$kind" = firmware ] && suite_timeout=420
timeout "$suite_timeout" "$here/tpm2_tools_suite.sh" 127.0.0.1 "$port" || status=$?
if [ $status -ne 0 ]; then
  echo "# server log:"
  sed 's/^/#   /' "$work/server.log"
  if [ -f "$work/console.log" ]; then
    echo "# firmware console (last 40 lines):"
    tail -n 40 "$work/console.log" | sed 's/^/#   /'
  fi
  exit $status
fi

if [ "$kind" = firmware ]; then
  # The firmware served the whole suite through SVSM_VTPM_CMD; say how much memory it took.
  grep "memory peak while serving" "$work/console.log" | tail -n 1 | sed 's/^/# /' || true
  kill -TERM "$server_pid"
  server_status=0
  wait "$server_pid" || server_status=$?
  server_pid=
  if [ $server_status -ne 0 ]; then
    echo "QEMU and cvtpm-tpm-bridge exited with status $server_status after SIGTERM"
    exit 1
  fi
  echo "ok - QEMU and cvtpm-tpm-bridge stopped cleanly on SIGTERM"
fi

if [ "$kind" = vtpmd ]; then
  kill -TERM "$server_pid"
  server_status=0
  wait "$server_pid" || server_status=$?
  server_pid=
  if [ $server_status -ne 0 ]; then
    echo "cvtpm-vtpmd exited with status $server_status after SIGTERM"
    exit 1
  fi
  echo "ok - cvtpm-vtpmd stopped cleanly on SIGTERM"
fi
