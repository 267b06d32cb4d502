#!/usr/bin/env bash
# tpm2_tools_workload.sh HOST PORT: one round of an everyday tpm2-tools workload against a started
# TPM behind swtpm's socket protocol (timed by bench/vtpmd_vs_swtpm.sh): random bytes, a PCR
# extend and read, an ECC primary key, an NV index written and read back. Leaves the TPM as it
# found it (no objects loaded, no NV index).
set -euo pipefail
export TPM2TOOLS_TCTI="swtpm:host=$1,port=$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for _ in 1 2 3 4 5; do tpm2_getrandom -o "$work/random.bin" 16; done
tpm2_pcrextend 16:sha256=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
tpm2_pcrread sha256:16 >/dev/null
tpm2_createprimary -C o -G ecc -c "$work/primary.ctx" >/dev/null
tpm2_flushcontext -t
tpm2_nvdefine 0x1500017 -C o -s 16 -a 'ownerread|ownerwrite' >/dev/null
tpm2_nvwrite 0x1500017 -C o -i "$work/random.bin"
tpm2_nvread 0x1500017 -C o -s 16 -o "$work/nv.bin"
cmp -s "$work/random.bin" "$work/nv.bin"
tpm2_nvundefine 0x1500017 -C o
