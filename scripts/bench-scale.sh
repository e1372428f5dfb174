#!/usr/bin/env bash
# Organization-scale benchmark (make bench-scale), against awssim, a Go KMS /
# STS / EC2 / CloudTrail server that enforces AWS's request quotas per account
# and Region and adds a round trip per Region (internal/testutil/awssim):
#
#   scenario "org":    1,000 member accounts x 17 Regions, heavy-tailed keys
#   scenario "single": the base account x 17 Regions, a handful of keys
#
# In each scenario, one after the other against the same server:
#   kdg          kdg at its defaults (cloudtrail on: the default run)
#   kdg-noct     kdg --cloudtrail false (the scan alone)
#   boto3        scripts/bench/boto3_scan.py, 16 threads, one shared queue
#                (org: a stratified sample of the accounts, extrapolated)
#   cli          single only: the compliance rules' AWS CLI procedure
#                (scripts/bench/cli-procedure.sh) on the first BENCH_SCALE_CLI_KEYS
#                keys of BENCH_SCALE_CLI_REGIONS (one Region of each round
#                trip class), extrapolated to both scenarios
# then prints the table, the lower bound with its inputs, and, last,
# "ratio-to-lower-bound: X.XX" for the organization's default run.
#
# Settings (environment): BENCH_SCALE_SEED (1), BENCH_SCALE_MEMBERS (1000),
# BENCH_SCALE_SAMPLE_EVERY (boto3 scans every Nth account by key count, 10),
# BENCH_SCALE_CLI_KEYS (2), BENCH_SCALE_CLI_REGIONS
# (us-east-1,eu-west-1,ap-southeast-2,sa-east-1), BENCH_SCALE_RUNNER_CONCURRENCY (calls one runner
# holds in flight, for the bound; 1024), BENCH_DIR (work directory, kept),
# BENCH_OUT (also write the Markdown there).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SEED=${BENCH_SCALE_SEED:-1}
MEMBERS=${BENCH_SCALE_MEMBERS:-1000}
SAMPLE_EVERY=${BENCH_SCALE_SAMPLE_EVERY:-10}
CLI_KEYS=${BENCH_SCALE_CLI_KEYS:-2}
CLI_REGIONS=${BENCH_SCALE_CLI_REGIONS:-us-east-1,eu-west-1,ap-southeast-2,sa-east-1}
RUNNER=${BENCH_SCALE_RUNNER_CONCURRENCY:-1024}
ROLE=audit
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kdg-bench-scale.XXXXXX")}
mkdir -p "$WORK/bin"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench-scale: %s\n' "$*" >&2; exit 1; }

for tool in go python3 aws; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
python3 -c 'import boto3' 2>/dev/null || die "python3 cannot import boto3"
TIME=/usr/bin/time
if ! "$TIME" -v true >/dev/null 2>&1; then
  log "installing GNU time (apt) for peak memory"
  apt-get install -y -qq time >/dev/null || die "GNU time missing and apt-get install time failed"
fi

SIM_PID=""
cleanup() {
  # Only the process this script started, by its id.
  [[ -n $SIM_PID ]] && kill "$SIM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

log "building kdg and kdgbench into $WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/kdg" . && go build -o "$WORK/bin/kdgbench" ./cmd/kdgbench)

export AWS_ACCESS_KEY_ID=AKIABENCHBASE0000001 AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_PROFILE

sim_cpu() { awk '{print $14 + $15}' "/proc/$SIM_PID/stat"; } # utime + stime, clock ticks

start_sim() { # scenario
  local dir=$WORK/$1
  mkdir -p "$dir"
  rm -f "$dir/addr"
  "$WORK/bin/kdgbench" sim -scenario "$1" -seed "$SEED" -members "$MEMBERS" -sample-every "$SAMPLE_EVERY" \
    -addr-file "$dir/addr" -world-out "$dir/world.json" 2>"$dir/sim.log" &
  SIM_PID=$!
  for _ in $(seq 1 300); do [[ -s $dir/addr ]] && break; sleep 0.1; done
  [[ -s $dir/addr ]] || die "awssim did not start: $(cat "$dir/sim.log")"
  SIM=$(cat "$dir/addr")
}

stop_sim() {
  kill "$SIM_PID" 2>/dev/null || true
  wait "$SIM_PID" 2>/dev/null || true
  SIM_PID=""
}

measure() { # run dir, command...: time it, count its calls and the simulator's CPU
  local dir=$1
  shift
  mkdir -p "$dir"
  curl -fsS -X POST "$SIM/__awssim/reset"
  local cpu0
  cpu0=$(sim_cpu)
  "$TIME" -v -o "$dir/time.txt" "$@" >"$dir/stdout.txt" 2>"$dir/stderr.txt" || true
  echo $(($(sim_cpu) - cpu0)) >"$dir/sim-cpu-ticks.txt"
  curl -fsS "$SIM/__awssim/counts" >"$dir/counts.json"
}

kdg_run() { # run dir, accounts ("" for the base account), extra flags...
  local dir=$1 accounts=$2
  shift 2
  local acct=()
  [[ -n $accounts ]] && acct=(--accounts "$accounts" --role-name "$ROLE")
  # Exit 1 is expected: the gate fails on the pending keys.
  mkdir -p "$dir"
  (cd "$dir" && AWS_ENDPOINT_URL="$SIM" measure "$dir" "$WORK/bin/kdg" "${acct[@]}" \
    --report-json "$dir/report.json" --sarif-file "$dir/report.sarif" \
    --upload-sarif false --comment off "$@")
}

for scenario in single org; do
  log "scenario $scenario: generating and serving it"
  start_sim "$scenario"
  dir=$WORK/$scenario
  python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); open(sys.argv[2],"w").write(",".join(w["members"] or []))' \
    "$dir/world.json" "$dir/accounts.csv"
  python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); print("\n".join(w["sample"] or [w["base"]]))' \
    "$dir/world.json" >"$dir/boto3-accounts.txt"
  accounts=$(cat "$dir/accounts.csv")

  log "$scenario: kdg, defaults (cloudtrail on)"
  kdg_run "$dir/kdg" "$accounts"
  log "$scenario: kdg --cloudtrail false"
  kdg_run "$dir/kdg-noct" "$accounts" --cloudtrail false
  log "$scenario: boto3, 16 threads ($(wc -l <"$dir/boto3-accounts.txt") account(s))"
  measure "$dir/boto3" python3 "$ROOT/scripts/bench/boto3_scan.py" --endpoint "$SIM" \
    --accounts "$dir/boto3-accounts.txt" --role-name "$ROLE" --base-account "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["base"])' "$dir/world.json")" \
    --out "$dir/boto3/out.json"
  if [[ $scenario == single ]]; then
    log "single: AWS CLI procedure on the first $CLI_KEYS keys of $CLI_REGIONS (about 1 s a call)"
    mkdir -p "$dir/cli"
    measure "$dir/cli" "$ROOT/scripts/bench/cli-procedure.sh" "$SIM" "$CLI_REGIONS" "$CLI_KEYS" "$dir/cli/calls.tsv"
  fi
  stop_sim
done

log "results (work directory: $WORK)"
echo
"$WORK/bin/kdgbench" scale-report -dir "$WORK" -runner-concurrency "$RUNNER" -out "${BENCH_OUT:-$WORK/results.md}"
