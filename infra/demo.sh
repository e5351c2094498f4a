#!/usr/bin/env bash
# Install, start the local stack, and run the end-to-end demo (examples/demo/run.mjs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_DIR"

DEMO=examples/demo/run.mjs
[[ -f "$DEMO" ]] || fail "$DEMO does not exist yet: the demo has not been written in this checkout"

phase "bootstrap" bash infra/bootstrap.sh || fail "bootstrap failed"
phase "stack up" stack_up_and_env || fail "the local stack did not come up (see the message above)"
phase "demo" node "$DEMO" "$@" || fail "the demo failed (see above)"

ui_host="${TEMPORAL_ADDRESS%:*}"
[[ "$TEMPORAL_ADDRESS" == "127.0.0.1:${STRATA_TEMPORAL_PORT:-7233}" ]] && ui_host=127.0.0.1
info "demo done in $((SECONDS - _T0))s"
echo
echo "Temporal UI: http://$ui_host:${STRATA_TEMPORAL_UI_PORT:-8233}/namespaces/${TEMPORAL_NAMESPACE:-default}/workflows"
echo "Console:     http://127.0.0.1:${STRATA_SERVER_PORT:-6570}/  (start it with: pnpm strata server; it uses the same API keys)"
