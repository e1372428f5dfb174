#!/usr/bin/env bash
# Runs kms-deletion-gate end to end against a local AWS emulator, the one the
# tests use (scripts/emulator.sh): moto_server on a free loopback port behind
# a proxy that answers what moto lacks (KMS GetKeyLastUsage, CloudTrail
# LookupEvents for the deletions scheduled through it). Seeds keys in two
# regions (pending deletion in 7, 11, 20 and 30 days, a disabled key, a
# healthy key, an allowlisted key; one key still in use), scans, and prints
# the job summary.
# Writes out/demo/. Installs the pinned moto into ./.venv if moto_server is
# not on PATH (scripts/ensure-moto.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-moto.sh
. scripts/emulator.sh
kdg_ensure_moto || { echo "demo: moto_server is not available (pip install 'moto[server]==5.2.1')" >&2; exit 2; }
out=out/demo
rm -rf "$out" && mkdir -p "$out"
trap kdg_stop_emulator EXIT
kdg_start_emulator "$out"

export AWS_ENDPOINT_URL="$KDG_ENDPOINT"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

echo "== Building kms-deletion-gate"
go build -o "$out/kms-deletion-gate" .
echo "== Seeding moto through the emulating proxy at $AWS_ENDPOINT_URL (as IAM user ops-alice)"
AWS_ACCESS_KEY_ID=ops-alice go run ./cmd/demoseed --regions us-east-1,eu-west-1 | tee "$out/seeded.txt"
# Something still decrypts with one key scheduled for deletion: the scan
# reports it as in use (critical whatever its date).
used=$(awk '$3 == "alias/legacy-reports-us-east-1" {print $4}' "$out/seeded.txt")
kdg_mark_used "$used" Decrypt "$(date -u -d '-2 days' +%Y-%m-%dT%H:%M:%SZ)"

export GITHUB_STEP_SUMMARY="$PWD/$out/summary.md"
: >"$GITHUB_STEP_SUMMARY"

# Allowlist entries may not expire more than max-allow-days (365) ahead:
# the demo's entry is dated 90 days from today.
sed "s/expires: .*/expires: $(date -u -d '+90 days' +%Y-%m-%d)/" scripts/demo/kms-deletion-gate.yml >"$out/kms-deletion-gate.yml"

echo "== Scanning"
set +e
(cd scripts/demo && "../../$out/kms-deletion-gate" \
  --regions us-east-1,eu-west-1 \
  --config "../../$out/kms-deletion-gate.yml" \
  --report-json "../../$out/report.json" \
  --sarif-file "../../$out/report.sarif" \
  --cloudtrail true --upload-sarif false --comment off)
code=$?
set -e

echo
echo "== Job summary ($GITHUB_STEP_SUMMARY)"
cat "$GITHUB_STEP_SUMMARY"
echo
echo "== Exit code: $code (0 pass, 1 gate failed, 2 bad configuration, 3 scan incomplete, 4 reports incomplete)"
echo "Reports: $out/report.json $out/report.sarif $out/summary.md"
# The demo has unapproved keys pending deletion: the gate must fail (1).
[ "$code" -eq 1 ]
