#!/usr/bin/env python3
"""Writes the seed corpus of state_blob_fuzz (tests/fuzz/corpus/state_blob/).

An independent implementation of docs/persistence.md's key derivation and blob format (Python's
hmac, hashlib and the cryptography package's AES-GCM), with the fuzz target's fixed root key
(bytes 0..31, measurement binding). tests/state checks that the firmware code opens these
blobs. Layout of a seed: a mode byte (0 blob, 1 u16 position + plaintext, 2 payload), then the
input. Run from anywhere; deterministic.
"""
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "state_blob")

ROOT_KEY = bytes(range(32))
BINDING_MEASUREMENT = 2


def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def state_keys(root):
    prk = hkdf_extract(b"cvtpm vTPM state v1", root)
    return {
        "seal": hkdf_expand(prk, b"seal", 32),
        "seed": hkdf_expand(prk, b"tpm seeds", 32),
        "check": hkdf_expand(prk, b"key check", 16),
    }


def payload(permanent, ek_algorithm, ek):
    return struct.pack("<IHH8x", len(permanent), ek_algorithm, len(ek)) + permanent + ek


def seal(keys, generation, plaintext, salt, binding=BINDING_MEASUREMENT):
    material = hkdf_expand(keys["seal"], b"cvtpm state blob" + salt, 44)
    key, iv = material[:32], material[32:44]
    header = b"CVTPMSTA" + struct.pack("<HHIQII", 1, 96, binding, generation, len(plaintext), 0)
    header += keys["check"] + salt
    sealed = AESGCM(key).encrypt(iv, plaintext, header)  # ciphertext || tag
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return header + tag + ciphertext


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    keys = state_keys(ROOT_KEY)
    permanent = bytes((i * 7) & 0xFF for i in range(600))
    ek = bytes((i * 13) & 0xFF for i in range(88))
    good = seal(keys, 3, payload(permanent, 1, ek), bytes([0x5A]) * 32)
    write("blob_valid_gen3.bin", b"\x00" + good)
    write("blob_valid_empty_plaintext.bin", b"\x00" + seal(keys, 1, b"", bytes(32)))
    write("blob_truncated.bin", b"\x00" + good[:-5])
    write("blob_header_only.bin", b"\x00" + good[:96])
    write("blob_bad_tag.bin", b"\x00" + good[:0x50] + bytes(16) + good[0x60:])
    other = state_keys(bytes(32))
    write("blob_foreign_key.bin", b"\x00" + seal(other, 3, payload(permanent, 1, ek), bytes(32)))
    write("blob_identity_binding.bin", b"\x00" + seal(keys, 2, b"x" * 40, bytes(32), binding=3))
    write("blob_trailing.bin", b"\x00" + good + b"\x00")
    write("roundtrip_small.bin", b"\x01" + struct.pack("<H", 100) + b"cvtpm state" * 10)
    write("roundtrip_empty.bin", b"\x01" + struct.pack("<H", 7))
    write("payload_valid.bin", b"\x02" + payload(permanent, 0, ek))
    write("payload_truncated.bin", b"\x02" + payload(permanent, 2, ek)[:-1])


if __name__ == "__main__":
    main()
