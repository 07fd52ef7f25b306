#!/usr/bin/env bash
# The demo, run by scripts/demo.  $1 is the build directory.
set -euo pipefail
build="$1"
dir="${DATALITH_DEMO_DIR:-/tmp/datalith-demo}"
"$build/examples/datalith_demo" "$dir"
echo
echo "-- the value layer on its own: EDN in, canonical EDN and JSON out"
input='{:name "Ivan", :tags #{:b :a}, :born #inst "1990-05-01T10:00:00+02:00", :n 12345678901234567890N, :price 9.99M}'
echo "in:   $input"
echo -n "edn:  "; printf '%s' "$input" | "$build/datalith" convert --from edn --to edn
echo -n "json: "; printf '%s' "$input" | "$build/datalith" convert --from edn --to json
echo "-- a parse error names the position:"
printf '{:a [1 2}' | "$build/datalith" convert --from edn --to edn || true
