#!/usr/bin/env bash
# One-command benchmark of kms-deletion-gate (make bench):
#   1. starts moto_server on a free loopback port and seeds REGIONS x KEYS
#      customer keys through the Go SDK (4% pending deletion, 5% disabled,
#      aliases and tags), then measures moto's own DescribeKey throughput;
#   2. puts a latency proxy in front of moto (RTT_MS per call, counting
#      calls by operation);
#   3. runs, through the proxy: (a) kdg at its default concurrency, (b) kdg
#      with --max-concurrency 1, (c) the compliance rules' procedure with
#      the AWS CLI (list-keys, then describe-key per key, per region) on the
#      first CLI_KEYS keys of each region, extrapolated to all keys;
#   4. runs the in-process Go benchmark of the whole pipeline (10k/50k/100k
#      keys);
#   5. prints the table (wall time, calls, calls per key, peak RSS, ratios to
#      the CLI and to the lower bound), the target checks, and fails if the
#      three runs disagree on which keys are pending deletion.
#
# Settings (environment): BENCH_REGIONS (default
# us-east-1,eu-west-1,ap-southeast-2,sa-east-1), BENCH_KEYS (keys per region,
# 250), BENCH_RTT_MS (30), BENCH_CLI_KEYS (25), BENCH_GO (1; 0 skips the Go
# benchmark), BENCH_GO_BENCHTIME (3x), BENCH_DIR (work directory; default a
# new temporary one, kept for inspection), BENCH_OUT (also write the Markdown
# results there).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGIONS=${BENCH_REGIONS:-us-east-1,eu-west-1,ap-southeast-2,sa-east-1}
KEYS=${BENCH_KEYS:-250}
RTT_MS=${BENCH_RTT_MS:-30}
CLI_KEYS=${BENCH_CLI_KEYS:-25}
GO_BENCH=${BENCH_GO:-1}
GO_BENCHTIME=${BENCH_GO_BENCHTIME:-3x}
DEFAULT_CONCURRENCY=1024 # kdg's max-concurrency default (internal/config/inputs.go)
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kdg-bench.XXXXXX")}
mkdir -p "$WORK"/{bin,a,b,c}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

for tool in moto_server aws go; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
TIME=/usr/bin/time
if ! "$TIME" -v true >/dev/null 2>&1; then
  log "installing GNU time (apt) for peak memory"
  apt-get install -y -qq time >/dev/null || die "GNU time missing and apt-get install time failed"
fi

MOTO_PID="" PROXY_PID=""
cleanup() {
  # Only the processes this script started, by their ids.
  if [[ -n $PROXY_PID ]]; then kill "$PROXY_PID" 2>/dev/null || true; fi
  if [[ -n $MOTO_PID ]]; then kill "$MOTO_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap cleanup EXIT

log "building kdg, kdgbench and the latency proxy into $WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/kdg" . &&
  go build -o "$WORK/bin/kdgbench" ./cmd/kdgbench &&
  go build -o "$WORK/bin/latencyproxy" ./internal/testutil/latencyproxy/cmd)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
PORT=$(free_port)
MOTO="http://127.0.0.1:$PORT"
log "starting moto_server on $MOTO"
MOTO_ALLOW_NONEXISTENT_REGION=false moto_server -H 127.0.0.1 -p "$PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 1 150); do
  curl -fsS -o /dev/null "$MOTO/moto-api/" 2>/dev/null && break
  kill -0 "$MOTO_PID" 2>/dev/null || die "moto_server exited: $(tail -5 "$WORK/moto.log")"
  sleep 0.2
done
curl -fsS -o /dev/null "$MOTO/moto-api/" || die "moto_server not ready after 30 s"

log "seeding $REGIONS x $KEYS keys"
"$WORK/bin/kdgbench" seed -endpoint "$MOTO" -regions "$REGIONS" -keys "$KEYS" -out "$WORK/manifest.json"

log "measuring moto's DescribeKey throughput (no proxy)"
"$WORK/bin/kdgbench" throughput -endpoint "$MOTO" -region "${REGIONS%%,*}" \
  -concurrency "$DEFAULT_CONCURRENCY" -duration 3s -out "$WORK/throughput.json"

log "starting the latency proxy (+${RTT_MS} ms per call)"
rm -f "$WORK/proxy.addr"
"$WORK/bin/latencyproxy" -target "$MOTO" -delay "${RTT_MS}ms" -addr-file "$WORK/proxy.addr" \
  -max-lifetime 1h 2>"$WORK/proxy.log" &
PROXY_PID=$!
for _ in $(seq 1 100); do [[ -s $WORK/proxy.addr ]] && break; sleep 0.1; done
[[ -s $WORK/proxy.addr ]] || die "latency proxy did not start: $(cat "$WORK/proxy.log")"
PROXY=$(cat "$WORK/proxy.addr")

export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=${REGIONS%%,*}
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

reset_counts() { curl -fsS -X POST "$PROXY/__latencyproxy/reset"; }
save_counts() { curl -fsS "$PROXY/__latencyproxy/counts" >"$1"; }

kdg_run() { # dir, extra flags...
  local dir=$1
  shift
  reset_counts
  # Exit 1 is expected: the gate fails on the pending keys.
  (cd "$dir" && env AWS_ENDPOINT_URL="$PROXY" AWS_ENDPOINT_URL_STS="$PROXY" \
    "$TIME" -v -o "$dir/time.txt" "$WORK/bin/kdg" --regions "$REGIONS" \
    --report-json "$dir/report.json" --sarif-file "$dir/report.sarif" \
    --cloudtrail false --upload-sarif false --comment off "$@" \
    >"$dir/stdout.txt" 2>"$dir/stderr.txt") || true
  save_counts "$dir/counts.json"
}

log "(a) kdg, default concurrency"
kdg_run "$WORK/a"
log "(b) kdg, --max-concurrency 1"
kdg_run "$WORK/b" --max-concurrency 1

log "(c) AWS CLI procedure on the first $CLI_KEYS keys of each region (about 1 s a call)"
reset_counts
"$TIME" -v -o "$WORK/c/time.txt" "$ROOT/scripts/bench/cli-procedure.sh" "$PROXY" "$REGIONS" "$CLI_KEYS" "$WORK/c/calls.tsv"
save_counts "$WORK/c/counts.json"

if [[ $GO_BENCH != 0 ]]; then
  log "in-process pipeline benchmark (go test -bench BenchmarkPipeline -benchtime $GO_BENCHTIME)"
  (cd "$ROOT" && go test -run '^$' -bench BenchmarkPipeline -benchtime "$GO_BENCHTIME" ./internal/scan/) | tee "$WORK/go-bench.txt" >&2
fi

log "results (work directory: $WORK)"
echo
"$WORK/bin/kdgbench" report -dir "$WORK" -rtt-ms "$RTT_MS" -concurrency "$DEFAULT_CONCURRENCY" \
  -cli-keys "$CLI_KEYS" -out "${BENCH_OUT:-$WORK/results.md}"
