#!/usr/bin/env bash
# Finds or builds the helm CLI for the chart checks (deploy/helm/strata) and prints an env line for eval:
#   eval "$(bash infra/helm.sh)"     -> export STRATA_HELM_BIN=<path>
# Order: STRATA_HELM_BIN, helm on PATH, the cached build in ${STRATA_CACHE:-~/.cache/strata}/bin, else
# `go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION` (from the Go module proxy; takes a few minutes once, then cached).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

HELM_VERSION="v3.22.0"
CACHE_DIR="${STRATA_CACHE:-${HOME:-/tmp}/.cache/strata}"
BIN="$CACHE_DIR/bin/helm"

if [[ -n "${STRATA_HELM_BIN:-}" && -x "$STRATA_HELM_BIN" ]]; then echo "export STRATA_HELM_BIN=$STRATA_HELM_BIN"; exit 0; fi
if command -v helm >/dev/null 2>&1; then echo "export STRATA_HELM_BIN=$(command -v helm)"; exit 0; fi
if [[ -x "$BIN" && "$(cat "$BIN.version" 2>/dev/null)" == "$HELM_VERSION" ]]; then echo "export STRATA_HELM_BIN=$BIN"; exit 0; fi

go_bin="$(command -v go || true)"
[[ -z "$go_bin" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
if [[ -z "$go_bin" ]]; then
  info "helm: not found and no Go toolchain to build it (install helm, or Go 1.22+); the chart checks cannot run"
  exit 1
fi
mkdir -p "$CACHE_DIR/bin"
info "helm: building $HELM_VERSION with $go_bin (a few minutes, once; cached in $CACHE_DIR/bin)"
if (cd /tmp && GOBIN="$CACHE_DIR/bin" GOFLAGS=-mod=mod "$go_bin" install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >"$CACHE_DIR/helm-build.log" 2>&1; then
  echo "$HELM_VERSION" >"$BIN.version"
  echo "export STRATA_HELM_BIN=$BIN"
else
  info "helm: build failed, see $CACHE_DIR/helm-build.log"
  exit 1
fi
