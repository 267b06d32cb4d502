#!/usr/bin/env bash
# check_undefined_symbols.sh ALLOWLIST OBJECT...: fails, naming each symbol and object, if a
# freestanding core object references a symbol that neither the objects themselves define nor
# the allowlist names.
set -euo pipefail
allowlist=$1
shift
[ $# -gt 0 ] || { echo "check_undefined_symbols: no objects given" >&2; exit 2; }

mapfile -t patterns < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$allowlist" | grep -v '^$')
# What the objects define for each other.
declare -A defined=()
while read -r symbol; do defined[$symbol]=1; done < <(nm --defined-only "$@" | awk 'NF == 3 {print $3}')

status=0
symbols=0
for object in "$@"; do
  while read -r symbol; do
    [ -n "$symbol" ] || continue
    [ -z "${defined[$symbol]:-}" ] || continue
    symbols=$((symbols + 1))
    allowed=0
    for pattern in "${patterns[@]}"; do
      # shellcheck disable=SC2053  # the pattern is a glob on purpose
      if [[ $symbol == $pattern ]]; then allowed=1; break; fi
    done
    if [ $allowed -eq 0 ]; then
      echo "$(basename "$object"): undefined symbol $symbol ($(c++filt "$symbol")) is not in $(basename "$allowlist")" >&2
      status=1
    fi
  done < <(nm --undefined-only "$object" | awk '{print $NF}')
done
[ $status -eq 0 ] && echo "$# objects, $symbols references to symbols outside them, all allowed"
exit $status
