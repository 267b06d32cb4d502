#!/usr/bin/env bash
# run_tpm2_tools_suite.sh vtpmd PATH_TO_CVTPM_VTPMD | swtpm
# Starts the TPM server on two free loopback ports (cvtpm-vtpmd, or `swtpm socket` as the
# reference behaviour), runs tpm2_tools_suite.sh against it, checks that cvtpm-vtpmd then stops
# cleanly on SIGTERM, and always stops the server and removes its files. Exits 77 (CTest:
# skipped) if a program it needs is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kind=${1:-}
case $kind in
  vtpmd) [ $# -eq 2 ] || { echo "usage: $0 vtpmd PATH_TO_CVTPM_VTPMD" >&2; exit 2; } ;;
  swtpm) ;;
  *) echo "usage: $0 vtpmd PATH_TO_CVTPM_VTPMD | swtpm" >&2; exit 2 ;;
esac

need() { command -v "$1" >/dev/null || { echo "SKIP: $1 is not installed"; exit 77; }; }
need tpm2_startup
need python3
need openssl
[ "$kind" = swtpm ] && need swtpm

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
  if start_tpm_server "$kind" "$port" "$work" "${2:-}"; then
    server_pid=$tpm_server_pid
    break
  fi
  stop_tpm_server "$tpm_server_pid"
  port=
done
[ -n "$port" ] || { echo "could not start the $kind server:"; cat "$work/server.log"; exit 1; }
echo "# $kind on 127.0.0.1:$port (control $((port + 1)))"

status=0
timeout 240 "$here/tpm2_tools_suite.sh" 127.0.0.1 "$port" || status=$?
if [ $status -ne 0 ]; then
  echo "# server log:"
  sed 's/^/#   /' "$work/server.log"
  exit $status
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
