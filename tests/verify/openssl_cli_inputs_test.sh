#!/usr/bin/env bash
# cvtpm-verify against evidence made by an independent implementation: bench/verify_inputs.sh
# builds the chain with the openssl command line and the report with python3 (no cvtpm code).
# Accepted as made; rejected by the report's signature once one byte of MEASUREMENT changes.
#
#   tests/verify/openssl_cli_inputs_test.sh PATH_TO_CVTPM_VERIFY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
verify=${1:?usage: $0 PATH_TO_CVTPM_VERIFY}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
KEY_BITS=2048 "$here/../../bench/verify_inputs.sh" "$work" >/dev/null
cd "$work"
read -r -a args <args.txt

"$verify" report "${args[@]}" >verdict.txt
grep -qx 'verdict: ACCEPTED (16 checks passed)' verdict.txt || { cat verdict.txt; exit 1; }
echo "ok - accepted: $(head -n 1 verdict.txt)"

python3 -c 'import sys; b = bytearray(open("report.bin", "rb").read()); b[0x90] ^= 1; open("report.bin", "wb").write(b)'
status=0
"$verify" report "${args[@]}" >verdict.txt || status=$?
[ $status -eq 1 ] || { echo "exit status $status, expected 1"; cat verdict.txt; exit 1; }
grep -q '^verdict: REJECTED .*report-signature, measurement' verdict.txt || { cat verdict.txt; exit 1; }
echo "ok - rejected: $(head -n 1 verdict.txt)"
