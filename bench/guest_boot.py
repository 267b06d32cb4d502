#!/usr/bin/env python3
"""Boot times of a whole VM on the cvtpm vTPM against the same VM on swtpm, side by side.

The guest is `cvtpm-launch emulate --guest`'s: Debian 12's OVMF, Debian 12's cloud kernel
(scripts/guest-assets.sh path kernel) and the busybox initramfs of scripts/guest-assets.sh, which
prints the TPM's PCRs and event log and powers off. For cvtpm, the launcher boots the firmware
under QEMU TCG and then the guest; for swtpm, this script reruns the guest's exact QEMU command
(the launcher's guest-qemu.cmdline) with `swtpm socket --tpm2` behind the same tpm-emulator
backend. Runs alternate (cvtpm, swtpm, cvtpm, ...). Every run's event log is replayed with
tpm2_eventlog and must give the PCRs 0-7 the guest printed, else the script fails.

Figures, in seconds (host monotonic clock): firmware ready = start to the TPM being servable
(cvtpm: the launcher's "firmware ready" line; swtpm: its control socket appearing); then, from
the guest QEMU's start: OVMF done (the kernel's EFI stub prints its first line), Linux userspace
(the initramfs's first line), powered off (QEMU exits); and the whole run.

    bench/guest_boot.py [BUILD_DIR] [RUNS]       (default build/, 5)
"""
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
launcher = os.path.join(build, "bin", "cvtpm-launch")
assets = os.path.join(ROOT, "scripts", "guest-assets.sh")
APPEND = "console=ttyS0 loglevel=4 panic=-1"
BOUND = 300  # seconds for one run

for tool in ("swtpm", "tpm2_eventlog", "qemu-system-x86_64"):
    if not shutil.which(tool):
        sys.exit(f"guest_boot: {tool} is not installed (scripts/install-deps.sh)")
if not os.access(launcher, os.X_OK):
    sys.exit(f"guest_boot: {launcher} is missing: cmake --build {build}")
kernel = subprocess.run([assets, "path", "kernel"], capture_output=True, text=True)
if kernel.returncode != 0:
    sys.exit("guest_boot: " + kernel.stderr.strip())
kernel = kernel.stdout.strip()


def timed_lines(argv, start):
    """Runs argv; returns [(seconds since start, line)] of its stdout and its exit status."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines = []
    deadline = time.monotonic() + BOUND
    for raw in proc.stdout:
        lines.append((time.monotonic() - start, raw.decode("latin-1")))
        if time.monotonic() > deadline:
            proc.kill()
            break
    status = proc.wait()
    return lines, status, time.monotonic() - start


def first(lines, needle, after=0.0):
    for t, line in lines:
        if needle in line and t >= after:
            return t
    sys.exit(f"guest_boot: no '{needle}' in the run's output")


def check_replay(lines, work):
    """The guest's PCRs 0-7 equal tpm2_eventlog's replay of the event log it printed."""
    text = "".join(line for _, line in lines)
    pcrs = {int(i): v.lower() for i, v in
            re.findall(r"cvtpm-guest: pcr-sha256 (\d+) ([0-9A-Fa-f]{64})", text)}
    log = re.search(r"cvtpm-guest: eventlog-begin(.*?)cvtpm-guest: eventlog-end", text, re.S)
    if not log or len(pcrs) != 24:
        sys.exit("guest_boot: the guest printed no PCRs or no event log")
    b64 = os.path.join(work, "eventlog.b64")
    with open(b64, "w") as f:
        f.write(log.group(1).replace("\r", ""))
    binary = os.path.join(work, "eventlog.bin")
    subprocess.run(f"base64 -d {shlex.quote(b64)} > {shlex.quote(binary)}", shell=True, check=True)
    yaml = subprocess.run(["tpm2_eventlog", binary], capture_output=True, text=True,
                          check=True).stdout
    bank = yaml[yaml.index("\npcrs:"):]
    bank = bank[bank.index("  sha256:"):]
    replayed = {int(i): v.lower() for i, v in re.findall(r"\n\s{4}(\d+)\s*:\s*0x([0-9a-fA-F]{64})",
                                                          bank.split("\n  sha384:")[0])}
    for i in range(8):
        if replayed.get(i) != pcrs[i]:
            sys.exit(f"guest_boot: PCR {i}: the guest read {pcrs[i]}, the log replays to "
                     f"{replayed.get(i)}")
    if pcrs[0] == "0" * 64:
        sys.exit("guest_boot: PCR 0 is zero: OVMF measured nothing")


def cvtpm_run(work, initrd):
    logs = os.path.join(work, "logs")
    start = time.monotonic()
    lines, status, end = timed_lines(
        [launcher, "emulate", "--guest", "--kernel", kernel, "--initrd", initrd, "--append",
         APPEND, "--log-dir", logs], start)
    if status != 0:
        sys.exit(f"guest_boot: cvtpm-launch exited with {status}; logs in {logs}")
    check_replay(lines, work)
    ready = first(lines, "firmware ready after")
    guest = first(lines, "starting the guest VM")
    return {"ready": ready, "ovmf": first(lines, "EFI stub:", guest) - guest,
            "userspace": first(lines, "cvtpm-guest: userspace", guest) - guest,
            "off": end - guest, "total": end}, os.path.join(logs, "guest-qemu.cmdline")


def swtpm_run(work, cmdline):
    state = os.path.join(work, "swtpm")
    os.makedirs(state)
    ctrl = os.path.join(state, "ctrl.sock")
    argv = shlex.split(open(cmdline).read())
    # The launcher's guest, with its TPM socket (and a fresh variable store) replaced.
    vars_copy = os.path.join(work, "OVMF_VARS.fd")
    for i, a in enumerate(argv):
        if a.startswith("socket,id=chrtpm,path="):
            argv[i] = "socket,id=chrtpm,path=" + ctrl
        if a.startswith("if=pflash,format=raw,unit=1,file="):
            shutil.copy(a.split("file=", 1)[1], vars_copy)
            argv[i] = "if=pflash,format=raw,unit=1,file=" + vars_copy
    start = time.monotonic()
    swtpm = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + state,
                              "--ctrl", "type=unixio,path=" + ctrl])
    try:
        while not os.path.exists(ctrl):
            if time.monotonic() - start > 30:
                sys.exit("guest_boot: swtpm did not create its control socket")
            time.sleep(0.005)
        ready = time.monotonic() - start
        guest = time.monotonic() - start
        lines, status, end = timed_lines(argv, start)
    finally:
        swtpm.kill()
        swtpm.wait()
    if status != 0:
        sys.exit(f"guest_boot: the swtpm guest's QEMU exited with {status}")
    check_replay(lines, work)
    return {"ready": ready, "ovmf": first(lines, "EFI stub:", guest) - guest,
            "userspace": first(lines, "cvtpm-guest: userspace", guest) - guest,
            "off": end - guest, "total": end}


results = {"cvtpm": [], "swtpm": []}
with tempfile.TemporaryDirectory() as top:
    initrd = os.path.join(top, "initramfs.cpio.gz")
    subprocess.run([assets, "initramfs", initrd], check=True)
    cmdline = None
    for r in range(runs):
        for who in ("cvtpm", "swtpm"):
            work = tempfile.mkdtemp(dir=top)
            if who == "cvtpm":
                figures, cmdline_path = cvtpm_run(work, initrd)
                if cmdline is None:
                    cmdline = os.path.join(top, "guest-qemu.cmdline")
                    shutil.copy(cmdline_path, cmdline)
            else:
                figures = swtpm_run(work, cmdline)
            results[who].append(figures)
            print(f"run {r + 1} {who}: " + ", ".join(f"{k} {v:.2f} s" for k, v in figures.items()),
                  flush=True)

print(f"\nmedians of {runs} runs each; every event log replayed to the PCRs 0-7 its guest read\n")
print("| TPM | firmware ready | OVMF done | Linux userspace | powered off | whole run |")
print("|---|---|---|---|---|---|")
med = {w: {k: statistics.median(f[k] for f in results[w]) for k in results[w][0]}
       for w in results}
for who in ("swtpm", "cvtpm"):
    m = med[who]
    print(f"| {who} | {m['ready']:.2f} s | {m['ovmf']:.2f} s | {m['userspace']:.2f} s | "
          f"{m['off']:.2f} s | {m['total']:.2f} s |")
print("| ratio cvtpm/swtpm | - | " + " | ".join(
    f"{med['cvtpm'][k] / med['swtpm'][k]:.2f}" for k in ("ovmf", "userspace", "off", "total"))
      + " |")
