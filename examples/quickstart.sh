#!/usr/bin/env bash
# The cvtpm flow, end to end: build the vTPM + OVMF image, predict its launch digest, check the
# host, then launch it as an SEV-SNP guest — or, on a host that cannot, emulate the vTPM firmware
# under QEMU TCG, run a TPM smoke test against it and boot a VM (OVMF, Debian's kernel) whose TPM
# it is. Outputs land in build/quickstart/.
#
#   examples/quickstart.sh            (after building: cmake --preset default && cmake --build --preset default)
#   BIN=build-release/bin examples/quickstart.sh     the tools of another build (scripts/quickstart.sh:
#                                                    the release preset's)
#   OVMF=/path/to/OVMF.fd examples/quickstart.sh     another OVMF (default: Debian unstable's
#                                                    SVSM-capable ovmf-generic, which
#                                                    scripts/install-deps.sh downloads, else
#                                                    Debian 12's)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-build/bin}
out=build/quickstart
ovmf=${OVMF:-$(scripts/guest-assets.sh path ovmf-generic 2>/dev/null || echo /usr/share/OVMF/OVMF_CODE.fd)}
image=$out/vtpm.igvm
mkdir -p "$out"

say() { printf '\n## %s\n' "$*"; }

say "1. Build the IGVM image: the vTPM firmware (VMPL0) + OVMF ($ovmf)"
# Debian 12's OVMF predates SVSM support (it has no calling-area section), so it could not run
# under the firmware on an SNP host; the image still builds and measures.
allow=()
if ! "$bin/cvtpm-igvmgen" build --firmware "$bin/cvtpm-fw.elf" --ovmf "$ovmf" -o "$image" 2>/dev/null; then
  echo "note: $ovmf has no SVSM calling area; building with --allow-non-svsm-ovmf (measurement only)"
  allow=(--allow-non-svsm-ovmf)
fi
"$bin/cvtpm-igvmgen" build --firmware "$bin/cvtpm-fw.elf" --ovmf "$ovmf" -o "$image" "${allow[@]}"
"$bin/cvtpm-igvmgen" dump "$image" | head -n 12
echo "..."

say "2. Its SEV-SNP launch digest: what the attestation report's MEASUREMENT must be"
"$bin/cvtpm-measure" igvm --check-kvm -o hex "$image" | tee "$out/expected-digest.txt"

say "3. Can this host launch SEV-SNP guests?"
if "$bin/cvtpm-launch" check --memory 4G; then
  say "4. Launching on this SNP host (config: examples/launch.json; Ctrl-A X quits QEMU)"
  exec "$bin/cvtpm-launch" run --config examples/launch.json --igvm "$image"
fi

say "4. No SEV-SNP here (see above): emulating the vTPM firmware under QEMU TCG instead"
echo "The same firmware and TPM code boot in the firmware's native mode; tpm2-tools talk to it"
echo "through cvtpm-tpm-bridge. This proves the vTPM, not the SNP isolation."
"$bin/cvtpm-launch" emulate --smoke

say "5. A VM whose TPM is the emulated firmware: OVMF measures its boot, Linux reads the PCRs"
if kernel=$(scripts/guest-assets.sh path kernel); then
  scripts/guest-assets.sh initramfs "$out/initramfs.cpio.gz"
  # The guest's console, without the base64 lines of the event log it prints.
  "$bin/cvtpm-launch" emulate --guest --kernel "$kernel" --initrd "$out/initramfs.cpio.gz" \
    --append 'console=ttyS0 loglevel=4 panic=-1' --log-dir "$out/guest" |
    sed '/cvtpm-guest: eventlog-begin/,/cvtpm-guest: eventlog-end/{/cvtpm-guest/!d}'
else
  echo "skipped: no guest kernel (scripts/install-deps.sh downloads Debian 12's into a cache)"
fi
