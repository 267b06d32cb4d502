#!/usr/bin/env bash
# The cvtpm-measure a user actually runs, the one the .deb installs, against sha384sum
# (bench/measure_vs_sha384sum.sh): the package is unpacked with dpkg -x into a temporary root and
# its /usr/bin/cvtpm-measure timed. Goal (docs/PERFORMANCE.md): median at most 1.5x sha384sum.
#
#   bench/installed_measure.sh [DEB] [OVMF_FILE]   (default: build-release/package/cvtpm_*.deb,
#                                                  from cmake --build --preset release --target package)
#   SEV_SNP_MEASURE=DIR RUNS=N ...                 as for bench/measure_vs_sha384sum.sh
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(ls build-release/package/cvtpm_*_amd64.deb 2>/dev/null | head -1)}
[ -n "$deb" ] && [ -f "$deb" ] || {
  echo "no .deb: cmake --preset release && cmake --build --preset release --target package" >&2
  exit 2
}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
echo "$(basename "$deb"): $(sha256sum "$deb" | cut -d' ' -f1)"
CVTPM_MEASURE=$root/usr/bin/cvtpm-measure bench/measure_vs_sha384sum.sh ${2:+"$2"}
