#!/usr/bin/env bash
# Finds or builds the tools of the chart checks (deploy/helm/strata) and prints env lines for eval:
#   eval "$(bash infra/helm.sh)"
#   -> export STRATA_HELM_BIN=<path>            the helm CLI (lint, template, values.schema.json)
#   -> export STRATA_KUBE_VALIDATE_BIN=<path>   kubernetes-validate, the Kubernetes JSON schemas it bundles, offline
# helm: STRATA_HELM_BIN, helm on PATH, the cached build in ${STRATA_CACHE:-~/.cache/strata}/bin, else
# `go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION` (from the Go module proxy; takes a few minutes once, then cached).
# kubernetes-validate: STRATA_KUBE_VALIDATE_BIN, else a venv in ${STRATA_CACHE:-~/.cache/strata}/venvs from PyPI
# (pinned; its wheel ships the upstream Kubernetes JSON schemas per Kubernetes version, so nothing is fetched later).
# Exits 1 when either cannot be had (after printing the one it has).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

HELM_VERSION="v3.22.0"
KUBE_VALIDATE_VERSION="1.37.0"
CACHE_DIR="${STRATA_CACHE:-${HOME:-/tmp}/.cache/strata}"
BIN="$CACHE_DIR/bin/helm"

find_helm() {
  if [[ -n "${STRATA_HELM_BIN:-}" && -x "$STRATA_HELM_BIN" ]]; then echo "$STRATA_HELM_BIN"; return 0; fi
  if command -v helm >/dev/null 2>&1; then command -v helm; return 0; fi
  if [[ -x "$BIN" && "$(cat "$BIN.version" 2>/dev/null)" == "$HELM_VERSION" ]]; then echo "$BIN"; return 0; fi
  local go_bin
  go_bin="$(command -v go || true)"
  [[ -z "$go_bin" && -x /usr/local/go/bin/go ]] && go_bin=/usr/local/go/bin/go
  if [[ -z "$go_bin" ]]; then
    info "helm: not found and no Go toolchain to build it (install helm, or Go 1.22+); the chart checks cannot run"
    return 1
  fi
  mkdir -p "$CACHE_DIR/bin"
  info "helm: building $HELM_VERSION with $go_bin (a few minutes, once; cached in $CACHE_DIR/bin)"
  if (cd /tmp && GOBIN="$CACHE_DIR/bin" GOFLAGS=-mod=mod "$go_bin" install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >"$CACHE_DIR/helm-build.log" 2>&1; then
    echo "$HELM_VERSION" >"$BIN.version"
    echo "$BIN"
  else
    info "helm: build failed, see $CACHE_DIR/helm-build.log"
    return 1
  fi
}

find_kube_validate() {
  if [[ -n "${STRATA_KUBE_VALIDATE_BIN:-}" && -x "$STRATA_KUBE_VALIDATE_BIN" ]]; then echo "$STRATA_KUBE_VALIDATE_BIN"; return 0; fi
  local py
  if py=$(cached_venv "$CACHE_DIR/venvs/kube-validate" "kubernetes-validate==$KUBE_VALIDATE_VERSION"); then
    echo "$(dirname "$py")/kubernetes-validate"
  else
    info "kubernetes-validate: the manifest schema checks cannot run"
    return 1
  fi
}

rc=0
if helm_bin=$(find_helm); then echo "export STRATA_HELM_BIN=$helm_bin"; else rc=1; fi
if kv_bin=$(find_kube_validate); then echo "export STRATA_KUBE_VALIDATE_BIN=$kv_bin"; else rc=1; fi
exit $rc
