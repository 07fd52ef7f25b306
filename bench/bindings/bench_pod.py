#!/usr/bin/env python3
"""bench_pod.py DATALITH-POD DATADIR — the bindings suite through the
Babashka pod protocol: a small bencode client (standard library only) drives
datalith-pod over its stdin/stdout as babashka would: each call is one
"invoke" message with the arguments as EDN text, answered by one message
with the value as EDN text.

What is timed: encoding the request, the pipe round trip, the pod's work
(reading the EDN args, the engine call, printing EDN) and decoding the
bencode reply.  Not timed: reading the reply's EDN into values — babashka's
reader would do that in the script, and a pure-Python EDN reader here would
measure Python, not the pod.  The result size is counted on the EDN text
(top-level elements; entity maps for pulls), as bench/datalith_bench.c does.

Shapes and timing as bench_c.c (BENCH_WARMUP_S, BENCH_SAMPLES,
BENCH_SAMPLE_S, BENCH_ONLY); TSV lines: engine shape median_ms min_ms size.
"""
import os
import subprocess
import sys
import time


def env(name, dflt):
    v = os.environ.get(name)
    return float(v) if v else dflt


ONLY = os.environ.get("BENCH_ONLY") or ""


def bench_run(shape, op, size_of=lambda v: v):
    """Time op(); the size is size_of(first result), counted outside the
    timing (a Python scan of the EDN text would outweigh the pod)."""
    if ONLY and ONLY not in shape:
        return
    warm = env("BENCH_WARMUP_S", 1.0)
    nsamples = max(1, int(env("BENCH_SAMPLES", 5)))
    sample = env("BENCH_SAMPLE_S", 0.5)
    clock = time.perf_counter
    t0 = clock()
    size = size_of(op())
    while clock() - t0 < warm:
        op()
    s = []
    for _ in range(nsamples):
        reps = 0
        a = clock()
        while True:
            op()
            reps += 1
            b = clock()
            if b - a >= sample:
                break
        s.append((b - a) / reps * 1e3)
    s.sort()
    print("pod\t%s\t%.4f\t%.4f\t%d\t" % (shape, s[len(s) // 2], s[0], size), flush=True)


# ------------------------------------------------------------------ bencode

def benc(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode("utf-8")
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(benc(i) for i in x) + b"e"
    if isinstance(x, dict):
        return b"d" + b"".join(benc(k) + benc(x[k]) for k in sorted(x)) + b"e"
    raise TypeError(type(x))


class Reader:
    """Bencode values from a buffered binary stream; strings stay bytes."""

    def __init__(self, f):
        self.f = f

    def value(self, c=None):
        f = self.f
        c = c or f.read(1)
        if not c:
            raise EOFError("the pod closed its stdout")
        if c == b"d" or c == b"l":
            items = []
            while True:
                ch = f.read(1)
                if ch == b"e":
                    break
                items.append(self.value(ch))
            if c == b"l":
                return items
            return {items[i].decode(): items[i + 1] for i in range(0, len(items), 2)}
        if c == b"i":
            s = b""
            while (ch := f.read(1)) != b"e":
                s += ch
            return int(s)
        s = c
        while (ch := f.read(1)) != b":":
            s += ch
        return f.read(int(s))


class Pod:
    def __init__(self, path):
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  env=dict(os.environ, BABASHKA_POD="true"))
        self.r = Reader(self.p.stdout)
        self.n = 0

    def call(self, var, args_edn):
        self.n += 1
        self.p.stdin.write(benc({"op": "invoke", "id": str(self.n), "var": "datalith.pod/" + var,
                                 "args": args_edn}))
        self.p.stdin.flush()
        r = self.r.value()
        if "ex-message" in r:
            raise RuntimeError("%s: %s" % (var, r.get("ex-message")))
        return r["value"]

    def close(self):
        self.p.stdin.write(benc({"op": "shutdown"}))
        self.p.stdin.flush()
        self.p.wait(timeout=30)


def edn_count_top(s):
    """Elements of the top-level EDN collection (as datalith_bench.c)."""
    i, n = 0, len(s)
    while i < n and s[i] in b" \n,":
        i += 1
    if i < n and s[i:i + 1] == b"#":
        i += 1
    if i >= n or s[i:i + 1] not in (b"[", b"{", b"("):
        return 1
    depth, in_elem, string, count = 0, False, False, 0
    while i < n:
        c = s[i]
        if string:
            if c == 0x5C:
                i += 1
            elif c == 0x22:
                string = False
            i += 1
            continue
        if depth == 1 and not in_elem and c not in b" ,\n]})":
            count += 1
            in_elem = True
        if c == 0x22:
            string = True
        elif c in b"[{(":
            depth += 1
        elif c in b"]})":
            depth -= 1
            if depth == 1:
                in_elem = False
        elif depth == 1 and c in b" ,\n":
            in_elem = False
        i += 1
    return count


def edn_count_maps(s):
    """'{' outside strings and not a set's '#{' (no strings hold braces here,
    which the cross-check against C's count would catch)."""
    return s.count(b"{") - s.count(b"#{")


def main():
    pod_path, datadir = sys.argv[1], sys.argv[2]
    pod = Pod(pod_path)

    def read(name):
        with open(os.path.join(datadir, name), encoding="utf-8") as f:
            return f.read()

    schema = read("schema.edn")

    def fresh(name):
        cfg = '{:store {:backend :memory :id "%s"} :keep-history? false}' % name
        pod.call("create-database", "[%s]" % cfg)
        conn = pod.call("connect", "[%s]" % cfg).decode()
        pod.call("transact", "[%s %s]" % (conn, schema))
        return conn

    people = fresh("bb-people")
    pod.call("transact", "[%s %s]" % (people, read("people.edn")))
    pod.call("transact", "[%s %s]" % (people, read("follows.edn")))
    tree = fresh("bb-tree")
    pod.call("transact", "[%s %s]" % (tree, read("tree.edn")))
    scratch = fresh("bb-scratch")
    pdb = pod.call("db", "[%s]" % people).decode()
    tdb = pod.call("db", "[%s]" % tree).decode()

    def db_q_tiny():
        db = pod.call("db", "[%s]" % people).decode()
        pod.call("q", "[[:find ?a . :where [1000 :age ?a]] %s]" % db)
        pod.call("release-db", "[%s]" % db)
        return 1

    bench_run("db+q-tiny", db_q_tiny)
    bench_run("pull-small", lambda: pod.call("pull", "[%s [:name :age] 1000]" % pdb), edn_count_maps)
    tx1 = '[%s [{:name "Tx" :age 1}]]' % scratch
    bench_run("transact-1", lambda: (pod.call("transact", tx1), 1)[1])
    in_args = "[[:find (count ?x) . :in $ [?x ...]] %s [%s]]" % (pdb, " ".join(map(str, range(10000))))
    bench_run("in-10k", lambda: pod.call("q", in_args), int)

    def q(shape, text):
        args = "[%s %s]" % (text, pdb)
        bench_run(shape, lambda: pod.call("q", args), edn_count_top)

    q("q1", '[:find ?e :where [?e :name "Ivan"]]')
    q("q2", '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a]]')
    q("q5", '[:find ?e1 ?l ?a :where [?e :name "Ivan"] [?e :age ?a] [?e1 :age ?a] [?e1 :last-name ?l]]')
    pargs = "[%s [:name {:follows ...}] 200000]" % tdb
    bench_run("pull-one", lambda: pod.call("pull", pargs), edn_count_maps)
    q("rows-10k", "[:find ?e ?n ?a :where [?e :name ?n] [?e :age ?a] [(< ?e 11000)]]")
    pod.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: bench_pod.py DATALITH-POD DATADIR")
    main()
