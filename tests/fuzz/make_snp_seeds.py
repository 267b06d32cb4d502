#!/usr/bin/env python3
"""Writes the seed corpora of the SNP fuzzers (snp_report_fuzz, snp_vc_fuzz,
snp_guest_request_fuzz, snp_request_loop_fuzz); run from anywhere, the files are committed and
this records how they were made. Layouts: the comments at the top of each fuzzer's source."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SCRATCH = 0x0100_0000  # SnpBoot::kGuestScratch


def write(corpus, name, data):
    directory = os.path.join(HERE, "corpus", corpus)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name + ".bin"), "wb") as f:
        f.write(data)


# --- snp_report_fuzz: u8 vmpl, 64 bytes report data, MSG_REPORT_RSP payload -----------------------
def report_response(status=0, size=0x4A0, version=2, vmpl=0, data=b"\x33" * 64, algo=1):
    report = bytearray(0x4A0)
    struct.pack_into("<I", report, 0x000, version)
    struct.pack_into("<Q", report, 0x008, 0x30000)
    struct.pack_into("<II", report, 0x030, vmpl, algo)
    report[0x050:0x090] = data
    return struct.pack("<II24x", status, size) + bytes(report)


DATA = b"\x33" * 64
write("snp_report", "valid", b"\x00" + DATA + report_response())
write("snp_report", "status_invalid_param", b"\x00" + DATA + report_response(status=0x16))
write("snp_report", "wrong_vmpl", b"\x00" + DATA + report_response(vmpl=2))
write("snp_report", "wrong_data", b"\x00" + DATA + report_response(data=b"\x44" * 64))
write("snp_report", "short", b"\x00" + DATA + report_response()[:0x100])
write("snp_report", "version5_vmpl1", b"\x01" + DATA + report_response(version=5, vmpl=1))

# --- snp_vc_fuzz: u8 exit selector, RAX RBX RCX RDX CR4, 16 code bytes, hypervisor answers -------
EXITS = {"cpuid": 0, "ioio": 1, "msr": 2, "rdtsc": 3, "rdtscp": 4, "npf": 5}


def vc(exit_name, code, rax=0, rbx=0, rcx=0, rdx=0, cr4=0x6E0, answers=b""):
    code = (code + b"\x90" * 16)[:16]
    return struct.pack("<BQQQQQ", EXITS[exit_name], rax, rbx, rcx, rdx, cr4) + code + answers


OK_ANSWERS = b"\x00" * 8 + b"\xff" * 64  # exit_info_1 0, everything marked valid
write("snp_vc", "cpuid_8000001f", vc("cpuid", b"\x0f\xa2", rax=0x8000001F))
write("snp_vc", "cpuid_leaf1_osxsave", vc("cpuid", b"\x0f\xa2", rax=1, cr4=1 << 18))
write("snp_vc", "in_al_dx", vc("ioio", b"\xec", rdx=0x3FD, answers=OK_ANSWERS))
write("snp_vc", "out_dx_al", vc("ioio", b"\xee", rax=0x41, rdx=0x3F8, answers=OK_ANSWERS))
write("snp_vc", "in_ax_imm", vc("ioio", b"\x66\xe5\x61", answers=OK_ANSWERS))
write("snp_vc", "rep_outsb", vc("ioio", b"\xf3\x6e", rdx=0x3F8))
write("snp_vc", "rdmsr", vc("msr", b"\x0f\x32", rcx=0xC0000080, answers=OK_ANSWERS))
write("snp_vc", "wrmsr", vc("msr", b"\x0f\x30", rcx=0xC0000080, rax=0xD01, answers=OK_ANSWERS))
write("snp_vc", "rdtscp", vc("rdtscp", b"\x0f\x01\xf9", answers=OK_ANSWERS))
write("snp_vc", "rex_cpuid", vc("cpuid", b"\x48\x0f\xa2", rax=7))
write("snp_vc", "npf", vc("npf", b"\x8b\x00"))
write("snp_vc", "hostile_error", vc("ioio", b"\xec", rdx=0x3F8, answers=b"\x01" + b"\x00" * 7))

# --- snp_guest_request_fuzz: u8 VMPCK index, hypervisor answers ------------------------------------
write("snp_guest_request", "zeros", b"\x00" + b"\x00" * 256)
write("snp_guest_request", "busy_then_garbage",
      b"\x00" + struct.pack(">Q", 0) * 4 + struct.pack(">Q", 2 << 32) + bytes(range(256)))
write("snp_guest_request", "firmware_error", b"\x00" + struct.pack(">Q", 0) * 4 + struct.pack(">Q", 0x16))
write("snp_guest_request", "vmpck2_ff", b"\x02" + b"\xff" * 512)
header = bytearray(0x60)
struct.pack_into("<Q", header, 0x20, 2)  # a plausible response sequence number
header[0x30:0x36] = bytes([1, 1, 0x60, 0, 6, 1])
write("snp_guest_request", "plausible_header", b"\x00" + b"\x00" * 64 + bytes(header) * 4)

# --- snp_request_loop_fuzz: protocol, call, address selectors, reserved, RCX RDX R8 R9,
# calling-area buffer (<= 4088 bytes), scratch page ------------------------------------------------
def call(protocol, call_id, rcx=0, rdx=0, r8=0, r9=0, selectors=0, buffer=b"", scratch=b""):
    head = struct.pack("<BBBBQQQQ", protocol, call_id, selectors, 0, rcx, rdx, r8, r9)
    if scratch:
        buffer = (buffer + b"\x00" * 4088)[:4088]
    return head + buffer + scratch


def pvalidate_list(*entries):
    return struct.pack("<HHI", len(entries), 0, 0) + b"".join(struct.pack("<Q", e) for e in entries)


STARTUP = bytes.fromhex("80010000000c000001440000")
GET_RANDOM = bytes.fromhex("80010000000c0000017b0010")
VTPM_GUID = bytes.fromhex("ebf176c42301a5459641b4e7dde5bfe3")
write("snp_request_loop", "core_query_vtpm", call(0, 6, rcx=(2 << 32) | 1))
write("snp_request_loop", "core_configure_vtom", call(0, 7, rcx=1))
write("snp_request_loop", "pvalidate_scratch",
      call(0, 1, selectors=1, rcx=0, buffer=pvalidate_list((SCRATCH + 0x4000) | 4)))
write("snp_request_loop", "pvalidate_firmware",
      call(0, 1, selectors=1, rcx=0, buffer=pvalidate_list(0x0800_0000 | 4, 0x0801_0000)))
write("snp_request_loop", "pvalidate_rescind_then_large",
      call(0, 1, selectors=1, rcx=0, buffer=pvalidate_list(SCRATCH + 0x1000, 0x0200_0000 | 5)))
write("snp_request_loop", "remap_ca_scratch", call(0, 0, rcx=SCRATCH + 0x1000))
write("snp_request_loop", "remap_ca_firmware", call(0, 0, selectors=3, rcx=0x5000))
write("snp_request_loop", "create_vcpu_garbage", call(0, 2, selectors=2 | (2 << 2), rcx=0, rdx=0x1000, r8=3))
write("snp_request_loop", "delete_vcpu_firmware", call(0, 3, selectors=3, rcx=0x9000))
write("snp_request_loop", "vtpm_query", call(2, 0))
write("snp_request_loop", "vtpm_startup",
      call(2, 1, selectors=2, rcx=0, scratch=struct.pack("<IBI", 8, 0, len(STARTUP)) + STARTUP))
write("snp_request_loop", "vtpm_get_random_locality1",
      call(2, 1, selectors=2, rcx=0, scratch=struct.pack("<IBI", 8, 1, len(GET_RANDOM)) + GET_RANDOM))
op = struct.pack("<QII", SCRATCH + 0x1000, 4096, 0) + struct.pack("<QH6x", SCRATCH, 64)
op += struct.pack("<QII", SCRATCH, 4096, 0) + struct.pack("<QII", 0, 0, 0) + VTPM_GUID + struct.pack("<II", 0, 0)
write("snp_request_loop", "attest_single_service", call(1, 1, selectors=1, rcx=0, buffer=op))
write("snp_request_loop", "unknown_protocol", call(3, 9, rcx=0xFFFF_FFFF_FFFF_F000))
