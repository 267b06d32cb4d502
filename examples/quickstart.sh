#!/usr/bin/env bash
# What a verifier computes before a confidential VM boots: its expected SEV-SNP launch digests.
# Runs against Debian's OVMF (package ovmf); outputs land in build/quickstart/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bin
ovmf=/usr/share/OVMF/OVMF_CODE.fd
out=build/quickstart
mkdir -p "$out"

say() { printf '\n## %s\n' "$*"; }

say "Launch digest of $ovmf for 1 vCPU of type EPYC-v4 (QEMU/KVM, SEV_FEATURES 0x1)"
"$bin/cvtpm-measure" --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$ovmf"

say "The same for 4 EPYC-Milan vCPUs with DebugSwap (0x21), as JSON a verifier can store"
"$bin/cvtpm-measure" --mode snp --vcpus 4 --vcpu-type EPYC-Milan --guest-features 0x21 \
  --ovmf "$ovmf" --output-format json | tee "$out/reference-milan-4vcpu.json"

say "Every measured region (-v lists them on stderr)"
"$bin/cvtpm-measure" --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$ovmf" -v

say "An ID block for that digest, signed by fresh P-384 ID and author keys"
openssl ecparam -name secp384r1 -genkey -noout -out "$out/id-key.pem"
openssl ecparam -name secp384r1 -genkey -noout -out "$out/author-key.pem"
digest=$("$bin/cvtpm-measure" --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$ovmf")
"$bin/cvtpm-measure" id-block --measurement "$digest" --id-key "$out/id-key.pem" \
  --author-key "$out/author-key.pem" --output-format json > "$out/id-block.json"
echo "written to $out/id-block.json; QEMU properties for -object sev-snp-guest:"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["qemu_sev_snp_guest_properties"][:120] + "...")' \
  "$out/id-block.json"
