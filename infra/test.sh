#!/usr/bin/env bash
# Install, start the local stack, and run every check: typecheck, lint, then all tests (unit + integration).
#   infra/test.sh [vitest args...]       e.g. infra/test.sh --project unit
# Exit status: the tests' status; when the tests pass, a failed typecheck or lint still fails the run.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_DIR"

phase "bootstrap" bash infra/bootstrap.sh || fail "bootstrap failed"
phase "stack up" stack_up_and_env || fail "the local stack did not come up (see the message above)"
# The stream processor's suites need a real broker: one local KRaft broker from Maven Central's jars (cached).
phase "kafka up" bash infra/kafka.sh up || fail "the local Kafka broker did not come up (see the message above)"
eval "$(bash infra/kafka.sh env)"
info "using STRATA_KAFKA_BROKERS=$STRATA_KAFKA_BROKERS"
phase "redis cluster up" cluster_up_and_env || fail "the local Redis Cluster did not come up (see the message above)"
info "using STRATA_POSTGRES_URL=$STRATA_POSTGRES_URL STRATA_REDIS_URL=$STRATA_REDIS_URL TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS STRATA_REDIS_CLUSTER_URL=${STRATA_REDIS_CLUSTER_URL:-}"

typecheck_rc=0; lint_rc=0; tests_rc=0
phase "typecheck" pnpm typecheck || typecheck_rc=$?
phase "lint" pnpm lint || lint_rc=$?
# The real peers (feast, great_expectations from PyPI, in venvs outside the repo) for the compatibility suites;
# set STRATA_SKIP_COMPAT=1 to skip installing them (those suites are then skipped with the reason).
# With CI=true a peer that cannot be installed fails the run (compat-peers.sh exits 1), and so does STRATA_SKIP_COMPAT.
compat_rc=0
if [[ -z "${STRATA_SKIP_COMPAT:-}" ]]; then
  compat_env=$(phase "compat peers (feast, great_expectations, hopsworks)" bash infra/compat-peers.sh) || compat_rc=$?
  eval "$compat_env"
elif [[ "${CI:-}" == "true" ]]; then
  info "STRATA_SKIP_COMPAT is set but CI=true: the compatibility suites must run in CI"; compat_rc=1
fi
# The Python client's venv (strata-client from clients/python, pytest, nbclient, scikit-learn; outside the repo) for
# apps/server/src/python-client.itest.ts, which fails under CI=true when it is missing.
if py_env=$(phase "python client venv" bash infra/python-client.sh); then eval "$py_env"; fi
# helm and kubernetes-validate for the chart checks (apps/cli/src/helm-chart.itest.ts lints, renders and validates
# deploy/helm/strata against the Kubernetes JSON schemas); whichever of the two it has is used, the test fails without.
helm_env=$(phase "helm + kubernetes-validate (chart checks)" bash infra/helm.sh); eval "$helm_env"
# Debian's Chromium for the web console's browser suites (internal-packages/console-e2e; Playwright never downloads one).
chromium_env=$(phase "chromium (console browser tests)" bash infra/chromium.sh) && eval "$chromium_env"
report="${STRATA_STATE_DIR:-$REPO_DIR/.strata}/vitest-report.json"
mkdir -p "$(dirname "$report")"
phase "tests (vitest: unit + integration)" pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || tests_rc=$?
if [[ -f "$report" ]]; then
  # One plain closing line with the counts, for people and for CI.
  # Under CI=true a skipped test is a failure: green must mean every suite ran.
  skipped_rc=0
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
    if (skipped > 0 && process.env.CI === "true") {
      const names = r.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status !== "passed" && a.status !== "failed").map((a) => `${f.name}: ${a.fullName}`));
      console.log(`CI=true and ${skipped} tests were skipped:\n  ${names.slice(0, 20).join("\n  ")}`);
      process.exit(3);
    }' "$report" || skipped_rc=$?
  [[ $tests_rc -eq 0 && $skipped_rc -ne 0 ]] && tests_rc=$skipped_rc
elif [[ "${CI:-}" == "true" ]]; then
  info "no vitest report at $report"; [[ $tests_rc -eq 0 ]] && tests_rc=1
fi

word() { if [[ $1 -eq 0 ]]; then echo ok; else echo "FAILED($1)"; fi; }
summary="typecheck $(word $typecheck_rc), lint $(word $lint_rc), compat peers $(word $compat_rc), tests $(word $tests_rc), total $((SECONDS - _T0))s"
rc=$tests_rc
[[ $rc -eq 0 && $typecheck_rc -ne 0 ]] && rc=$typecheck_rc
[[ $rc -eq 0 && $lint_rc -ne 0 ]] && rc=$lint_rc
[[ $rc -eq 0 && $compat_rc -ne 0 ]] && rc=$compat_rc
if [[ $rc -eq 0 ]]; then info "SUMMARY: PASS - $summary"; else info "SUMMARY: FAIL - $summary"; fi
exit $rc
