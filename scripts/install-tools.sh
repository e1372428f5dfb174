#!/usr/bin/env bash
# Installs the pinned developer and CI tools this repository uses, into the
# repository itself (./.tools, git-ignored) so nothing global changes except
# the Debian packages of the "container" component.
#
#   scripts/install-tools.sh [COMPONENT...]
#
# Components (default: lint):
#   lint            = action-validator dockerfilelint actionlint shellcheck
#   action-validator  npm @action-validator/cli (action.yml + workflows)
#   dockerfilelint    npm dockerfilelint
#   sarif-multitool   npm @microsoft/sarif-multitool (SARIF + GitHub rules)
#   actionlint        go  github.com/rhysd/actionlint
#   golangci-lint     go  github.com/golangci/golangci-lint/v2 (~3 min cold)
#   goreleaser        go  github.com/goreleaser/goreleaser/v2 (release builds)
#   ShellCheck (apt)  lints shell; actionlint runs it on run: scripts
#   cmark-gfm (apt)   GitHub's Markdown engine; the tests render the PR
#                     comment and the job summary with it (needs root)
#   container         apt buildah podman runc (needs root)
#   xmllint           apt libxml2-utils (the JUnit report's schema check)
#   all               every component above
#
# Idempotent: a tool already present at its pinned version is skipped, so a
# warm run costs well under a second. Prints one line per tool.
# Afterwards: npm tools are in .tools/npm/node_modules/.bin, Go tools in
# .tools/bin; `source <(scripts/install-tools.sh --print-path)` adds both to
# PATH.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${ROOT}/.tools"
NPM_PREFIX="${TOOLS}/npm"
GOBIN_DIR="${TOOLS}/bin"

# Pins. Bump deliberately, in one commit, with the reason.
ACTION_VALIDATOR_VERSION=0.6.0
DOCKERFILELINT_VERSION=1.8.0
SARIF_MULTITOOL_VERSION=5.7.0
ACTIONLINT_VERSION=v1.7.12
GOLANGCI_LINT_VERSION=v2.15.0
# v2.18+ needs a newer Go than the project's toolchain (TOOLING.md).
GORELEASER_VERSION=v2.15.1
# Debian 12 (bookworm) versions. If Debian replaces one with a point
# release, install what it offers and say so loudly: failing CI because a
# security update landed would be worse than a newer patch of buildah.
BUILDAH_VERSION=1.28.2+ds1-3+deb12u1+b3
PODMAN_VERSION=4.3.1+ds1-8+deb12u1+b3
RUNC_VERSION=1.1.5+ds1-1+deb12u1
SHELLCHECK_VERSION=0.9.0-1
CMARK_GFM_VERSION=0.29.0.gfm.6-6
LIBXML2_UTILS_VERSION=2.9.14+dfsg-1.3~deb12u6

log() { printf 'install-tools: %s\n' "$*" >&2; }

npm_tool() { # package version
  local pkg="$1" version="$2" have=""
  local manifest="${NPM_PREFIX}/node_modules/${pkg}/package.json"
  if [[ -f "${manifest}" ]]; then
    have="$(node -p "require(process.argv[1]).version" "${manifest}" 2>/dev/null || true)"
  fi
  if [[ "${have}" == "${version}" ]]; then
    log "${pkg}@${version} present"
    return
  fi
  command -v npm >/dev/null || { log "npm not found: install Node.js (apt-get install nodejs npm)"; exit 1; }
  log "installing ${pkg}@${version}"
  mkdir -p "${NPM_PREFIX}"
  npm install --prefix "${NPM_PREFIX}" --no-audit --no-fund --loglevel=error \
    --save-exact "${pkg}@${version}" >&2
}

go_tool() { # binary module@version version-pattern
  local bin="$1" module="$2" want="$3"
  if [[ -x "${GOBIN_DIR}/${bin}" ]] && "${GOBIN_DIR}/${bin}" --version 2>/dev/null | grep -qF -- "${want}"; then
    log "${bin} ${want} present"
    return
  fi
  log "installing ${module}"
  mkdir -p "${GOBIN_DIR}"
  GOBIN="${GOBIN_DIR}" GOFLAGS=-mod=mod go install "${module}" >&2
}

APT_UPDATED=""
apt_install() { # pkg=version... ; falls back to the current versions
  if [[ "$(id -u)" != 0 ]]; then
    log "not root: cannot apt-get install $*; install them yourself"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  [[ -n "${APT_UPDATED}" ]] || { apt-get update -qq >&2; APT_UPDATED=1; }
  if ! apt-get install -y -qq --no-install-recommends "$@" >&2; then
    local names=("${@%%=*}")
    log "WARNING: pinned versions not offered by apt any more; installing the current ones"
    log "WARNING: update the pins in scripts/install-tools.sh to: $(apt-cache policy "${names[@]}" | awk '/^[a-z]/{p=$1} /Candidate/{printf "%s=%s ", p, $2}')"
    apt-get install -y -qq --no-install-recommends "${names[@]}" >&2
  fi
}

shellcheck_tool() {
  if command -v shellcheck >/dev/null; then
    log "shellcheck $(shellcheck --version | awk '/^version/{print $2}') present"
    return
  fi
  log "installing shellcheck from Debian"
  apt_install "shellcheck=${SHELLCHECK_VERSION}"
}

cmark_gfm_tool() {
  if command -v cmark-gfm >/dev/null; then
    log "cmark-gfm $(cmark-gfm --version | awk 'NR==1{print $2}') present"
    return
  fi
  log "installing cmark-gfm from Debian"
  apt_install "cmark-gfm=${CMARK_GFM_VERSION}"
}

xmllint_tool() {
  if command -v xmllint >/dev/null; then
    log "xmllint present"
    return
  fi
  log "installing libxml2-utils (xmllint) from Debian"
  apt_install "libxml2-utils=${LIBXML2_UTILS_VERSION}"
}

apt_tools() {
  if command -v buildah >/dev/null && command -v podman >/dev/null && command -v runc >/dev/null; then
    log "buildah $(buildah --version | awk '{print $3}'), podman $(podman --version | awk '{print $3}'), runc present"
    return
  fi
  log "installing buildah podman runc from Debian"
  apt_install "buildah=${BUILDAH_VERSION}" "podman=${PODMAN_VERSION}" "runc=${RUNC_VERSION}"
}

install_component() {
  case "$1" in
    lint) for c in action-validator dockerfilelint actionlint shellcheck; do install_component "$c"; done ;;
    action-validator) npm_tool @action-validator/cli "${ACTION_VALIDATOR_VERSION}" ;;
    dockerfilelint) npm_tool dockerfilelint "${DOCKERFILELINT_VERSION}" ;;
    sarif-multitool) npm_tool @microsoft/sarif-multitool "${SARIF_MULTITOOL_VERSION}" ;;
    actionlint) go_tool actionlint "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}" "${ACTIONLINT_VERSION#v}" ;;
    golangci-lint) go_tool golangci-lint "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@${GOLANGCI_LINT_VERSION}" "${GOLANGCI_LINT_VERSION#v}" ;;
    goreleaser) go_tool goreleaser "github.com/goreleaser/goreleaser/v2@${GORELEASER_VERSION}" "${GORELEASER_VERSION#v}" ;;
    shellcheck) shellcheck_tool ;;
    cmark-gfm) cmark_gfm_tool ;;
    container) apt_tools ;;
    xmllint) xmllint_tool ;;
    all) for c in lint sarif-multitool golangci-lint goreleaser cmark-gfm container xmllint; do install_component "$c"; done ;;
    *) log "unknown component '$1' (see the header of $0)"; exit 2 ;;
  esac
}

if [[ "${1:-}" == "--print-path" ]]; then
  # shellcheck disable=SC2016 # $PATH is for the shell that sources this line
  printf 'export PATH=%q:%q:"$PATH"\n' "${GOBIN_DIR}" "${NPM_PREFIX}/node_modules/.bin"
  exit 0
fi

if [[ $# -eq 0 ]]; then set -- lint; fi
for component in "$@"; do install_component "${component}"; done
