#!/usr/bin/env bash
# run_with_pg.sh — run a test program against the test cluster that the
# pg_cluster fixture started (tests/pg/CMakeLists.txt).
#
#   run_with_pg.sh <cluster-dir> <program> [args…]
#
# Exports the cluster's PG* variables and DL_TEST_PG_STORE (its store map,
# without :table); with DL_CONFORMANCE_TABLE set (e.g. "conf_query_{seq}")
# also DL_CONFORMANCE_STORE for the conformance runner.  When the cluster is
# not running it fails loudly instead of letting the test skip.
set -euo pipefail
dir=$1
shift
if [ ! -f "$dir/store.edn" ]; then
  echo "run_with_pg: no PostgreSQL test cluster in $dir: the pg_cluster_start" \
       "fixture failed or did not run (is PostgreSQL installed? run scripts/setup)" >&2
  exit 1
fi
set -a
. "$dir/pg.env"
set +a
DL_TEST_PG_STORE=$(cat "$dir/store.edn")
export DL_TEST_PG_STORE
if [ -n "${DL_CONFORMANCE_TABLE:-}" ]; then
  DL_CONFORMANCE_STORE="${DL_TEST_PG_STORE%\}} :table \"$DL_CONFORMANCE_TABLE\"}"
  export DL_CONFORMANCE_STORE
fi
exec "$@"
