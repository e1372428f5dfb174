#!/usr/bin/env bash
# validate-sarif.sh FILE...
#
# Validates SARIF files with Microsoft's SARIF multitool, checking both the
# SARIF specification's rules and GitHub code scanning's ingestion rules
# (--rule-kind "Sarif;Gh"). The multitool always exits 0, so this script reads
# its output and fails when any line reports ": error ".
#
# The multitool misses some JSON-schema errors; the Go tests of
# internal/report/sarif validate every SARIF they produce against the embedded
# OASIS schema as well.
#
# The tool is installed once, at a pinned version, into ./.tools/npm (relative
# to the repository root); set SARIF_MULTITOOL_PREFIX to use another prefix.
set -euo pipefail

readonly MULTITOOL_VERSION="5.7.0"

if [[ $# -eq 0 ]]; then
  echo "usage: $0 FILE..." >&2
  exit 2
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${SARIF_MULTITOOL_PREFIX:-$repo_root/.tools/npm}"
pkg_json="$prefix/node_modules/@microsoft/sarif-multitool/package.json"

installed_version() {
  [[ -f "$pkg_json" ]] || return 1
  node -e 'process.stdout.write(require(process.argv[1]).version)' "$pkg_json"
}

if [[ "$(installed_version 2>/dev/null || true)" != "$MULTITOOL_VERSION" ]]; then
  echo "installing @microsoft/sarif-multitool@$MULTITOOL_VERSION into $prefix" >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
    "@microsoft/sarif-multitool@$MULTITOOL_VERSION" >&2
fi

multitool="$(cd "$prefix" && node -p "require('@microsoft/sarif-multitool')")"
if [[ ! -x "$multitool" ]]; then
  echo "validate-sarif: multitool binary not found at $multitool" >&2
  exit 2
fi

status=0
for file in "$@"; do
  if [[ ! -f "$file" ]]; then
    echo "validate-sarif: $file: no such file" >&2
    status=1
    continue
  fi
  abs="$(cd "$(dirname "$file")" && pwd)/$(basename "$file")"
  # Run the native binary the npm package wraps: its bin.js re-parses the
  # arguments with a shell, which splits "Sarif;Gh" at the ';' (and would
  # split file names with spaces). Resolving it from the prefix also means
  # the pinned local copy runs, never one fetched from the registry.
  out="$("$multitool" validate --rule-kind "Sarif;Gh" "$abs" 2>&1 | tr -d '\000')" || true
  printf '%s\n' "$out"
  if grep -q ': error ' <<<"$out"; then
    echo "validate-sarif: $file: FAILED" >&2
    status=1
  elif [[ -z "$out" ]]; then
    echo "validate-sarif: $file: multitool printed nothing" >&2
    status=1
  else
    echo "validate-sarif: $file: OK" >&2
  fi
done
exit "$status"
