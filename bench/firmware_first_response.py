#!/usr/bin/env python3
"""One boot of cvtpm-fw serving its serial link: starts QEMU (TCG) and cvtpm-tpm-bridge, sends
TPM2_GetRandom to the bridge's data port as soon as it accepts connections, and prints the time
from QEMU's start to the firmware's complete TPM response (the "first TPM response" figure of
docs/PERFORMANCE.md). Exits non-zero if no response arrives within the timeout.

    bench/firmware_first_response.py BUILD_DIR [PORT]
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 48321
fw = os.path.join(build, "bin", "cvtpm-fw.elf")
bridge_bin = os.path.join(build, "bin", "cvtpm-tpm-bridge")
GET_RANDOM = bytes.fromhex("80010000000c0000017b0008")

with tempfile.TemporaryDirectory() as work:
    sock = os.path.join(work, "link.sock")
    start = time.monotonic()
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", "256M",
         "-display", "none", "-no-reboot", "-kernel", fw, "-serial", "null",
         "-serial", f"unix:{sock},server=on,wait=off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(sock) and time.monotonic() - start < 10:
        time.sleep(0.002)
    bridge = subprocess.Popen([bridge_bin, "--serial", f"unix:{sock}", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    response = b""
    try:
        while time.monotonic() - start < 30:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                    s.sendall(GET_RANDOM)
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
    if len(response) < 10:
        sys.exit("no TPM response")
    print(f"{elapsed * 1000:.1f}")
