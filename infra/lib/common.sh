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
