#!/usr/bin/env bash
# smoke_with_state.sh CVTPM_LAUNCH: the launcher's own workout (`emulate --smoke`) with the
# persistent state on (docs/persistence.md): the first boot makes a new TPM and writes its state,
# the second restores it; both smoke tests must pass.
set -euo pipefail
launch=${1:?usage: $0 CVTPM_LAUNCH}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for boot in 1 2; do
  if ! "$launch" emulate --smoke --state "$work/vtpm.state" >"$work/boot$boot.out" 2>&1; then
    echo "FAIL: boot $boot: the smoke test failed"; tail -n 20 "$work/boot$boot.out"; exit 1
  fi
done
grep -q "init: state: new TPM" "$work/boot1.out" || { echo "FAIL: boot 1 made no new TPM"; exit 1; }
grep -q "init: state: restored generation" "$work/boot2.out" ||
  { echo "FAIL: boot 2 did not restore the state"; exit 1; }
echo "ok: the smoke test passed on a new TPM and on its restored state"
