#!/usr/bin/env bash
# Whole-process time of building the cvtpm IGVM image (firmware + OVMF_CODE.fd) and of measuring
# it, against sha384sum of the resulting file, in one hyperfine run so machine noise hits all
# alike. Goal (docs/PERFORMANCE.md): each median at most 2x sha384sum.
#
#   bench/igvm_vs_sha384sum.sh [FIRMWARE_ELF] [OVMF_FILE]
#
# Tools come from CVTPM_BIN (default build-release/bin: `cmake --preset release && cmake --build
# --preset release`). The firmware defaults to build-release/bin/cvtpm-fw.elf, else the tests'
# freestanding test image (build/tests/igvm/test_firmware.elf). Debian's OVMF has no SVSM
# calling-area section, hence --allow-non-svsm-ovmf. The image is written under OUT_DIR (default
# $TMPDIR or /tmp): every write ends with an fsync, so the file system shows in the build time.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CVTPM_BIN:-build-release/bin}
firmware=${1:-}
if [ -z "$firmware" ]; then
  for f in "$bin/cvtpm-fw.elf" build/bin/cvtpm-fw.elf build/tests/igvm/test_firmware.elf; do
    if [ -f "$f" ]; then firmware=$f; break; fi
  done
fi
ovmf=${2:-/usr/share/OVMF/OVMF_CODE.fd}
runs=${RUNS:-100}
for tool in cvtpm-igvmgen cvtpm-measure; do
  [ -x "$bin/$tool" ] || { echo "$bin/$tool missing: build it first (CVTPM_BIN=...)" >&2; exit 2; }
done
[ -n "$firmware" ] && [ -f "$firmware" ] || { echo "no firmware ELF: pass one" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine missing: scripts/install-deps.sh" >&2; exit 2; }

out=$(mktemp -d -p "${OUT_DIR:-${TMPDIR:-/tmp}}")
trap 'rm -rf "$out"' EXIT
image=$out/image.igvm
build="$bin/cvtpm-igvmgen build --firmware $firmware --ovmf $ovmf -o $image --allow-non-svsm-ovmf"
$build  # the file the other two commands read
echo "firmware $firmware ($(stat -c %s "$firmware") bytes), OVMF $ovmf ($(stat -c %s "$ovmf") bytes)," \
     "image $(stat -c %s "$image") bytes"
hyperfine -N --warmup 10 --runs "$runs" --export-json "$out/r.json" \
  -n igvmgen-build "$build" \
  -n measure-igvm "$bin/cvtpm-measure igvm --check-kvm --bare $image" \
  -n sha384sum "sha384sum $image" >/dev/null

python3 - "$out/r.json" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = res["sha384sum"]["median"]
print(f"{'command':<15} {'median ms':>10} {'ratio':>7}")
for name, r in res.items():
    print(f"{name:<15} {r['median']*1000:>10.2f} {r['median']/base:>7.2f}")
for name in ("igvmgen-build", "measure-igvm"):
    ratio = res[name]["median"] / base
    print(f"{name} / sha384sum = {ratio:.2f} (goal <= 2.00: {'met' if ratio <= 2.0 else 'MISSED'})")
PY
