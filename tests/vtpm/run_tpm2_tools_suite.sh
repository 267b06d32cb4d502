#!/usr/bin/env bash
# run_tpm2_tools_suite.sh vtpmd PATH_TO_CVTPM_VTPMD | swtpm | firmware CVTPM_FW_ELF CVTPM_TPM_BRIDGE
#                         | launch-state CVTPM_LAUNCH
# Starts the TPM server on two free loopback ports (cvtpm-vtpmd, `swtpm socket` as the reference
# behaviour, or the firmware in QEMU TCG behind cvtpm-tpm-bridge), runs tpm2_tools_suite.sh
# against it, checks that cvtpm-vtpmd (or the firmware's QEMU and bridge) then stops cleanly on
# SIGTERM, and always stops the server and removes its files. Exits 77 (CTest: skipped) if a
# program it needs is not installed. launch-state runs the suite against `cvtpm-launch emulate
# --state` (the firmware with its persistent state, docs/persistence.md), then checks that the
# suite's changes were written as generations and that a second boot restores them.
#
# CTest runs it as vtpm.tpm2-tools.cvtpm-vtpmd and vtpm.tpm2-tools.swtpm (tests/vtpm) and as
# firmware.tpm2-tools (tests/firmware). By hand, from the repository root:
#   tests/vtpm/run_tpm2_tools_suite.sh vtpmd build/bin/cvtpm-vtpmd
#   tests/vtpm/run_tpm2_tools_suite.sh swtpm
#   tests/vtpm/run_tpm2_tools_suite.sh firmware build/bin/cvtpm-fw.elf build/bin/cvtpm-tpm-bridge
#   tests/vtpm/run_tpm2_tools_suite.sh launch-state build/bin/cvtpm-launch
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kind=${1:-}
usage="usage: $0 vtpmd PATH_TO_CVTPM_VTPMD | swtpm | firmware CVTPM_FW_ELF CVTPM_TPM_BRIDGE | launch-state CVTPM_LAUNCH"
case $kind in
  vtpmd | launch-state) [ $# -eq 2 ] || { echo "$usage" >&2; exit 2; } ;;
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
[ "$kind" = launch-state ] && need qemu-system-x86_64

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
[ "$kind" = launch-state ] && suite_timeout=420
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

if [ "$kind" = launch-state ]; then
  # The suite's NV changes went to storage as generations, before their responses.
  writes=$(grep -c "state: wrote generation" "$work/launch/console.log" || true)
  [ "$writes" -gt 1 ] || { echo "no state generations written during the suite"; exit 1; }
  echo "ok - $writes state generations written during the suite"
  stop_tpm_server "$server_pid"
  server_pid=
  # A second boot restores the state the suite left.
  mv "$work/server.log" "$work/server-1.log"
  start_tpm_server launch-state "$port" "$work" "$2" || { cat "$work/server.log"; exit 1; }
  server_pid=$tpm_server_pid
  grep -q "restored generation" "$work/launch/console.log" ||
    { echo "the second boot did not restore the state"; exit 1; }
  TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port" tpm2_startup -c
  TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port" tpm2_getrandom 8 >/dev/null
  echo "ok - a second boot restored the state and serves the TPM"
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
