#!/usr/bin/env bash
# Runs the parity suite with the real Great Expectations and prints its per-expectation results as JSON.
# STRATA_GX_PYTHON: a Python with great_expectations and pandas installed (default: python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "${STRATA_GX_PYTHON:-python3}" "$here/ge_run.py" "$@"
