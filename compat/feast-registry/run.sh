#!/usr/bin/env sh
# Strata <-> real Feast compatibility check.
#
#   run.sh apply <workdir>            copy feature_repo/ to <workdir>, write its parquet data, run `feast apply`
#   run.sh check <applied> <export>   list the export with the feast CLI and compare it with the applied repo
#                                     through Feast's Python API (check.py)
#   run.sh                            the whole check: runs packages/adapters/src/feast-compat.itest.ts, which does
#                                     apply -> Strata importFeast -> Strata exportFeast -> check, and compares
#                                     export(import(registry.db)) with registry.db byte for byte
#
# STRATA_FEAST_PYTHON: a python with feast installed (default: python3). Feast's venv lives outside the repo, e.g.
#   python3 -m venv $HOME/.venvs/feast && $HOME/.venvs/feast/bin/pip install feast==0.67.0
set -eu
here=$(cd "$(dirname "$0")" && pwd)
py=${STRATA_FEAST_PYTHON:-python3}
# the feast entry point of the same interpreter
feast_cli() { "$py" -c 'import sys; from feast.cli.cli import cli; sys.argv[0] = "feast"; cli()' "$@"; }

case "${1:-all}" in
apply)
  work=$2
  mkdir -p "$work"
  cp -R "$here/feature_repo/." "$work/"
  "$py" "$work/make_data.py"
  (cd "$work" && feast_cli apply)
  ;;
check)
  applied=$2
  export_dir=$3
  mkdir -p "$export_dir/data"
  # the exported FileSources point at the same relative parquet paths as the applied repo
  cp "$applied"/data/*.parquet "$export_dir/data/"
  (cd "$export_dir" && feast_cli entities list && feast_cli feature-views list && feast_cli feature-services list)
  "$py" "$here/check.py" "$applied" "$export_dir"
  ;;
all)
  export STRATA_FEAST_PYTHON="$py"
  cd "$here/../.." && exec npx vitest run --project integration packages/adapters/src/feast-compat.itest.ts
  ;;
*)
  echo "usage: run.sh [apply <workdir> | check <applied> <export>]" >&2
  exit 2
  ;;
esac
