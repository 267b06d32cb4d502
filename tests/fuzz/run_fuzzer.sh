#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SEED_CORPUS WORK_DIR: a short, bounded libFuzzer run started from a copy
# of the seed corpus (CVTPM_FUZZ_SECONDS, default 10).
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cp -r "$seeds"/. "$work"/
exec "$fuzzer" -max_total_time="${CVTPM_FUZZ_SECONDS:-10}" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$work"
