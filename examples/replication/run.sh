#!/bin/sh
# run.sh REPLICA [SECONDS] — the replication demo, self-checking:
# an origin commits for SECONDS (default 10) while this script syncs its
# directory to a clone with rsync in a loop and a reader on the clone picks
# up each new commit and checks it against the origin's sequence.
set -eu
replica=$1
secs=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/dl_replication.XXXXXX)
trap 'rm -rf "$work"' EXIT
origin=$work/origin clone=$work/clone
"$replica" origin "$origin" "$secs" "$work/origin.done" &
opid=$!
# the first copy, once the database exists
i=0
until [ -e "$origin/heads/db" ]; do
  sleep 0.1; i=$((i + 1)); [ $i -lt 100 ] || { echo "origin did not start"; exit 1; }
done
sh "$here/sync.sh" "$origin" "$clone"
"$replica" reader "$clone" "$work/final" &
rpid=$!
passes=1
while [ ! -e "$work/origin.done" ]; do
  sh "$here/sync.sh" "$origin" "$clone"
  passes=$((passes + 1))
  sleep 0.2
  kill -0 $opid 2>/dev/null || break
done
wait $opid
sh "$here/sync.sh" "$origin" "$clone"      # the last pass
cp "$work/origin.done" "$work/final"
wait $rpid
echo "replication: $passes rsync passes while writing, clone verified"
