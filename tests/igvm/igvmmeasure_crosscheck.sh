#!/usr/bin/env bash
# igvmmeasure_crosscheck.sh IGVMMEASURE BIN_DIR [OVMF...]: cvtpm-measure against COCONUT-SVSM's
# igvmmeasure on images cvtpm-igvmgen builds. For each OVMF (default: Debian 12's OVMF_CODE.fd and,
# when scripts/install-deps.sh cached it, Debian unstable's ovmf-generic OVMF.fd), builds the image (with
# --allow-non-svsm-ovmf when the OVMF has no SVSM calling area) and compares the SEV-SNP launch
# digests with no option, --check-kvm, --native-zero and both; then signs the first image with
# each tool and checks that the other reads it with the same digest. Exits 1 on any difference.
#
# igvmmeasure is not installable here (crates.io is unreachable); docs/igvm.md, "Cross-check with
# igvmmeasure", says how it was built offline. CTest runs this script (igvm.igvmmeasure-crosscheck)
# only when configured with -DCVTPM_IGVMMEASURE=/path/to/igvmmeasure.
set -euo pipefail
im=${1:?usage: $0 IGVMMEASURE BIN_DIR [OVMF...]}
bin=${2:?usage: $0 IGVMMEASURE BIN_DIR [OVMF...]}
shift 2
if [ $# -eq 0 ]; then
  set -- /usr/share/OVMF/OVMF_CODE.fd
  generic=$("$(dirname "$0")/../../scripts/guest-assets.sh" path ovmf-generic 2>/dev/null) &&
    set -- "$generic" "$@"
fi
[ -x "$im" ] || { echo "igvmmeasure: $im is not an executable" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
first=

compare() {  # IMAGE OPTIONS...
  local image=$1; shift
  local ours theirs
  ours=$("$bin/cvtpm-measure" igvm "$@" -p sev-snp -b "$image")
  theirs=$("$im" "$@" -p sev-snp "$image" measure -b)
  if [ "$ours" = "$theirs" ]; then
    echo "ok: $(basename "$image") [$*] $ours"
  else
    echo "DIFFERENT: $(basename "$image") [$*] cvtpm-measure $ours, igvmmeasure $theirs"
    status=1
  fi
}

n=0
for ovmf in "$@"; do
  n=$((n + 1))
  image=$work/image$n.igvm
  if ! "$bin/cvtpm-igvmgen" build --firmware "$bin/cvtpm-fw.elf" --ovmf "$ovmf" -o "$image" \
       2>"$work/err"; then
    grep -q "allow-non-svsm-ovmf" "$work/err" || { cat "$work/err" >&2; exit 1; }
    "$bin/cvtpm-igvmgen" build --firmware "$bin/cvtpm-fw.elf" --ovmf "$ovmf" \
      --allow-non-svsm-ovmf -o "$image"
  fi
  echo "# $ovmf"
  for options in "" "-c" "-n" "-c -n"; do
    # shellcheck disable=SC2086 # the options are words
    compare "$image" $options
  done
  [ -n "$first" ] || first=$image
done

# ID blocks: each tool reads what the other signed, with the same digest.
openssl ecparam -name secp384r1 -genkey -noout -out "$work/id.pem" 2>/dev/null
openssl ecparam -name secp384r1 -genkey -noout -out "$work/author.pem" 2>/dev/null
"$im" "$first" sign --output "$work/by-igvmmeasure.igvm" --id-key "$work/id.pem" \
  --author-key "$work/author.pem" >/dev/null
"$bin/cvtpm-measure" igvm sign "$first" --id-key "$work/id.pem" --author-key "$work/author.pem" \
  -o "$work/by-cvtpm.igvm" >/dev/null
compare "$work/by-igvmmeasure.igvm"
compare "$work/by-cvtpm.igvm"
"$bin/cvtpm-measure" igvm -o json "$work/by-igvmmeasure.igvm" | grep -q '"matches": *true' ||
  { echo "DIFFERENT: cvtpm-measure does not find igvmmeasure's ID block matching"; status=1; }
exit $status
