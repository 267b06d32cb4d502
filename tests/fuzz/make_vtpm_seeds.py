#!/usr/bin/env python3
"""Writes the seed corpora of vtpm_dispatcher_fuzz and vtpmd_protocol_fuzz (run from anywhere;
the files are committed, this records how they were made). One seed per SVSM call, with the
guest memory a real guest would prepare for it."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GUEST = 0x10000  # guest RAM base in vtpm_dispatcher_fuzz


def header(protocol, call, rcx=0, rdx=0, r8=0, r9=0, flags=0, budget=63, state=0):
    return struct.pack("<BBBBIQQQQ", protocol, flags, budget, state, call, rcx, rdx, r8, r9)


def memory(*pieces):
    """pieces: (offset in guest RAM, bytes)."""
    size = max(off + len(b) for off, b in pieces) if pieces else 0
    out = bytearray(size)
    for off, b in pieces:
        out[off:off + len(b)] = b
    return bytes(out)


def vtpm_request(command, locality=0, platform_command=8):
    return struct.pack("<IBI", platform_command, locality, len(command)) + command


GET_RANDOM = bytes.fromhex("80010000000c0000017b0010")
STARTUP = bytes.fromhex("80010000000c000001440000")
VTPM_GUID = bytes.fromhex("ebf176c42301a5459641b4e7dde5bfe3")
STATE_GUID = bytes.fromhex("5abfe531b187a74ca41575feaccacbc8")  # cvtpm's state service


def attest_op(single, guid=VTPM_GUID):
    op = struct.pack("<QII", GUEST + 0x3000, 4096, 0)
    op += struct.pack("<QH6x", GUEST + 0x4000, 64)
    op += struct.pack("<QII", GUEST + 0x5000, 4096, 0)
    op += struct.pack("<QII", GUEST + 0x6000, 4096, 0)
    if single:
        op += guid + struct.pack("<II", 0, 0)
    return op


def vmsa():
    page = bytearray(4096)
    page[0xCA] = 2  # VMPL of the guest
    struct.pack_into("<Q", page, 0xD0, 1 << 12)  # EFER.SVME
    struct.pack_into("<Q", page, 0x3B0, 1)  # SEV features: SNP
    return bytes(page)


DISPATCHER = {
    "core_query_protocol": header(0, 6, rcx=2 << 32 | 1),
    "core_configure_vtom": header(0, 7, rcx=1),
    "core_remap_ca": header(0, 0, rcx=GUEST + 0x8000),
    "core_create_vcpu": header(0, 2, rcx=GUEST + 0x9000, rdx=GUEST + 0xA000, r8=5)
    + memory((0x9000, vmsa())),
    "core_delete_vcpu": header(0, 3, rcx=GUEST + 0x9000),
    "core_pvalidate": header(0, 1, rcx=GUEST + 0x2008)
    + memory((0x2008, struct.pack("<HHIQQQ", 3, 0, 0, (GUEST + 0xB000) | 4,
                                   (GUEST + 0xC000) | 4 | 8, (GUEST + 0xD000)))),
    "vtpm_query": header(2, 0),
    "vtpm_cmd_getrandom": header(2, 1, rcx=GUEST + 0x1000)
    + memory((0x1000, vtpm_request(GET_RANDOM))),
    "vtpm_cmd_startup": header(2, 1, rcx=GUEST + 0x1000) + memory((0x1000, vtpm_request(STARTUP))),
    "vtpm_cmd_locality": header(2, 1, rcx=GUEST + 0x1000)
    + memory((0x1000, vtpm_request(GET_RANDOM, locality=3))),
    "vtpm_cmd_through_caa": header(2, 1, rcx=GUEST + 0x1000, flags=8)
    + memory((0, b"\x01"), (0x1000, vtpm_request(GET_RANDOM))),
    "vtpm_cmd_racing_guest": header(2, 1, rcx=GUEST + 0x1000, flags=0x10, r9=0x1234)
    + memory((0x1000, vtpm_request(GET_RANDOM))),
    # The platform's fixed window (the first 32 KiB of guest RAM): a command inside it, through
    # the calling area, and one whose 4 KiB buffer straddles the window's end.
    "vtpm_cmd_window": header(2, 1, rcx=GUEST + 0x1000, flags=0x28)
    + memory((0, b"\x01"), (0x1000, vtpm_request(GET_RANDOM))),
    "vtpm_cmd_window_straddling": header(2, 1, rcx=GUEST + 0x7800, flags=0x20)
    + memory((0x7800, vtpm_request(GET_RANDOM))),
    "attest_services": header(1, 0, rcx=GUEST + 8) + memory((8, attest_op(False)), (0x4000, bytes(range(64)))),
    "attest_single_service": header(1, 1, rcx=GUEST + 8)
    + memory((8, attest_op(True)), (0x4000, bytes(range(64)))),
    "attest_services_state": header(1, 0, rcx=GUEST + 8, state=1)
    + memory((8, attest_op(False)), (0x4000, bytes(range(64)))),
    "attest_single_state": header(1, 1, rcx=GUEST + 8, state=1)
    + memory((8, attest_op(True, STATE_GUID)), (0x4000, bytes(range(64)))),
    "unknown_protocol": header(7, 0),
}

PROTOCOL = {
    "data_getrandom": GET_RANDOM,
    "data_two_commands": GET_RANDOM + STARTUP,
    "data_http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "data_partial": GET_RANDOM[:7],
    "control_set_locality": struct.pack(">IB", 5, 0) + struct.pack(">II", 2, 1),
    "control_attest": struct.pack(">IB", 0x43560001, 1) + bytes(64),
    "control_hash_data": struct.pack(">II", 7, 100) + bytes(20),
}


def write(corpus, seeds):
    directory = os.path.join(HERE, "corpus", corpus)
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(directory, name + ".bin"), "wb") as f:
            f.write(data)


write("vtpm_dispatcher", DISPATCHER)
write("vtpmd_protocol", PROTOCOL)
