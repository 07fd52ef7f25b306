#!/bin/sh
# sync.sh ORIGIN CLONE — copy a live :file store with rsync, following the
# rules in docs/format.md ("Copying a live store"): take the heads first,
# then copy every object, then install the heads.  Safe to run while the
# origin keeps committing; exit status 24 ("some files vanished": a
# temporary file renamed away during the pass) is harmless.
#
# Heads are copied with --checksum: a head replaced within the same second
# by one of the same size has the same size and (second-resolution) mtime,
# so rsync's quick check would skip it and the clone would stay behind.
set -u
o=$1 c=$2
mkdir -p "$c/objects" "$c/heads" "$c/.heads-incoming"
run() { rsync "$@"; s=$?; [ $s -eq 0 ] || [ $s -eq 24 ] || exit $s; }
run -a --checksum --exclude '.tmp.*' "$o/heads/" "$c/.heads-incoming/"
run -a --exclude '.tmp.*' "$o/objects/" "$c/objects/"
[ -e "$o/format" ] && run -a "$o/format" "$c/format"
run -a --checksum --exclude '.tmp.*' "$c/.heads-incoming/" "$c/heads/"
