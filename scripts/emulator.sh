# shellcheck shell=bash
# Sourced by scripts/demo.sh and scripts/container-e2e.sh: the AWS emulator
# the tests use, as processes. moto_server on a free loopback port, and in
# front of it the latency proxy command (no delay) with awsfake, the one
# emulation of what moto 5.2.1 lacks: KMS GetKeyLastUsage (no use recorded,
# unless a key is marked used with kdg_mark_used) and CloudTrail
# LookupEvents (the ScheduleKeyDeletion calls made through the proxy).
#
#   kdg_start_emulator DIR   logs and the proxy binary go to DIR; sets
#                            KDG_MOTO_URL (moto itself), KDG_ENDPOINT (the
#                            proxy: point every client here) and KDG_EMULATOR_PIDS
#   kdg_mark_used KEY_ID OPERATION RFC3339_TIME
#   kdg_stop_emulator

KDG_EMULATOR_PIDS=()

kdg_start_emulator() {
  local dir=$1 root port pid
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  KDG_MOTO_URL="http://127.0.0.1:${port}"
  moto_server -H 127.0.0.1 -p "${port}" >"${dir}/moto.log" 2>&1 &
  pid=$!
  KDG_EMULATOR_PIDS+=("${pid}")
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "${KDG_MOTO_URL}/moto-api/" 2>/dev/null && break
    kill -0 "${pid}" 2>/dev/null || { cat "${dir}/moto.log" >&2; echo "moto_server exited" >&2; return 1; }
    sleep 0.2
  done
  curl -fsS -o /dev/null "${KDG_MOTO_URL}/moto-api/" || { echo "moto_server not ready on ${KDG_MOTO_URL}" >&2; return 1; }

  (cd "${root}" && go build -o "${dir}/latencyproxy" ./internal/testutil/latencyproxy/cmd) || return 1
  rm -f "${dir}/proxy.addr"
  "${dir}/latencyproxy" -target "${KDG_MOTO_URL}" -delay 0 -addr-file "${dir}/proxy.addr" -max-lifetime 1h 2>"${dir}/proxy.log" &
  KDG_EMULATOR_PIDS+=("$!")
  for _ in $(seq 1 100); do [[ -s "${dir}/proxy.addr" ]] && break; sleep 0.1; done
  [[ -s "${dir}/proxy.addr" ]] || { cat "${dir}/proxy.log" >&2; echo "emulating proxy did not start" >&2; return 1; }
  KDG_ENDPOINT="$(cat "${dir}/proxy.addr")"
}

kdg_mark_used() {
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"KeyID\":\"$1\",\"Operation\":\"$2\",\"Timestamp\":\"$3\"}" "${KDG_ENDPOINT}/__awsfake/key-last-usage"
}

kdg_stop_emulator() {
  local pid
  for pid in "${KDG_EMULATOR_PIDS[@]}"; do
    kill "${pid}" 2>/dev/null || true
    wait "${pid}" 2>/dev/null || true
  done
  KDG_EMULATOR_PIDS=()
}
