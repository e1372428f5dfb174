#!/usr/bin/env bash
# End-to-end proof of the container action, run the way the GitHub runner
# runs a Docker action, against a real AWS emulator (moto_server), on a
# machine with no Docker engine and no access to any image registry.
#
#   scripts/container-e2e.sh
#
#  1. installs buildah, podman and runc if missing (scripts/install-tools.sh)
#  2. makes the two base images locally, FROM scratch: a Go builder from this
#     machine's /usr/local/go, and a runtime base holding only the CA bundle
#     (plus /etc/passwd and /tmp), standing in for golang:* and distroless
#  3. builds the REAL Dockerfile with those as GO_IMAGE/BASE_IMAGE
#  4. starts moto_server on a free loopback port behind the tests' emulating
#     proxy (scripts/emulator.sh: awsfake answers KMS GetKeyLastUsage and
#     CloudTrail LookupEvents, which moto lacks) and seeds keys pending
#     deletion with the AWS CLI through it
#  5. runs the image with podman as the runner would: workspace at
#     /github/workspace (the working dir), file commands under
#     /github/file_commands, the event at /github/workflow/event.json,
#     GITHUB_ACTIONS=true and every input of action.yml as INPUT_<NAME> with
#     hyphens kept (defaults from action.yml, overrides per case)
#  6. asserts exit codes, outputs, summary, SARIF and JSON reports
#
# Prints the image size and each container's start-to-exit time. Exits
# non-zero on the first failed assertion. Cleans up moto and temp dirs.
#
# Environment:
#   KDG_E2E_IMAGE    the image a release would push, run as it is instead of
#                    building one: an image in local storage
#                    (localhost/kms-deletion-gate:cold), or an archive to load
#                    (oci-archive:PATH, docker-archive:PATH); steps 2-3 are
#                    skipped. CI's release job builds with buildx and passes
#                    the exported archive.
#   KDG_E2E_CONTEXT  build context (default: the repository)
#   KDG_E2E_KEEP=1   keep the temp dir (workspace, outputs, logs) for a look
#   GOPROXY          passed to the build (default: `go env GOPROXY`)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONTEXT="${KDG_E2E_CONTEXT:-${ROOT}}"
IMAGE=localhost/kms-deletion-gate:e2e
REGION_A=us-east-1
REGION_B=eu-west-1
FAKE_TOKEN="ghs_e2eFakeTokenThatMustNeverBePrinted0123"

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
pass() { printf 'ok: %s\n' "$*"; PASSED=$((PASSED + 1)); }
PASSED=0
now_ms() { date +%s%3N; }

# One storage driver and one runtime setup for every call (see TOOLING.md).
bh() { buildah --storage-driver vfs "$@"; }
pm() { podman --storage-driver vfs --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/kdg-e2e.XXXXXX")"
# shellcheck source=scripts/emulator.sh
. "${ROOT}/scripts/emulator.sh"
# shellcheck source=scripts/ensure-moto.sh
. "${ROOT}/scripts/ensure-moto.sh"
cleanup() {
  local rc=$?
  kdg_stop_emulator
  if [[ "${KDG_E2E_KEEP:-}" == 1 ]]; then echo "kept ${TMP}"; else rm -rf "${TMP}"; fi
  exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. tools -------------------------------------------------------------
log "tools"
"${ROOT}/scripts/install-tools.sh" container
kdg_ensure_moto || fail "moto_server (moto[server]==5.2.1) is not available"
PREBUILT="${KDG_E2E_IMAGE:-}"
# Go makes the builder base image; a prebuilt image needs none.
needed=(moto_server aws python3)
[[ -n "${PREBUILT}" ]] || needed+=(go)
for t in "${needed[@]}"; do
  command -v "$t" >/dev/null || fail "$t not found (moto_server and the AWS CLI come with the machine image)"
done

if [[ -z "${PREBUILT}" ]]; then
# --- 2. local base images -------------------------------------------------
# Tags name their content, so an image is rebuilt only when its input changes.
GOROOT_HOST="$(go env GOROOT)"
GO_VERSION="$(head -n1 "${GOROOT_HOST}/VERSION")"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
CA_SUM="$(sha256sum "${CA_BUNDLE}" | cut -c1-12)"
GO_IMAGE="localhost/kdg-go-builder:${GO_VERSION}"
BASE_IMAGE="localhost/kdg-static-base:ca-${CA_SUM}"

image_exists() { bh inspect --type image "$1" >/dev/null 2>&1; }

copy_with_libs() { # host binary -> same path in the rootfs, plus its shared libraries
  local bin="$1" root="$2" lib
  install -D -m 0755 "${bin}" "${root}${bin}"
  for lib in $(ldd "${bin}" | grep -o '/[^ ]*' || true); do
    install -D -m 0755 "$(readlink -f "${lib}")" "${root}${lib}"
  done
}

if image_exists "${GO_IMAGE}"; then
  echo "have ${GO_IMAGE}"
else
  log "making ${GO_IMAGE} from ${GOROOT_HOST}"
  t0=$(now_ms)
  ctr="$(bh from scratch)"
  mnt="$(bh mount "${ctr}")"
  mkdir -p "${mnt}/usr/local/go" "${mnt}/go" "${mnt}/root" "${mnt}/tmp" "${mnt}/etc/ssl/certs" "${mnt}/bin"
  chmod 1777 "${mnt}/tmp"
  # The toolchain without its tests and docs: bin, pkg (tools), src (std), lib.
  for d in bin pkg src lib go.env VERSION; do cp -a "${GOROOT_HOST}/${d}" "${mnt}/usr/local/go/"; done
  # RUN lines need /bin/sh; dash and its libc are all they need.
  copy_with_libs "$(readlink -f /bin/sh)" "${mnt}"
  [[ -e "${mnt}/bin/sh" ]] || ln -s "$(readlink -f /bin/sh)" "${mnt}/bin/sh"
  cp -L "${CA_BUNDLE}" "${mnt}/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"${mnt}/etc/passwd"
  printf 'root:x:0:\n' >"${mnt}/etc/group"
  bh umount "${ctr}" >/dev/null
  # Same environment as the official golang image.
  bh config --env GOPATH=/go --env GOTOOLCHAIN=local --env HOME=/root \
    --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --workingdir /go --cmd /bin/sh --label "kdg.e2e=go-builder" "${ctr}"
  bh commit -q --rm "${ctr}" "${GO_IMAGE}" >/dev/null
  echo "made ${GO_IMAGE} in $(( $(now_ms) - t0 )) ms"
fi

if image_exists "${BASE_IMAGE}"; then
  echo "have ${BASE_IMAGE}"
else
  log "making ${BASE_IMAGE}"
  ctr="$(bh from scratch)"
  mnt="$(bh mount "${ctr}")"
  mkdir -p "${mnt}/etc/ssl/certs" "${mnt}/tmp"
  chmod 1777 "${mnt}/tmp"
  cp -L "${CA_BUNDLE}" "${mnt}/etc/ssl/certs/ca-certificates.crt"
  # What distroless/static adds besides the CA bundle and tzdata.
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"${mnt}/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"${mnt}/etc/group"
  bh umount "${ctr}" >/dev/null
  bh config --label "kdg.e2e=static-base" "${ctr}"
  bh commit -q --rm "${ctr}" "${BASE_IMAGE}" >/dev/null
fi

# --- 3. build the real Dockerfile ----------------------------------------
log "building ${IMAGE} from ${CONTEXT}/Dockerfile"
[[ -f "${CONTEXT}/Dockerfile" ]] || fail "no Dockerfile in ${CONTEXT}"
t0=$(now_ms)
bh bud --isolation chroot --network host --pull-never --layers=false -q \
  --build-arg "GO_IMAGE=${GO_IMAGE}" \
  --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
  --build-arg "GOPROXY=${GOPROXY:-$(go env GOPROXY)}" \
  --build-arg "GOSUMDB=${GOSUMDB:-$(go env GOSUMDB)}" \
  --build-arg "TARGETOS=$(go env GOOS)" --build-arg "TARGETARCH=$(go env GOARCH)" \
  --build-arg "VERSION=e2e-$(git -C "${CONTEXT}" rev-parse --short HEAD 2>/dev/null || echo local)" \
  -f "${CONTEXT}/Dockerfile" -t "${IMAGE}" "${CONTEXT}" >"${TMP}/build.log" 2>&1 \
  || { tail -40 "${TMP}/build.log"; fail "image build failed"; }
BUILD_MS=$(( $(now_ms) - t0 ))
# Each rebuild leaves the previous image untagged; keep the store small.
bh rmi --prune >/dev/null 2>&1 || true
SIZE_BYTES="$(pm image inspect --format '{{.Size}}' "${IMAGE}")"
echo "built in ${BUILD_MS} ms; image size ${SIZE_BYTES} bytes ($(awk -v b="${SIZE_BYTES}" 'BEGIN{printf "%.1f MiB", b/1048576}'))"
[[ "$(pm image inspect --format '{{.User}}' "${IMAGE}")" =~ ^(0|0:0|root)?$ ]] || fail "image does not run as root"
pass "image built; entrypoint $(pm image inspect --format '{{json .Config.Entrypoint}}' "${IMAGE}")"
else
# --- 2-3. the prebuilt image, loaded --------------------------------------
log "using the prebuilt image ${PREBUILT} (not rebuilt)"
t0=$(now_ms)
case "${PREBUILT}" in
  oci-archive:* | docker-archive:*)
    loaded="$(pm load -q -i "${PREBUILT#*:}" 2>&1 | sed -n 's/^Loaded image[^:]*: *//p' | tail -n1)"
    [[ -n "${loaded}" ]] || fail "could not load ${PREBUILT}"
    pm tag "${loaded}" "${IMAGE}" ;;
  *)
    pm image exists "${PREBUILT}" || fail "no image ${PREBUILT} in local storage"
    pm tag "${PREBUILT}" "${IMAGE}" ;;
esac
BUILD_MS=0
SIZE_BYTES="$(pm image inspect --format '{{.Size}}' "${IMAGE}")"
echo "loaded in $(( $(now_ms) - t0 )) ms; image size ${SIZE_BYTES} bytes ($(awk -v b="${SIZE_BYTES}" 'BEGIN{printf "%.1f MiB", b/1048576}'))"
[[ "$(pm image inspect --format '{{.User}}' "${IMAGE}")" =~ ^(0|0:0|root)?$ ]] || fail "image does not run as root"
[[ "$(pm image inspect --format '{{json .Config.Entrypoint}}' "${IMAGE}")" == '["/kms-deletion-gate"]' ]] || fail "entrypoint is not /kms-deletion-gate"
pass "prebuilt image loaded; entrypoint [\"/kms-deletion-gate\"]"
fi

# --- 4. moto + seed ------------------------------------------------------
log "starting moto_server behind the emulating proxy"
kdg_start_emulator "${TMP}" || fail "the emulator did not start"
# Everything goes through the proxy: it records who scheduled each deletion
# for LookupEvents, and a key marked used below reports its last use.
ENDPOINT="${KDG_ENDPOINT}"
echo "moto on ${KDG_MOTO_URL}, emulating proxy on ${ENDPOINT}"

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION="${REGION_A}" AWS_PAGER=""
awsm() { aws --endpoint-url "${ENDPOINT}" "$@"; }
new_key() { awsm --region "$1" kms create-key --description "$2" --query KeyMetadata.KeyId --output text; }

log "seeding keys"
KEY_HIGH="$(new_key "${REGION_A}" "e2e orders-v1 (7 days)")"
KEY_MED_A="$(new_key "${REGION_A}" "e2e reports (30 days)")"
KEY_LIVE="$(new_key "${REGION_A}" "e2e live key")"
KEY_MED_B="$(new_key "${REGION_B}" "e2e eu archive (10 days)")"
awsm --region "${REGION_A}" kms create-alias --alias-name alias/e2e-orders-v1 --target-key-id "${KEY_HIGH}"
# By key id: moto answers 500 to ScheduleKeyDeletion by ARN.
awsm --region "${REGION_A}" kms schedule-key-deletion --key-id "${KEY_HIGH}" --pending-window-in-days 7 >/dev/null
awsm --region "${REGION_A}" kms schedule-key-deletion --key-id "${KEY_MED_A}" --pending-window-in-days 30 >/dev/null
awsm --region "${REGION_B}" kms schedule-key-deletion --key-id "${KEY_MED_B}" --pending-window-in-days 10 >/dev/null
[[ "$(awsm --region "${REGION_A}" kms describe-key --key-id "${KEY_HIGH}" --query KeyMetadata.KeyState --output text)" == PendingDeletion ]] \
  || fail "seeding: ${KEY_HIGH} is not PendingDeletion"
# The 30-day key was used two days ago: something still needs it, so it is
# critical whatever its deletion date.
kdg_mark_used "${KEY_MED_A}" Decrypt "$(date -u -d '-2 days' +%Y-%m-%dT%H:%M:%SZ)" || fail "could not mark ${KEY_MED_A} used"
echo "pending: ${KEY_HIGH} (7d, ${REGION_A}), ${KEY_MED_A} (30d, ${REGION_A}, used 2 days ago), ${KEY_MED_B} (10d, ${REGION_B}); enabled: ${KEY_LIVE}"

# --- 5. run like the runner ---------------------------------------------
# Every input of action.yml with its default, as the runner passes them; the
# runner evaluates ${{ github.token }} to the job token before the step runs.
mapfile -t DEFAULT_INPUTS < <(python3 - "${ROOT}/action.yml" "${FAKE_TOKEN}" <<'PY'
import sys, yaml
action = yaml.safe_load(open(sys.argv[1]))
for name, spec in action["inputs"].items():
    default = str(spec.get("default", ""))
    if default == "${{ github.token }}":
        default = sys.argv[2]
    print(f"INPUT_{name.upper()}={default}")
PY
)
[[ ${#DEFAULT_INPUTS[@]} -ge 20 ]] || fail "could not read inputs from action.yml"

# run_action NAME [INPUT_X=value ...]: one action step in a fresh workspace
# state; sets RC, RUN_MS and the paths OUT, SUMMARY, LOG.
WS="${TMP}/workspace"
mkdir -p "${WS}"
cp "${ROOT}/scripts/testdata/pull_request.event.json" "${TMP}/event.json"
run_action() {
  local name="$1"; shift
  local step="${TMP}/steps/${name}"
  mkdir -p "${step}/file_commands" "${step}/home" "${step}/workflow"
  cp "${TMP}/event.json" "${step}/workflow/event.json"
  local id; id="$(python3 -c 'import uuid; print(uuid.uuid4())')"
  OUT="${step}/file_commands/set_output_${id}"
  SUMMARY="${step}/file_commands/step_summary_${id}"
  LOG="${step}/log.txt"
  : >"${OUT}"; : >"${SUMMARY}"
  rm -f "${WS}/kms-deletion-gate.sarif" "${WS}/kms-deletion-gate.json"
  local -a envs=()
  local kv
  declare -A override=()
  for kv in "$@"; do override["${kv%%=*}"]=1; envs+=(--env "${kv}"); done
  for kv in "${DEFAULT_INPUTS[@]}"; do [[ -n "${override[${kv%%=*}]:-}" ]] || envs+=(--env "${kv}"); done
  envs+=(
    --env GITHUB_ACTIONS=true --env CI=true --env HOME=/github/home
    --env GITHUB_WORKSPACE=/github/workspace
    --env GITHUB_EVENT_PATH=/github/workflow/event.json --env GITHUB_EVENT_NAME=pull_request
    --env "GITHUB_OUTPUT=/github/file_commands/set_output_${id}"
    --env "GITHUB_STEP_SUMMARY=/github/file_commands/step_summary_${id}"
    --env GITHUB_REPOSITORY=octo-org/infra --env GITHUB_REPOSITORY_OWNER=octo-org
    --env GITHUB_REF=refs/pull/42/merge --env GITHUB_SHA=0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c
    --env GITHUB_RUN_ID=4242 --env GITHUB_RUN_ATTEMPT=1 --env GITHUB_JOB=gate --env GITHUB_ACTION=kms-deletion-gate
    --env GITHUB_SERVER_URL=https://github.com
    # Nothing listens there: no request can leave this machine.
    --env GITHUB_API_URL=http://127.0.0.1:9 --env GITHUB_GRAPHQL_URL=http://127.0.0.1:9/graphql
    --env RUNNER_OS=Linux --env RUNNER_ARCH=X64 --env RUNNER_TEMP=/github/runner_temp
    # Job env, as an earlier configure-aws-credentials step would leave it.
    --env AWS_ACCESS_KEY_ID --env AWS_SECRET_ACCESS_KEY --env AWS_SESSION_TOKEN
    --env "AWS_REGION=${REGION_A}" --env "AWS_DEFAULT_REGION=${REGION_A}"
    --env "AWS_ENDPOINT_URL=${ENDPOINT}" --env "AWS_ENDPOINT_URL_STS=${ENDPOINT}"
  )
  local t0; t0=$(now_ms)
  set +e
  pm run --rm --network host \
    --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
    --workdir /github/workspace \
    -v "${WS}:/github/workspace" \
    -v "${step}/file_commands:/github/file_commands" \
    -v "${step}/workflow:/github/workflow" \
    -v "${step}/home:/github/home" \
    "${envs[@]}" "${IMAGE}" >"${LOG}" 2>&1
  RC=$?
  set -e
  RUN_MS=$(( $(now_ms) - t0 ))
  printf -- '-- step %s: exit %d in %d ms\n' "${name}" "${RC}" "${RUN_MS}"
}

# output NAME: the value of an output in ${OUT} (name=value or heredoc form).
output() {
  python3 - "${OUT}" "$1" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
want, i = sys.argv[2], 0
found = None
while i < len(lines):
    line = lines[i]
    if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
        name, delim = line.split("<<", 1)
        j = lines.index(delim, i + 1)
        value = "\n".join(lines[i + 1:j]); i = j
    elif "=" in line:
        name, value = line.split("=", 1)
    else:
        name = None
    if name == want:
        found = value
    i += 1
if found is None:
    sys.exit(1)
print(found)
PY
}

expect_rc() { [[ "${RC}" == "$1" ]] || { sed 's/^/    | /' "${LOG}" | tail -40; fail "$2: exit code ${RC}, want $1"; }; pass "$2: exit $1"; }
expect_output() {
  local got; got="$(output "$1")" || { cat "${OUT}"; fail "$3: output $1 not set"; }
  [[ "${got}" == "$2" ]] || { cat "${OUT}"; fail "$3: output $1=${got}, want $2"; }
}
expect_no_token_in_log() {
  # ::add-mask:: lines carry the secret to the runner, which hides them.
  if grep -v '^::add-mask::' "${LOG}" | cat - "${SUMMARY}" "${OUT}" | grep -qF "${FAKE_TOKEN}"; then
    fail "$1: the GitHub token was printed"
  fi
}

STATIC_INPUTS=(
  "INPUT_REGIONS=${REGION_A},${REGION_B}"
  # No GitHub here: no comment, no code scanning upload.
  "INPUT_COMMENT=off" "INPUT_UPLOAD-SARIF=false"
  # The event is a pull request, whose default fail-scope (change) counts only
  # what the change touches; these cases judge every key, as an audit does.
  "INPUT_FAIL-SCOPE=all"
)

log "case 1: pending keys fail the gate (fail-on: medium, the default)"
run_action gate "${STATIC_INPUTS[@]}"
GATE_MS="${RUN_MS}"
expect_rc 1 "gate"
for kv in result=fail critical=1 high=1 medium=1 low=0 allowlisted=0 total=3 \
          sarif-file=kms-deletion-gate.sarif report-json=kms-deletion-gate.json; do
  expect_output "${kv%%=*}" "${kv#*=}" "gate"
done
pass "gate: outputs result=fail critical=1 (recently used) high=1 medium=1 low=0 allowlisted=0 total=3"
grep -q "Decrypt" "${SUMMARY}" || { head -60 "${SUMMARY}"; fail "gate: summary does not show the last use (Decrypt)"; }
pass "gate: summary shows the last use of the recently used key"
grep -q "user/testing" "${SUMMARY}" || { head -60 "${SUMMARY}"; fail "gate: summary does not say who scheduled the deletions (CloudTrail)"; }
pass "gate: summary shows who scheduled the deletions (CloudTrail LookupEvents)"
for k in "${KEY_HIGH}" "${KEY_MED_A}" "${KEY_MED_B}"; do
  grep -qF "${k}" "${SUMMARY}" || { head -60 "${SUMMARY}"; fail "gate: summary does not mention ${k}"; }
done
if grep -qF "${KEY_LIVE}" "${SUMMARY}"; then fail "gate: summary lists the enabled key ${KEY_LIVE}"; fi
pass "gate: job summary lists the 3 pending keys and not the enabled one"
[[ -s "${WS}/kms-deletion-gate.sarif" ]] || fail "gate: no SARIF file in the workspace"
python3 - "${WS}/kms-deletion-gate.sarif" "${KEY_HIGH}" <<'PY' || fail "gate: SARIF file is not a SARIF 2.1.0 log with results"
import json, sys
log = json.load(open(sys.argv[1]))
assert log.get("version") == "2.1.0", log.get("version")
results = [r for run in log["runs"] for r in run.get("results", [])]
assert len(results) >= 3, len(results)
assert sys.argv[2] in json.dumps(log)
PY
pass "gate: SARIF 2.1.0 file in the workspace with the findings"
if ! [[ -s "${WS}/kms-deletion-gate.json" ]] || ! python3 -m json.tool "${WS}/kms-deletion-gate.json" >/dev/null; then
  fail "gate: JSON report missing or not JSON"
fi
pass "gate: JSON report in the workspace"
expect_no_token_in_log "gate"
pass "gate: GitHub token never printed"

log "case 2: fail-on: none passes and still reports"
run_action report-only "${STATIC_INPUTS[@]}" "INPUT_FAIL-ON=none"
expect_rc 0 "fail-on none"
expect_output result pass "fail-on none"
expect_output total 3 "fail-on none"
[[ -s "${WS}/kms-deletion-gate.sarif" ]] || fail "fail-on none: no SARIF file"
pass "fail-on none: result=pass total=3, SARIF written"

log "case 3: an allowlist in the default config path approves every key"
mkdir -p "${WS}/.github"
EXPIRES="$(date -u -d '+90 days' +%Y-%m-%d)"  # within max-allow-days (365)
cat >"${WS}/.github/kms-deletion-gate.yml" <<EOF
allow:
  - key: ${KEY_HIGH}
    reason: "e2e: orders-v1 retired, data re-encrypted (CHG-1042)"
    expires: ${EXPIRES}
  - key: ${KEY_MED_A}
    reason: "e2e: reports key retired"
    expires: ${EXPIRES}
  - key: ${KEY_MED_B}
    region: ${REGION_B}
    reason: "e2e: archive moved"
    expires: ${EXPIRES}
EOF
# No GitHub here to read the base branch's allowlist from: trust the workspace's.
run_action allowlisted "${STATIC_INPUTS[@]}" "INPUT_ALLOWLIST-FROM=head"
rm -f "${WS}/.github/kms-deletion-gate.yml"
expect_rc 0 "allowlisted"
for kv in result=pass critical=0 high=0 medium=0 low=0 allowlisted=3 total=3; do
  expect_output "${kv%%=*}" "${kv#*=}" "allowlisted"
done
pass "allowlisted: result=pass allowlisted=3 total=3"

log "case 4: a bad input is a configuration error"
run_action bad-input "${STATIC_INPUTS[@]}" "INPUT_FAIL-ON=sometimes"
expect_rc 2 "bad input"
grep -q "fail-on" "${LOG}" || { cat "${LOG}"; fail "bad input: the log does not name the input"; }
pass "bad input: error names fail-on"

log "summary"
printf 'image %s: %s bytes (%s)\n' "${IMAGE}" "${SIZE_BYTES}" "$(awk -v b="${SIZE_BYTES}" 'BEGIN{printf "%.1f MiB", b/1048576}')"
if [[ -n "${PREBUILT}" ]]; then
  printf 'prebuilt image, nothing built; start to verdict (container start to exit, gate run against moto): %d ms\n' "${GATE_MS}"
else
  printf 'build: %d ms; start to verdict (container start to exit, gate run against moto): %d ms\n' "${BUILD_MS}" "${GATE_MS}"
fi
printf '%d passed, 0 failed\n' "${PASSED}"
