#!/usr/bin/env bash
# Runs kms-deletion-gate end to end against a local moto_server: starts moto on
# a free loopback port, seeds keys in two regions (pending deletion 2, 6, 15
# and 25 days out as of the scan, a disabled key, a healthy key, an
# allowlisted key), scans, and prints the job summary. Writes out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v moto_server >/dev/null || { echo "demo: moto_server is not installed (pip install 'moto[server]==5.2.1')" >&2; exit 2; }
out=out/demo
rm -rf "$out" && mkdir -p "$out"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$out/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break
  sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ENDPOINT_URL_STS="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

echo "== Building kms-deletion-gate"
go build -o "$out/kms-deletion-gate" .
echo "== Seeding moto at $AWS_ENDPOINT_URL"
go run ./cmd/demoseed --regions us-east-1,eu-west-1

# Judge the keys five days after seeding (moto only accepts 7-30 day windows).
export KMS_DELETION_GATE_NOW=$(date -u -d '+5 days' +%Y-%m-%dT%H:%M:%SZ)
export GITHUB_STEP_SUMMARY="$PWD/$out/summary.md"
: >"$GITHUB_STEP_SUMMARY"

echo "== Scanning (as of $KMS_DELETION_GATE_NOW)"
set +e
(cd scripts/demo && "../../$out/kms-deletion-gate" \
  --regions us-east-1,eu-west-1 \
  --config kms-deletion-gate.yml \
  --report-json "../../$out/report.json" \
  --sarif-file "../../$out/report.sarif" \
  --cloudtrail false --upload-sarif false --comment off)
code=$?
set -e

echo
echo "== Job summary ($GITHUB_STEP_SUMMARY)"
cat "$GITHUB_STEP_SUMMARY"
echo
echo "== Exit code: $code (0 pass, 1 gate failed, 2 bad configuration, 3 scan incomplete)"
echo "Reports: $out/report.json $out/report.sarif $out/summary.md"
# The demo has unapproved keys pending deletion: the gate must fail (1).
[ "$code" -eq 1 ]
