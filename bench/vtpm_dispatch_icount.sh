#!/usr/bin/env bash
# vtpm_dispatch_icount.sh [BENCH_BINARY]: instructions per TPM2_GetRandom of each benchmark of
# vtpm_dispatch_bench, counted by callgrind with a fixed iteration count. Unlike times, these do
# not depend on what else the machine runs. ITERATIONS (default 2000).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=${1:-$root/build/bench/vtpm_dispatch_bench}
n=${ITERATIONS:-2000}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
CVTPM_BENCH_ITERATIONS=$n valgrind --tool=callgrind --callgrind-out-file="$out" "$bench" \
  >/dev/null 2>&1
callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
  python3 -c '
import re, sys
n = int(sys.argv[1])
costs = {}
for line in sys.stdin:
    # The function entry: "<count> (<pct>)  <file>:<name>(benchmark::State&) [<binary>]".
    m = re.match(r"\s*([\d,]+) \([^)]*\)\s+.*::(BM_\w+)\(benchmark::State&\) \[", line)
    if m:
        costs[m.group(2)] = int(m.group(1).replace(",", ""))
base = costs.get("BM_TpmlibProcess")
print("| benchmark | instructions per call | ratio |")
print("|---|---|---|")
for name, cost in sorted(costs.items(), key=lambda item: item[1]):  # the baseline first
    per = cost / n
    print(f"| {name} | {per:,.0f} | {cost / base:.3f} |" if base else f"| {name} | {per:,.0f} | |")
' "$n"
