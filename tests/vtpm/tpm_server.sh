# shellcheck shell=bash
# Sourced by tests/vtpm/run_tpm2_tools_suite.sh and bench/vtpmd_vs_swtpm.sh: start and stop a TPM
# server that speaks swtpm's socket protocol (cvtpm-vtpmd, `swtpm socket`, or the cvtpm firmware
# booted in QEMU TCG behind cvtpm-tpm-bridge) on two free loopback ports.

# free_port_pair: prints P such that 127.0.0.1:P and P+1 are free (when asked).
free_port_pair() {
  python3 - <<'PY'
import random, socket
def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(500):
    p = random.randint(20000, 60000)
    if free(p) and free(p + 1):
        print(p)
        break
PY
}

# The firmware kind: QEMU (TCG, bounded by a timeout) boots cvtpm-fw.elf with its serial link on
# a unix socket, cvtpm-tpm-bridge serves the ports; one process group that SIGTERM stops.
# FIRMWARE_APPEND adds PVH command-line options (e.g. ek=ecc-p256). The console goes to
# DIR/console.log.
firmware_server() {
  local port=$1 dir=$2 elf=$3 bridge=$4 qemu_pid bridge_pid
  trap 'kill -TERM $bridge_pid $qemu_pid 2>/dev/null; wait; exit 0' TERM INT
  timeout "${FIRMWARE_QEMU_TIMEOUT:-900}" qemu-system-x86_64 -machine q35 -accel tcg -cpu max \
    -m 256M -display none -no-reboot -kernel "$elf" ${FIRMWARE_APPEND:+-append "$FIRMWARE_APPEND"} \
    -serial "file:$dir/console.log" -serial "unix:$dir/link.sock,server=on,wait=off" &
  qemu_pid=$!
  for _ in $(seq 250); do [ -S "$dir/link.sock" ] && break; sleep 0.02; done
  "$bridge" --serial "unix:$dir/link.sock" --port "$port" &
  bridge_pid=$!
  wait $bridge_pid  # returns when the bridge ends (QEMU gone) or a signal arrives
  kill -TERM $qemu_pid 2>/dev/null
  wait $qemu_pid 2>/dev/null
}

# start_tpm_server KIND PORT DIR [CVTPM_VTPMD | CVTPM_FW_ELF CVTPM_TPM_BRIDGE | CVTPM_LAUNCH]: KIND
# is vtpmd, swtpm, firmware or launch-state (`cvtpm-launch emulate --state DIR/vtpm.state`: the
# firmware with its persistent state, docs/persistence.md; its logs in DIR/launch); logs to
# DIR/server.log (swtpm keeps its state in DIR/state). Sets
# tpm_server_pid. Returns once the data port accepts connections — for the firmware, once the
# bridge reports the firmware link up (the TPM is manufactured) — (0) or the server died or never
# got ready (1).
# wait_for_server_line TEXT LOG: 0 once LOG holds TEXT, 1 if $tpm_server_pid dies first or 60 s
# pass.
wait_for_server_line() {
  for _ in $(seq 1200); do
    kill -0 "$tpm_server_pid" 2>/dev/null || return 1
    grep -q "$1" "$2" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

start_tpm_server() {
  local kind=$1 port=$2 dir=$3
  case $kind in
    vtpmd)
      "$4" --port "$port" >"$dir/server.log" 2>&1 &
      ;;
    firmware)
      firmware_server "$port" "$dir" "$4" "$5" >"$dir/server.log" 2>&1 &
      tpm_server_pid=$!
      # Booting and manufacturing the TPM (an RSA-2048 EK) takes a few seconds under TCG.
      wait_for_server_line "firmware link up" "$dir/server.log"
      return
      ;;
    launch-state)
      "$4" emulate --port "$port" --state "$dir/vtpm.state" --log-dir "$dir/launch" \
        >"$dir/server.log" 2>&1 &
      tpm_server_pid=$!
      wait_for_server_line "vTPM ready on" "$dir/server.log"
      return
      ;;
    swtpm)
      mkdir -p "$dir/state"
      swtpm socket --tpm2 --tpmstate dir="$dir/state" \
        --server type=tcp,port="$port",bindaddr=127.0.0.1 \
        --ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
        --flags not-need-init --log file="$dir/server.log",level=1 &
      ;;
    *)
      return 1
      ;;
  esac
  tpm_server_pid=$!
  # A connection without a command is harmless: the swtpm TCTI opens one as a reachability
  # check too.
  for _ in $(seq 200); do
    kill -0 "$tpm_server_pid" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# stop_tpm_server PID: SIGTERM, up to 5 s for a clean exit, then SIGKILL.
stop_tpm_server() {
  local pid=$1
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
