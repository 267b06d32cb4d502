#!/usr/bin/env python3
"""Writes the seed corpus of state_link_fuzz (tests/fuzz/corpus/state_link/).

Layout (tests/fuzz/state_link_fuzz.cpp): a mode byte (0 the firmware's client against scripted
answers, 1 the host's server against scripted requests), then records of u16 length
(little-endian) + bytes. Structures from formats/include/cvtpm/formats/state/state_link.h.
Run from anywhere; deterministic.
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "state_link")

INFO, READ, BEGIN, DATA, COMMIT = 1, 2, 3, 4, 5


def record(b):
    return struct.pack("<H", len(b)) + b


def answer(op, status=0, size=0, digest=bytes(32), data=b""):
    return struct.pack("<BBxxI", op, status, size) + digest + data


def request(op, offset=0, length=0, body=b""):
    return struct.pack("<BxxxIII", op, offset, length, 0) + body


def write(name, mode, records):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([mode]) + b"".join(record(r) for r in records))


def main():
    os.makedirs(OUT, exist_ok=True)
    blob = bytes(range(256)) * 20  # 5120 bytes: two READ chunks
    digest = hashlib.sha256(blob).digest()
    new = bytes([0x5A]) * 300
    new_digest = hashlib.sha256(new).digest()
    # Client: an honest host.
    write("client_honest.bin", 0, [
        answer(INFO, size=len(blob), digest=digest),
        answer(READ, size=4096, data=blob[:4096]),
        answer(READ, size=len(blob) - 4096, data=blob[4096:]),
        answer(BEGIN), answer(DATA), answer(COMMIT, digest=new_digest),
    ])
    write("client_empty_store.bin", 0, [answer(INFO), answer(BEGIN), answer(DATA),
                                        answer(COMMIT, digest=new_digest)])
    write("client_short_read.bin", 0, [answer(INFO, size=100), answer(READ, size=100, data=b"x" * 99)])
    write("client_conflict.bin", 0, [answer(INFO), answer(BEGIN, status=2)])
    write("client_wrong_op.bin", 0, [answer(COMMIT, size=10)])
    write("client_commit_other_digest.bin", 0, [answer(INFO), answer(BEGIN), answer(DATA),
                                                answer(COMMIT, digest=digest)])
    write("client_silent.bin", 0, [])
    # Server: a whole write, reads, and requests out of order.
    begin = struct.pack("<QII", 2, len(new), 0) + bytes(32)
    write("server_write.bin", 1, [request(INFO), request(BEGIN, body=begin),
                                  request(DATA, 0, len(new), new), request(COMMIT, body=new_digest)])
    current = hashlib.sha256(bytes([0x11]) * 64).digest()
    begin_cas = struct.pack("<QII", 3, len(new), 0) + current
    write("server_write_cas.bin", 1, [request(INFO), request(READ, 0, 64),
                                      request(BEGIN, body=begin_cas),
                                      request(DATA, 0, 100, new[:100]),
                                      request(DATA, 100, 200, new[100:]),
                                      request(COMMIT, body=new_digest)])
    write("server_out_of_order.bin", 1, [request(READ, 0, 10), request(DATA, 0, 1, b"a"),
                                         request(COMMIT, body=bytes(32)), request(9), b"\x01"])
    write("server_bad_digest.bin", 1, [request(BEGIN, body=begin_cas),
                                       request(DATA, 0, len(new), new),
                                       request(COMMIT, body=bytes(32))])


if __name__ == "__main__":
    main()
