#!/usr/bin/env python3
"""tests/scaleout/test_scaleout.py — the multi-host scenario of issue #8.

Hosts are Linux network namespaces (netns.sh): PostgreSQL on "db"
(10.77.0.1), datalith-server on "writer" (10.77.0.2), readers on "r1" and
"r2" (10.77.0.11/12).  Reader processes in C (reader.c), Python (reader.py,
the project's binding) and Node (reader.js) open snapshots straight from the
store; transactions go through the server (txclient.c with
:writer {:backend :datahike-server …}, and plain HTTP).

Parts (--only NAME[,NAME] runs some; default all):
  file      C/Python/Node readers in r1 and r2 on a :file store that the
            namespaces share through the filesystem, a writer process in
            "writer": commits are visible to every reader, a held snapshot
            stays fixed (no network store needed)
  pg        the scenario: PostgreSQL in db, the server in writer, readers
            in r1/r2 on the :pg store; visibility, held snapshots; r1's link
            cut midway (its readers keep serving their last snapshot, report
            the outage, and catch up when the link returns; a listener there
            is told of every commit once, in order); a C reader through the
            server only (:remote-peer) follows and holds snapshots too
  load      N concurrent clients x M transactions through the server: none
            lost, none duplicated (checked by counting per entity)
  kill      the server SIGKILLed mid-stream and restarted: no acknowledged
            transaction lost, none applied twice
  pgrestart PostgreSQL restarted (pg_ctl restart) under load: clients get
            clear errors during the outage and continue afterwards
  cutwriter the writer host's link cut for 6 s under load: requests in
            flight time out, new ones cannot connect, every client goes on
            afterwards; no acknowledged transaction lost, none applied twice

--long runs the larger load and fault variants (ctest label slow).

Standard library only; the Python reader runs in the venv that ctest's
python_binding builds (build/<preset>/tests/python/work/venv), the Node
reader needs the addon from `npm install` (ctest node_binding).  A missing
piece (no netns, no binding, no server) is a FAILURE with the reason, never
a silent skip.  Environment (set by tests/scaleout/CMakeLists.txt):
DL_SCALEOUT_BIN (reader/txclient), DL_BUILD_DIR, DL_SOURCE_DIR,
DL_NETNS_PREFIX, DL_TEST_TMP; DL_SCALEOUT_PYTHON overrides the venv python;
DL_SCALEOUT_LANGS=c,py,node picks the reader languages.
"""

import argparse
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

SRC = os.environ.get("DL_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(SRC, "tests", "scaleout")
BUILD = os.environ.get("DL_BUILD_DIR") or os.path.join(SRC, "build", "debug")
BIN = os.environ.get("DL_SCALEOUT_BIN") or os.path.join(BUILD, "tests", "scaleout")
PREFIX = os.environ.get("DL_NETNS_PREFIX", "dl-")
TMP = os.environ.get("DL_TEST_TMP") or "/tmp"
NETNS = os.path.join(HERE, "netns.sh")
T0 = time.monotonic()


LOG_MU = threading.Lock()


def log(msg):
    line = "[%6.1fs] %s\n" % (time.monotonic() - T0, msg)
    with LOG_MU:   # reader threads echo too: one whole line at a time
        sys.stdout.write(line)
        sys.stdout.flush()


class Failure(Exception):
    pass


FAILS = []


def check(cond, msg):
    if cond:
        log("ok: " + msg)
    else:
        log("FAIL: " + msg)
        FAILS.append(msg)
    return cond


# ---------------------------------------------------------------- network

class Net:
    """The namespaces of netns.sh; torn down at exit whatever happens."""

    def __init__(self):
        self.is_up = False

    def sh(self, *args, check=True):
        return subprocess.run(["bash", NETNS] + list(args), check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def start(self):
        r = self.sh("check", check=False)
        if r.returncode != 0:
            raise Failure("the multi-host test cannot run on this machine: "
                          + (r.stderr.strip() or r.stdout.strip())
                          + " — it needs root and iproute2 (scripts/setup)")
        self.sh("up")
        self.is_up = True
        atexit.register(self.stop)
        log("network up: %s{db,writer,r1,r2}" % PREFIX)

    def stop(self):
        if self.is_up:
            stop_all()
            self.sh("down", check=False)
            self.is_up = False

    def cut(self, host):
        self.sh("cut", host)
        log("link of %s CUT" % host)

    def restore(self, host):
        self.sh("restore", host)
        log("link of %s restored" % host)

    @staticmethod
    def addr(host):
        return {"db": "10.77.0.1", "writer": "10.77.0.2", "r1": "10.77.0.11",
                "r2": "10.77.0.12"}[host]

    @staticmethod
    def argv(host, argv):
        return ["ip", "netns", "exec", PREFIX + host] + list(argv)


# ---------------------------------------------------------------- processes

PROCS = []


class Proc:
    """A child process whose stdout and stderr lines are collected (with the
    time they arrived); stderr is echoed to our log prefixed with the name."""

    def __init__(self, name, argv, env=None, echo_out=False):
        self.name = name
        self.argv = argv
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1, env=e,
                                  start_new_session=True)
        self.out, self.err = [], []
        self.cv = threading.Condition()
        self.threads = [threading.Thread(target=self._read, args=(self.p.stdout, self.out, echo_out),
                                         daemon=True),
                        threading.Thread(target=self._read, args=(self.p.stderr, self.err, True),
                                         daemon=True)]
        for t in self.threads:
            t.start()
        PROCS.append(self)

    def _read(self, f, into, echo):
        for line in f:
            line = line.rstrip("\n")
            with self.cv:
                into.append((time.monotonic(), line))
                self.cv.notify_all()
            if echo:
                log("  %s| %s" % (self.name, line))
        with self.cv:
            self.cv.notify_all()

    def lines(self, err=False):
        with self.cv:
            return [l for _, l in (self.err if err else self.out)]

    def wait_line(self, pred, timeout, what, err=False, start=0):
        """The first line (from index `start`) for which pred(line) is true."""
        deadline = time.monotonic() + timeout
        i = start
        with self.cv:
            while True:
                src = self.err if err else self.out
                while i < len(src):
                    if pred(src[i][1]):
                        return src[i][1]
                    i += 1
                left = deadline - time.monotonic()
                exited = (self.p.poll() is not None and i >= len(src)
                          and all(not t.is_alive() for t in self.threads))
                if left <= 0 or exited:
                    tail = [l for _, l in src[-5:]]
                    etail = [l for _, l in self.err[-3:]]
                    if exited:
                        raise Failure("%s exited (status %s) before %s; last lines: %s; "
                                      "stderr: %s" % (self.name, self.p.returncode, what,
                                                      tail, etail))
                    raise Failure("%s: %s not seen within %ds; last lines: %s; stderr: %s"
                                  % (self.name, what, timeout, tail, etail))
                self.cv.wait(min(left, 0.5))

    def ticks(self, start=0):
        out = []
        for l in self.lines()[start:]:
            if l.startswith('{"tick"'):
                try:
                    out.append(tick_norm(json.loads(l)))
                except ValueError:
                    pass
        return out

    def wait_tick(self, pred, timeout, what):
        def p(l):
            if not l.startswith('{"tick"'):
                return False
            try:
                return pred(tick_norm(json.loads(l)))
            except ValueError:
                return False
        return tick_norm(json.loads(self.wait_line(p, timeout, what)))

    def wait(self, timeout):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("%s did not finish within %ds" % (self.name, timeout))
        for t in self.threads:
            t.join(5)
        return rc

    def signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        for t in self.threads:
            t.join(2)


def tick_norm(t):
    """A count over no rows is nil in Datahike's semantics: read it as 0."""
    for k in ("count", "held_count"):
        if k in t and t[k] is None:
            t[k] = 0
    return t


def stop_all(keep_shared=False):
    """Stop the processes we started; with keep_shared, not those shared
    by the parts (the server)."""
    for p in list(reversed(PROCS)):
        if keep_shared and getattr(p, "shared", False):
            continue
        p.stop()
        PROCS.remove(p)


def run(argv, timeout=60, env=None):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=e)
    return r


# ---------------------------------------------------------------- readers

def venv_python():
    p = os.environ.get("DL_SCALEOUT_PYTHON") or os.path.join(
        BUILD, "tests", "python", "work", "venv", "bin", "python")
    return p


def check_langs(langs):
    """Fail clearly when a reader language cannot run here."""
    need = []
    if "c" in langs:
        for prog in ("scaleout_reader", "scaleout_txclient"):
            if not os.access(os.path.join(BIN, prog), os.X_OK):
                need.append("%s is not built in %s (cmake --build <dir> --target %s)"
                            % (prog, BIN, prog))
    if "py" in langs:
        py = venv_python()
        r = run([py, "-c", "import datalith"]) if os.access(py, os.X_OK) else None
        if r is None or r.returncode != 0:
            need.append("the Python binding is not installed in %s (run `ctest -R python_binding`,"
                        " which builds that venv, or set DL_SCALEOUT_PYTHON)%s"
                        % (py, (": " + r.stderr.strip().splitlines()[-1]) if r and r.stderr.strip() else ""))
    if "node" in langs:
        r = run(["node", "-e", "require(process.argv[1])", SRC])
        if r.returncode != 0:
            need.append("the Node binding does not load (run `npm install` at the repository root,"
                        " or `ctest -R node_binding`): %s"
                        % (r.stderr.strip().splitlines() or ["?"])[-1])
    if need:
        raise Failure("; ".join(need))


def reader_argv(lang, config, name, hold=False, interval_ms=150):
    opts = ["--interval-ms", str(interval_ms), "--name", name] + (["--hold"] if hold else [])
    if lang == "c":
        return [os.path.join(BIN, "scaleout_reader")] + opts + [config]
    if lang == "py":
        return [venv_python(), os.path.join(HERE, "reader.py")] + opts + [config]
    if lang == "node":
        return ["node", os.path.join(HERE, "reader.js")] + opts + [config]
    raise ValueError(lang)


def start_reader(lang, host, config, hold=False, listen=False):
    name = "%s-%s%s%s" % (lang, host, "-hold" if hold else "", "-listen" if listen else "")
    argv = reader_argv(lang, config, name, hold)
    if listen:   # C reader only
        argv.insert(1, "--listen")
    return Proc(name, Net.argv(host, argv), env={"DL_SOURCE_DIR": SRC})


def listened(r):
    """The tx ids a --listen reader was told about, in order."""
    return [t["tx"] for t in (json.loads(l) for l in r.lines() if l.startswith('{"event"'))]


def txclient(host, config, name, start, count, extra=(), wait=True, timeout=120):
    argv = Net.argv(host, [os.path.join(BIN, "scaleout_txclient"), "--name", name,
                           "--from", str(start), "--count", str(count)] + list(extra) + [config])
    p = Proc("tx-" + name, argv)
    if wait:
        p.wait(timeout)
    return p


def acks(p):
    """{first entity n: tx id} of a txclient's acknowledged transactions."""
    out = {}
    for l in p.lines():
        f = l.split()
        if len(f) >= 3 and f[0] == "ack":
            out[int(f[1])] = int(f[2])
    return out


def errs(p):
    return [l for l in p.lines() if l.startswith("err ")]


def census(host, config):
    """{n: number of entities with :scn/n n}, read through a fresh reader."""
    r = run(Net.argv(host, [os.path.join(BIN, "scaleout_reader"), "--print-query",
                            "[:find ?n (count ?e) :where [?e :scn/n ?n]]", config]), timeout=60)
    if r.returncode != 0:
        raise Failure("census query failed: " + r.stderr.strip())
    return {int(a): int(b) for a, b in re.findall(r"\[(-?\d+) (\d+)\]", r.stdout)}


def check_readers_follow(readers, count, max_tx, timeout=30):
    """Every reader reaches `count` entities and max-tx `max_tx`."""
    for r in readers:
        try:
            t = r.wait_tick(lambda t: t["count"] == count and t["max_tx"] == max_tx, timeout,
                            "count %d at max-tx %d" % (count, max_tx))
            check(True, "%s sees the %d entities up to max-tx %d" % (r.name, count, t["max_tx"]))
        except Failure as e:
            check(False, str(e))


def check_held(readers):
    """Every --hold reader's held snapshot never moved, while its served
    snapshot did."""
    for r in readers:
        ts = r.ticks()
        held = {(t.get("held_max_tx"), t.get("held_count")) for t in ts}
        served_max = max((t["max_tx"] if isinstance(t["max_tx"], int) else 0) for t in ts) if ts else 0
        first = ts[0] if ts else {}
        check(len(held) == 1 and first.get("held_max_tx") is not None
              and served_max > first["held_max_tx"],
              "%s: held snapshot stayed at max-tx %s count %s over %d ticks while the served one "
              "moved to max-tx %s" % (r.name, first.get("held_max_tx"), first.get("held_count"),
                                      len(ts), served_max))


def check_monotonic(readers):
    for r in readers:
        mts = [t["max_tx"] for t in r.ticks() if isinstance(t["max_tx"], int)]
        check(all(a <= b for a, b in zip(mts, mts[1:])),
              "%s: served max-tx never went backwards (%d ticks)" % (r.name, len(mts)))


# ---------------------------------------------------------------- parts

def part_file(net, langs):
    path = os.path.join(TMP, "scaleout-file-%d" % os.getpid())
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cfg = '{:store {:backend :file :path "%s"}}' % path
    try:
        p = txclient("writer", cfg, "w0", 0, 0, ["--create-schema"])
        check(p.p.returncode == 0, "writer host created the database on the shared file store")
        readers = []
        for host, lang in [("r1", "c"), ("r1", "py"), ("r2", "node"), ("r2", "c")]:
            if lang in langs:
                readers.append(start_reader(lang, host, cfg, hold=True))
        for r in readers:
            r.wait_tick(lambda t: t["count"] == 0, 60, "a first tick with 0 entities")
        n = 20
        p = txclient("writer", cfg, "w1", 1, n)
        a = acks(p)
        check(p.p.returncode == 0 and len(a) == n, "writer committed %d transactions" % n)
        last_tx = max(a.values()) if a else -1
        check_readers_follow(readers, n, last_tx)
        check_held(readers)
        check_monotonic(readers)
    finally:
        stop_all(keep_shared=True)
        shutil.rmtree(path, ignore_errors=True)

# ---------------------------------------------------------------- PostgreSQL and the server

PGTMP = os.path.join(SRC, "tests", "pg", "pgtmp.sh")
TOKEN = "scaleout-secret"
PORT = 4444


class PG:
    """A throwaway cluster (tests/pg/pgtmp.sh) run on the db host and opened
    to the namespaces' network (pgtmp.sh listens on loopback only: its
    listen_addresses and pg_hba.conf get the db host's address added)."""

    def __init__(self):
        self.dir = os.path.join(TMP, "scaleout-pg-%d" % os.getpid())
        self.store = None
        self.started = False

    def sh(self, *args, timeout=120):
        return run(Net.argv("db", ["bash", PGTMP] + list(args)), timeout=timeout)

    def start(self):
        if not os.path.exists(PGTMP):
            raise Failure("tests/pg/pgtmp.sh is missing (the :pg store's test cluster)")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.dirname(self.dir), exist_ok=True)
        self.started = True   # from here on, stop() removes whatever start made
        atexit.register(self.stop)
        r = self.sh("start", self.dir)
        if r.returncode != 0:
            raise Failure("PostgreSQL did not start (pgtmp.sh start, exit %d): %s"
                          % (r.returncode, r.stderr.strip()))
        with open(os.path.join(self.dir, "cluster")) as f:
            data = os.path.join(f.read().strip(), "data")
        db = Net.addr("db")
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write("# test_scaleout.py: reachable from the other hosts\n"
                    "listen_addresses = '127.0.0.1,%s'\n" % db)
        with open(os.path.join(data, "pg_hba.conf"), "a") as f:
            f.write("host all all 10.77.0.0/24 scram-sha-256\n")
        r = self.sh("restart", self.dir)
        if r.returncode != 0:
            raise Failure("PostgreSQL did not restart on %s: %s" % (db, r.stderr.strip()))
        with open(os.path.join(self.dir, "store.edn")) as f:
            store = f.read().strip()
        store = store.replace('"127.0.0.1"', '"%s"' % db)
        self.store = store[:store.rindex("}")] + ' :table "scaleout" :connect-timeout-ms 2000}'
        log("PostgreSQL listening on %s: %s" % (db, self.store))

    def restart(self):
        r = self.sh("restart", self.dir)
        if r.returncode != 0:
            raise Failure("pgtmp.sh restart failed: " + r.stderr.strip())

    def down(self):
        r = self.sh("down", self.dir)
        if r.returncode != 0:
            raise Failure("pgtmp.sh down failed: " + r.stderr.strip())
        log("PostgreSQL stopped")

    def up(self):
        r = self.sh("up", self.dir)
        if r.returncode != 0:
            raise Failure("pgtmp.sh up failed: " + r.stderr.strip())
        log("PostgreSQL started again")

    def stop(self):
        if self.started:
            self.sh("stop", self.dir)
            self.started = False


def server_bin():
    for p in (os.environ.get("DL_SERVER_BIN"), os.path.join(BUILD, "server", "datalith-server"),
              os.path.join(BUILD, "datalith-server")):
        if p and os.access(p, os.X_OK):
            return p
    raise Failure("datalith-server is not built in %s (the writer server; build target "
                  "datalith_server or set DL_SERVER_BIN)" % BUILD)


class Server:
    """datalith-server on the writer host, allowed to open the pg store."""

    def __init__(self, store):
        self.cfg = os.path.join(TMP, "scaleout-server-%d.edn" % os.getpid())
        with open(self.cfg, "w") as f:
            f.write('{:port %d :bind "%s" :token "%s" :stores [%s] :threads 4}\n'
                    % (PORT, Net.addr("writer"), TOKEN, store))
        atexit.register(lambda: os.path.exists(self.cfg) and os.remove(self.cfg))
        self.proc = None
        self.url = "http://%s:%d" % (Net.addr("writer"), PORT)

    def start(self):
        self.proc = Proc("server", Net.argv("writer", [server_bin(), self.cfg]), echo_out=True)
        self.proc.shared = True
        self.proc.wait_line(lambda l: "listening on" in l, 30, "the 'listening on' line")

    def kill9(self):
        self.proc.signal(signal.SIGKILL)
        self.proc.wait(10)
        log("server SIGKILLed")


def configs(pg, server):
    """(reader config, client config with the server as writer)."""
    rd = "{:store %s}" % pg.store
    wr = '{:store %s :writer {:backend :datahike-server :url "%s" :token "%s"}}' % (
        pg.store, server.url, TOKEN)
    return rd, wr


def http_transact(host, url, token, tx_edn):
    """POST /transact from `host` with plain HTTP: (status, body)."""
    code = r"""
import sys, urllib.request, urllib.error
url, token, body = sys.argv[1:4]
req = urllib.request.Request(url + "/transact", data=body.encode(), method="POST",
                             headers={"Content-Type": "application/edn",
                                      "Authorization": "token " + token})
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); print(e.read().decode())
"""
    r = run(Net.argv(host, ["python3", "-c", code, url, token, tx_edn]), timeout=60)
    if r.returncode != 0:
        raise Failure("HTTP client on %s failed: %s" % (host, r.stderr.strip()))
    status, _, body = r.stdout.partition("\n")
    return int(status), body


def setup_pg(net):
    pg = PG()
    STATE["pgproc"] = pg
    pg.start()
    server = Server(pg.store)
    server.start()
    rd, wr = configs(pg, server)
    p = txclient("r2", wr, "mk", 0, 0, ["--create-schema"])
    if p.p.returncode != 0:
        raise Failure("create-database through the server failed: %s" % p.lines(err=True)[-3:])
    log("database created through the server")
    return pg, server, rd, wr


STATE = {}


def pg_env(net):
    """PostgreSQL, the server and the database, set up once for all parts."""
    if "pg_error" in STATE:
        raise Failure("(PostgreSQL/server setup failed before: %s)" % STATE["pg_error"])
    if "pg" not in STATE:
        try:
            STATE["pg"] = setup_pg(net)
        except Failure as e:
            STATE["pg_error"] = str(e)
            raise
    return STATE["pg"]


def part_pg(net, langs):
    pg, server, rd, wr = pg_env(net)
    base = census("r2", rd)
    n0 = sum(base.values())
    readers = []
    for host, lang in [("r1", "c"), ("r1", "py"), ("r2", "node"), ("r2", "c")]:
        if lang in langs:
            readers.append(start_reader(lang, host, rd, hold=True))
    # A reader that reaches only the server (:remote-peer: every operation,
    # the held snapshot's queries included, runs on the server).
    if "c" in langs:
        peer = '{:store %s :remote-peer {:backend :datahike-server :url "%s" :token "%s"}}' % (
            pg.store, server.url, TOKEN)
        r = Proc("c-r2-peer", Net.argv("r2", reader_argv("c", peer, "c-r2-peer", True)))
        readers.append(r)
    # A listener on r1 (its link is cut below): it must be told of every
    # commit made from here on, once and in order, the cut notwithstanding.
    lis = start_reader("c", "r1", rd, listen=True) if "c" in langs else None
    for r in readers + ([lis] if lis else []):
        r.wait_tick(lambda t: t["count"] == n0, 60, "a first tick with %d entities" % n0)

    # Writes through the server: plain HTTP from r1, the C client from r2.
    # The body is the vector of /transact's positional arguments: [config tx-data].
    tx = "[%s [{:scn/n 9001 :scn/client \"http\"} {:scn/n 9002 :scn/client \"http\"}]]" % rd
    st, body = http_transact("r1", server.url, TOKEN, tx)
    check(st == 200 and ":db-after" in body, "POST /transact from r1 answered 200 with a report "
          "(got %d %s)" % (st, body[:120]))
    m = re.search(r":db/current-tx (\d+)", body)
    committed = [int(m.group(1))] if m else []
    st, body = http_transact("r1", server.url, "wrong-token", tx)
    check(st == 401, "a wrong token is refused with 401 (got %d)" % st)
    p = txclient("r2", wr, "a", 1, 10)
    a = acks(p)
    check(p.p.returncode == 0 and len(a) == 10, "10 transactions through the server from r2 "
          "acknowledged (%d)" % len(a))
    n1, tx1 = n0 + 12, max(a.values()) if a else -1
    committed += sorted(a.values())
    check_readers_follow(readers, n1, tx1)

    # Cut r1's link midway.
    r1 = [r for r in readers if "-r1" in r.name]
    r2 = [r for r in readers if "-r2" in r.name]
    marks = {r.name: len(r.lines()) for r in r1}
    emarks = {r.name: len(r.lines(err=True)) for r in r1}
    net.cut("r1")
    try:
        p = txclient("r2", wr, "b", 101, 10)
        a = acks(p)
        check(p.p.returncode == 0 and len(a) == 10,
              "10 more transactions acknowledged while r1 is cut off")
        n2, tx2 = n1 + 10, max(a.values()) if a else -1
        committed += sorted(a.values())
        check_readers_follow(r2, n2, tx2)
        for r in r1:
            try:
                line = r.wait_line(lambda l: "OUTAGE" in l, 30, "an OUTAGE report", err=True,
                                   start=emarks[r.name])
                check(True, "%s reports the outage: %s" % (r.name, line))
                ts = []
                for _ in range(3):   # three ticks served during the outage
                    ts.append(r.wait_tick(lambda t: t["state"] == "outage"
                                          and all(t["tick"] > u["tick"] for u in ts), 20,
                                          "a tick in outage state"))
                check(all(t["count"] == n1 and t["max_tx"] == tx1 for t in ts),
                      "%s keeps serving its last snapshot (count %d, max-tx %d) during the outage "
                      "(ticks %s)" % (r.name, n1, tx1,
                                      [(t["tick"], t["count"], t["max_tx"]) for t in ts]))
            except Failure as e:
                check(False, str(e))
    finally:
        net.restore("r1")
    check_readers_follow(r1, n2, tx2, timeout=90)
    for r in r1:
        try:
            line = r.wait_line(lambda l: "RECOVERED" in l, 30, "a RECOVERED report", err=True,
                               start=emarks[r.name])
            check(True, "%s reports the recovery: %s" % (r.name, line))
        except Failure as e:
            check(False, str(e))
    check_held(readers)
    check_monotonic(readers)
    if lis:
        try:
            lis.wait_line(lambda l: l == '{"event":"tx","tx":%d}' % tx2, 60,
                          "the listener's report of the last commit")
        except Failure as e:
            check(False, str(e))
        got = listened(lis)
        check(got == committed, "the listener on r1 was told of the %d commits once each, in "
              "order, across the cut (expected %s, got %s)" % (len(committed), committed, got))
        readers.append(lis)
    stop_readers(readers)


def stop_readers(readers):
    for r in readers:
        r.stop()
        if r in PROCS:
            PROCS.remove(r)


def check_census(rd, ranges, acked, erred, what):
    """Each acknowledged n exactly once, each failed one at most once,
    nothing else in the clients' ranges."""
    c = census("r2", rd)
    lost = sorted(n for n in acked if c.get(n, 0) == 0)
    dup = sorted(n for n, k in c.items() if k > 1)
    extra = sorted(n for n in c if any(lo <= n < hi for lo, hi in ranges)
                   and n not in acked and n not in erred)
    check(not lost and not dup and not extra,
          "%s: %d acknowledged transactions all present once (lost %s, duplicated %s, "
          "unexpected %s); %d failed ones of which %d were applied"
          % (what, len(acked), lost[:10], dup[:10], extra[:10], len(erred),
             sum(1 for n in erred if c.get(n))))


def part_load(net, langs, long=False):
    pg, server, rd, wr = pg_env(net)
    n, m = (16, 300) if long else (4, 25)
    ranges = [(10000000 + 100000 * i, 10000000 + 100000 * i + m) for i in range(n)]
    t = time.monotonic()
    ps = [txclient("r1" if i % 2 else "r2", wr, "load%d" % i, ranges[i][0], m, wait=False)
          for i in range(n)]
    for p in ps:
        p.wait(600)
    dt = time.monotonic() - t
    acked, erred = set(), set()
    for p in ps:
        acked |= set(acks(p))
        erred |= {int(l.split()[1]) for l in errs(p)}
    check(len(acked) == n * m and not erred,
          "%d clients x %d transactions through the server: %d acknowledged, %d failed (%.1f s)"
          % (n, m, len(acked), len(erred), dt))
    check_census(rd, ranges, acked, erred, "load")


def wait_acks(ps, k, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(len(acks(p)) for p in ps) >= k:
            return
        time.sleep(0.05)
    raise Failure("clients did not reach %d acknowledgements within %ds" % (k, timeout))


def part_kill(net, langs, long=False):
    pg, server, rd, wr = pg_env(net)
    n, m, rounds = (6, 400, 5) if long else (3, 40, 1)
    pause = "0" if long else "10"   # long: kills land in flight more often
    ranges = [(20000000 + 100000 * i, 20000000 + 100000 * i + 100 * m) for i in range(n)]
    ps = [txclient("r1" if i % 2 else "r2", wr, "kill%d" % i, ranges[i][0], 100 * m,
                   ["--acks", str(m), "--pause-ms", pause], wait=False) for i in range(n)]
    for k in range(rounds):
        wait_acks(ps, (k + 1) * n * m // (rounds + 1), 120)
        server.kill9()
        wait_errs = time.monotonic() + 10
        while time.monotonic() < wait_errs and not any(errs(p) for p in ps):
            time.sleep(0.05)
        server.start()
        log("server restarted")
    for p in ps:
        p.wait(600)
    acked, erred = set(), set()
    for p in ps:
        acked |= set(acks(p))
        erred |= {int(l.split()[1]) for l in errs(p)}
    check(all(p.p.returncode == 0 for p in ps),
          "every client reached its %d acknowledgements after %d server kill(s) (%d errors "
          "seen, e.g. %s)" % (m, rounds, len(erred),
                              next((l for p in ps for l in errs(p)), "none")[:160]))
    vague = [l for p in ps for l in errs(p) if "writer server" not in l]
    check(not vague, "every error the clients saw names the writer server (%s)"
          % (vague[:3] or "all do"))
    check_census(rd, ranges, acked, erred, "SIGKILL")


def part_pgrestart(net, langs, long=False):
    pg, server, rd, wr = pg_env(net)
    n, m = (4, 300) if long else (2, 30)
    ranges = [(30000000 + 100000 * i, 30000000 + 100000 * i + 100 * m) for i in range(n + 2)]
    rdr = start_reader("c", "r2", rd)
    rdr.wait_tick(lambda t: True, 30, "a first tick")
    ps = [txclient("r1" if i % 2 else "r2", wr, "pgr%d" % i, ranges[i][0], 100 * m,
                   ["--acks", str(m), "--pause-ms", "10"], wait=False) for i in range(n)]
    wait_acks(ps, n * m // 3, 120)
    # A restart under load (pg_ctl restart -m fast): clients may or may not hit it.
    pg.restart()
    log("PostgreSQL restarted under load")
    # A stop long enough to be met for sure: clients started while PostgreSQL
    # is down (one per reader host) must get a clear error, then go on.
    emark = len(rdr.lines(err=True))
    pg.down()
    try:
        outs = [txclient(h, wr, "pgout%d" % k, ranges[n + k][0], 100 * 10,
                         ["--acks", "10", "--pause-ms", "10"], wait=False)
                for k, h in enumerate(("r1", "r2"))]
        for p in outs:
            try:
                # connect reads the head locally, so the error may come there
                line = p.wait_line(lambda l: "failed" in l, 30, "an error report", err=True)
                check("PostgreSQL at %s" % Net.addr("db") in line,
                      "%s, started during the outage, gets a clear error: %s"
                      % (p.name, line[:200]))
            except Failure as e:
                check(False, str(e))
        try:
            rdr.wait_line(lambda l: "OUTAGE" in l, 30, "an OUTAGE report", err=True, start=emark)
            check(True, "the reader on r2 reports the store outage")
        except Failure as e:
            check(False, str(e))
    finally:
        pg.up()
    ps += outs
    for p in ps:
        p.wait(600)
    check(all(p.p.returncode == 0 for p in ps),
          "every client continued after PostgreSQL came back and reached its acknowledgements "
          "(errors seen by the load clients: %d)" % sum(len(errs(p)) for p in ps[:n]))
    vague = [l for p in ps for l in errs(p)
             if "PostgreSQL at" not in l and "writer server" not in l]
    check(not vague, "every error the clients saw names PostgreSQL or the writer server "
          "(%s)" % (vague[:3] or "all do"))
    acked, erred = set(), set()
    for p in ps:
        acked |= set(acks(p))
        erred |= {int(l.split()[1]) for l in errs(p)}
    check_census(rd, ranges, acked, erred, "PostgreSQL restart")
    try:
        rdr.wait_line(lambda l: "RECOVERED" in l, 30, "a RECOVERED report", err=True, start=emark)
        check(True, "the reader on r2 recovered")
    except Failure as e:
        check(False, str(e))
    stop_readers([rdr])


def part_cutwriter(net, langs, long=False):
    """The writer host's link cut while clients transact: requests in flight
    time out, new ones cannot connect; after the link returns every client
    goes on, nothing acknowledged is lost, nothing is applied twice."""
    pg, server, rd, wr = pg_env(net)
    n, m, cuts = (4, 150, 3) if long else (2, 30, 1)
    cut_s = 6.0   # longer than the clients' :timeout-ms, so each one meets the cut
    fast = wr[:wr.rindex("}}")] + ' :timeout-ms 4000 :connect-timeout-ms 2000}}'
    ranges = [(40000000 + 100000 * i, 40000000 + 100000 * i + 100 * m) for i in range(n)]
    ps = [txclient("r1" if i % 2 else "r2", fast, "cutw%d" % i, ranges[i][0], 100 * m,
                   ["--acks", str(m), "--pause-ms", "20"], wait=False) for i in range(n)]
    for k in range(cuts):
        wait_acks(ps, (k + 1) * n * m // (cuts + 1), 120)
        marks = [len(errs(p)) for p in ps]
        net.cut("writer")
        try:
            time.sleep(cut_s)
        finally:
            net.restore("writer")
        for p, mk in zip(ps, marks):
            deadline = time.monotonic() + 10   # the lines are read asynchronously
            while len(errs(p)) <= mk and time.monotonic() < deadline:
                time.sleep(0.05)
            e = errs(p)[mk:]
            check(bool(e), "%s met the writer's cut %d: %s" % (p.name, k + 1,
                                                              e[0][:160] if e else "no error"))
    for p in ps:
        p.wait(600)
    check(all(p.p.returncode == 0 for p in ps),
          "every client went on after the writer's link returned and reached %d "
          "acknowledgements" % m)
    vague = [l for p in ps for l in errs(p) if "writer server" not in l]
    check(not vague, "every error the clients saw names the writer server (%s)"
          % (vague[:3] or "all do"))
    acked, erred = set(), set()
    for p in ps:
        acked |= set(acks(p))
        erred |= {int(l.split()[1]) for l in errs(p)}
    check_census(rd, ranges, acked, erred, "writer cut")


PARTS = ["file", "pg", "load", "kill", "pgrestart", "cutwriter"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(PARTS))
    ap.add_argument("--long", action="store_true")
    a = ap.parse_args()
    parts = [p for p in a.only.split(",") if p]
    langs = [l for l in os.environ.get("DL_SCALEOUT_LANGS", "c,py,node").split(",") if l]
    for p in parts:
        if p not in PARTS:
            print("unknown part %r (one of %s)" % (p, ", ".join(PARTS)), file=sys.stderr)
            return 2

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    net = Net()
    try:
        check_langs(langs)
        net.start()
        for p in parts:
            log("== part %s" % p)
            fn = globals()["part_" + p]
            try:
                if p in ("load", "kill", "pgrestart", "cutwriter"):
                    fn(net, langs, long=a.long)
                else:
                    fn(net, langs)
            except Failure as e:
                log("FAIL: part %s: %s" % (p, e))
                FAILS.append("part %s: %s" % (p, e))
                stop_all(keep_shared=True)
    except Failure as e:
        log("FAIL: " + str(e))
        FAILS.append(str(e))
    finally:
        stop_all()
        if "pgproc" in STATE:
            STATE["pgproc"].stop()
        net.stop()
    if FAILS:
        log("%d check(s) failed:" % len(FAILS))
        for f in FAILS:
            log("  - " + f)
        return 1
    log("all checks passed (%s; readers: %s)" % (", ".join(parts), ", ".join(langs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
