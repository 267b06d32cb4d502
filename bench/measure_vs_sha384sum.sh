#!/usr/bin/env bash
# Whole-process time of `cvtpm-measure --mode snp` on Debian's OVMF_CODE.fd against sha384sum
# (and openssl dgst) of the same file, in one hyperfine run so machine noise hits all alike.
# Goal (docs/PERFORMANCE.md): median at most 1.5x sha384sum.
#
#   bench/measure_vs_sha384sum.sh [OVMF_FILE]      (uses build-release/bin/cvtpm-measure)
#   CVTPM_MEASURE=PATH ...                         another cvtpm-measure (bench/installed_measure.sh:
#                                                  the one the .deb installs)
#   SEV_SNP_MEASURE=DIR ...                        also time sev-snp-measure.py from a checkout of
#                                                  virtee/sev-snp-measure in DIR, run by Debian's
#                                                  python3 (python3-cryptography); its digest must
#                                                  equal cvtpm-measure's
set -euo pipefail
cd "$(dirname "$0")/.."
ovmf=${1:-/usr/share/OVMF/OVMF_CODE.fd}
measure=${CVTPM_MEASURE:-build-release/bin/cvtpm-measure}
runs=${RUNS:-100}
[ -x "$measure" ] || { echo "build it first: cmake --preset release && cmake --build --preset release" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine missing: scripts/install-deps.sh" >&2; exit 2; }

args="--mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf $ovmf"
others=()
if [ -n "${SEV_SNP_MEASURE:-}" ]; then
  ssm="/usr/bin/python3 $SEV_SNP_MEASURE/sev-snp-measure.py $args"
  theirs=$($ssm) || { echo "sev-snp-measure failed: $ssm" >&2; exit 2; }
  ours=$($measure $args)
  [ "$theirs" = "$ours" ] || { echo "digests differ: sev-snp-measure $theirs, cvtpm-measure $ours" >&2; exit 1; }
  echo "same launch digest from both: $ours"
  others=(-n sev-snp-measure "$ssm")
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
hyperfine -N --warmup 10 --runs "$runs" --export-json "$out/r.json" \
  -n cvtpm-measure "$measure $args" \
  -n sha384sum "sha384sum $ovmf" \
  -n openssl-dgst "openssl dgst -sha384 $ovmf" "${others[@]}" >/dev/null

python3 - "$out/r.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = res["sha384sum"]["median"]
print(f"{'command':<15} {'median ms':>10} {'ratio':>7}")
for name, r in res.items():
    print(f"{name:<15} {r['median']*1000:>10.2f} {r['median']/base:>7.2f}")
ratio = res["cvtpm-measure"]["median"] / base
print(f"cvtpm-measure / sha384sum = {ratio:.2f} (goal <= 1.50: {'met' if ratio <= 1.5 else 'MISSED'})")
PY
