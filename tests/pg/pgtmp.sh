#!/usr/bin/env bash
# pgtmp.sh — a throwaway PostgreSQL cluster for tests (Debian's server
# binaries, /usr/lib/postgresql/<version>/bin).
#
#   tests/pg/pgtmp.sh start <dir>    initdb + start; prints one line
#                                    "<host> <port> <dbname> <user> <password>"
#   tests/pg/pgtmp.sh stop <dir>     stop the server and remove everything
#   tests/pg/pgtmp.sh restart <dir>  fast shutdown and start on the same port
#   tests/pg/pgtmp.sh down <dir>     stop the server, keep the data
#   tests/pg/pgtmp.sh up <dir>       start it again after `down`
#   tests/pg/pgtmp.sh status <dir>   exit 0 when the server accepts connections
#   tests/pg/pgtmp.sh psql <dir> [args…]  psql as the superuser (unix socket)
#
# <dir> is created by `start` (it must not hold a running cluster) and holds:
#   <dir>/store.edn   the Datalith store map without :table, e.g.
#                     {:backend :pg :host "127.0.0.1" :port 54321
#                      :dbname "datalith" :user "datalith" :password "datalith"}
#   <dir>/pg.env      PGHOST=… PGPORT=… PGDATABASE=… PGUSER=… PGPASSWORD=…
#                     (shell syntax, for `. <dir>/pg.env`)
#   <dir>/cluster     the path of the data directory (under /tmp: it must
#                     be reachable by the unprivileged server user)
#
# The server listens on 127.0.0.1 only, on a free port, with its unix socket
# in the data directory; TCP logins need the password (scram-sha-256), the
# socket trusts the superuser "postgres".  The database "datalith" belongs
# to the unprivileged role "datalith".  fsync is off (PGTMP_FSYNC=on to keep
# it): a killed server process loses nothing, only a machine crash would.
# PGTMP_LISTEN=<address> listens there instead of 127.0.0.1 (e.g. a veth
# address inside `ip netns exec`; any client address may then log in with
# the password) and PGTMP_PORT=<n> fixes the port.
# As root the server runs as the "postgres" system user (initdb refuses
# root); as any other user it runs as that user.  Missing binaries: exit 2
# with a message saying to run scripts/setup.
set -euo pipefail

die() { echo "pgtmp: $*" >&2; exit 1; }

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: $0 start|stop|restart|down|up|status|psql <dir>"

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; break; fi
done
if [ -z "$bindir" ]; then
  echo "pgtmp: PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): run scripts/setup (apt: postgresql libpq-dev)" >&2
  exit 2
fi

# Run a command as the server's user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

data_of() {
  [ -f "$dir/cluster" ] || die "no cluster in $dir (run: $0 start $dir)"
  cat "$dir/cluster"
}

port_of() { sed -n 's/^PGPORT=//p' "$dir/pg.env"; }

ctl_start() {
  local data=$1
  as_pg "$bindir/pg_ctl" -D "$data/data" -l "$data/server.log" -w -t 60 start >/dev/null \
    || { tail -20 "$data/server.log" >&2 || true; die "server did not start"; }
}

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

case "$cmd" in
start)
  if [ -f "$dir/cluster" ] && [ -d "$(cat "$dir/cluster")/data" ]; then
    die "$dir already holds a cluster (stop it first)"
  fi
  mkdir -p "$dir"
  data=$(mktemp -d /tmp/dl-pgtmp.XXXXXX)
  chmod 755 "$data"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$data"; fi
  echo "$data" > "$dir/cluster"
  listen=${PGTMP_LISTEN:-127.0.0.1}
  port=${PGTMP_PORT:-$(free_port)}
  hba_net=127.0.0.1/32
  [ "$listen" = 127.0.0.1 ] || hba_net=all
  pwfile="$data/pw"
  as_pg sh -c "echo postgres > '$pwfile'"
  as_pg "$bindir/initdb" -D "$data/data" -U postgres --pwfile="$pwfile" -A trust \
      -E UTF8 --locale=C.UTF-8 >"$data/initdb.log" 2>&1 \
    || { cat "$data/initdb.log" >&2; die "initdb failed"; }
  fsync=${PGTMP_FSYNC:-off}
  as_pg sh -c "cat >> '$data/data/postgresql.conf'" <<EOF
# pgtmp.sh
listen_addresses = '$listen'
port = $port
unix_socket_directories = '$data'
fsync = $fsync
full_page_writes = $fsync
max_connections = 200
shared_buffers = 32MB
logging_collector = off
EOF
  as_pg sh -c "cat > '$data/data/pg_hba.conf'" <<EOF
# pgtmp.sh: the socket trusts the superuser; TCP needs a password.
local all postgres trust
local all all scram-sha-256
host all all $hba_net scram-sha-256
EOF
  ctl_start "$data"
  as_pg "$bindir/psql" -h "$data" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
      -c "CREATE ROLE datalith LOGIN PASSWORD 'datalith'" \
      -c "CREATE DATABASE datalith OWNER datalith" >/dev/null
  cat > "$dir/store.edn" <<EOF
{:backend :pg :host "$listen" :port $port :dbname "datalith" :user "datalith" :password "datalith"}
EOF
  cat > "$dir/pg.env" <<EOF
PGHOST=$listen
PGPORT=$port
PGDATABASE=datalith
PGUSER=datalith
PGPASSWORD=datalith
EOF
  echo "$listen $port datalith datalith datalith"
  ;;
stop)
  if [ -f "$dir/cluster" ]; then
    data=$(cat "$dir/cluster")
    if [ -d "$data/data" ]; then
      as_pg "$bindir/pg_ctl" -D "$data/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    case "$data" in /tmp/dl-pgtmp.*) rm -rf "$data" ;; esac
  fi
  rm -rf "$dir"
  ;;
restart)
  data=$(data_of)
  as_pg "$bindir/pg_ctl" -D "$data/data" -m fast -w stop >/dev/null
  ctl_start "$data"
  ;;
down)
  data=$(data_of)
  as_pg "$bindir/pg_ctl" -D "$data/data" -m fast -w stop >/dev/null
  ;;
up)
  data=$(data_of)
  ctl_start "$data"
  ;;
status)
  data=$(data_of)
  "$bindir/pg_isready" -q -h "$(sed -n 's/^PGHOST=//p' "$dir/pg.env")" -p "$(port_of)"
  ;;
psql)
  data=$(data_of)
  shift 2
  as_pg "$bindir/psql" -h "$data" -p "$(port_of)" -U postgres -d datalith "$@"
  ;;
*)
  die "unknown command '$cmd' (start|stop|restart|down|up|status|psql)"
  ;;
esac
