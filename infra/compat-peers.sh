#!/usr/bin/env bash
# Installs the real peers the compatibility suites compare Strata with, each in its own venv outside the repo
# (PyPI only; never a runtime dependency of Strata), and prints the env lines that point the suites at them:
#   eval "$(bash infra/compat-peers.sh)"
# STRATA_FEAST_PYTHON: feast (Redis online store, registry files); STRATA_GX_PYTHON: great_expectations + pandas;
# STRATA_HOPSWORKS_PYTHON: the hopsworks client (hsfs classes, used offline: no cluster).
# A peer that cannot be installed is reported on stderr and left unset: outside CI its suite is then skipped with that
# reason; with CI=true this script exits 1 (after printing the peers it did install), so the run fails instead.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

VENVS="${STRATA_CACHE:-${HOME:-/tmp}/.cache/strata}/venvs"
mkdir -p "$VENVS"

# venv NAME PACKAGES...: $VENVS/NAME with exactly PACKAGES (cached_venv); prints its python on success.
venv() {
  local name="$1"; shift
  cached_venv "$VENVS/$name" "$@" || { info "compat: its compatibility suite cannot run"; return 1; }
}

missing=()
if feast_py=$(venv feast feast==0.67.0 redis mmh3); then echo "export STRATA_FEAST_PYTHON=$feast_py"; else missing+=(feast); fi
if gx_py=$(venv gx great_expectations==1.24.1 pandas==3.1.1); then echo "export STRATA_GX_PYTHON=$gx_py"; else missing+=(great_expectations); fi
if hw_py=$(venv hopsworks "hopsworks[python]==5.2.1"); then echo "export STRATA_HOPSWORKS_PYTHON=$hw_py"; else missing+=(hopsworks); fi
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ "${CI:-}" == "true" ]]; then
    info "compat: CI=true and ${missing[*]} could not be installed: failing (their suites cannot run)"
    exit 1
  fi
  info "compat: ${missing[*]} not installed; their suites will be skipped (outside CI only)"
fi
exit 0
