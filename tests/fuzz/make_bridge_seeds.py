#!/usr/bin/env python3
"""Writes the seed corpus of bridge_control_fuzz (tests/fuzz/corpus/bridge_control/).

Layout (bridge_control_fuzz.cpp): byte 0 bit 0 = QEMU client, bits 1..7 = which requests carry
a descriptor; then the control stream, 0xFF 0xFF = an idle line. The streams are what QEMU's
tpm-emulator (backends/tpm/tpm_emulator.c) and tpm2-tss's swtpm TCTI send. Run from anywhere.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus", "bridge_control")

(GET_CAPABILITY, INIT, SHUTDOWN, GET_TPMESTABLISHED, SET_LOCALITY, HASH_START, HASH_DATA,
 HASH_END, CANCEL, STORE_VOLATILE, RESET_TPMESTABLISHED, GET_STATEBLOB, SET_STATEBLOB, STOP,
 GET_CONFIG, SET_DATAFD, SET_BUFFERSIZE, GET_INFO, LOCK_STORAGE) = range(1, 20)


def req(code, payload=b""):
    return struct.pack(">I", code) + payload


def u32(v):
    return struct.pack(">I", v)


def write(name, flags, stream):
    os.makedirs(CORPUS, exist_ok=True)
    with open(os.path.join(CORPUS, name), "wb") as f:
        f.write(bytes([flags]) + stream)


# QEMU: SET_DATAFD (with the descriptor), GET_CAPABILITY, the machine reset (STOP, SET_BUFFERSIZE
# query, STOP, SET_BUFFERSIZE, INIT), SET_LOCALITY and RESET_TPMESTABLISHED padded to 4 bytes.
qemu_startup = (req(SET_DATAFD) + req(GET_CAPABILITY) + req(STOP) + req(SET_BUFFERSIZE, u32(0)) +
                req(STOP) + req(SET_BUFFERSIZE, u32(3968)) + req(INIT, u32(0)) +
                req(SET_LOCALITY, b"\x00\x00\x00\x00") +
                req(RESET_TPMESTABLISHED, b"\x03\xee\xee\xee") + req(GET_TPMESTABLISHED) +
                req(SHUTDOWN))
write("qemu_startup.bin", 0b00000011, qemu_startup)
# A second SET_DATAFD, one without a descriptor, a stray descriptor on another request.
write("qemu_descriptors.bin", 0b00001111,
      req(SET_DATAFD) + req(SET_DATAFD) + req(GET_CONFIG) + req(SET_DATAFD))
# State blobs (migration): refused by the bridge.
write("qemu_state_blobs.bin", 0b00000001,
      req(GET_STATEBLOB, u32(1) + u32(1) + u32(0)) +
      req(SET_STATEBLOB, u32(0) + u32(1) + u32(4) + b"blob"))
# Garbage, an idle line, then a request.
write("qemu_garbage.bin", 0b00000001,
      b"\x00\xab\xcd\xef\x01" + b"\xff\xff" + req(GET_CAPABILITY))
# tpm2-tss's TCTI: SET_LOCALITY with its one byte, INIT; the cvtpm attestation extension.
write("tcp_tcti.bin", 0b00000000,
      req(SET_LOCALITY, b"\x00") + b"\xff\xff" + req(INIT, u32(0)) + b"\xff\xff" +
      req(0x43560001, b"\x01" + bytes(64)))
# A firmware capability answer for the rewrite (the first 8 stream bytes).
write("capabilities.bin", 0b00000001, struct.pack(">Q", 0x2CAF))
