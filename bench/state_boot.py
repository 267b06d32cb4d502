#!/usr/bin/env python3
"""What the persistent vTPM state costs (docs/persistence.md, docs/PERFORMANCE.md), side by side
with the ephemeral TPM in the same run. All through `cvtpm-launch emulate` (the firmware under
QEMU TCG, its state on COM3 served by the launcher, sealed with the INSECURE development key).

boot-to-ready: launcher start to the first successful TPM2_Startup(CLEAR) answer on its data
port, for three kinds of boot, alternating (ephemeral, fresh, restored, ephemeral, ...):
  ephemeral  no --state: today's TPM, manufactured at every boot;
  fresh      --state with no file: manufacture with the derived seeds, then generation 1 written;
  restored   --state with a generation holding an NV index and a persistent key: decrypt,
             authenticate, restore libtpms' state (no manufacture).
Goal (issue 12): restored <= 1.2x ephemeral.

per command: RUNS boots of each kind (ephemeral, state), one at a time and alternating; in each,
the time of COMMANDS raw TPM commands over the data port (median), and how many state
generations the firmware wrote for them (its console log):
  TPM2_NV_Write (8 bytes)   changes NV: with --state each one seals and writes a generation;
  TPM2_GetRandom (8 bytes)  changes nothing persistent: goal, no extra cost with --state.

    bench/state_boot.py [BUILD_DIR] [RUNS] [COMMANDS]       (default build/, 5, 100)
    AA=1 bench/state_boot.py ...      the per-command part with two ephemeral TPMs (noise floor)
"""
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
commands = int(sys.argv[3]) if len(sys.argv) > 3 else 100
launcher = os.path.join(build, "bin", "cvtpm-launch")
BOUND = 180  # seconds for one boot to become ready
# AA=1: the "state" TPM of the per-command part runs without a state too (an A/A run: the noise
# floor of the side-by-side comparison).
AA = os.environ.get("AA") == "1"

STARTUP_CLEAR = bytes.fromhex("80010000000c000001440000")
NV_INDEX = 0x01500019
TPM_RH_OWNER = 0x40000001
TPM_RS_PW = 0x40000009


def password_session():
    # TPMS_AUTH_COMMAND: handle, empty nonce, attributes continueSession, empty password
    # (TCG TPM 2.0 Part 2 10.13.2; Part 1 19.8.4 for the password session).
    return struct.pack(">IHBH", TPM_RS_PW, 0, 1, 0)


def command(tag, code, handles, params, session=False):
    body = b"".join(struct.pack(">I", h) for h in handles)
    if session:
        auth = password_session()
        body += struct.pack(">I", len(auth)) + auth
    body += params
    return struct.pack(">HII", tag, 10 + len(body), code) + body


def nv_define(size):
    # TPM2_NV_DefineSpace (0x12A): auth TPM2B empty, TPM2B_NV_PUBLIC {index, SHA-256,
    # OWNERWRITE|AUTHWRITE|OWNERREAD|AUTHREAD, empty policy, size}.
    public = struct.pack(">IHIHH", NV_INDEX, 0x000B, 0x00060006, 0, size)
    params = struct.pack(">H", 0) + struct.pack(">H", len(public)) + public
    return command(0x8002, 0x0000012A, [TPM_RH_OWNER], params, session=True)


def nv_write(data):
    # TPM2_NV_Write (0x137): authHandle owner, nvIndex; data TPM2B, offset 0.
    params = struct.pack(">H", len(data)) + data + struct.pack(">H", 0)
    return command(0x8002, 0x00000137, [TPM_RH_OWNER, NV_INDEX], params, session=True)


GET_RANDOM = command(0x8001, 0x0000017B, [], struct.pack(">H", 8))


def transact(sock, request):
    sock.sendall(request)
    header = b""
    while len(header) < 10:
        chunk = sock.recv(10 - len(header))
        if not chunk:
            raise RuntimeError("the TPM closed the connection")
        header += chunk
    _, size, rc = struct.unpack(">HII", header)
    rest = size - 10
    while rest > 0:
        chunk = sock.recv(rest)
        if not chunk:
            raise RuntimeError("the TPM closed the connection")
        rest -= len(chunk)
    return rc


def console_lines(boot):
    path = os.path.join(boot.work, "logs", "console.log")
    with open(path, errors="replace") as f:
        return f.read().splitlines()


def state_writes(boot):
    """State generations the firmware has written so far (its console log)."""
    return sum(1 for line in console_lines(boot) if " state: wrote generation " in line)


def state_write_ms(boot):
    """The firmware's own timing of each state write: seal, link, host's fsync and rename."""
    out = []
    for line in console_lines(boot):
        if " state: wrote generation " in line and line.endswith(" ms"):
            out.append(float(line.rsplit(" in ", 1)[1][:-3]))
    return out


def free_port_pair(avoid=None):
    for _ in range(100):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if avoid is not None and abs(port - avoid) < 2:
            continue
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            pass
        finally:
            t.close()
    sys.exit("state_boot: no free port pair")


class Boot:
    """One `cvtpm-launch emulate` until stop(); ready() = seconds to the first Startup answer."""

    def __init__(self, work, port, extra):
        self.port = port
        self.work = work
        self.start = time.monotonic()
        os.makedirs(work, exist_ok=True)
        self.log = open(os.path.join(work, "launch.out"), "w")
        self.proc = subprocess.Popen(
            [launcher, "emulate", "--port", str(port), "--log-dir", os.path.join(work, "logs")]
            + extra, stdout=self.log, stderr=subprocess.STDOUT)
        self.sock = None

    def ready(self):
        while time.monotonic() - self.start < BOUND:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the launcher exited with {self.proc.returncode}")
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=BOUND)
            except ConnectionRefusedError:
                time.sleep(0.002)
                continue
            rc = transact(self.sock, STARTUP_CLEAR)
            elapsed = time.monotonic() - self.start
            if rc != 0:
                raise RuntimeError(f"TPM2_Startup answered {rc:#x}")
            return elapsed
        raise RuntimeError(f"not ready within {BOUND} s")

    def timed(self, request):
        begin = time.perf_counter()
        rc = transact(self.sock, request)
        elapsed = time.perf_counter() - begin
        if rc != 0:
            raise RuntimeError(f"command answered {rc:#x}")
        return elapsed

    def stop(self):
        if self.sock:
            self.sock.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def main():
    if not os.access(launcher, os.X_OK):
        sys.exit(f"state_boot: {launcher} is missing: cmake --build {build}")
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("state_boot: qemu-system-x86_64 is not installed (scripts/install-deps.sh)")
    port = free_port_pair()
    with tempfile.TemporaryDirectory() as work:
        stored = os.path.join(work, "stored.state")
        # The stored state: an NV index written once (and libtpms' permanent state).
        boot = Boot(work, port, ["--state", stored])
        try:
            boot.ready()
            for request in (nv_define(8), nv_write(b"restored")):
                if transact(boot.sock, request) != 0:
                    sys.exit("state_boot: preparing the stored state failed")
        finally:
            boot.stop()
        size = os.path.getsize(stored)

        ready = {"ephemeral": [], "fresh": [], "restored": []}
        for _ in range(runs):
            for kind in ready:
                state = os.path.join(work, "run.state")
                if os.path.exists(state):
                    os.remove(state)
                if kind == "restored":
                    shutil.copyfile(stored, state)
                boot = Boot(work, port, [] if kind == "ephemeral" else ["--state", state])
                try:
                    ready[kind].append(boot.ready())
                finally:
                    boot.stop()

        # One TPM at a time (two QEMUs side by side were measured unevenly even when both were
        # ephemeral), the two kinds alternating boot by boot; each command after 5 ms of quiet,
        # so it starts from the firmware's idle state (it halts after 2 ms without a byte and
        # wakes on its 1 ms timer, vtpm_fw/runtime/platform/native/tpm_channel.cpp).
        per_command = {"ephemeral": {}, "state": {}}
        times = {kind: {"TPM2_NV_Write": [], "TPM2_GetRandom": []} for kind in per_command}
        writes = {"TPM2_NV_Write": [], "TPM2_GetRandom": []}  # the firmware's state writes
        write_ms = []  # the firmware's own timing of each state write
        for run in range(runs):
            for kind in per_command:
                state = os.path.join(work, "run.state")
                if os.path.exists(state):
                    os.remove(state)
                use_state = kind == "state" and not AA
                boot = Boot(os.path.join(work, kind), port, ["--state", state] if use_state else [])
                try:
                    boot.ready()
                    if transact(boot.sock, nv_define(8)) != 0:
                        sys.exit("state_boot: TPM2_NV_DefineSpace failed")
                    for name, request in (
                            ("TPM2_NV_Write", lambda i: nv_write(struct.pack(">Q", i))),
                            ("TPM2_GetRandom", lambda i: GET_RANDOM)):
                        before = state_writes(boot)
                        for i in range(commands):
                            time.sleep(0.005)
                            times[kind][name].append(boot.timed(request(run * commands + i + 1)))
                        if use_state:
                            time.sleep(0.2)  # the console log catches up
                            writes[name].append(state_writes(boot) - before)
                    if use_state:
                        write_ms.extend(state_write_ms(boot))
                finally:
                    boot.stop()
        for kind in per_command:
            for name in times[kind]:
                per_command[kind][name] = statistics.median(times[kind][name])

    print(f"stored state: {size} bytes; {runs} boots of each kind, alternating")
    base = statistics.median(ready["ephemeral"])
    print("| boot | median s | min s | max s | ratio to ephemeral |")
    print("|---|---|---|---|---|")
    for kind, times in ready.items():
        median = statistics.median(times)
        print(f"| {kind} | {median:.2f} | {min(times):.2f} | {max(times):.2f} | {median / base:.2f} |")
    print(f"\nper command, median of {runs} x {commands} (ms)"
          f"{' (A/A: both ephemeral)' if AA else ''}:")
    print("| command | ephemeral | state | ratio | state writes per command |")
    print("|---|---|---|---|---|")
    for name in ("TPM2_NV_Write", "TPM2_GetRandom"):
        e = per_command["ephemeral"][name] * 1000
        s = per_command["state"][name] * 1000
        w = sum(writes[name]) / (runs * commands) if writes[name] else 0
        print(f"| {name} | {e:.2f} | {s:.2f} | {s / e:.2f} | {w:.2f} |")
    if write_ms:
        print(f"\nthe firmware's own time per state write (seal, COM3, the host's fsync and "
              f"rename): median {statistics.median(write_ms):.1f} ms over {len(write_ms)} writes")


if __name__ == "__main__":
    main()
