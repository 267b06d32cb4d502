#!/usr/bin/env bash
# cvtpm-fw under QEMU TCG, against a do-nothing PVH image booted the same way in the same run
# (QEMU + SeaBIOS + the PVH start alone, then an isa-debug-exit write). Goals (docs/PERFORMANCE.md):
# image <= 3 MB stripped, firmware RAM <= 32 MB, boot-to-ready <= 1 s.
#
#   boot-to-ready   QEMU start to the first successful TPM response through cvtpm-tpm-bridge
#                   (TPM2_Startup(CLEAR); bench/firmware_first_response.py): boot, TPM manufacture
#                   with its EK (RSA-2048, the default, and ECC P-256), link up, one command through
#                   SVSM_VTPM_CMD. RUNS boots each; median, min, max.
#   self-test       hyperfine: QEMU start to the self-test's exit (baseline side by side).
#   size            bytes of cvtpm-fw-stripped.elf.
#   peak RAM        what the firmware logs: image + peak pages of the page allocator (heap, page
#                   tables, NV state), after the self-test and after serving the whole tpm2-tools
#                   suite (tests/vtpm/tpm2_tools_suite.sh).
#
#   bench/firmware_boot.sh [BUILD_DIR]      (default build/; needs cvtpm-fw and cvtpm-tpm-bridge)
#   RUNS (default 20)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${1:-build}
runs=${RUNS:-20}
fw=$build/bin/cvtpm-fw.elf
bridge=$build/bin/cvtpm-tpm-bridge
if [ ! -f "$fw" ] || [ ! -x "$bridge" ]; then
  echo "build it first: cmake --build --preset default --target cvtpm-fw cvtpm-tpm-bridge" >&2
  exit 2
fi
for p in hyperfine qemu-system-x86_64 python3 tpm2_startup; do
  command -v "$p" >/dev/null || { echo "$p is not installed (scripts/install-deps.sh)" >&2; exit 2; }
done
# shellcheck source=tests/vtpm/tpm_server.sh disable=SC2154
. "$root/tests/vtpm/tpm_server.sh"

work=$(mktemp -d)
server_pid=
cleanup() {
  stop_tpm_server "$server_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The baseline: a PVH ELF whose entry only writes the isa-debug-exit port.
cat > "$work/exit.S" <<'ASM'
  .section .note.Xen, "a", @note
  .balign 4
  .long 4, 8, 18
  .asciz "Xen"
  .balign 4
  .quad entry
  .balign 4
  .text
  .code32
  .globl entry
entry:
  mov $0x10, %eax
  outl %eax, $0xf4
  hlt
ASM
gcc -c "$work/exit.S" -o "$work/exit.o"
ld -nostdlib -static -no-pie -Ttext=0x100000 -e entry "$work/exit.o" -o "$work/exit.elf"

qemu="qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m 256M -display none -no-reboot \
-device isa-debug-exit,iobase=0xf4,iosize=0x04"
# QEMU's exit status 33 is the pass status of isa-debug-exit: -i keeps hyperfine going.
hyperfine -N -i --warmup 2 --runs "$runs" --export-json "$work/r.json" \
  -n baseline-pvh-exit "$qemu -serial none -kernel $work/exit.elf" \
  -n fw-selftest-ecc-p256 "$qemu -serial none -kernel $fw -append 'selftest ek=ecc-p256'" \
  -n fw-selftest-rsa2048 "$qemu -serial none -kernel $fw -append selftest" >/dev/null

# Boot-to-ready, timed inside the harness (no Python start-up or teardown in the figure).
port=$(free_port_pair)
for ek in rsa2048 ecc-p256; do
  for _ in $(seq "$runs"); do python3 bench/firmware_first_response.py "$build" "$port" "ek=$ek"; done \
    > "$work/first-$ek.txt"
done

# One logged self-test for the firmware's own clock and memory figures.
$qemu -serial stdio -kernel "$fw" -append selftest > "$work/selftest.log" || true

# Peak memory while serving the whole tpm2-tools suite.
port=$(free_port_pair)
mkdir -p "$work/server"
start_tpm_server firmware "$port" "$work/server" "$fw" "$bridge" || {
  echo "the firmware did not come up" >&2; cat "$work/server/server.log" >&2; exit 1; }
server_pid=$tpm_server_pid  # set by start_tpm_server
"$root/tests/vtpm/tpm2_tools_suite.sh" 127.0.0.1 "$port" > "$work/suite.log" 2>&1 || {
  echo "the tpm2-tools suite failed:" >&2; cat "$work/suite.log" >&2; exit 1; }
sleep 0.2  # the peak is logged when the link goes quiet
stop_tpm_server "$server_pid"
server_pid=

python3 - "$work" "$build/bin/cvtpm-fw-stripped.elf" <<'PY'
import json, os, re, statistics, sys
work, stripped = sys.argv[1], sys.argv[2]
res = {r["command"]: r for r in json.load(open(f"{work}/r.json"))["results"]}
base = res["baseline-pvh-exit"]["median"]
print(f"{'QEMU start to exit':<26} {'median ms':>10} {'ratio':>7}")
for name, r in res.items():
    print(f"{name:<26} {r['median'] * 1000:>10.1f} {r['median'] / base:>7.2f}")
print()
print(f"{'boot-to-ready (ms)':<26} {'median':>8} {'min':>8} {'max':>8} {'ratio':>7}  goal <= 1 s")
for ek in ("rsa2048", "ecc-p256"):
    t = sorted(float(x) for x in open(f"{work}/first-{ek}.txt").read().split())
    m = statistics.median(t)
    print(f"{'EK ' + ek + f' ({len(t)} boots)':<26} {m:>8.0f} {t[0]:>8.0f} {t[-1]:>8.0f} "
          f"{m / 1000 / base:>7.2f}  {'met' if m <= 1000 else 'MISSED'}")
log = open(f"{work}/selftest.log").read()
ready = int(re.search(r"ready: runtime up in (\d+) us", log).group(1))
vtpm = int(re.search(r"ready: vTPM up in (\d+) us", log).group(1))
made = re.search(r"manufactured in ([\d.]+) ms", log).group(1)
done = int(re.search(r"selftest: done in (\d+) us", log).group(1))
print(f"\nfirmware clock (one RSA-2048 self-test boot): runtime ready {ready / 1000:.1f} ms, TPM "
      f"manufactured in {made} ms, vTPM ready {vtpm / 1000:.1f} ms, self-test done "
      f"{done / 1000:.1f} ms after entry")
size = os.path.getsize(stripped)
print(f"stripped image: {size} bytes ({size / 1e6:.2f} MB, {size / 2**20:.2f} MiB): goal <= 3 MB "
      f"{'met' if size <= 3e6 else 'MISSED'}")
pattern = r"memory {}: image (\d+) KiB \+ peak pages (\d+) KiB = (\d+) KiB.*?heap peak (\d+) KiB"
for label, text in (("after the self-test", log),
                    ("peak while serving", open(f"{work}/server/console.log").read())):
    m = re.findall(pattern.format(label), text)[-1]
    total = int(m[2])
    print(f"firmware RAM {label}: image {m[0]} KiB + peak pages {m[1]} KiB = {total / 1024:.1f} MiB "
          f"(heap peak {m[3]} KiB): goal <= 32 MB {'met' if total * 1024 <= 32e6 else 'MISSED'}")
PY
