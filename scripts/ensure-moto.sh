# shellcheck shell=bash
# Sourced by scripts/demo.sh and scripts/test.sh (`. scripts/ensure-moto.sh`):
# makes the pinned AWS emulator, moto_server from moto[server]==5.2.1,
# available on PATH. A moto_server already on PATH is used as it is;
# otherwise the pinned moto is installed (once) into ./.venv (git-ignored) and
# ./.venv/bin goes first on PATH. Needs python3 with the venv module and
# access to PyPI (or a pip mirror) the first time.
#
# KDG_VENV_FLAGS is passed to `python3 -m venv` (e.g. --system-site-packages
# to reuse a moto installed for the system Python).

KDG_MOTO_PIN='moto[server]==5.2.1'

kdg_ensure_moto() {
  command -v moto_server >/dev/null && return 0
  local venv
  venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv"
  if [[ ! -x "${venv}/bin/moto_server" ]]; then
    command -v python3 >/dev/null || { echo "moto_server is not on PATH and python3 is missing to install ${KDG_MOTO_PIN}" >&2; return 1; }
    echo "moto_server is not on PATH: installing ${KDG_MOTO_PIN} into ${venv}" >&2
    if [[ ! -x "${venv}/bin/python" ]]; then
      # shellcheck disable=SC2086 # KDG_VENV_FLAGS is a list of flags
      python3 -m venv ${KDG_VENV_FLAGS:-} "${venv}" || return 1
    fi
    "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check "${KDG_MOTO_PIN}" || return 1
    # pip writes no entry point when the requirement is already satisfied
    # by site packages the venv can see: start the same module.
    if [[ ! -x "${venv}/bin/moto_server" ]]; then
      printf '#!/bin/sh\nexec "%s/bin/python" -m moto.server "$@"\n' "${venv}" >"${venv}/bin/moto_server"
      chmod +x "${venv}/bin/moto_server"
    fi
  fi
  export PATH="${venv}/bin:${PATH}"
  command -v moto_server >/dev/null
}
