#!/usr/bin/env bash
# Reference values for a verifier: the SEV-SNP launch digests to accept, for a set of vCPU counts
# and CPU types, written to one JSON file.
#
#   examples/reference-values.sh [IMAGE.igvm] [OVMF.fd]  > reference-values.json
#
# Two kinds of launch are covered:
# - the cvtpm IGVM image: its digest does not depend on the vCPU count or type (the image fixes
#   the one measured VMSA; APs are created later by the guest through the SVSM), so it is
#   computed once and checked with the KVM rules;
# - a plain OVMF launch (no vTPM): one VMSA per vCPU is measured with the CPU's signature in RDX,
#   so every (count, type) pair has its own digest.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/bin
image=${1:-build/quickstart/vtpm.igvm}
ovmf=${2:-/usr/share/OVMF/OVMF_CODE.fd}
vcpu_counts=(${VCPUS:-1 2 4 8})
cpu_types=(${CPU_TYPES:-EPYC-v4 EPYC-Milan EPYC-Genoa})

[ -f "$image" ] || { echo "no image $image: run examples/quickstart.sh first" >&2; exit 2; }

{
  printf '{\n  "igvm": '
  "$bin/cvtpm-measure" igvm --check-kvm -o json "$image" | sed 's/^/  /; 1s/^  //'
  printf ',\n  "ovmf_launches": [\n'
  first=1
  for type in "${cpu_types[@]}"; do
    for n in "${vcpu_counts[@]}"; do
      [ $first -eq 1 ] || printf ',\n'
      first=0
      "$bin/cvtpm-measure" --mode snp --vcpus "$n" --vcpu-type "$type" --ovmf "$ovmf" \
        --output-format json | sed 's/^/    /'
    done
  done
  printf '\n  ]\n}\n'
} | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=2))'
