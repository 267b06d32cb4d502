#!/usr/bin/env bash
# persistence_e2e.sh BIN_DIR: the persistent vTPM end to end (docs/persistence.md), through
# tpm2-tools against `cvtpm-launch emulate --state FILE` (the firmware under QEMU TCG, its state
# on COM3, sealed with the INSECURE development key):
#   1. boot 1 seals a secret under the SRK into a persistent handle, defines and writes an NV
#      index and reads the EK; boot 2 with the same FILE unseals it, reads the NV index back and
#      gets the same EK;
#   1b. rollback evidence (docs/persistence.md, "Rollback"): `cvtpm-verify fetch` + `report
#      --allow-unsigned-native` show the state entry (the generation after each NV write, the
#      digest = SHA-256 of FILE); boot 2 is accepted with the generation and digest boot 1 ended
#      with (--min-state-generation, --state-digest, --require-state restored); a boot from an
#      older FILE is rejected by the same call, naming state-generation;
#   2. another dev key, another firmware, a corrupted, a truncated and a foreign FILE are refused with the reason
#      on the launcher's output, and FILE is unchanged byte for byte;
#   3. an older generation swapped in while the VM runs: the next NV write fails (TPM failure
#      mode), FILE keeps the older bytes, nothing crashes;
#   4. --state-reset: a new TPM with the same EK (derived seeds) and no NV index;
#   5. QEMU killed with SIGKILL during state writes, CVTPM_STATE_KILL_LOOPS times (default 50):
#      every next boot restores an intact generation holding at least every acknowledged write.
# Every boot is bounded by a timeout. Exits 77 (CTest: skipped) when tpm2-tools or QEMU are
# missing. By hand: tests/state/persistence_e2e.sh build/bin
set -euo pipefail
bin=${1:?usage: $0 BIN_DIR}
bin=$(cd "$bin" && pwd)
loops=${CVTPM_STATE_KILL_LOOPS:-50}
need() { command -v "$1" >/dev/null || { echo "SKIP: $1 is not installed"; exit 77; }; }
need tpm2_startup
need qemu-system-x86_64
launch=$bin/cvtpm-launch
verify=$bin/cvtpm-verify
[ -x "$launch" ] || { echo "FAIL: $launch missing"; exit 1; }
[ -x "$verify" ] || { echo "FAIL: $verify missing"; exit 1; }

work=$(mktemp -d)
launcher_pid=
cleanup() {
  if [ -n "$launcher_pid" ] && kill -0 "$launcher_pid" 2>/dev/null; then
    kill -INT "$launcher_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$launcher_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$launcher_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*"; for f in "$work"/launch*.out "$work"/logs/console.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done; exit 1; }
step() { echo "# $*"; }

port=$(python3 -c 'import socket
for _ in range(100):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", p + 1)); t.close(); print(p); break
    except OSError: t.close()')
export TPM2TOOLS_TCTI="swtpm:host=127.0.0.1,port=$port"
boots=0

# start NAME ARGS...: runs the launcher in the background; waits (at most 180 s) until its vTPM is
# ready (returns 0) or the launcher exits (returns 1, its output in $work/NAME.out).
start() {
  local name=$1; shift
  rm -rf "$work/logs"
  "$launch" emulate --port "$port" --log-dir "$work/logs" "$@" >"$work/$name.out" 2>&1 &
  launcher_pid=$!
  boots=$((boots + 1))
  for _ in $(seq 1800); do
    grep -q "vTPM ready on" "$work/$name.out" 2>/dev/null && return 0
    kill -0 "$launcher_pid" 2>/dev/null || { wait "$launcher_pid" || true; launcher_pid=; return 1; }
    sleep 0.1
  done
  fail "$name: the firmware did not come up within 180 s"
}
# stop: Ctrl-C to the launcher; it stops QEMU and the bridge.
stop() {
  [ -n "$launcher_pid" ] || return 0
  kill -INT "$launcher_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$launcher_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$launcher_pid" 2>/dev/null && fail "the launcher did not stop within 10 s"
  wait "$launcher_pid" 2>/dev/null || true
  launcher_pid=
}
# refused NAME WHY ARGS...: the launcher must refuse the state, naming WHY, and leave FILE as it was.
refused() {
  local name=$1 why=$2; shift 2
  cp "$state" "$work/before"
  if start "$name" --state "$state" "$@"; then stop; fail "$name: the firmware started with that state"; fi
  grep -q "state: REFUSED" "$work/$name.out" || fail "$name: no 'state: REFUSED' line"
  grep -qi -- "$why" "$work/$name.out" || fail "$name: the refusal does not say '$why'"
  cmp -s "$state" "$work/before" || fail "$name: the state file changed"
  echo "ok: $name refused ($(grep -o 'state: REFUSED: [^;(]*' "$work/$name.out" | head -1))"
}

# attest NAME: `cvtpm-verify fetch` with a fresh nonce into $work/NAME/ (report, manifest, nonce).
attest() {
  local name=$1
  mkdir -p "$work/$name"
  head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/$name/nonce"
  "$verify" fetch --tcti "$TPM2TOOLS_TCTI" --nonce "$(cat "$work/$name/nonce")" \
    --out "$work/$name" >/dev/null || fail "$name: cvtpm-verify fetch failed"
}
# verdict NAME ARGS...: `cvtpm-verify report` on NAME's evidence (the native report: binding only)
# with ARGS; the verdict in $work/NAME/verdict, its JSON in verdict.json; prints the exit status.
verdict() {
  local name=$1 rc=0
  shift
  local args=(report --report "$work/$name/report.bin" --allow-unsigned-native
              --nonce "$(cat "$work/$name/nonce")" --manifest "$work/$name/manifest.bin" "$@")
  "$verify" "${args[@]}" >"$work/$name/verdict" 2>&1 || rc=$?
  "$verify" "${args[@]}" --output-format json >"$work/$name/verdict.json" 2>/dev/null || true
  echo "$rc"
}
# state_field NAME FIELD: a field of the state entry in NAME's JSON verdict.
state_field() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifest"]["state"][sys.argv[2]])' \
    "$work/$1/verdict.json" "$2"
}

state=$work/vtpm.state
secret="cvtpm persistent secret $RANDOM"
printf '%s' "$secret" >"$work/secret.txt"
head -c 32 /dev/urandom >"$work/nvdata"
nv=0x1500016
handle=0x81010001

step "boot 1: a new TPM sealed to $state"
start boot1 --state "$state" || fail "boot 1 did not start"
grep -q "INSECURE development key" "$work/logs/console.log" || fail "no INSECURE warning on the console"
tpm2_startup -c
tpm2_createek -c "$work/ek1.ctx" -G rsa -u "$work/ek1.pub" >/dev/null
tpm2_flushcontext -t >/dev/null  # libtpms has three object slots
tpm2_createprimary -C o -c "$work/srk.ctx" >/dev/null
tpm2_flushcontext -t >/dev/null  # (saved contexts reload; tools leave what they load behind)
tpm2_create -C "$work/srk.ctx" -i "$work/secret.txt" -u "$work/seal.pub" -r "$work/seal.priv" >/dev/null
tpm2_flushcontext -t >/dev/null
tpm2_load -C "$work/srk.ctx" -u "$work/seal.pub" -r "$work/seal.priv" -c "$work/seal.ctx" >/dev/null
tpm2_evictcontrol -C o -c "$work/seal.ctx" "$handle" >/dev/null
tpm2_nvdefine "$nv" -C o -s 32 -a "ownerread|ownerwrite|authread|authwrite" >/dev/null
cp "$state" "$work/older"  # a generation the rollback step hands back
attest before-write
[ "$(verdict before-write)" = 0 ] || fail "before-write: rejected: $(cat "$work/before-write/verdict")"
tpm2_nvwrite "$nv" -C o -i "$work/nvdata"
attest after-write
[ "$(verdict after-write --require-state persistent)" = 0 ] ||
  fail "after-write: rejected: $(cat "$work/after-write/verdict")"
[ "$(state_field after-write status)" = fresh ] || fail "boot 1: the state entry is not 'fresh'"
[ "$(state_field after-write boot_generation)" = 0 ] || fail "boot 1: boot generation is not 0"
[ "$(state_field after-write current_generation)" -gt "$(state_field before-write current_generation)" ] ||
  fail "boot 1: the NV write did not raise the attested generation"
[ "$(state_field after-write current_digest)" = "$(sha256sum "$state" | cut -d' ' -f1)" ] ||
  fail "boot 1: the attested digest is not the SHA-256 of the state file"
tpm2_flushcontext -t >/dev/null
tpm2_shutdown -c
stop
[ -s "$state" ] || fail "boot 1 left no state file"
echo "ok: boot 1 ($(stat -c %s "$state") bytes of state, attested generation $(state_field after-write current_generation) after the NV write)"
# What the verifier keeps: the generation and digest of the file boot 1 left.
seen_generation=$(python3 -c 'import struct, sys; print(struct.unpack_from("<Q", open(sys.argv[1], "rb").read(), 0x10)[0])' "$state")
seen_digest=$(sha256sum "$state" | cut -d' ' -f1)

step "boot 2: the same state"
start boot2 --state "$state" || fail "boot 2 did not start"
grep -q "restored generation" "$work/logs/console.log" || fail "boot 2 did not restore"
tpm2_startup -c
[ "$(tpm2_unseal -c "$handle")" = "$secret" ] || fail "boot 2 unsealed something else"
tpm2_nvread "$nv" -C o -s 32 -o "$work/nvread" >/dev/null
cmp -s "$work/nvread" "$work/nvdata" || fail "boot 2 read other NV data"
tpm2_createek -c "$work/ek2.ctx" -G rsa -u "$work/ek2.pub" >/dev/null
cmp -s "$work/ek1.pub" "$work/ek2.pub" || fail "boot 2 has another EK"
tpm2_flushcontext -t >/dev/null
attest boot2
fresh_enough=(--min-state-generation "$seen_generation" --state-digest "$seen_digest" --require-state restored)
[ "$(verdict boot2 "${fresh_enough[@]}")" = 0 ] || fail "boot 2: rejected: $(cat "$work/boot2/verdict")"
grep -q "^state: restored, binding development, boot generation $seen_generation (digest $seen_digest)" \
  "$work/boot2/verdict" || fail "boot 2: the verdict does not show the restored state"
tpm2_shutdown -c
stop
echo "ok: boot 2 unsealed the secret, read the NV index, same EK; attested as restored generation $seen_generation"

step "rollback evidence: a boot from an older state file"
cp "$state" "$work/latest"
cp "$work/older" "$state"
start rollback --state "$state" || fail "rollback did not start"
attest rollback
[ "$(verdict rollback "${fresh_enough[@]}")" = 1 ] || fail "rollback: not rejected: $(cat "$work/rollback/verdict")"
grep -q "^verdict: REJECTED (1 of .* checks failed: state-generation)" "$work/rollback/verdict" ||
  fail "rollback: the verdict does not name state-generation: $(head -1 "$work/rollback/verdict")"
grep -q "expected: boot generation at least $seen_generation (--min-state-generation)" \
  "$work/rollback/verdict" || fail "rollback: the check does not say what it expected"
stop
cp "$work/latest" "$state"
echo "ok: the older state (boot generation $(state_field rollback boot_generation) < $seen_generation) is rejected naming state-generation"

step "refusals"
refused other-dev-key "another key" --dev-key "$(printf '11%.0s' $(seq 32))"
# Another firmware: the same one with one character of its read-only data changed (a log message),
# which the development key covers.
python3 - "$bin/cvtpm-fw.elf" "$work/other-fw.elf" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"for development and tests only")
assert i > 0, "the message is not in the firmware"
b[i] = ord("F")
open(sys.argv[2], "wb").write(b)
PY
refused other-firmware "another key" --firmware "$work/other-fw.elf"
cp "$state" "$work/good"
python3 - "$state" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x20
open(p, "wb").write(b)
PY
refused corrupted "does not verify"
cp "$work/good" "$state"
head -c -7 "$work/good" >"$state"
refused truncated "truncated"
rm -f "$state"
start foreign-make --state "$state" --dev-key "$(printf '22%.0s' $(seq 32))" || fail "could not make a foreign state"
stop
refused foreign "another key"
cp "$work/good" "$state"

step "an older generation swapped in while the VM runs"
start swap --state "$state" || fail "swap did not start"
tpm2_startup -c
cp "$state" "$work/older"
head -c 32 /dev/urandom >"$work/nvdata2"
tpm2_nvwrite "$nv" -C o -i "$work/nvdata2"
cmp -s "$state" "$work/older" && fail "the NV write did not write a new generation"
cp "$work/older" "$state"
if tpm2_nvwrite "$nv" -C o -i "$work/nvdata" 2>/dev/null; then fail "a write over the swapped-in file succeeded"; fi
cmp -s "$state" "$work/older" || fail "the swapped-in file was written over"
for _ in $(seq 50); do grep -q "rolled back" "$work/swap.out" && break; sleep 0.1; done
grep -q "rolled back" "$work/swap.out" || fail "the launcher did not report the conflict"
grep -q "state: writing generation .* failed" "$work/logs/console.log" || fail "the firmware did not say why"
kill -0 "$launcher_pid" || fail "the launcher died"
stop
echo "ok: the write was refused, the file kept, the TPM failed safe"

step "--state-reset"
cp "$work/good" "$state"
start reset --state "$state" --state-reset || fail "reset did not start"
tpm2_startup -c
tpm2_createek -c "$work/ek3.ctx" -G rsa -u "$work/ek3.pub" >/dev/null
cmp -s "$work/ek1.pub" "$work/ek3.pub" || fail "a reset TPM has another EK (seeds not derived)"
if tpm2_nvread "$nv" -C o -s 32 >/dev/null 2>&1; then fail "the NV index survived --state-reset"; fi
tpm2_flushcontext -t >/dev/null
stop
cmp -s "$state" "$work/good" && fail "--state-reset did not replace the state"
echo "ok: same EK, no NV index"

step "SIGKILL of QEMU during state writes, $loops times"
tpm2_nvdefine_counter() {
  tpm2_startup -c
  # Eight full 2 KiB indices make every state write about 18 KiB (some 50 ms over the emulated
  # UART), so a good share of the kills land inside a write.
  head -c 2048 /dev/urandom >"$work/big"
  for i in 1 2 3 4 5 6 7 8; do
    tpm2_nvdefine "0x150010$i" -C o -s 2048 -a "ownerread|ownerwrite" >/dev/null
    tpm2_nvwrite "0x150010$i" -C o -i "$work/big"
  done
  tpm2_nvdefine 0x1500020 -C o -s 8 -a "ownerread|ownerwrite|authread|authwrite" >/dev/null
  head -c 8 /dev/zero >"$work/counter"
  tpm2_nvwrite 0x1500020 -C o -i "$work/counter"
}
start kill0 --state "$state" || fail "kill loop: first boot"
tpm2_nvdefine_counter
stop
acked=0
interrupted=0
for i in $(seq "$loops"); do
  start "kill$i" --state "$state" || fail "kill loop $i: the state was refused after a kill"
  tpm2_startup -c 2>/dev/null || true
  value=$( (tpm2_nvread 0x1500020 -C o -s 8 2>/dev/null || true) | od -An -t u8 | tr -d ' ')
  [ -n "$value" ] || fail "kill loop $i: the counter index is gone"
  [ "$value" -ge "$acked" ] || fail "kill loop $i: counter $value < acknowledged $acked (a write was lost)"
  acked=$value
  qemu_pid=$(ps -o pid=,comm= --ppid "$launcher_pid" | awk '$2 ~ /qemu-system/ {print $1}' | head -1)
  [ -n "$qemu_pid" ] || fail "kill loop $i: no QEMU under the launcher"
  # Mostly QEMU (a write torn on the link); every fourth time the launcher itself, which may be
  # inside its own commit (temporary file, fsync, rename): QEMU and the bridge die with it.
  victim=$qemu_pid
  [ $((i % 4)) -eq 0 ] && victim=$launcher_pid
  ( delay=$(python3 -c "import random; print(round(random.uniform(0.2, 1.5), 2))")
    sleep "$delay"; kill -KILL "$victim" 2>/dev/null || true ) &
  killer=$!
  while kill -0 "$qemu_pid" 2>/dev/null; do
    next=$((acked + 1))
    python3 -c "import struct,sys; sys.stdout.buffer.write(struct.pack('<Q', $next))" >"$work/counter"
    if tpm2_nvwrite 0x1500020 -C o -i "$work/counter" 2>/dev/null; then acked=$next; fi
  done
  wait "$killer" || true
  for _ in $(seq 100); do kill -0 "$launcher_pid" 2>/dev/null || break; sleep 0.1; done
  wait "$launcher_pid" 2>/dev/null || true
  launcher_pid=
  grep -q "interrupted after" "$work/kill$i.out" && interrupted=$((interrupted + 1))
done
start final --state "$state" || fail "after the kill loop the state was refused"
tpm2_startup -c 2>/dev/null || true
value=$( (tpm2_nvread 0x1500020 -C o -s 8 2>/dev/null || true) | od -An -t u8 | tr -d ' ')
[ -n "$value" ] || fail "final: the counter index is gone"
[ "$value" -ge "$acked" ] || fail "final: counter $value < acknowledged $acked"
stop
[ "$loops" -lt 10 ] || [ "$interrupted" -gt 0 ] || fail "no kill landed inside a write: the loop proved nothing"
echo "ok: $loops kills ($interrupted mid-write by the launcher's log), every boot restored, counter $value >= acknowledged $acked"
echo "PASS ($boots boots)"
