#!/usr/bin/env bash
# The .deb as users get it (docs/install.md, "Tests"; run by scripts/test.sh): builds the release
# preset's package, checks its control fields, contents and file metadata, that packaging again
# gives the same bytes, that lintian reports no error, then installs it into a scratch root with
# dpkg -x and runs the installed tools from there with the repository hidden (an empty tmpfs over
# it in a private mount namespace): `cvtpm-measure --version`, an image built and measured with
# the installed firmware (the same launch digest as the build tree's), and
# `cvtpm-launch emulate --smoke`. A hidden dependency on the source or build tree fails here.
#
#   scripts/package-test.sh          (needs scripts/install-deps.sh's packages; root, or a kernel
#                                     that allows unprivileged user namespaces)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

step() { printf '\n==> package: %s\n' "$*"; }
fail() {
  echo "package-test: FAILED: $*" >&2
  exit 1
}

step "release build and .deb (cmake --build --preset release --target package)"
cmake --preset release >/dev/null
cmake --build --preset release --target package
mapfile -t debs < <(ls build-release/package/cvtpm_*_amd64.deb)
[ ${#debs[@]} -eq 1 ] || fail "expected one cvtpm_<version>_amd64.deb, found: ${debs[*]:-none}"
deb=${debs[0]}
version=$(awk '/^project\(cvtpm/ { p = 1 } p && $1 == "VERSION" { print $2; exit }' CMakeLists.txt)
[ "$(basename "$deb")" = "cvtpm_${version}_amd64.deb" ] || fail "$deb: not cvtpm_${version}_amd64.deb"
epoch=$(git log -1 --format=%ct)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$deb" "$work/first.deb"

step "reproducible: packaged again after touching every staged input, under umask 077"
find build-release/bin build-release/packaging -type f -exec touch {} +
(umask 077 && cmake --build --preset release --target package >/dev/null)
cmp "$work/first.deb" "$deb" || fail "$deb differs from the first packaging of the same tree"
echo "same bytes: $(sha256sum "$deb" | cut -d' ' -f1)"

step "control fields"
dpkg-deb -f "$deb" Package Version Architecture Depends Installed-Size
[ "$(dpkg-deb -f "$deb" Depends)" = "qemu-system-x86, ovmf, tpm2-tools" ] ||
  fail "Depends is '$(dpkg-deb -f "$deb" Depends)'"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"

step "contents: layout, owner root, every time SOURCE_DATE_EPOCH ($epoch)"
TZ=UTC dpkg-deb -c "$deb" > "$work/contents"
stamp=$(TZ=UTC date -d "@$epoch" '+%Y-%m-%d %H:%M')
awk -v s="$stamp" '$2 != "root/root" || $4 " " $5 != s { print; bad = 1 } END { exit bad }' \
  "$work/contents" || fail "entries above are not root/root at $stamp"
tools=(cvtpm-igvmgen cvtpm-measure cvtpm-launch cvtpm-verify cvtpm-vtpmd cvtpm-tpm-bridge)
expected=(./usr/lib/cvtpm/cvtpm-fw.elf ./usr/lib/cvtpm/cvtpm-fw-stripped.elf
          ./usr/lib/cvtpm/cvtpm-fw.manifest.json ./usr/share/doc/cvtpm/copyright
          ./usr/share/doc/cvtpm/changelog.gz ./usr/share/doc/cvtpm/README.md
          ./usr/share/doc/cvtpm/docs/install.md ./usr/share/doc/cvtpm/examples/quickstart.sh
          ./usr/share/bash-completion/completions/cvtpm ./usr/share/lintian/overrides/cvtpm)
for t in "${tools[@]}"; do
  expected+=("./usr/bin/$t" "./usr/share/man/man1/$t.1.gz"
             "./usr/share/bash-completion/completions/$t -> cvtpm")
done
for path in "${expected[@]}"; do
  grep -qF " $path" "$work/contents" || fail "$deb has no $path"
done

step "lintian: no errors (tags this package raises on purpose are overridden, with reasons)"
lintian --fail-on error --tag-display-limit 0 --info "$deb" | tee "$work/lintian.txt"
! grep -q '^E: ' "$work/lintian.txt" || fail "lintian reports errors"

step "dpkg -x into a scratch root"
root=$work/root
dpkg -x "$deb" "$root"
for t in "${tools[@]}"; do
  # Static: no program interpreter, so nothing of this system's loader or libraries is needed.
  ! readelf -l "$root/usr/bin/$t" | grep -q INTERP || fail "$t is dynamically linked"
done
# No build path in any file: the bytes must not depend on where the tree was checked out.
! grep -rlF "$repo" "$root" || fail "the files above contain the build path $repo"
# The build tree's result, to compare the installed tools' with.
ovmf=/usr/share/OVMF/OVMF_CODE.fd
build-release/bin/cvtpm-igvmgen build --firmware build-release/bin/cvtpm-fw.elf --ovmf "$ovmf" \
  --allow-non-svsm-ovmf -o "$work/reference.igvm"
build-release/bin/cvtpm-measure igvm --check-kvm -o hex "$work/reference.igvm" > "$work/reference"

step "the installed tools, with $repo hidden"
mkdir "$work/run"
cat > "$work/inside.sh" <<'INSIDE'
set -euo pipefail
repo=$1 root=$2 run=$3 ovmf=$4 version=$5
mount -t tmpfs -o size=1m,mode=000 cvtpm-repository-hidden "$repo"
[ -z "$(ls -A "$repo")" ] || { echo "the repository is still visible" >&2; exit 1; }
export PATH=$root/usr/bin:$PATH
unset CVTPM_DATA_DIR
cd "$run"
set -x
[ "$(cvtpm-measure --version)" = "cvtpm-measure $version" ]
cvtpm-igvmgen build --ovmf "$ovmf" --allow-non-svsm-ovmf -o vtpm.igvm
cvtpm-measure igvm --check-kvm -o hex vtpm.igvm > digest
cvtpm-launch emulate --smoke
MANWIDTH=80 man -l "$root/usr/share/man/man1/cvtpm-launch.1.gz" | grep -q 'CVTPM_DATA_DIR'
INSIDE
hide=(unshare --mount --propagation private)
[ "$(id -u)" -eq 0 ] || hide=(unshare --user --map-root-user --mount --propagation private)
"${hide[@]}" bash "$work/inside.sh" "$repo" "$root" "$work/run" "$ovmf" "$version"
cmp "$work/reference" "$work/run/digest" ||
  fail "the installed tools' launch digest differs from the build tree's"
echo "launch digest (installed = build tree): $(cat "$work/run/digest")"

step "package tests passed"
