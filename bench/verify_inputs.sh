#!/usr/bin/env bash
# Writes a complete set of SEV-SNP verification inputs into DIR, made with the openssl command
# line and python3 only (no cvtpm code), in AMD's shapes: a self-signed ARK and an ASK (RSA,
# RSASSA-PSS SHA-384, MGF1-SHA-384, salt 48; AMD's are RSA-4096), a VCEK (EC P-384, serial 0,
# the KDS extensions: productName Milan-B0, SPLs, hwID), and a version 2 report signed by the
# VCEK whose REPORT_DATA binds a nonce and the manifest `tests/verify/data/ek_rsa2048.tpmt`.
#
#   bench/verify_inputs.sh DIR            (KEY_BITS=2048 for faster test keys)
#
# Files: ark.pem, ask.pem, chain.pem (ASK then ARK, as KDS serves it), vcek.pem, vcek.key,
# report.bin, manifest.bin, nonce.hex, measurement.hex, and args.txt, the cvtpm-verify report
# options that accept them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:?usage: $0 DIR}
bits=${KEY_BITS:-4096}
mkdir -p "$dir"
cd "$dir"

export OPENSSL_CONF=/dev/null  # reproducible: no host configuration
subject() { echo "/OU=Engineering/C=US/L=Santa Clara/ST=CA/O=Advanced Micro Devices/CN=$1"; }
pss=(-sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384)

openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out ark.key 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out ask.key 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out vcek.key

printf '[ca]\nbasicConstraints = critical,CA:true\nkeyUsage = keyCertSign,cRLSign\n' >ca.cnf
openssl req -x509 -new -key ark.key -subj "$(subject ARK-Milan)" -days 9125 -set_serial 65536 \
  "${pss[@]}" -config ca.cnf -extensions ca -out ark.pem
openssl req -new -key ask.key -subj "$(subject SEV-Milan)" -config ca.cnf -out ask.csr
openssl x509 -req -in ask.csr -CA ark.pem -CAkey ark.key -set_serial 65537 -days 9125 \
  "${pss[@]}" -extfile ca.cnf -extensions ca -out ask.pem 2>/dev/null
cat ask.pem ark.pem >chain.pem

# The chip: 64 bytes of hwID; the TCB: bl=3 tee=0 snp=8 microcode=115 (DER INTEGERs).
chip_id=$(python3 -c 'print(bytes((i * 11 + 5) & 0xFF for i in range(64)).hex())')
colons() { sed 's/../&:/g; s/:$//' <<<"$1"; }
{
  echo "[vcek]"
  echo "1.3.6.1.4.1.3704.1.1 = DER:02:01:00"
  echo "1.3.6.1.4.1.3704.1.2 = DER:16:08:$(colons "$(printf 'Milan-B0' | od -An -tx1 | tr -d ' \n')")"
  echo "1.3.6.1.4.1.3704.1.3.1 = DER:02:01:03"
  echo "1.3.6.1.4.1.3704.1.3.2 = DER:02:01:00"
  for spl in 4 5 6 7; do echo "1.3.6.1.4.1.3704.1.3.$spl = DER:02:01:00"; done
  echo "1.3.6.1.4.1.3704.1.3.3 = DER:02:01:08"
  echo "1.3.6.1.4.1.3704.1.3.8 = DER:02:01:73"
  echo "1.3.6.1.4.1.3704.1.4 = DER:04:40:$(colons "$chip_id")"
} >vcek.cnf
openssl req -new -key vcek.key -subj "$(subject SEV-VCEK)" -config /dev/null -out vcek.csr
openssl x509 -req -in vcek.csr -CA ask.pem -CAkey ask.key -set_serial 0 -days 2555 \
  "${pss[@]}" -extfile vcek.cnf -extensions vcek -out vcek.pem 2>/dev/null

cp "$root/tests/verify/data/ek_rsa2048.tpmt" manifest.bin
head -c 64 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >nonce.hex
python3 - "$chip_id" <<'PY'
import hashlib, struct, sys
chip_id = bytes.fromhex(sys.argv[1])
nonce = bytes.fromhex(open("nonce.hex").read())
manifest = open("manifest.bin", "rb").read()
tcb = bytes([3, 0, 0, 0, 0, 0, 8, 115])  # Milan layout: bl, tee, 4 reserved, snp, microcode
measurement = bytes(range(0x30, 0x60))
r = bytearray(0x4A0)
struct.pack_into("<IIQ", r, 0x000, 2, 0, 0x30000)  # version, guest SVN, policy
struct.pack_into("<II", r, 0x030, 0, 1)  # VMPL 0, ECDSA P-384 with SHA-384
r[0x038:0x040] = tcb  # current
r[0x050:0x090] = hashlib.sha512(nonce + manifest).digest()
r[0x090:0x0C0] = measurement
r[0x180:0x188] = tcb  # reported
r[0x1A0:0x1E0] = chip_id
r[0x1E0:0x1E8] = tcb  # committed
r[0x1F0:0x1F8] = tcb  # launch
open("report-body.bin", "wb").write(r[:0x2A0])
open("report-template.bin", "wb").write(r)
open("measurement.hex", "w").write(measurement.hex())
PY
openssl dgst -sha384 -sign vcek.key -out report.sig report-body.bin
python3 - <<'PY'
# ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, into the report's little-endian r and s.
sig = open("report.sig", "rb").read()
def length(at):
    n = sig[at]
    if n < 0x80:
        return n, at + 1
    count = n & 0x7F
    return int.from_bytes(sig[at + 1:at + 1 + count], "big"), at + 1 + count
assert sig[0] == 0x30
_, at = length(1)
values = []
for _ in range(2):
    assert sig[at] == 0x02
    n, at = length(at + 1)
    values.append(int.from_bytes(sig[at:at + n], "big"))
    at += n
report = bytearray(open("report-template.bin", "rb").read())
report[0x2A0:0x2A0 + 72] = values[0].to_bytes(72, "little")
report[0x2E8:0x2E8 + 72] = values[1].to_bytes(72, "little")
open("report.bin", "wb").write(report)
PY
rm -f ask.csr vcek.csr report.sig report-body.bin report-template.bin ca.cnf vcek.cnf ark.srl ask.srl
echo "--report report.bin --vcek vcek.pem --cert-chain chain.pem --ark ark.pem" \
  "--measurement $(cat measurement.hex) --nonce $(cat nonce.hex) --manifest manifest.bin" >args.txt
