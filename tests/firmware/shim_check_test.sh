#!/usr/bin/env bash
# shim_check_test.sh CHECKER NM CC: the build-time symbol check fails, naming the symbol and the
# archive member, when an archive gains a dependency the shim lacks; and passes once a provider
# defines it.
set -euo pipefail
checker=$1 nm=$2 cc=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/newdep.c" <<'C'
extern int cvtpm_brand_new_libc_function(int);
int uses_it(int x) { return cvtpm_brand_new_libc_function(x) + 1; }
C
cat > "$work/provider.c" <<'C'
int cvtpm_brand_new_libc_function(int x) { return x; }
C
"$cc" -c "$work/newdep.c" -o "$work/newdep.o"
"$cc" -c "$work/provider.c" -o "$work/provider.o"
ar rcs "$work/libnewdep.a" "$work/newdep.o"

if "$checker" --nm "$nm" --archive "$work/libnewdep.a" --provider "$work/newdep.o" >"$work/out" 2>&1; then
  echo "FAIL: the check passed although cvtpm_brand_new_libc_function is not provided"; cat "$work/out"; exit 1
fi
grep -q 'cvtpm_brand_new_libc_function (referenced by libnewdep.a(newdep.o))' "$work/out" || {
  echo "FAIL: the error does not name the symbol and its user:"; cat "$work/out"; exit 1; }

"$checker" --nm "$nm" --archive "$work/libnewdep.a" -- "$work/provider.o" >"$work/out" 2>&1 || {
  echo "FAIL: the check failed although a provider defines the symbol:"; cat "$work/out"; exit 1; }
grep -q 'all 1 external symbols of libnewdep.a are provided' "$work/out" || { cat "$work/out"; exit 1; }
echo "PASS"
