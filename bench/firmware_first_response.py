#!/usr/bin/env python3
"""One boot of cvtpm-fw serving its serial link: starts QEMU (TCG) and cvtpm-tpm-bridge, sends
TPM2_Startup(CLEAR) to the bridge's data port as soon as it accepts connections, and prints the
milliseconds from QEMU's start to the firmware's complete, successful TPM response (the
"boot-to-ready" figure of docs/PERFORMANCE.md): the boot, the TPM manufacture with its EK, the
link coming up and one command through SVSM_VTPM_CMD. Exits non-zero if no successful response
arrives within the timeout.

    bench/firmware_first_response.py BUILD_DIR [PORT] [PVH_COMMAND_LINE]
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 48321
append = sys.argv[3] if len(sys.argv) > 3 else ""
fw = os.path.join(build, "bin", "cvtpm-fw.elf")
bridge_bin = os.path.join(build, "bin", "cvtpm-tpm-bridge")
STARTUP_CLEAR = bytes.fromhex("80010000000c000001440000")

with tempfile.TemporaryDirectory() as work:
    sock = os.path.join(work, "link.sock")
    start = time.monotonic()
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", "256M",
         "-display", "none", "-no-reboot", "-kernel", fw, "-serial", "null",
         "-serial", f"unix:{sock},server=on,wait=off"] + (["-append", append] if append else []),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(sock) and time.monotonic() - start < 10:
        time.sleep(0.002)
    bridge = subprocess.Popen([bridge_bin, "--serial", f"unix:{sock}", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    response = b""
    try:
        while time.monotonic() - start < 60:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                    s.sendall(STARTUP_CLEAR)
                    while len(response) < 10:
                        chunk = s.recv(64)
                        if not chunk:
                            break
                        response += chunk
                break
            except ConnectionRefusedError:
                time.sleep(0.002)
        elapsed = time.monotonic() - start
    finally:
        bridge.terminate()
        qemu.terminate()
        bridge.wait()
        qemu.wait()
    if len(response) < 10 or response[6:10] != b"\0\0\0\0":
        sys.exit(f"no successful TPM response: {response.hex()}")
    print(f"{elapsed * 1000:.1f}")
