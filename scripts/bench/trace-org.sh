#!/usr/bin/env bash
# Timeline of one organization run (issue 17): serves the org scenario with
# awssim recording every call (kdgbench sim -trace), runs kdg at its
# defaults (cloudtrail on) as scripts/bench-scale.sh does, and prints the
# timeline (scripts/bench/timeline.py): the phases, the AssumeRole calls
# throttled, and for the account/Regions with the most lookups when their
# role was assumed, their Regions listed, their first ListKeys page asked
# for, and their DescribeKey and LookupEvents ran.
#
# Usage: scripts/bench/trace-org.sh [work directory]   (BENCH_SCALE_SEED,
# BENCH_SCALE_MEMBERS as for bench-scale.sh). Needs go, python3, curl.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/kdg-trace-org.XXXXXX")}
mkdir -p "$OUT/bin"
(cd "$ROOT" && go build -o "$OUT/bin/kdg" . && go build -o "$OUT/bin/kdgbench" ./cmd/kdgbench)
export AWS_ACCESS_KEY_ID=AKIABENCHBASE0000001 AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_PROFILE
rm -f "$OUT/addr"
"$OUT/bin/kdgbench" sim -scenario org -seed "${BENCH_SCALE_SEED:-1}" -members "${BENCH_SCALE_MEMBERS:-1000}" -trace \
  -addr-file "$OUT/addr" -world-out "$OUT/world.json" 2>"$OUT/sim.log" &
SIM_PID=$!
trap 'kill "$SIM_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [[ -s $OUT/addr ]] && break; sleep 0.1; done
[[ -s $OUT/addr ]] || { echo "awssim did not start: $(cat "$OUT/sim.log")" >&2; exit 1; }
SIM=$(cat "$OUT/addr")
accounts=$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["members"]))' "$OUT/world.json")
curl -fsS -X POST "$SIM/__awssim/reset"
date +%s%N >"$OUT/t0"
# Exit 1 is expected: the gate fails on the pending keys.
cd "$OUT"
AWS_ENDPOINT_URL=$SIM "$OUT/bin/kdg" --accounts "$accounts" --role-name audit \
  --report-json "$OUT/report.json" --sarif-file "$OUT/report.sarif" --upload-sarif false --comment off \
  >"$OUT/stdout.txt" 2>"$OUT/stderr.txt" || true
date +%s%N >"$OUT/t1"
curl -fsS "$SIM/__awssim/trace" >"$OUT/trace.json"
python3 "$ROOT/scripts/bench/timeline.py" "$OUT"
