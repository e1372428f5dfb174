#!/usr/bin/env bash
# Regenerates the table of docs/RELIABILITY.md from the reliability suites
# (AWS faults through a fault proxy in front of moto_server, hostile AWS
# metadata, bad configuration, secrets). CI runs the same test without
# -update-doc and fails when the committed table differs.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 ./internal/reliability -run '^TestReliabilityTable$' -update-doc "$@"
