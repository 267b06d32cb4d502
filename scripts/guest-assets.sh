#!/usr/bin/env bash
# The guest VM of `cvtpm-launch emulate --guest` (docs/launcher.md, "The guest VM") and the
# firmware images of the SNP flow need files Debian 12 does not install: they are downloaded from
# the Debian archive by scripts/install-deps.sh into a cache (never installed), and found here.
#
#   scripts/guest-assets.sh path cache          the cache: $CVTPM_CACHE_DIR, else /var/cache/cvtpm
#   scripts/guest-assets.sh path kernel         Debian 12's cloud kernel (linux-image-cloud-amd64,
#                                               TPM CRB driver built in), unpacked with dpkg -x
#   scripts/guest-assets.sh path ovmf-generic   Debian unstable's unified OVMF.fd (ovmf-generic:
#                                               SVSM calling area, SVSM vTPM, IGVM memory map)
#   scripts/guest-assets.sh initramfs OUT       builds the guest's busybox initramfs (below)
#
# `path` prints the path and exits 0, or says what is missing and how to get it, and exits 1.
set -euo pipefail

cache=${CVTPM_CACHE_DIR:-/var/cache/cvtpm}

need() {  # need FILE WHAT: print FILE if it is there
  if [ -e "$1" ]; then
    printf '%s\n' "$(readlink -f "$1")"
  else
    echo "guest-assets: $2 is not in $cache: run scripts/install-deps.sh (it downloads it from" \
         "the Debian archive)" >&2
    exit 1
  fi
}

# The initramfs: busybox-static and an /init that prints the TPM's PCRs
# (/sys/class/tpm/tpm0/pcr-sha256/*) and the firmware's event log
# (/sys/kernel/security/tpm0/binary_bios_measurements, base64 between markers) on the console,
# then powers off. Reproducible: fixed file order, mtimes 0, GNU cpio's --reproducible (inode
# numbers renumbered, device numbers 0), gzip without name or time stamp.
initramfs() {
  local out=$1 busybox=/bin/busybox
  # busybox-static, not the dynamic busybox: the initramfs has no C library.
  local p
  for p in busybox-static cpio; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
      echo "guest-assets: $p is not installed: run scripts/install-deps.sh" >&2
      exit 1
    fi
  done
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/root/bin" "$work/root/dev" "$work/root/proc" "$work/root/sys"
  cp "$busybox" "$work/root/bin/busybox"
  cat > "$work/root/init" <<'INIT'
#!/bin/busybox sh
# Each line starts with "cvtpm-guest: ": tests/launcher/emulate_test.cpp and
# bench/guest_boot.sh read them.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
$bb mount -t securityfs securityfs /sys/kernel/security
echo "cvtpm-guest: userspace after $($bb cut -d' ' -f1 /proc/uptime) s of kernel uptime"
if [ -d /sys/class/tpm/tpm0/pcr-sha256 ]; then
  for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23; do
    echo "cvtpm-guest: pcr-sha256 $i $($bb cat /sys/class/tpm/tpm0/pcr-sha256/$i)"
  done
else
  echo "cvtpm-guest: no TPM (/sys/class/tpm/tpm0/pcr-sha256 absent)"
fi
log=/sys/kernel/security/tpm0/binary_bios_measurements
if [ -r $log ]; then
  echo "cvtpm-guest: eventlog-begin"
  $bb base64 $log
  echo "cvtpm-guest: eventlog-end"
else
  echo "cvtpm-guest: no event log ($log absent)"
fi
echo "cvtpm-guest: done"
$bb poweroff -f
INIT
  chmod 755 "$work/root/init"
  (
    cd "$work/root"
    find . -exec touch -h -d @0 {} +
    find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible
  ) | gzip -9 -n > "$work/initramfs.cpio.gz"
  mv "$work/initramfs.cpio.gz" "$out"
}

case "${1:-} ${2:-}" in
  "path cache") printf '%s\n' "$cache" ;;
  "path kernel") need "$cache/debian12-cloud-kernel/vmlinuz" "Debian 12's cloud kernel" ;;
  "path ovmf-generic") need "$cache/ovmf-generic/OVMF.fd" "Debian unstable's ovmf-generic" ;;
  initramfs\ ?*) initramfs "$2" ;;
  *)
    echo "usage: guest-assets.sh path cache|kernel|ovmf-generic | initramfs OUT" >&2
    exit 2
    ;;
esac
