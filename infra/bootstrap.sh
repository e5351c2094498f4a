#!/usr/bin/env bash
# Install what the repo needs on a fresh machine: pnpm, the workspace's packages, a build.
#   infra/bootstrap.sh            (idempotent; fast when nothing changed: pnpm and turbo skip what is done)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_DIR"

ensure_node() {
  command -v node >/dev/null 2>&1 || fail "node not found: install Node.js 20 (for example from https://nodejs.org or your distribution)"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [[ "$major" -ge 20 ]] || fail "Node.js $(node -v) is too old: Strata needs Node 20 or newer"
}

ensure_pnpm() {
  # The version pinned in package.json's packageManager field.
  local want
  want="$(node -p 'require("./package.json").packageManager.split("@")[1]')"
  if command -v pnpm >/dev/null 2>&1; then
    local have
    have="$(pnpm --version 2>/dev/null || true)"
    [[ "${have%%.*}" == "${want%%.*}" ]] && return 0
    info "pnpm $have found, the repo wants $want"
  fi
  info "installing pnpm@$want with npm"
  npm install -g --no-fund --no-audit "pnpm@$want" >/dev/null || fail "could not install pnpm@$want with 'npm install -g': install pnpm $want yourself (https://pnpm.io/installation)"
  hash -r
}

install_deps() {
  if [[ -f pnpm-lock.yaml ]]; then
    pnpm install --frozen-lockfile --reporter=append-only
  else
    info "no pnpm-lock.yaml yet: plain install"
    pnpm install --reporter=append-only
  fi
}

build() { pnpm build; }

check_native() {
  # The Temporal worker needs its Rust core bridge (a prebuilt .node file): prove it loads on this machine.
  local dir
  for dir in apps/worker packages/workflows; do
    [[ -d "$dir/node_modules/@temporalio/worker" ]] || continue
    if (cd "$dir" && node -e '
      const { createRequire } = require("node:module");
      const req = createRequire(require.resolve("@temporalio/worker"));
      req("@temporalio/core-bridge");
    ') 2>/tmp/strata-native-check.$$; then
      rm -f /tmp/strata-native-check.$$
      info "native check: @temporalio/core-bridge loads ($dir)"
      return 0
    fi
    cat /tmp/strata-native-check.$$ >&2; rm -f /tmp/strata-native-check.$$
    fail "@temporalio/core-bridge does not load on this machine ($(uname -m), $(node -v)): the Temporal worker cannot run. Reinstall with 'pnpm install --force' and check that the platform is supported by the Temporal TypeScript SDK"
  done
  info "native check: skipped (no package depends on @temporalio/worker yet)"
}

check_duckdb() {
  # The columnar offline engine runs DuckDB in process (ADR 0006); its binding is a prebuilt per-platform package.
  local dir=internal-packages/offline-columnar
  [[ -d "$dir/node_modules/@duckdb/node-api" ]] || { info "duckdb check: skipped (no @duckdb/node-api)"; return 0; }
  if (cd "$dir" && node --input-type=module -e '
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const db = await DuckDBInstance.create(":memory:", { autoinstall_known_extensions: "false" });
    const c = await db.connect();
    const r = await c.runAndReadAll("SELECT count(*) FROM duckdb_extensions() WHERE loaded AND extension_name IN (\x27parquet\x27, \x27json\x27, \x27icu\x27)");
    if (Number(r.getRowsJS()[0][0]) !== 3) throw new Error("parquet, json and icu must be built in");
  ') 2>/tmp/strata-duckdb-check.$$; then
    rm -f /tmp/strata-duckdb-check.$$
    info "native check: @duckdb/node-api loads with parquet, json and icu built in"
    return 0
  fi
  cat /tmp/strata-duckdb-check.$$ >&2; rm -f /tmp/strata-duckdb-check.$$
  fail "@duckdb/node-api does not load on this machine ($(uname -m), $(node -v)): the columnar offline engine cannot run. Reinstall with 'pnpm install --force'"
}

phase "node" ensure_node
phase "pnpm" ensure_pnpm
phase "pnpm install" install_deps
phase "build (turbo)" build
phase "native modules" check_native
phase "duckdb" check_duckdb
