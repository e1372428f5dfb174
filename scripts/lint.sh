#!/usr/bin/env bash
# Static checks only (a subset of scripts/test.sh, for quick feedback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-tools.sh lint golangci-lint
export PATH="$PWD/.tools/bin:$PWD/.tools/npm/node_modules/.bin:$PATH"
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
[ -z "$unformatted" ] || { echo "gofmt would change:"; echo "$unformatted"; exit 1; }
go vet ./...
golangci-lint run ./...
scripts/lint-action.sh
