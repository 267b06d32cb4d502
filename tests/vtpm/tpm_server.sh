# shellcheck shell=bash
# Sourced by tests/vtpm/run_tpm2_tools_suite.sh and bench/vtpmd_vs_swtpm.sh: start and stop a TPM
# server that speaks swtpm's socket protocol (cvtpm-vtpmd or `swtpm socket`) on two free
# loopback ports.

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

# start_tpm_server KIND PORT DIR [CVTPM_VTPMD]: KIND is vtpmd or swtpm; logs to DIR/server.log
# (swtpm keeps its state in DIR/state). Sets tpm_server_pid. Returns once the data port accepts
# connections (0) or the server died or never got ready (1).
start_tpm_server() {
  local kind=$1 port=$2 dir=$3
  case $kind in
    vtpmd)
      "$4" --port "$port" >"$dir/server.log" 2>&1 &
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
