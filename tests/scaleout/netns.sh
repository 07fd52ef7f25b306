#!/usr/bin/env bash
# tests/scaleout/netns.sh — a small network of "hosts" on one machine, for
# the scale-out tests: Linux network namespaces joined by veth pairs to a
# bridge in a hub namespace, one /24 between them.
#
#   hub namespace ${P}hub: bridge br0
#   ${P}db      eth0 10.77.0.1/24   (PostgreSQL)
#   ${P}writer  eth0 10.77.0.2/24   (datalith-server)
#   ${P}r1      eth0 10.77.0.11/24  (reader host 1)
#   ${P}r2      eth0 10.77.0.12/24  (reader host 2)
#
# P is $DL_NETNS_PREFIX (default "dl-"), so two runs with different
# prefixes do not collide; every namespace also has loopback up.  The
# veth pairs are created directly inside their namespaces, so nothing is
# added to the caller's own namespace.
#
# Usage (as root; iproute2's `ip`):
#   netns.sh check            exit 0 if this machine lets us create namespaces
#                             and veth pairs, else print why and exit 1
#   netns.sh up               (re)create the network (stale ones are removed)
#   netns.sh down             kill processes left in the namespaces, delete them
#   netns.sh cut <host>       take <host>'s link down at the bridge (db, writer,
#                             r1, r2): its packets are dropped, as with a pulled
#                             cable; its own interface stays configured
#   netns.sh restore <host>   bring that link back
#   netns.sh exec <host> cmd… run a command on <host> (ip netns exec)
#   netns.sh addr <host>      print the host's address
#   netns.sh run cmd…         up, run cmd (with DL_NETNS_PREFIX exported),
#                             down — the teardown runs on exit, error or signal
#   netns.sh selftest         up, check reachability between hosts over TCP,
#                             cut and restore r1, down; exit 0 when all hold
#
# `tc netem loss 100%` would be the other way to cut a link, but sch_netem is
# often not built into the kernel (it is not on our CI machines), so the link
# is cut with `ip link set … down` on the bridge side.
set -euo pipefail

P=${DL_NETNS_PREFIX:-dl-}
NET=${DL_NETNS_NET:-10.77.0}
HOSTS=(db writer r1 r2)

die() { echo "netns: $*" >&2; exit 1; }

host_octet() {
  case "$1" in
    db) echo 1 ;; writer) echo 2 ;; r1) echo 11 ;; r2) echo 12 ;;
    *) die "unknown host '$1' (one of: ${HOSTS[*]})" ;;
  esac
}

addr() { echo "$NET.$(host_octet "$1")"; }

check() {
  local why=""
  if [ "$(id -u)" != 0 ]; then
    why="not root (network namespaces need CAP_NET_ADMIN)"
  elif ! command -v ip >/dev/null 2>&1; then
    why="iproute2's 'ip' is not installed (scripts/setup installs iproute2)"
  else
    local t="${P}probe$$" out
    if ! out=$(ip netns add "$t" 2>&1); then
      why="'ip netns add' failed: $out"
    else
      if ! out=$(ip link add veth0 netns "$t" type veth peer name veth1 netns "$t" 2>&1); then
        why="creating a veth pair failed: $out"
      elif ! out=$(ip link add br0 netns "$t" type bridge 2>&1); then
        why="creating a bridge failed: $out"
      fi
      ip netns del "$t" 2>/dev/null || true
    fi
  fi
  if [ -n "$why" ]; then
    echo "netns: this machine does not allow the multi-host setup: $why" >&2
    return 1
  fi
  return 0
}

ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

kill_in() {
  # Processes still running in a namespace keep it (and its addresses) alive.
  local ns=$1 pids
  ns_exists "$ns" || return 0
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  [ -n "$pids" ] || return 0
  kill -TERM $pids 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] || return 0
    sleep 0.2
  done
  kill -KILL $pids 2>/dev/null || true
}

down() {
  local h
  for h in "${HOSTS[@]}" hub; do
    kill_in "$P$h"
    if ns_exists "$P$h"; then ip netns del "$P$h" || true; fi
  done
}

up() {
  down
  local hub="${P}hub" h ns
  ip netns add "$hub"
  ip -n "$hub" link set lo up
  ip -n "$hub" link add br0 type bridge
  ip -n "$hub" link set br0 up
  for h in "${HOSTS[@]}"; do
    ns="$P$h"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add eth0 netns "$ns" type veth peer name "v-$h" netns "$hub"
    ip -n "$hub" link set "v-$h" master br0
    ip -n "$hub" link set "v-$h" up
    ip -n "$ns" addr add "$(addr "$h")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
}

cut() {
  host_octet "$1" >/dev/null
  ip -n "${P}hub" link set "v-$1" down
}

restore() {
  host_octet "$1" >/dev/null
  ip -n "${P}hub" link set "v-$1" up
}

# tcp_probe <from-host> <to-host> <port> <timeout-s>: exit 0 if a TCP
# connection from one host to a listener on the other succeeds.
tcp_probe() {
  ip netns exec "$P$1" python3 - "$(addr "$2")" "$3" "$4" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
except OSError:
    sys.exit(1)
PY
}

selftest() {
  local fail=0 lpid
  up
  trap 'down' EXIT
  # A listener on db that accepts forever.
  ip netns exec "${P}db" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7777)); s.listen(16)
while True:
    c, _ = s.accept(); c.close()
' &
  lpid=$!
  for _ in $(seq 50); do tcp_probe db db 7777 1 && break; sleep 0.1; done
  for h in writer r1 r2; do
    if tcp_probe "$h" db 7777 2; then echo "ok: $h reaches db"; else echo "FAIL: $h does not reach db"; fail=1; fi
  done
  # The hosts are separate: db's listener is not on the others' loopback.
  if ip netns exec "${P}r1" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 7777), timeout=1)' 2>/dev/null; then
    echo "FAIL: r1's loopback reaches db's listener (namespaces not separate)"; fail=1
  else echo "ok: r1's loopback is its own"; fi
  cut r1
  if tcp_probe r1 db 7777 2; then echo "FAIL: r1 reaches db while cut"; fail=1; else echo "ok: r1 cut off"; fi
  if tcp_probe r2 db 7777 2; then echo "ok: r2 unaffected by r1's cut"; else echo "FAIL: r2 lost db while r1 was cut"; fail=1; fi
  restore r1
  local back=1
  for _ in $(seq 30); do if tcp_probe r1 db 7777 1; then back=0; break; fi; sleep 0.2; done
  if [ $back = 0 ]; then echo "ok: r1 reaches db again after restore"; else echo "FAIL: r1 still cut after restore"; fail=1; fi
  kill "$lpid" 2>/dev/null || true
  wait "$lpid" 2>/dev/null || true
  down
  trap - EXIT
  for h in "${HOSTS[@]}" hub; do
    if ns_exists "$P$h"; then echo "FAIL: namespace $P$h left behind"; fail=1; fi
  done
  [ $fail = 0 ] && echo "netns selftest: ok"
  return $fail
}

cmd=${1:-}
[ -n "$cmd" ] || die "usage: netns.sh check|up|down|cut H|restore H|exec H cmd…|addr H|run cmd…|selftest"
shift
case "$cmd" in
  check) check ;;
  up) check || exit 1; up ;;
  down) down ;;
  cut) cut "${1:?host}" ;;
  restore) restore "${1:?host}" ;;
  addr) addr "${1:?host}" ;;
  exec) h=${1:?host}; shift; host_octet "$h" >/dev/null; exec ip netns exec "$P$h" "$@" ;;
  run)
    check || exit 1
    trap 'down' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    up
    export DL_NETNS_PREFIX="$P"
    "$@"
    ;;
  selftest) check || exit 1; selftest ;;
  *) die "unknown command '$cmd'" ;;
esac
