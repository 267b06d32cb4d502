#!/usr/bin/env python3
"""An independent IGVM reader and SEV-SNP launch-digest calculator (Python standard library only),
written from the format description, to cross-check cvtpm's C++ code on real files.

    igvm_reference.py FILE   -> prints "crc-ok <n headers> <sev-snp digest hex>" or exits 1
"""
import hashlib
import struct
import sys
import zlib

PAGE = 4096
VMSA_GPA = 0xFFFFFFFFF000


def fail(msg):
    print(msg)
    sys.exit(1)


def main(path):
    data = open(path, "rb").read()
    magic, version, vh_off, vh_size, total, checksum = struct.unpack_from("<6I", data, 0)
    if magic != 0x4D564749 or version not in (1, 2):
        fail("not an IGVM file")
    fixed = 24 if version == 1 else 32
    if total != len(data) or vh_off + vh_size >= len(data):
        fail("bad sizes")
    header = bytearray(data[:fixed])
    header[20:24] = b"\0\0\0\0"
    if zlib.crc32(bytes(header) + data[vh_off:vh_off + vh_size]) != checksum:
        fail("bad crc")

    headers = []
    pos = vh_off
    while pos < vh_off + vh_size:
        typ, length = struct.unpack_from("<2I", data, pos)
        body = data[pos + 8:pos + 8 + length]
        headers.append((typ, body))
        pos += (8 + length + 7) // 8 * 8
    if pos != vh_off + vh_size:
        fail("headers do not fill their section")

    snp_mask = None
    for typ, body in headers:
        if typ == 0x001:
            mask, _vtl, ptype = struct.unpack_from("<IBB", body, 0)
            if ptype == 2:
                snp_mask = mask
    if snp_mask is None:
        fail("no SEV-SNP platform")

    ld = bytes(48)

    def page_info(gpa, page_type, contents=None):
        nonlocal ld
        digest = hashlib.sha384(contents).digest() if contents is not None else bytes(48)
        info = ld + digest + struct.pack("<HBBBBBBQ", 0x70, page_type, 0, 0, 0, 0, 0, gpa)
        ld = hashlib.sha384(info).digest()

    areas = {}
    for typ, body in headers:
        if typ == 0x301:  # PARAMETER_AREA
            size, index, _off = struct.unpack_from("<QII", body, 0)
            areas[index] = size
        elif typ == 0x303:  # PARAMETER_INSERT: the whole area, unmeasured
            gpa, mask, index = struct.unpack_from("<QII", body, 0)
            if mask & snp_mask:
                for off in range(0, areas[index], PAGE):
                    page_info(gpa + off, 4)
        elif typ == 0x302:  # PAGE_DATA
            gpa, mask, file_off, flags, dtype = struct.unpack_from("<QIIIH", body, 0)
            if not mask & snp_mask:
                continue
            count = 512 if flags & 1 else 1
            for i in range(count):
                g = gpa + i * PAGE
                if dtype == 1:
                    page_info(g, 5)
                elif dtype in (2, 3):
                    page_info(g, 6)
                elif flags & 2:
                    page_info(g, 4)
                else:
                    page_info(g, 1, data[file_off:file_off + PAGE] if file_off else bytes(PAGE))
        elif typ == 0x304:  # VP_CONTEXT
            gpa, mask, file_off = struct.unpack_from("<QII", body, 0)
            if mask & snp_mask:
                page_info(gpa, 2, data[file_off:file_off + PAGE])
    print("crc-ok", len(headers), ld.hex())


if __name__ == "__main__":
    main(sys.argv[1])
