#!/usr/bin/env bash
# The project's test command (README: `make test`): everything CI runs, in
# order, stopping at the first failure. Installs the pinned tools it needs into
# ./.tools first, and moto 5.2.1 into ./.venv when moto_server is not on PATH
# (scripts/ensure-moto.sh). Needs Go, Node.js/npm, python3 and root for
# the container proof (apt-get install buildah podman runc).
#
#   scripts/test.sh            everything
#   SKIP_CONTAINER=1 scripts/test.sh   without the (slow) container proof
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n== %s (+%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "Install pinned tools"
components=(lint sarif-multitool golangci-lint)
[ "${SKIP_CONTAINER:-}" = 1 ] || components+=(container)
scripts/install-tools.sh "${components[@]}"
export PATH="$PWD/.tools/bin:$PWD/.tools/npm/node_modules/.bin:$PATH"

step "Build"
go build ./...
go build -o /dev/null .

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

step "go vet"
go vet ./...

step "golangci-lint"
golangci-lint run ./...

step "Tests with the race detector (moto_server is started by the tests)"
. scripts/ensure-moto.sh
kdg_ensure_moto || { echo "moto_server (moto[server]==5.2.1) is neither on PATH nor installable into ./.venv" >&2; exit 1; }
go test -race -count=1 -timeout 20m ./...

step "SARIF: schema and GitHub ingestion rules on a generated report"
sarif_dir=$(mktemp -d)
trap 'rm -rf "$sarif_dir"' EXIT
go test ./internal/report/sarif -run TestWriteSample -count=1 -args -sample-out="$sarif_dir/sample.sarif" >/dev/null
scripts/validate-sarif.sh "$sarif_dir/sample.sarif"

step "Action metadata, workflows and Dockerfile lint"
scripts/lint-action.sh

step "Demo (README): scan a seeded moto end to end"
scripts/demo.sh >"$sarif_dir/demo.log" 2>&1 || { cat "$sarif_dir/demo.log"; exit 1; }
tail -n 3 "$sarif_dir/demo.log"
scripts/validate-sarif.sh out/demo/report.sarif

if [ "${SKIP_CONTAINER:-}" = 1 ]; then
  step "Container proof skipped (SKIP_CONTAINER=1)"
else
  step "Container: build the real Dockerfile and run the image like the Actions runner"
  scripts/container-e2e.sh
fi

step "All checks passed"
