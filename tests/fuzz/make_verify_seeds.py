#!/usr/bin/env python3
"""Writes the seed corpus of verify_evidence_fuzz (tests/fuzz/corpus/verify_evidence/).

Layout (tests/fuzz/verify_evidence_fuzz.cpp): a selector byte, then a report, a certificate, a
PEM chain, a manifest, reference-values JSON, or (selector 5) u16-length-prefixed VCEK, chain
and manifest followed by the report. Sources: the real Milan report and VCEK and cvtpm-vtpmd's
EKs (tests/verify/data), AMD's roots (verify/roots). Run from anywhere. Files named
regression_* are inputs the fuzzer found (kept as they are, not written here).
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "verify", "data")
ROOTS = os.path.join(ROOT, "verify", "roots")
OUT = os.path.join(HERE, "corpus", "verify_evidence")

NATIVE_MARKER = b"cvtpm native: NOT ATTESTED"
SERVICES_GUID = bytes.fromhex("bb9e8463923d7046a1ff58f9c94b87bb")
VTPM_GUID = bytes.fromhex("ebf176c42301a5459641b4e7dde5bfe3")
# cvtpm's state service 31e5bf5a-87b1-4ca7-a415-75feaccacbc8, UEFI byte order.
STATE_GUID = bytes.fromhex("5abfe531b187a74ca41575feaccacbc8")


def read(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


def write(name, selector, payload):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([selector]) + payload)


def piece(data):
    return struct.pack("<H", len(data)) + data


def services_manifest(services):
    table = 0x18 + 0x18 * len(services)
    total = table + sum(len(d) for _, d in services)
    out = SERVICES_GUID + struct.pack("<II", total, len(services))
    offset = table
    for guid, data in services:
        out += guid + struct.pack("<II", offset, len(data))
        offset += len(data)
    return out + b"".join(d for _, d in services)


def state_entry(status, binding, boot_generation, current_generation, boot_digest,
                current_digest):
    """docs/persistence.md, "Rollback": 96 bytes, little-endian."""
    return struct.pack("<IIIIQQ", 1, status, binding, 0, boot_generation,
                       current_generation) + boot_digest + current_digest


def native_report(nonce, manifest):
    report = bytearray(0x4A0)
    struct.pack_into("<I", report, 0, 2)
    report[0x50:0x90] = hashlib.sha512(nonce + manifest).digest()
    report[0xC0:0xC0 + len(NATIVE_MARKER)] = NATIVE_MARKER
    return bytes(report)


def main():
    report = read(DATA, "report_milan.bin")
    vcek = read(DATA, "vcek_milan.der")
    eks = {n: read(DATA, "ek_%s.tpmt" % n) for n in ("rsa2048", "ecc_p256", "ecc_p384")}
    milan_chain = read(ROOTS, "milan_ask.pem") + read(ROOTS, "milan_ark.pem")
    services = services_manifest([(bytes(16), b"\x01" * 8), (VTPM_GUID, eks["ecc_p256"])])
    native = native_report(bytes(64), eks["rsa2048"])

    write("report_milan", 0, report)
    write("report_native", 0, native)
    write("vcek_milan_der", 1, vcek)
    write("ark_genoa_pem", 1, read(ROOTS, "genoa_ark.pem"))
    write("chain_milan", 2, milan_chain)
    write("chain_turin_reversed", 2, read(ROOTS, "turin_ark.pem") + read(ROOTS, "turin_ask.pem"))
    for name, ek in eks.items():
        write("manifest_" + name, 3, ek)
    write("manifest_services", 3, services)
    restored = state_entry(2, 1, 5, 7, hashlib.sha256(b"5").digest(), hashlib.sha256(b"7").digest())
    with_state = services_manifest([(VTPM_GUID, eks["rsa2048"]), (STATE_GUID, restored)])
    write("manifest_services_state", 3, with_state)
    write("manifest_state_single", 3, state_entry(0, 0, 0, 0, bytes(32), bytes(32)))
    write("reference_measure", 4, b'{"mode": "snp", "launch_digest": "' + b"ab" * 48 + b'"}')
    write("reference_listing", 4,
          b'{"igvm": {"mode": "igvm", "launch_digest": "' + b"cd" * 48 +
          b'"}, "ovmf_launches": [{"mode": "snp", "vcpus": 2, "vcpu_type": "EPYC-Milan", '
          b'"launch_digest": "' + b"ef" * 48 + b'"}]}')
    write("all_milan", 5, piece(vcek) + piece(milan_chain) + piece(eks["rsa2048"]) + report)
    write("all_milan_no_chain", 5, piece(vcek) + piece(b"") + piece(b"") + report)
    write("all_native_allowed", 0x80 | 5, piece(b"") + piece(b"") + piece(eks["rsa2048"]) + native)
    write("all_services_native", 0x80 | 5,
          piece(b"") + piece(b"") + piece(services) + native_report(bytes(64), services))
    write("all_services_state_native", 0x80 | 5,
          piece(b"") + piece(b"") + piece(with_state) + native_report(bytes(64), with_state))
    write("all_ark_override", 0x40 | 5,
          piece(vcek) + piece(milan_chain) + piece(eks["ecc_p384"]) + report)


if __name__ == "__main__":
    main()
