#!/usr/bin/env python3
"""bench_python.py DATADIR [--sqlite] — the bindings suite through the Python
binding (the installed `datalith` package), or with --sqlite the same shapes
through Python's sqlite3 module on an EAV table (as bench/sqlite_bench.c:
eav(e, a, v, tx) WITHOUT ROWID with aev and ave indexes, in memory).

Shapes, sizes and timing as bench_c.c (BENCH_WARMUP_S, BENCH_SAMPLES,
BENCH_SAMPLE_S, BENCH_ONLY; DATALITH_PURE_PYTHON_CBOR=1 for the package's
pure-Python CBOR codec); one TSV line per shape on stdout:
engine shape median_ms min_ms size.  Every call returns native Python
values (tuples/sets/dicts); the size is computed from them.
"""
import os
import sys
import time


def env(name, dflt):
    v = os.environ.get(name)
    return float(v) if v else dflt


ONLY = os.environ.get("BENCH_ONLY") or ""
# DATALITH_PURE_PYTHON_CBOR=1 turns the package's C codec off: the same
# runner then measures the pure-Python CBOR path (engine "python-purecbor").
ENGINE = "python-purecbor" if os.environ.get("DATALITH_PURE_PYTHON_CBOR") else "python"


def bench_run(shape, op):
    if ONLY and ONLY not in shape:
        return
    warm = env("BENCH_WARMUP_S", 1.0)
    nsamples = max(1, int(env("BENCH_SAMPLES", 5)))
    sample = env("BENCH_SAMPLE_S", 0.5)
    clock = time.perf_counter
    t0 = clock()
    size = op()
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
    print("%s\t%s\t%.4f\t%.4f\t%d\t" % (ENGINE, shape, s[len(s) // 2], s[0], size), flush=True)


def count_maps(v):
    if isinstance(v, dict):
        return 1 + sum(count_maps(x) for x in v.values())
    if isinstance(v, (list, tuple, set, frozenset)):
        return sum(count_maps(x) for x in v)
    return 0


def read(datadir, name):
    with open(os.path.join(datadir, name), encoding="utf-8") as f:
        return f.read()


Q_TINY = "[:find ?a . :where [1000 :age ?a]]"
Q_IN = "[:find (count ?x) . :in $ [?x ...]]"
Q1 = '[:find ?e :where [?e :name "Ivan"]]'
Q2 = '[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a]]'
Q5 = '[:find ?e1 ?l ?a :where [?e :name "Ivan"] [?e :age ?a] [?e1 :age ?a] [?e1 :last-name ?l]]'
Q_ROWS = "[:find ?e ?n ?a :where [?e :name ?n] [?e :age ?a] [(< ?e 11000)]]"


def datalith_suite(datadir):
    import datalith
    from datalith import Keyword, edn

    schema = edn.loads(read(datadir, "schema.edn"))

    def fresh(name):
        cfg = {"store": {"backend": Keyword("memory"), "id": name}, "keep-history?": False}
        datalith.create_database(cfg)
        c = datalith.connect(cfg)
        c.transact(schema)
        return c

    people = fresh("bb-people")
    people.transact(edn.loads(read(datadir, "people.edn")))
    people.transact(edn.loads(read(datadir, "follows.edn")))
    tree = fresh("bb-tree")
    tree.transact(edn.loads(read(datadir, "tree.edn")))
    scratch = fresh("bb-scratch")
    pdb, tdb = people.db(), tree.db()

    def db_q_tiny():
        with people.db() as db:
            return db.q(Q_TINY)

    bench_run("db+q-tiny", lambda: (db_q_tiny(), 1)[1])
    sel_small = [Keyword("name"), Keyword("age")]
    bench_run("pull-small", lambda: count_maps(pdb.pull(sel_small, 1000)))
    tx1 = [{Keyword("name"): "Tx", Keyword("age"): 1}]
    bench_run("transact-1", lambda: (scratch.transact(tx1), 1)[1])
    ints = list(range(10000))
    bench_run("in-10k", lambda: pdb.q(Q_IN, ints))
    bench_run("q1", lambda: len(pdb.q(Q1)))
    bench_run("q2", lambda: len(pdb.q(Q2)))
    bench_run("q5", lambda: len(pdb.q(Q5)))
    sel_tree = edn.loads("[:name {:follows ...}]")
    bench_run("pull-one", lambda: count_maps(tdb.pull(sel_tree, 200000)))
    bench_run("rows-10k", lambda: len(pdb.q(Q_ROWS)))


def sqlite_suite(datadir):
    """The same shapes in SQL.  Attribute ids: 1 name, 2 last-name, 3 sex,
    4 age, 5 salary, 6 follows (keywords as text ":male").  Set semantics
    where Datalog returns a set (q5 as a semi-join, as sqlite_bench.c)."""
    import json
    import sqlite3
    global ENGINE
    ENGINE = "sqlite3-py"

    def fresh():
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.executescript("CREATE TABLE eav(e INTEGER, a INTEGER, v, tx INTEGER, PRIMARY KEY (e, a, v)) WITHOUT ROWID;"
                         "CREATE INDEX aev ON eav(a, e, v); CREATE INDEX ave ON eav(a, v, e);")
        return db

    people = fresh()
    rows = []
    for line in read(datadir, "rows.tsv").splitlines():
        e, n, l, s, age, sal, fol = line.split("\t")
        e = int(e)
        rows += [(e, 1, n, 1), (e, 2, l, 1), (e, 3, ":" + s, 1), (e, 4, int(age), 1), (e, 5, int(sal), 1)]
        if int(fol) >= 0:
            rows.append((e, 6, int(fol), 2))
    people.execute("BEGIN")
    people.executemany("INSERT INTO eav VALUES (?, ?, ?, ?)", rows)
    people.execute("COMMIT")
    people.execute("ANALYZE")
    # The tree: its [:db/add e :name "Ivan"] / [:db/add a :follows b] lines.
    tree = fresh()
    trows = []
    for line in read(datadir, "tree.edn").strip("[]\n").splitlines():
        f = line.strip("[]").split()
        trows.append((int(f[1]), 1, "Ivan", 1) if f[2] == ":name" else (int(f[1]), 6, int(f[3]), 1))
    tree.execute("BEGIN")
    tree.executemany("INSERT INTO eav VALUES (?, ?, ?, ?)", trows)
    tree.execute("COMMIT")
    tree.execute("ANALYZE")
    scratch = fresh()
    next_e = [1 << 40]

    ivan = "n.a=1 AND n.v='Ivan'"
    bench_run("db+q-tiny", lambda: len(people.execute("SELECT v FROM eav WHERE e=1000 AND a=4").fetchall()))

    def pull_small():
        # The entity's :name and :age as a dict, as a pull returns them.
        m = {("name" if a == 1 else "age"): v
             for a, v in people.execute("SELECT a, v FROM eav WHERE e=? AND a IN (1, 4)", (1000,))}
        return 1 if m else 0
    bench_run("pull-small", pull_small)

    def tx1():
        e = next_e[0]
        next_e[0] += 1
        scratch.execute("BEGIN")
        scratch.executemany("INSERT INTO eav VALUES (?, ?, ?, ?)", [(e, 1, "Tx", e), (e, 4, 1, e)])
        scratch.execute("COMMIT")
        return 1
    bench_run("transact-1", tx1)
    ints = list(range(10000))

    def in10k():
        # A collection input: the list as one JSON parameter, expanded by json_each.
        return people.execute("SELECT count(DISTINCT value) FROM json_each(?)", (json.dumps(ints),)).fetchone()[0]
    bench_run("in-10k", in10k)
    bench_run("q1", lambda: len(people.execute("SELECT e FROM eav WHERE a=1 AND v='Ivan'").fetchall()))
    bench_run("q2", lambda: len(people.execute(
        "SELECT n.e, g.v FROM eav n JOIN eav g ON g.e=n.e AND g.a=4 WHERE " + ivan).fetchall()))
    bench_run("q5", lambda: len(people.execute(
        "SELECT e1.e, l.v, e1.v FROM eav e1 JOIN eav l ON l.e=e1.e AND l.a=2 WHERE e1.a=4 AND e1.v IN"
        " (SELECT g.v FROM eav n JOIN eav g ON g.e=n.e AND g.a=4 WHERE " + ivan + ")").fetchall()))

    def pull_one():
        # Fetch the rows, then build the nested maps as a pull returns them.
        r = tree.execute("WITH RECURSIVE r(e) AS (SELECT ?1 UNION SELECT f.v FROM eav f JOIN r ON f.e=r.e WHERE f.a=6)"
                         " SELECT x.e, x.a, x.v FROM r JOIN eav x ON x.e=r.e AND x.a IN (1, 6)", (200000,)).fetchall()
        names, kids = {}, {}
        for e, a, v in r:
            if a == 1:
                names[e] = v
            else:
                kids.setdefault(e, []).append(v)

        def build(e):
            m = {"name": names.get(e)}
            if e in kids:
                m["follows"] = [build(k) for k in kids[e]]
            return m
        return count_maps(build(200000))
    bench_run("pull-one", pull_one)
    bench_run("rows-10k", lambda: len(people.execute(
        "SELECT n.e, n.v, g.v FROM eav n JOIN eav g ON g.e=n.e AND g.a=4 WHERE n.a=1 AND n.e < 11000").fetchall()))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: bench_python.py DATADIR [--sqlite]")
    if "--sqlite" in sys.argv[2:]:
        sqlite_suite(sys.argv[1])
    else:
        datalith_suite(sys.argv[1])
