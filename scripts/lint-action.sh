#!/usr/bin/env bash
# Lints the action's metadata, the workflows, the example workflows and the
# Dockerfile with pinned tools (installed by scripts/install-tools.sh):
#   action-validator  action.yml and every workflow, against SchemaStore's schemas
#   actionlint        .github/workflows/*.yml and examples/*.yml (expressions,
#                     inputs of `uses: ./` checked against action.yml)
#   ShellCheck        this action's scripts (and, through actionlint, run: blocks)
#   dockerfilelint    Dockerfile (rules off only in .dockerfilelintrc, with reasons)
# Runs every check, then exits non-zero if any failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}" || exit 1
"${ROOT}/scripts/install-tools.sh" lint || exit 1

BIN="${ROOT}/.tools/bin"
NPM_BIN="${ROOT}/.tools/npm/node_modules/.bin"
failed=()

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
examples=(examples/*.yml examples/*.yaml)
shopt -u nullglob

echo "== action-validator"
# action-validator 0.6.0 (the latest) carries a SchemaStore workflow schema
# older than the `attestations` job permission that
# actions/attest-build-provenance needs, and rejects it. It validates a copy
# without those lines; actionlint, which knows the permission, lints the
# real file below.
av_tmp="$(mktemp -d)"
trap 'rm -rf "${av_tmp}"' EXIT
for f in action.yml "${workflows[@]}" "${examples[@]}"; do
  target="${f}"
  if grep -qE '^ +attestations: (read|write|none)' "${f}"; then
    target="${av_tmp}/$(basename "${f}")"
    grep -vE '^ +attestations: (read|write|none)' "${f}" >"${target}"
  fi
  if "${NPM_BIN}/action-validator" "${target}"; then echo "ok ${f}"; else failed+=("action-validator ${f}"); fi
done

echo "== actionlint"
# actionlint runs shellcheck (installed above) on every run: script; no
# workflow here runs Python, so pyflakes is off.
if "${BIN}/actionlint" -pyflakes= "${workflows[@]}" "${examples[@]}"; then
  echo "ok ${#workflows[@]} workflow(s), ${#examples[@]} example(s)"
else
  failed+=("actionlint")
fi

echo "== example inputs against action.yml"
# The examples use the published action (owner/repo@ref), whose inputs
# actionlint cannot see; check every with: key against action.yml here.
if python3 - action.yml "${examples[@]}" <<'PY'
import sys, yaml
inputs = set(yaml.safe_load(open(sys.argv[1]))["inputs"])
bad = 0
for path in sys.argv[2:]:
    wf = yaml.safe_load(open(path))
    for job_name, job in (wf.get("jobs") or {}).items():
        for i, step in enumerate(job.get("steps") or []):
            if not str(step.get("uses", "")).startswith("kms-deletion-gate/kms-deletion-gate@"):
                continue
            for key in step.get("with") or {}:
                if key not in inputs:
                    print(f"{path}: job {job_name} step {i + 1}: unknown input {key!r}")
                    bad += 1
sys.exit(1 if bad else 0)
PY
then
  echo "ok ${#examples[@]} example(s)"
else
  failed+=("example inputs")
fi

echo "== shellcheck (the action's scripts)"
if shellcheck -x scripts/install-tools.sh scripts/lint-action.sh scripts/container-e2e.sh scripts/emulator.sh scripts/ensure-moto.sh scripts/demo.sh scripts/test.sh scripts/release-check.sh scripts/release-notes.sh scripts/image-build-cold.sh scripts/lint.sh scripts/bench.sh scripts/reliability-doc.sh scripts/validate-sarif.sh scripts/bench/cli-procedure.sh; then
  echo "ok scripts"
else
  failed+=("shellcheck scripts")
fi

echo "== dockerfilelint"
if "${NPM_BIN}/dockerfilelint" Dockerfile; then echo "ok Dockerfile"; else failed+=("dockerfilelint Dockerfile"); fi

if ((${#failed[@]})); then
  printf 'lint-action: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "lint-action: all passed"
