#!/usr/bin/env bash
# check_shim_symbols.sh --nm NM --archive A... [--provider P...] [-- P...]
#
# The firmware links Debian's libtpms.a and libcrypto.a against its own C library shim. This
# check takes every symbol the archives reference but do not define themselves (nm -u minus their
# own definitions: the whole archives, not only the members today's link pulls in, so a member
# that a later change starts to pull in is covered too) and requires each to be defined by a
# provider (the runtime's objects, libgcc). A package update that adds a dependency fails the
# build here with the symbol's name and the archive member that needs it.
set -euo pipefail

nm=nm
archives=()
providers=()
while [ $# -gt 0 ]; do
  case "$1" in
    --nm) nm=$2; shift 2 ;;
    --archive) archives+=("$2"); shift 2 ;;
    --provider) providers+=("$2"); shift 2 ;;
    --) shift; providers+=("$@"); break ;;
    *) echo "check_shim_symbols: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#archives[@]} -gt 0 ] && [ ${#providers[@]} -gt 0 ] || {
  echo "usage: check_shim_symbols.sh --nm NM --archive A... [--provider P...] [-- P...]" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Symbols the linker itself provides.
printf '%s\n' _GLOBAL_OFFSET_TABLE_ | sort -u > "$work/linker"

# member<TAB>symbol for every undefined (U, or weak w) reference of the archives.
for a in "${archives[@]}"; do
  "$nm" -A "$a" 2>/dev/null | awk -v archive="$(basename "$a")" '
    $(NF-1) == "U" || $(NF-1) == "w" {
      member = $1; sub(/:$/, "", member); sub(/^.*:/, "", member)
      print $NF "\t" archive "(" member ")"
    }'
done | sort -u > "$work/references"
"$nm" -g --defined-only "${archives[@]}" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u > "$work/archive-defined"
"$nm" -g --defined-only "${providers[@]}" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u > "$work/provided"

cut -f1 "$work/references" | sort -u > "$work/referenced"
comm -23 "$work/referenced" "$work/archive-defined" > "$work/external"
comm -23 "$work/external" "$work/provided" | comm -23 - "$work/linker" > "$work/missing"

if [ -s "$work/missing" ]; then
  echo "error: the firmware's libc shim (vtpm_fw/runtime/libc) lacks symbols that the linked archives need:" >&2
  while read -r symbol; do
    users=$(awk -F'\t' -v s="$symbol" '$1 == s { print $2 }' "$work/references" | head -3 | paste -sd, -)
    echo "  $symbol (referenced by $users)" >&2
  done < "$work/missing"
  echo "Implement them, or add a panicking stub in vtpm_fw/runtime/libc/unreachable.cpp if the firmware can never reach them." >&2
  exit 1
fi
echo "check_shim_symbols: all $(wc -l < "$work/external") external symbols of $(printf '%s ' "${archives[@]##*/}")are provided"
