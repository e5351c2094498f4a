#!/usr/bin/env bash
# Makes the Python client's venv outside the repo (PyPI only) with strata-client installed from clients/python and
# what its tests and the example notebook need, and prints the env line that points the suite at it:
#   eval "$(bash infra/python-client.sh)"
# STRATA_CLIENT_PYTHON: python with strata-client[pandas], pytest, nbclient, ipykernel and scikit-learn.
# The venv is rebuilt when the package list or the client's sources change. On failure nothing is printed and the
# exit status is 1 (the vitest suite then fails under CI=true, and is skipped with the reason otherwise).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

VENVS="${STRATA_CACHE:-${HOME:-/tmp}/.cache/strata/venvs}"
[[ "$VENVS" == */venvs ]] || VENVS="$VENVS/venvs"
mkdir -p "$VENVS"
dir="$VENVS/client"
deps=(httpx==0.28.1 pyarrow==26.0.1 pandas==3.1.1 pytest==9.2.0 nbclient==0.11.0 nbformat==5.11.1 ipykernel==7.4.0 scikit-learn==1.9.1)
src_hash=$(cd "$REPO_DIR/clients/python" && { find src -name '*.py' | sort; echo pyproject.toml; } | xargs cat | sha256sum | cut -c1-16)
want="${deps[*]} client:$src_hash"
if [[ -x "$dir/bin/python" && -f "$dir/.strata-packages" && "$(cat "$dir/.strata-packages")" == "$want" ]]; then
  echo "export STRATA_CLIENT_PYTHON=$dir/bin/python"; exit 0
fi
rm -rf "$dir"
info "python client: installing strata-client and ${deps[*]} into $dir"
if python3 -m venv "$dir" >&2 &&
  "$dir/bin/pip" install --quiet --disable-pip-version-check "${deps[@]}" >&2 &&
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$REPO_DIR/clients/python[pandas]" >&2 &&
  "$dir/bin/python" -m ipykernel install --prefix "$dir" --name python3 >&2; then
  echo "$want" > "$dir/.strata-packages"
  echo "export STRATA_CLIENT_PYTHON=$dir/bin/python"
else
  info "python client: could not build the venv"
  rm -rf "$dir"
  exit 1
fi
