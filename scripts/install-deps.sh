#!/usr/bin/env bash
# Installs every Debian package cvtpm's build, tests, benchmarks and examples need. The one place
# dependencies are declared. Idempotent: does nothing (and needs no network) when all are present.
#
# Then, into a cache (scripts/guest-assets.sh path cache), the files of other packages that are
# downloaded from the Debian archive and unpacked with dpkg -x, never installed:
#   - Debian 12's cloud kernel (linux-image-cloud-amd64: the TPM CRB driver built in), the
#     kernel of `cvtpm-launch emulate --guest`'s test VM;
#   - Debian unstable's ovmf-generic (edk2-stable202608: SVSM calling area, SVSM vTPM driver,
#     IGVM memory map), whose unified OVMF.fd is the guest firmware of SNP images. Fetched with a
#     private apt configuration (sources list, lists, cache, empty dpkg status): nothing of
#     another Debian release ever reaches this system's apt or dpkg.
# A download that fails leaves a warning and the rest in place: the tests that need the file fail
# and say so (scripts/guest-assets.sh names what is missing).
set -euo pipefail

here=$(dirname "$0")
packages=(
  # build
  cmake make g++ clang lld libclang-rt-14-dev clang-format git pkg-config binutils
  # libraries
  libssl-dev libcli11-dev nlohmann-json3-dev libtpms-dev libtpms0 libgtest-dev libbenchmark-dev
  # runtime peers of the tests and examples
  openssl qemu-system-x86 ovmf tpm2-tools swtpm swtpm-tools socat
  # the guest VM's initramfs (scripts/guest-assets.sh) and the archive downloads below
  busybox-static cpio apt ca-certificates
  # manual pages (help2man, at build time) and the package's checks (scripts/package-test.sh)
  help2man man-db lintian
  # benchmarks
  hyperfine python3 valgrind
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# ---------------------------------------------------------------------------------------------
# The cache of packages downloaded, not installed.

cache=$("$here/guest-assets.sh" path cache)
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
  echo "install-deps: warning: cannot write the cache $cache (run as root, or set" \
       "CVTPM_CACHE_DIR); the guest VM's kernel and ovmf-generic are not fetched" >&2
  exit 0
fi
# apt downloads as the unprivileged _apt user, which cannot write a private directory.
sandbox=()
[ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)

warn() { echo "install-deps: warning: $*" >&2; }

# unpack DIR DEB LINK TARGET: dpkg -x the package into DIR/root, point DIR/LINK at TARGET inside it,
# record the package's version; replaces an earlier unpacking only once this one is complete.
unpack() {
  local dir=$1 deb=$2 link=$3 target=$4
  rm -rf "$dir/root.new"
  dpkg -x "$deb" "$dir/root.new"
  local found
  found=$(cd "$dir/root.new" && ls -d $target 2>/dev/null | head -1)
  if [ -z "$found" ]; then
    warn "$deb has no $target"
    rm -rf "$dir/root.new"
    return 1
  fi
  rm -rf "$dir/root"
  mv "$dir/root.new" "$dir/root"
  ln -sfn "root/$found" "$dir/$link"
  dpkg-deb -f "$deb" Package Version > "$dir/PACKAGE"
  rm -f "$deb"
}

# Debian 12's kernel: linux-image-cloud-amd64 is a metapackage; its dependency is the image.
fetch_kernel() {
  local dir=$cache/debian12-cloud-kernel image
  [ -e "$dir/vmlinuz" ] && return 0
  mkdir -p "$dir"
  image=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
          awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  if [ -z "$image" ] && [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && image=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
                                  awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  fi
  if [ -z "$image" ]; then
    warn "apt knows no linux-image-cloud-amd64 (apt-get update?): no guest kernel"
    return 0
  fi
  echo "install-deps: downloading $image (Debian 12, unpacked into $dir, not installed)"
  rm -f "$dir"/*.deb
  if ! (cd "$dir" && apt-get "${sandbox[@]}" -qq download "$image"); then
    warn "cannot download $image from the Debian archive: no guest kernel"
    return 0
  fi
  unpack "$dir" "$dir"/*.deb vmlinuz 'boot/vmlinuz-*' || return 0
  # The test VM boots without modules (its initramfs has none): keep boot/, drop 100+ MB.
  rm -rf "$dir/root/lib" "$dir/root/usr"
}

# Debian unstable's ovmf-generic, through a private apt configuration.
fetch_ovmf_generic() {
  local dir=$cache/ovmf-generic apt=$cache/apt-unstable
  [ -e "$dir/OVMF.fd" ] && return 0
  mkdir -p "$dir" "$apt/lists/partial" "$apt/cache/archives/partial"
  echo "deb http://deb.debian.org/debian unstable main" > "$apt/sources.list"
  : > "$apt/status"
  local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
              -o Dir::State::status="$apt/status" "${sandbox[@]}")
  echo "install-deps: downloading ovmf-generic from Debian unstable (unpacked into $dir, not" \
       "installed)"
  rm -f "$dir"/*.deb
  if ! apt-get "${opts[@]}" -qq update ||
     ! (cd "$dir" && apt-get "${opts[@]}" -qq download ovmf-generic); then
    warn "cannot download ovmf-generic from Debian unstable: SNP images need an OVMF with" \
         "SVSM support from elsewhere (Debian 12's ovmf has none; docs/launcher.md)"
    return 0
  fi
  unpack "$dir" "$dir"/*.deb OVMF.fd usr/share/ovmf/OVMF.fd || true
  rm -rf "$apt"  # the unstable package lists are only needed for this download
}

fetch_kernel
fetch_ovmf_generic
