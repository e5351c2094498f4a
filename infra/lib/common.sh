# Shared helpers for infra/*.sh (sourced, not executed).
# shellcheck shell=bash

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export TURBO_TELEMETRY_DISABLED=1
export DO_NOT_TRACK=1

# Go lives in /usr/local/go on our machines; GOPATH/bin holds `go install`ed tools.
case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) [[ -d /usr/local/go/bin ]] && PATH="$PATH:/usr/local/go/bin" ;; esac
if command -v go >/dev/null 2>&1; then
  _gobin="$(go env GOPATH 2>/dev/null)/bin"
  case ":$PATH:" in *:"$_gobin":*) ;; *) PATH="$PATH:$_gobin" ;; esac
fi
export PATH

_T0=${_T0:-$SECONDS}
ts() { date '+%H:%M:%S'; }
info() { printf '[%s] %s\n' "$(ts)" "$*" >&2; }
fail() { printf '[%s] ERROR: %s\n' "$(ts)" "$*" >&2; exit 1; }

# phase NAME CMD...: run a step with a timestamped start/end line and its duration.
phase() {
  local name="$1" t0=$SECONDS rc=0
  shift
  info "== $name"
  "$@" || rc=$?
  if [[ $rc -eq 0 ]]; then info "== $name: ok ($((SECONDS - t0))s)"; else info "== $name: FAILED rc=$rc ($((SECONDS - t0))s)"; fi
  return $rc
}

# cached_venv DIR PACKAGES...: a Python venv at DIR with exactly PACKAGES (pip specs, pinned) from PyPI, made again
# only when the list changed; prints its python on success, returns 1 (and removes DIR) when pip fails.
cached_venv() {
  local dir="$1"; shift
  local want="$*"
  if [[ -x "$dir/bin/python" && -f "$dir/.strata-packages" && "$(cat "$dir/.strata-packages")" == "$want" ]]; then
    echo "$dir/bin/python"; return 0
  fi
  rm -rf "$dir"
  info "venv: installing $want into $dir"
  if python3 -m venv "$dir" >&2 && "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >&2; then
    echo "$want" > "$dir/.strata-packages"
    echo "$dir/bin/python"
  else
    info "venv: could not install $want"
    rm -rf "$dir"
    return 1
  fi
}

# Bring the stack up and load its environment into this shell.
stack_up_and_env() {
  bash "$REPO_DIR/infra/stack.sh" up || return 1
  eval "$(bash "$REPO_DIR/infra/stack.sh" env)"
}

# The local Redis Cluster (3 masters + 3 replicas, a few seconds) for the cluster binding's suites; exports
# STRATA_REDIS_CLUSTER_URL.
cluster_up_and_env() {
  bash "$REPO_DIR/infra/stack.sh" cluster-up || return 1
  eval "$(bash "$REPO_DIR/infra/stack.sh" env)"
}
