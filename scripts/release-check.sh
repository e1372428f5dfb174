#!/usr/bin/env bash
# Checks the release build offline, as CI does before any tag is pushed:
#   1. `goreleaser check` validates .goreleaser.yaml (goreleaser pinned in
#      scripts/install-tools.sh, installed into ./.tools/bin);
#   2. `goreleaser release --snapshot --clean` builds every archive into
#      out/dist without publishing anything (no network but the Go proxy);
#   3. checks every expected archive: present, named
#      kms-deletion-gate_<version>_<os>_<arch>.<tar.gz|zip>, holding the
#      binary built for that OS and architecture (go version -m), static,
#      with the snapshot's version stamped in, plus LICENSE, README.md, CHANGELOG.md
#      and SECURITY.md; no unexpected archive;
#   4. checks the checksums file: one sha256 line per archive, each matching
#      (sha256sum -c), nothing else listed;
#   5. checks that the release notes (CHANGELOG.md's Unreleased section) are
#      not empty.
# Prints the archive and binary sizes. Exits non-zero on the first failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${ROOT}"
DIST=out/dist
PROJECT=kms-deletion-gate
TARGETS=(linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64)

fail() { printf 'release-check: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'ok: %s\n' "$*"; }

"${ROOT}/scripts/install-tools.sh" goreleaser
GORELEASER="${ROOT}/.tools/bin/goreleaser"

echo "== goreleaser check"
"${GORELEASER}" check

echo "== release notes"
notes="$(mktemp)"
tmp="$(mktemp -d)"
trap 'rm -rf "${notes}" "${tmp}"' EXIT
"${ROOT}/scripts/release-notes.sh" Unreleased >"${notes}"
[[ -s "${notes}" ]] || fail "empty release notes"
ok "release notes: $(wc -l <"${notes}") lines from CHANGELOG.md"

echo "== goreleaser release --snapshot --clean"
t0=$(date +%s)
"${GORELEASER}" release --snapshot --clean --release-notes "${notes}" >"${tmp}/goreleaser.log" 2>&1 \
  || { cat "${tmp}/goreleaser.log"; fail "snapshot build"; }
echo "snapshot built in $(( $(date +%s) - t0 )) s"

version="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "${DIST}/metadata.json")"
[[ "${version}" == *-snapshot+* ]] || fail "version ${version} is not a snapshot version"
ok "snapshot version ${version}"

checksums="${DIST}/${PROJECT}_${version}_checksums.txt"
[[ -s "${checksums}" ]] || fail "no checksums file ${checksums}"

expected=()
printf '%-62s %10s %10s\n' archive "archive B" "binary B"
for target in "${TARGETS[@]}"; do
  os="${target%_*}" arch="${target#*_}"
  ext=tar.gz bin="${PROJECT}"
  if [[ "${os}" == windows ]]; then ext=zip bin="${PROJECT}.exe"; fi
  name="${PROJECT}_${version}_${target}.${ext}"
  expected+=("${name}")
  archive="${DIST}/${name}"
  [[ -s "${archive}" ]] || fail "missing archive ${name}"
  dir="${tmp}/${target}"
  mkdir -p "${dir}"
  if [[ "${ext}" == zip ]]; then
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "${archive}" "${dir}"
  else
    tar -xzf "${archive}" -C "${dir}"
  fi
  for f in "${bin}" LICENSE README.md CHANGELOG.md SECURITY.md; do
    [[ -s "${dir}/${f}" ]] || fail "${name} lacks ${f}"
  done
  info="$(go version -m "${dir}/${bin}")" || fail "${name}: ${bin} is not a Go binary"
  grep -q $'\tbuild\tGOOS='"${os}"'$' <<<"${info}" || fail "${name}: binary not built for GOOS=${os}"
  grep -q $'\tbuild\tGOARCH='"${arch}"'$' <<<"${info}" || fail "${name}: binary not built for GOARCH=${arch}"
  grep -q $'\tbuild\tCGO_ENABLED=0$' <<<"${info}" || fail "${name}: binary not static (CGO_ENABLED=0)"
  # -trimpath keeps -ldflags out of the build info: look for the string itself.
  grep -aqF -- "${version}" "${dir}/${bin}" || fail "${name}: version ${version} not stamped in"
  printf '%-62s %10d %10d\n' "${name}" "$(stat -c %s "${archive}")" "$(stat -c %s "${dir}/${bin}")"
done
ok "${#TARGETS[@]} archives, each with a static binary for its OS/arch, version ${version}, LICENSE, README, CHANGELOG, SECURITY"

# Nothing but the expected archives was built.
mapfile -t built < <(find "${DIST}" -maxdepth 1 -type f \( -name "*.tar.gz" -o -name "*.zip" \) -printf "%f\n" | sort)
mapfile -t want < <(printf '%s\n' "${expected[@]}" | sort)
[[ "${built[*]}" == "${want[*]}" ]] || fail "archives built: ${built[*]}; expected: ${want[*]}"

# The checksums file lists exactly the archives, and every sum matches.
mapfile -t listed < <(awk '{print $2}' "${checksums}" | sort)
[[ "${listed[*]}" == "${want[*]}" ]] || fail "checksums file lists: ${listed[*]}; expected: ${want[*]}"
awk 'length($1) != 64 || $1 !~ /^[0-9a-f]+$/ { exit 1 }' "${checksums}" || fail "checksums file has a line that is not a sha256"
(cd "${DIST}" && sha256sum --quiet -c "$(basename "${checksums}")") || fail "a checksum does not match"
ok "checksums file: ${#listed[@]} sha256 lines, all match"

# The host's own binary runs.
host="$(go env GOOS)_$(go env GOARCH)"
if [[ -x "${tmp}/${host}/${PROJECT}" ]]; then
  "${tmp}/${host}/${PROJECT}" --help >/dev/null 2>&1 || fail "the ${host} binary does not run (--help)"
  ok "the ${host} binary runs"
fi
echo "release-check: all passed"
