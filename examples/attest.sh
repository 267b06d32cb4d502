#!/usr/bin/env bash
# The verifier's side of cvtpm, end to end: the seven steps of docs/threat-model.md ("How a
# verifier binds the EK to the SNP report") against the vTPM firmware emulated under QEMU TCG
# (cvtpm-launch emulate), with cvtpm-verify and tpm2-tools. Exits 0 only when every step holds.
#
#   examples/attest.sh          (after building: cmake --preset default && cmake --build --preset default)
#   BIN=build/bin OVMF=/path/to/OVMF.fd KEEP=dir ATTEST_TIMEOUT=240 examples/attest.sh
#
# Emulation runs the same firmware and TPM code, but natively: there is no SNP and no PSP, so the
# firmware's report is unsigned, carries no MEASUREMENT and says "NOT ATTESTED". cvtpm-verify
# accepts it only with --allow-unsigned-native and then checks the binding alone (REPORT_DATA =
# SHA-512(nonce || manifest), the EK in the manifest); steps 3 and 4 need SNP hardware, where the
# same commands run with --vcek instead (docs/verify.md). Exits 77 if QEMU or tpm2-tools are
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-build/bin}
ovmf=${OVMF:-/usr/share/OVMF/OVMF_CODE.fd}

for tool in qemu-system-x86_64 tpm2_createek tpm2_makecredential python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
for file in "$bin/cvtpm-verify" "$bin/cvtpm-launch" "$bin/cvtpm-fw.elf" "$bin/cvtpm-igvmgen"; do
  [ -e "$file" ] || { echo "no $file: build first (cmake --build --preset default)" >&2; exit 2; }
done

work=$(mktemp -d)
emulator=
cleanup() {
  if [ -n "$emulator" ]; then
    kill -INT "$emulator" 2>/dev/null || true
    wait "$emulator" 2>/dev/null || true
  fi
  if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP" && cp -r "$work"/. "$KEEP"/
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n## %s\n' "$*"; }
fail() {
  echo "attest.sh: FAILED: $*" >&2
  exit 1
}
hex() { od -An -v -tx1 "$@" | tr -d ' \n'; }

say "1. The expected MEASUREMENT: cvtpm-measure igvm on the exact image"
# Debian's OVMF has no SVSM calling area; the image still builds and measures (quickstart.sh).
"$bin/cvtpm-igvmgen" build --firmware "$bin/cvtpm-fw.elf" --ovmf "$ovmf" -o "$work/vtpm.igvm" \
  --allow-non-svsm-ovmf
expected=$("$bin/cvtpm-measure" igvm --check-kvm -o hex "$work/vtpm.igvm")
echo "expected MEASUREMENT: $expected"

say "2. The vTPM attests itself for a fresh nonce (emulated firmware; cvtpm-verify fetch)"
# Bounded: QEMU never outlives this run, whatever stops the script.
timeout "${ATTEST_TIMEOUT:-240}" "$bin/cvtpm-launch" emulate >"$work/emulate.log" 2>&1 &
emulator=$!
port=
for _ in $(seq 1 300); do
  port=$(sed -n 's/^vTPM ready on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/emulate.log")
  [ -n "$port" ] && break
  kill -0 "$emulator" 2>/dev/null || { cat "$work/emulate.log"; fail "the emulation stopped"; }
  sleep 1
done
[ -n "$port" ] || { cat "$work/emulate.log"; fail "the emulated vTPM did not come up"; }
tcti="swtpm:host=127.0.0.1,port=$port"
export TPM2TOOLS_TCTI=$tcti
echo "vTPM on $tcti"
tpm2_startup -c  # what OVMF does at boot
nonce=$(head -c 64 /dev/urandom | hex)
"$bin/cvtpm-verify" fetch --tcti "$tcti" --nonce "$nonce" --out "$work"

say "3-5. The report and its binding: cvtpm-verify report"
"$bin/cvtpm-verify" report --report "$work/report.bin" --measurement "$expected" \
  --nonce "$nonce" --manifest "$work/manifest.bin" --ek-out "$work/ek.pem" \
  --allow-unsigned-native | tee "$work/verdict.txt"
ek_name=$(sed -n 's/^ek-name: //p' "$work/verdict.txt")
case $(sed -n 's/^ek: //p' "$work/verdict.txt") in
  *"TCG EK template L-1"*) ek_algorithm=rsa ;;
  *"TCG EK template L-2"*) ek_algorithm=ecc ;;
  *) fail "the EK is not from template L-1 or L-2, which tpm2_makecredential -G assumes" ;;
esac

say "6. The EK the TPM presents is the attested one"
tpm2_createek -c "$work/ek.ctx" -G "$ek_algorithm" -u "$work/ek-tpm.pem" -f pem >/dev/null
tpm2_readpublic -c "$work/ek.ctx" -n "$work/ek-tpm.name" >/dev/null
tpm2_flushcontext -t  # no resource manager: keep the TPM's few object slots free
cmp -s "$work/ek.pem" "$work/ek-tpm.pem" || fail "tpm2_createek returned another EK"
[ "$(hex "$work/ek-tpm.name")" = "$ek_name" ] || fail "the TPM's EK Name is not $ek_name"
echo "EK Name $ek_name: the verified EK"

say "7. An attestation key certified against the verified EK, then a quote checked with it"
tpm2_createak -C "$work/ek.ctx" -c "$work/ak.ctx" -G rsa -g sha256 -s rsassa \
  -u "$work/ak.pub" -n "$work/ak.name" >/dev/null
tpm2_flushcontext -t
# The verifier computes the AK's Name itself: nameAlg SHA-256 (000b) || SHA-256(TPMT_PUBLIC).
ak_name=000b$(tail -c +3 "$work/ak.pub" | sha256sum | cut -d' ' -f1)
[ "$ak_name" = "$(hex "$work/ak.name")" ] || fail "tpm2_createak's Name is not the AK's"
# A restricted signing key that never leaves the TPM signs only what the TPM generated.
attributes=$(tpm2_print -t TPM2B_PUBLIC "$work/ak.pub" | awk '/^attributes:/ {getline; print $2}')
for attribute in fixedtpm restricted sign; do
  tr '|' '\n' <<<"$attributes" | grep -qx "$attribute" || fail "the AK lacks $attribute"
done
head -c 32 /dev/urandom >"$work/secret.bin"
# Offline, with the EK cvtpm-verify wrote: only the TPM holding it can recover the secret, and
# only for a key of that Name loaded beside it.
tpm2_makecredential -T none -u "$work/ek.pem" -G "$ek_algorithm" -s "$work/secret.bin" \
  -n "$ak_name" -o "$work/credential.blob" >/dev/null
tpm2_startauthsession --policy-session -S "$work/session.ctx"
tpm2_policysecret -S "$work/session.ctx" -c e >/dev/null
tpm2_activatecredential -c "$work/ak.ctx" -C "$work/ek.ctx" -i "$work/credential.blob" \
  -o "$work/recovered.bin" -P "session:$work/session.ctx" >/dev/null
tpm2_flushcontext "$work/session.ctx"
tpm2_flushcontext -t
cmp -s "$work/secret.bin" "$work/recovered.bin" || fail "the activated credential differs"
echo "credential activated: the AK lives in the TPM of the verified EK"

measured=$(printf 'cvtpm examples/attest.sh' | sha256sum | cut -d' ' -f1)
tpm2_pcrextend "16:sha256=$measured"
pcr16=$(python3 -c "import hashlib; print(hashlib.sha256(bytes(32) + bytes.fromhex('$measured')).hexdigest())")
qualifying=$(head -c 16 /dev/urandom | hex)
tpm2_quote -c "$work/ak.ctx" -l sha256:16 -q "$qualifying" -g sha256 -m "$work/quote.msg" \
  -s "$work/quote.sig" -o "$work/quote.pcrs" >/dev/null
tpm2_flushcontext -t
tpm2_checkquote -u "$work/ak.pub" -m "$work/quote.msg" -s "$work/quote.sig" \
  -f "$work/quote.pcrs" -g sha256 -q "$qualifying" >"$work/checkquote.txt" ||
  fail "tpm2_checkquote rejected the quote"
grep -qi "16 *: *0x$pcr16" "$work/checkquote.txt" || fail "PCR16 in the quote is not $pcr16"
echo "quote of PCR16 = $pcr16 verified with the certified AK"

say "attest.sh: all seven steps held (emulation: the binding only, nothing is attested by SNP)"
