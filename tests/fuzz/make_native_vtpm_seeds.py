#!/usr/bin/env python3
"""Writes the seed corpus of native_vtpm_fuzz (tests/fuzz/corpus/native_vtpm/).

Layout: records of u8 kind (even: TPM command, odd: swtpm control request), u16 big-endian
length, payload. Run from anywhere.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

STARTUP = bytes.fromhex("80010000000c000001440000")
GET_RANDOM = bytes.fromhex("80010000000c0000017b0010")
# TPM2_CreatePrimary(owner, ECC P-256 restricted decryption key), as the firmware self-test.
CREATE_PRIMARY = bytes.fromhex(
    "800200000043000001314000000100000009400000090000000000000400000000001a0023000b00030072"
    "0000000600800043001000030010000000000000000000000000")
FLUSH_TRANSIENT = bytes.fromhex("80010000000e0000016580000000")


def tpm(command):
    return bytes([0]) + struct.pack(">H", len(command)) + command


def control(code, payload=b""):
    body = struct.pack(">I", code) + payload
    return bytes([1]) + struct.pack(">H", len(body)) + body


def write(name, data):
    path = os.path.join(HERE, "corpus", "native_vtpm")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


write("startup_getrandom.bin", tpm(STARTUP) + tpm(GET_RANDOM) + tpm(GET_RANDOM))
write("create_primary.bin", tpm(STARTUP) + tpm(CREATE_PRIMARY) + tpm(FLUSH_TRANSIENT))
write("locality.bin",
      tpm(STARTUP) + control(5, b"\x01") + tpm(GET_RANDOM) + control(5, b"\x09") +
      control(5, b"\x00") + tpm(GET_RANDOM))
write("power.bin",
      control(1) + control(0x0e) + tpm(GET_RANDOM) + control(2, b"\0\0\0\0") + tpm(GET_RANDOM) +
      tpm(STARTUP) + control(3) + control(2, b"\0\0\0\1") + control(4) + control(0x0f) +
      control(0x11, b"\0\0\x10\0") + control(9) + control(6))
write("attestation.bin",
      tpm(STARTUP) + control(0x43560001, b"\x01" + bytes(range(64))) +
      control(0x43560001, b"\x00" + bytes(64)) + control(0x43560001, b"\x02" + bytes(64)))
oversized = bytearray(4090)
oversized[0:10] = bytes.fromhex("800100000ffa0000017b")
write("oversized.bin", tpm(STARTUP) + tpm(bytes(oversized)) + tpm(b"\x80\x01\x00\x00\x00\x05"))
write("malformed_control.bin", control(0x77) + control(5) + control(0x43560001, b"\x01"))
