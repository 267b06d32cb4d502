#!/usr/bin/env bash
# cvtpm-fw under QEMU TCG: boot-to-ready times, stripped image size and peak firmware memory,
# against a do-nothing PVH image booted the same way in the same hyperfine run (QEMU + SeaBIOS +
# PVH start alone). Goals (docs/PERFORMANCE.md): image <= 3 MB stripped, firmware RAM <= 32 MB,
# boot-to-ready <= 1 s.
#
#   bench/firmware_boot.sh [BUILD_DIR]      (default build/; needs cvtpm-fw and cvtpm-tpm-bridge)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${RUNS:-20}
fw=$build/bin/cvtpm-fw.elf
[ -f "$fw" ] && [ -x "$build/bin/cvtpm-tpm-bridge" ] || {
  echo "build it first: cmake --build --preset default --target cvtpm-fw cvtpm-tpm-bridge" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine missing: scripts/install-deps.sh" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
hyperfine -N -i --warmup 3 --runs "$runs" --export-json "$work/r.json" \
  -n baseline-pvh-exit "$qemu -serial none -kernel $work/exit.elf" \
  -n fw-selftest "$qemu -serial none -kernel $fw -append selftest" >/dev/null

# QEMU start to the firmware's first TPM response through cvtpm-tpm-bridge, timed inside the
# harness (no Python start-up or teardown in the figure).
for i in $(seq "$runs"); do python3 bench/firmware_first_response.py "$build"; done > "$work/first.txt"

# One logged run for the firmware's own clock and memory figures.
$qemu -serial stdio -kernel "$fw" -append selftest > "$work/selftest.log" || true

python3 - "$work/r.json" "$work/selftest.log" "$build/bin/cvtpm-fw-stripped.elf" "$work/first.txt" <<'PY'
import json, os, re, statistics, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
log = open(sys.argv[2]).read()
base = res["baseline-pvh-exit"]["median"]
print(f"{'command':<20} {'median ms':>10} {'ratio':>7}")
for name, r in res.items():
    print(f"{name:<20} {r['median'] * 1000:>10.1f} {r['median'] / base:>7.2f}")
ready = int(re.search(r"ready: runtime up in (\d+) us", log).group(1))
done = int(re.search(r"selftest: done in (\d+) us", log).group(1))
memory = re.search(r"memory after the self-test: image (\d+) KiB \+ peak pages (\d+) KiB = (\d+) KiB", log)
heap = re.search(r"heap peak (\d+) KiB", log.split("memory after the self-test")[1]).group(1)
size = os.path.getsize(sys.argv[3])
first = statistics.median(float(x) for x in open(sys.argv[4]).read().split()) / 1000
print(f"firmware clock: runtime ready {ready / 1000:.1f} ms, self-test done {done / 1000:.1f} ms after entry")
print(f"stripped image: {size} bytes ({size / 1e6:.2f} MB, {size / 2**20:.2f} MiB): goal <= 3 MB "
      f"{'met' if size <= 3e6 else 'MISSED'}")
print(f"peak firmware memory: image {memory.group(1)} KiB + peak pages {memory.group(2)} KiB = "
      f"{int(memory.group(3)) / 1024:.1f} MiB (heap peak {heap} KiB): goal <= 32 MB "
      f"{'met' if int(memory.group(3)) * 1024 <= 32e6 else 'MISSED'}")
print(f"QEMU start to first TPM response (median of {len(open(sys.argv[4]).read().split())} runs, "
      f"{first / base:.2f}x the baseline boot): {first * 1000:.0f} ms: goal <= 1 s "
      f"{'met' if first <= 1.0 else 'MISSED'}")
PY
