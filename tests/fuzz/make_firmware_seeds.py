#!/usr/bin/env python3
"""Writes the seed corpora of tpm_transport_fuzz and boot_info_fuzz (tests/fuzz/corpus/).

Layouts: tpm_transport_fuzz reads its input as bytes on the serial link, as a raw TPM command
stream and as a swtpm control stream; boot_info_fuzz reads its input as guest memory starting
at GPA 0x1000, where hvm_start_info (PVH) or BootParams (IGVM) sits. Run from anywhere.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(corpus, name, data):
    path = os.path.join(HERE, "corpus", corpus)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def cobs(data):
    out, block = bytearray(), bytearray()
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block = bytearray()
            continue
        block.append(b)
        if len(block) == 254:
            out += b"\xff" + block
            block = bytearray()
    out += bytes([len(block) + 1]) + block
    return bytes(out)


def frame(ftype, seq, payload):
    body = bytes([ftype, seq]) + payload
    body += struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return b"\x00" + cobs(body) + b"\x00"


GET_RANDOM = bytes.fromhex("80010000000c0000017b0008")
STARTUP = bytes.fromhex("80010000000c000001440000")
SET_LOCALITY = struct.pack(">IB", 5, 0)
HASH_DATA = struct.pack(">II", 7, 3) + b"abc"

write("tpm_transport", "link_session.bin",
      frame(5, 1, b"") + frame(1, 2, GET_RANDOM) + frame(3, 3, SET_LOCALITY) + frame(3, 4, HASH_DATA))
write("tpm_transport", "link_garbage_then_frame.bin", b"CT\x01garbage\x00\x00" + frame(1, 9, STARTUP))
write("tpm_transport", "raw_commands.bin", GET_RANDOM + STARTUP + b"\xff\xff" + b"\x00\xc1" + b"\xff\xff" + GET_RANDOM)
write("tpm_transport", "control_requests.bin",
      SET_LOCALITY + struct.pack(">I", 1) + struct.pack(">II", 2, 1) + HASH_DATA + struct.pack(">I", 0x77))
write("tpm_transport", "big_command.bin",
      frame(1, 7, b"\x80\x01" + struct.pack(">I", 4096) + b"\x00\x00\x01\x5b" + bytes(4086)))

BASE = 0x1000
MiB = 1 << 20


def pvh_layout(cmdline=b"selftest loglevel=debug"):
    memmap = [(0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0x100000, 256 * MiB - 0x100000, 1)]
    mem = bytearray(0x400)
    memmap_at, cmdline_at = BASE + 0x100, BASE + 0x300
    struct.pack_into("<IIIIQQQQII", mem, 0, 0x336EC578, 1, 0, 0, 0, cmdline_at, 0xF5A40, memmap_at,
                     len(memmap), 0)
    for i, (addr, size, kind) in enumerate(memmap):
        struct.pack_into("<QQII", mem, 0x100 + 24 * i, addr, size, kind, 0)
    mem[0x300:0x300 + len(cmdline) + 1] = cmdline + b"\x00"
    return bytes(mem)


def igvm_layout():
    mem = bytearray(0x2000)
    vp_at, map_at = BASE + 0x1000, BASE + 0x1100
    header = struct.pack("<IIII", 0x42545643, 3, 448, 2)
    header += struct.pack("<QQ", 0x08000000, 0x02000000)
    header += struct.pack("<QQ", 0, 0)
    header += struct.pack("<QQQQ", vp_at, vp_at + 4, map_at, 0x100)
    header += struct.pack("<HBBIQ", 0x3F8, 2, 0, 0, 1)
    mem[0:len(header)] = header
    struct.pack_into("<QQ", mem, 408, 0x08000000, 0x403000)  # image range
    struct.pack_into("<QQ", mem, 424, 0x812000, 0xC0)  # the guest's IGVM memory map
    struct.pack_into("<II", mem, 440, 2, 0)  # state binding: measurement
    struct.pack_into("<I", mem, 0x1000, 2)
    struct.pack_into("<QQHHI", mem, 0x1100, 0, 0x9F, 0, 0, 0)
    struct.pack_into("<QQHHI", mem, 0x1118, 0x100, (256 * MiB - MiB) // 4096, 0, 0, 0)
    return bytes(mem)


write("boot_info", "pvh_q35_256m.bin", pvh_layout())
write("boot_info", "pvh_fault_option.bin", pvh_layout(b"fault=stack bogus"))
write("boot_info", "igvm_native_256m.bin", igvm_layout())
