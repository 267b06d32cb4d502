#!/usr/bin/env bash
# Installs every Debian package cvtpm's build, tests, benchmarks and examples need. The one place
# dependencies are declared. Idempotent: does nothing (and needs no network) when all are present.
set -euo pipefail

packages=(
  # build
  cmake make g++ clang lld libclang-rt-14-dev clang-format git pkg-config binutils
  # libraries
  libssl-dev libcli11-dev nlohmann-json3-dev libtpms-dev libtpms0 libgtest-dev libbenchmark-dev
  # runtime peers of the tests and examples
  openssl qemu-system-x86 ovmf tpm2-tools swtpm swtpm-tools socat
  # benchmarks
  hyperfine python3 valgrind
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y --no-install-recommends "${missing[@]}"
