"""Connection.listen / unlisten: reports of this connection's transactions,
of commits by another process on the same file store, unlisten, callbacks
that raise or call back into the engine, and closing a connection with an
active listener.

Expected reports follow reference/datahike-semantics.md section 4: tx-data
holds the asserted datoms (and the implied retraction of a cardinality-one
value, added false) plus the transaction's :db/txInstant datom.  Waits have
a generous deadline only so a broken watcher fails instead of hanging."""

import os
import subprocess
import sys
import textwrap
import threading

import pytest

import datalith
from datalith import Keyword

DEADLINE = 60.0

SCHEMA = [
    {Keyword("db/ident"): Keyword("name"), Keyword("db/valueType"): Keyword("db.type/string"),
     Keyword("db/cardinality"): Keyword("db.cardinality/one"),
     Keyword("db/unique"): Keyword("db.unique/identity")},
    {Keyword("db/ident"): Keyword("age"), Keyword("db/valueType"): Keyword("db.type/long"),
     Keyword("db/cardinality"): Keyword("db.cardinality/one")},
]


class Recorder:
    """A listener collecting reports, with a wait for the n-th one."""

    def __init__(self, action=None):
        self.reports = []
        self.cv = threading.Condition()
        self.action = action
        self.threads = set()

    def __call__(self, report):
        self.threads.add(threading.get_ident())
        if self.action:
            self.action(report)
        with self.cv:
            self.reports.append(report)
            self.cv.notify_all()

    def wait(self, n):
        with self.cv:
            self.cv.wait_for(lambda: len(self.reports) >= n, timeout=DEADLINE)
            return len(self.reports)


def ent(**kw):
    """An entity map with keyword keys: ent(name="x") -> {:name "x"}."""
    return {Keyword(k.replace("__", "/").replace("_", "-")): v for k, v in kw.items()}


def datoms(report, attr, value=None, added=True):
    out = []
    for d in report.tx_data:
        e, a, v, tx, add = d.value
        if a == Keyword(attr) and add == added and (value is None or v == value):
            out.append(d.value)
    return out


@pytest.fixture
def cfg(tmp_path):
    c = {"store": {"backend": "file", "path": str(tmp_path / "db")}, "initial-tx": SCHEMA}
    datalith.create_database(c)
    return c


def test_own_commit_is_delivered(cfg):
    with datalith.connect(cfg) as conn:
        rec = Recorder()
        key = conn.listen(rec)
        assert isinstance(key, Keyword)
        report = conn.transact([ent(db__id="a", name="Alice", age=30)])
        assert rec.wait(1) == 1
        got = rec.reports[0]
        assert len(datoms(got, "name", "Alice")) == 1
        assert len(datoms(got, "age", 30)) == 1
        assert len(datoms(got, "db/txInstant")) == 1
        # this connection's transaction: its own tempids, same as transact's
        assert got.tempids == report.tempids
        assert "a" in got.tempids
        assert got.tx == report.tx
        # callbacks run on the engine's watcher thread
        assert threading.get_ident() not in rec.threads
        conn.transact([ent(name="Alice", age=31)])
        assert rec.wait(2) == 2
        assert len(datoms(rec.reports[1], "age", 30, added=False)) == 1
        assert len(datoms(rec.reports[1], "age", 31)) == 1


def test_other_process_commit_is_delivered(cfg):
    pkg_dir = os.path.dirname(os.path.dirname(datalith.__file__))
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        import datalith
        with datalith.connect(%r) as c:
            K = datalith.Keyword
            c.transact([{K("name"): "Bob", K("age"): 40}])
    """ % (pkg_dir, {"store": cfg["store"]}))
    with datalith.connect(cfg) as conn:
        rec = Recorder()
        conn.listen(rec)
        subprocess.run([sys.executable, "-c", script], check=True, timeout=DEADLINE)
        assert rec.wait(1) >= 1
        got = rec.reports[0]
        assert len(datoms(got, "name", "Bob")) == 1
        assert len(datoms(got, "age", 40)) == 1
        # made elsewhere: only :db/current-tx is known of the tempids
        assert list(got.tempids) == [Keyword("db/current-tx")]
        # and the snapshot the connection reads shows the commit
        assert conn.db().q('[:find ?a . :where [?e :name "Bob"] [?e :age ?a]]') == 40


def test_unlisten_stops_delivery(cfg):
    with datalith.connect(cfg) as conn:
        a, b = Recorder(), Recorder()
        ka = conn.listen(a, "first")
        assert ka == Keyword("first")
        with pytest.raises(datalith.ExistsError):
            conn.listen(b, "first")
        conn.listen(b)
        conn.transact([ent(name="x1")])
        assert a.wait(1) == 1 and b.wait(1) == 1
        conn.unlisten(ka)
        with pytest.raises(datalith.NotFoundError):
            conn.unlisten(ka)
        conn.transact([ent(name="x2")])
        assert b.wait(2) == 2  # b is called after a: a was skipped
        assert len(a.reports) == 1
        with pytest.raises(TypeError):
            conn.listen("not callable")


def test_callback_errors_and_reentrancy(cfg, capfd):
    with datalith.connect(cfg) as conn:
        seen = []

        def boom(report):
            raise RuntimeError("listener failed on purpose")

        def reenter(report):
            # query db-after and transact from inside the callback
            names = conn.db().q("[:find [?n ...] :where [_ :name ?n]]")
            seen.append(sorted(names))
            if len(seen) == 1:
                conn.transact([ent(name="inner")])

        conn.listen(boom)
        rec = Recorder(reenter)
        conn.listen(rec)
        conn.transact([ent(name="outer")])
        assert rec.wait(2) == 2
        assert seen[0] == ["outer"] or "outer" in seen[0]
        assert len(datoms(rec.reports[1], "name", "inner")) == 1
    err = capfd.readouterr().err
    assert "Exception in datalith listener" in err
    assert "listener failed on purpose" in err


def test_unlisten_from_inside_the_callback(cfg):
    with datalith.connect(cfg) as conn:
        keys = []
        calls = []

        def once(report):
            calls.append(report)
            conn.unlisten(keys[0])  # removes itself while running

        keys.append(conn.listen(once))
        probe = Recorder()  # called after `once`: proves it was skipped
        conn.listen(probe)
        conn.transact([ent(name="first")])
        conn.transact([ent(name="second")])
        assert probe.wait(2) == 2
        assert len(calls) == 1
        with pytest.raises(datalith.NotFoundError):
            conn.unlisten(keys[0])


def test_close_with_active_listener(cfg):
    conn = datalith.connect(cfg)
    rec = Recorder()
    conn.listen(rec)
    conn.transact([ent(name="before close")])
    assert rec.wait(1) == 1
    conn.close()
    assert conn.closed
    with pytest.raises(ValueError):
        conn.listen(rec)
    # a new connection starts without listeners
    with datalith.connect(cfg) as c2:
        c2.transact([ent(name="after close")])
        assert len(rec.reports) == 1


def test_exit_with_an_active_listener(cfg):
    """A script that ends while listening exits cleanly (its listeners are
    removed before the interpreter finalizes)."""
    pkg_dir = os.path.dirname(os.path.dirname(datalith.__file__))
    script = textwrap.dedent("""
        import sys, threading
        sys.path.insert(0, %r)
        import datalith
        K = datalith.Keyword
        conn = datalith.connect(%r)
        got = threading.Event()
        conn.listen(lambda r: got.set())
        conn.transact([{K("name"): "exit"}])
        assert got.wait(60)
        del conn  # still listening: kept alive until exit
        print("bye")
    """ % (pkg_dir, {"store": cfg["store"]}))
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=DEADLINE)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "bye"


def test_memory_store_same_process(tmp_path):
    c = {"store": {"backend": "memory", "id": "py-listen"}, "initial-tx": SCHEMA}
    datalith.delete_database(c)
    datalith.create_database(c)
    try:
        with datalith.connect(c) as conn:
            rec = Recorder()
            conn.listen(rec)
            conn.transact([ent(db__id="m", name="mem")])
            assert rec.wait(1) == 1
            assert len(datoms(rec.reports[0], "name", "mem")) == 1
            assert "m" in rec.reports[0].tempids
    finally:
        datalith.delete_database(c)
