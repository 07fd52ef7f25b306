#!/usr/bin/env bash
# The demo, run by scripts/demo.  $1 is the build directory.
set -euo pipefail
bin="$1/datalith"
echo "Datalith $("$bin" version)"
echo
echo "-- EDN in, canonical EDN out (maps and sets sorted, one spacing):"
input='{:name "Ivan", :tags #{:b :a}, :born #inst "1990-05-01T10:00:00+02:00", :id #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", :n 12345678901234567890N, :price 9.99M, :xs [1 2.5 ##Inf \c "é\n"]}'
echo "in:  $input"
echo -n "out: "; printf '%s' "$input" | "$bin" convert --from edn --to edn
echo
echo "-- the same value as JSON with Datahike's tagged literals:"
printf '%s' "$input" | "$bin" convert --from edn --to json
echo
echo "-- a parse error names the position:"
printf '{:a [1 2}' | "$bin" convert --from edn --to edn || true
