#!/usr/bin/env bash
# Whole-process time of `cvtpm-verify report` (the chain to the root, the report's signature,
# the VCEK against the report, the contents and the vTPM binding) against
# `openssl verify -CAfile ARK -untrusted ASK VCEK` (the chain alone) on the same files, in one
# hyperfine run so machine noise hits both alike. Goal (docs/PERFORMANCE.md): median at most
# 1.0x openssl verify.
#
#   bench/verify_vs_openssl.sh        (uses build-release/bin/cvtpm-verify; CVTPM_VERIFY=PATH)
#
# Two sets of files: a chain in AMD's shapes (RSA-4096 ARK and ASK, P-384 VCEK) with a report
# that binds a manifest, made by bench/verify_inputs.sh; and the real Milan report and VCEK
# (tests/verify/data) against AMD's pinned roots, without binding (their REPORT_DATA binds no
# manifest of ours).
set -euo pipefail
cd "$(dirname "$0")/.."
verify=${CVTPM_VERIFY:-build-release/bin/cvtpm-verify}
runs=${RUNS:-100}
[ -x "$verify" ] || {
  echo "build it first: cmake --preset release && cmake --build build-release --target cvtpm-verify" >&2
  exit 2
}
command -v hyperfine >/dev/null || { echo "hyperfine missing: scripts/install-deps.sh" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench/verify_inputs.sh "$work/chain" >/dev/null
g=$work/chain
openssl x509 -inform der -in tests/verify/data/vcek_milan.der -out "$work/vcek_milan.pem"
read -r -a args <"$g/args.txt"
(cd "$g" && "$OLDPWD/$verify" report "${args[@]}" >/dev/null) || {
  echo "cvtpm-verify does not accept the generated inputs" >&2
  exit 1
}

cd "$g"
verify_abs=$OLDPWD/$verify
milan=$OLDPWD/tests/verify/data
roots=$OLDPWD/verify/roots
hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/r.json" \
  -n "cvtpm-verify report (test chain + binding)" "$verify_abs report ${args[*]}" \
  -n "openssl verify (test chain)" "openssl verify -CAfile ark.pem -untrusted ask.pem vcek.pem" \
  -n "cvtpm-verify report (real Milan, pinned roots)" \
  "$verify_abs report --report $milan/report_milan.bin --vcek $milan/vcek_milan.der" \
  -n "openssl verify (real Milan)" \
  "openssl verify -CAfile $roots/milan_ark.pem -untrusted $roots/milan_ask.pem $work/vcek_milan.pem" \
  >/dev/null

python3 - "$work/r.json" <<'PY'
import json, sys
res = [(r["command"], r["median"]) for r in json.load(open(sys.argv[1]))["results"]]
print(f"{'command':<48} {'median ms':>10} {'ratio':>7}")
worst = 0
for (name, median), (base_name, base) in ((res[0], res[1]), (res[2], res[3])):
    for n, m in ((name, median), (base_name, base)):
        print(f"{n:<48} {m * 1000:>10.2f} {m / base:>7.2f}")
    worst = max(worst, median / base)
print(f"cvtpm-verify / openssl verify, worst pair = {worst:.2f} (goal <= 1.00: {'met' if worst <= 1.0 else 'MISSED'})")
PY
