#!/usr/bin/env bash
# Finds or installs Debian's Chromium for the web console's browser tests (Playwright drives it; Playwright never
# downloads a browser of its own) and prints an env line for eval:
#   eval "$(bash infra/chromium.sh)"     -> export STRATA_CHROMIUM=<path>
# Order: STRATA_CHROMIUM, chromium on PATH (/usr/bin/chromium), else `apt-get install chromium` (as root, like
# infra/stack.sh installs PostgreSQL and Redis). On failure nothing is printed and the exit status is 1 (the console
# suites then fail under CI=true, and are skipped with the reason otherwise).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

works() { [[ -n "$1" && -x "$1" ]] && "$1" --headless --no-sandbox --version >/dev/null 2>&1; }
found() { echo "export STRATA_CHROMIUM=$1"; exit 0; }

if [[ -n "${STRATA_CHROMIUM:-}" ]]; then
  works "$STRATA_CHROMIUM" && found "$STRATA_CHROMIUM"
  info "chromium: STRATA_CHROMIUM=$STRATA_CHROMIUM does not run; looking elsewhere"
fi
for c in chromium chromium-browser; do
  p="$(command -v "$c" || true)"
  works "$p" && found "$p"
done

if ! command -v apt-get >/dev/null 2>&1 || [[ $EUID -ne 0 ]]; then
  info "chromium: not found, and apt-get is not available as root to install it: install Chromium (Debian: apt-get install chromium) or set STRATA_CHROMIUM"
  exit 1
fi
log_dir="${STRATA_STATE_DIR:-$REPO_DIR/.strata}"
mkdir -p "$log_dir"
apt_log="$log_dir/apt.log"
info "chromium: apt-get install chromium (log: $apt_log)"
if DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$apt_log" 2>&1 &&
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >>"$apt_log" 2>&1; then
  p="$(command -v chromium || true)"
  works "$p" && found "$p"
fi
info "chromium: 'apt-get install chromium' failed, see $apt_log"
exit 1
