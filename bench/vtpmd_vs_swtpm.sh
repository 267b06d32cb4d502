#!/usr/bin/env bash
# vtpmd_vs_swtpm.sh [CVTPM_VTPMD]: the same tpm2-tools workload (bench/tpm2_tools_workload.sh)
# against cvtpm-vtpmd and against `swtpm socket` (the same libtpms), side by side: ROUNDS
# hyperfine runs that alternate which server goes first (so a change in background load does not
# favour one), RUNS timed runs of each per round. Prints each round's medians and the median of
# the per-round ratios cvtpm-vtpmd / swtpm (goal: <= 1.0).
#   ROUNDS (default 3), RUNS (default 20), WARMUP (default 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vtpmd=${1:-$root/build/bin/cvtpm-vtpmd}
[ -x "$vtpmd" ] || { echo "no $vtpmd (build it, or pass its path)" >&2; exit 2; }
for p in hyperfine swtpm tpm2_startup python3; do
  command -v "$p" >/dev/null || { echo "$p is not installed" >&2; exit 2; }
done
# shellcheck source=tests/vtpm/tpm_server.sh
. "$root/tests/vtpm/tpm_server.sh"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do stop_tpm_server "$pid"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {  # start KIND -> prints the port
  local kind=$1 dir="$work/$1" port
  mkdir -p "$dir"
  for _ in 1 2 3; do
    port=$(free_port_pair)
    if start_tpm_server "$kind" "$port" "$dir" "$vtpmd"; then
      pids+=("$tpm_server_pid")
      TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port" tpm2_startup -c
      echo "$port" >"$dir/port"
      return 0
    fi
    stop_tpm_server "$tpm_server_pid"
  done
  echo "cannot start $kind" >&2
  exit 1
}
start vtpmd
start swtpm
vtpmd_port=$(cat "$work/vtpmd/port")
swtpm_port=$(cat "$work/swtpm/port")

workload="$root/bench/tpm2_tools_workload.sh"
rounds=${ROUNDS:-3}
for round in $(seq "$rounds"); do
  first=("--command-name" "cvtpm-vtpmd" "$workload 127.0.0.1 $vtpmd_port")
  second=("--command-name" "swtpm" "$workload 127.0.0.1 $swtpm_port")
  if [ $((round % 2)) -eq 0 ]; then
    tmp=("${first[@]}")
    first=("${second[@]}")
    second=("${tmp[@]}")
  fi
  hyperfine --style basic --warmup "${WARMUP:-3}" --runs "${RUNS:-20}" \
    --export-json "$work/round$round.json" "${first[@]}" "${second[@]}"
done

python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
print("\n| round | cvtpm-vtpmd median ms | swtpm median ms | ratio |")
print("|---|---|---|---|")
ratios = []
for r in range(1, rounds + 1):
    results = {x["command"]: x for x in json.load(open(f"{work}/round{r}.json"))["results"]}
    v, s = results["cvtpm-vtpmd"]["median"], results["swtpm"]["median"]
    ratios.append(v / s)
    print(f"| {r} | {v * 1000:.1f} | {s * 1000:.1f} | {v / s:.2f} |")
print(f"\nmedian ratio cvtpm-vtpmd / swtpm: **{statistics.median(ratios):.2f}**")
PY
