"""The Pythonic database API (datalith.api): queries, pull, entity, index
reads, time travel, filters, speculative transactions, reports, metrics.

One small history, worked out by hand:

    tx1 536870913  schema: :name (string, identity) -> eid 1,
                   :age (long, indexed) -> 2, :friend (ref, many) -> 3
    tx2 536870914  Alice "a" -> 4 (age 30, friend Bob), Bob "b" -> 5 (age 25)
    tx3 536870915  Alice's age 30 -> 31 (implicit retraction of 30)
    tx4 536870916  retract Bob's age 25
"""

import datetime
import uuid

import pytest

import datalith
from datalith import Keyword as K, Tagged
from datalith import _generated as _g

TX1, TX2, TX3, TX4 = 536870913, 536870914, 536870915, 536870916
UTC = datetime.timezone.utc


class _Conn(datalith.Connection):
    """A Connection that can carry the fixture's reports."""


def datom(e, a, v, tx, added=True):
    return Tagged("datahike/Datom", [e, K(a), v, tx, added])


def no_instants(ds):
    return [d for d in ds if d.value[1] != K("db/txInstant")]


@pytest.fixture
def conn():
    cfg = {"store": {"backend": "memory", "id": "py-api-%s" % uuid.uuid4().hex},
           "schema-flexibility": "write", "keep-history?": True}
    datalith.create_database(cfg)
    c = _Conn(_g.connect(datalith.api._keywordize(cfg)))
    c.reports = []
    c.reports.append(c.transact([
        {K("db/ident"): K("name"), K("db/valueType"): K("db.type/string"),
         K("db/cardinality"): K("db.cardinality/one"), K("db/unique"): K("db.unique/identity")},
        {K("db/ident"): K("age"), K("db/valueType"): K("db.type/long"),
         K("db/cardinality"): K("db.cardinality/one"), K("db/index"): True},
        {K("db/ident"): K("friend"), K("db/valueType"): K("db.type/ref"),
         K("db/cardinality"): K("db.cardinality/many")}]))
    c.reports.append(c.transact([
        {K("db/id"): "a", K("name"): "Alice", K("age"): 30, K("friend"): "b"},
        {K("db/id"): "b", K("name"): "Bob", K("age"): 25}]))
    c.reports.append(c.transact([[K("db/add"), 4, K("age"), 31]]))
    c.reports.append(c.transact([[K("db/retract"), 5, K("age"), 25]]))
    yield c
    c.close()
    datalith.delete_database(cfg)


def test_transact_report(conn):
    r = conn.reports[1]
    assert isinstance(r, datalith.TxReport)
    assert r.tempids == {"a": 4, "b": 5, K("db/current-tx"): TX2}
    assert r.tx == TX2
    assert sorted(no_instants(r.tx_data), key=repr) == sorted([
        datom(4, "name", "Alice", TX2), datom(4, "age", 30, TX2), datom(4, "friend", 5, TX2),
        datom(5, "name", "Bob", TX2), datom(5, "age", 25, TX2)], key=repr)
    # the card-one change emits the implicit retraction
    assert sorted(no_instants(conn.reports[2].tx_data), key=repr) == sorted(
        [datom(4, "age", 30, TX3, False), datom(4, "age", 31, TX3)], key=repr)
    # mapping access under the keyword keys (and the attribute names)
    assert r[K("tempids")] == r.tempids and r["tx_data"] == r.tx_data
    assert set(r) >= {K("db-before"), K("db-after"), K("tx-data"), K("tempids")}
    assert r.db_after.value[K("max-tx")] == TX2 and r.db_before.value[K("max-tx")] == TX1
    assert r.db_after_db is None


def test_transact_tx_meta(conn):
    # tx-meta becomes attributes of the transaction entity, so under
    # schema-on-write its attribute must be defined first
    with pytest.raises(datalith.SchemaError):
        conn.transact([{K("name"): "Carol"}], tx_meta={K("who"): "test"})
    conn.transact([{K("db/ident"): K("who"), K("db/valueType"): K("db.type/string"),
                    K("db/cardinality"): K("db.cardinality/one")}])
    r = conn.transact([{K("name"): "Carol"}], tx_meta={K("who"): "test"})
    assert r.tx_meta[K("who")] == "test"
    assert r.tempids[K("db/current-tx")] == TX4 + 2
    with conn.db() as db:
        assert db.q('[:find ?w . :in $ ?n :where [?e :name ?n ?t] [?t :who ?w]]', "Carol") == "test"


def test_q_find_specs_and_inputs(conn):
    with conn.db() as db:
        assert db.q('[:find ?n :where [?e :name ?n]]') == {("Alice",), ("Bob",)}
        # the same query as data
        assert db.q([K("find"), datalith.Symbol("?n"), K("where"),
                     [datalith.Symbol("?e"), K("name"), datalith.Symbol("?n")]]) == {("Alice",), ("Bob",)}
        assert db.q('[:find ?a . :in $ ?n :where [?e :name ?n] [?e :age ?a]]', "Alice") == 31
        assert db.q('[:find ?a . :in $ ?n :where [?e :name ?n] [?e :age ?a]]', "Bob") is None
        assert db.q('[:find [?n ...] :in $ [?e ...] :where [?e :name ?n]]', [5]) == ["Bob"]
        assert db.q('[:find (count ?e) . :where [?e :name]]') == 2


def test_q_several_databases(conn):
    with conn.db() as now, now.as_of(TX2) as then:
        q = ('[:find ?a1 ?a2 :in $ $2 ?n :where [$ ?e :name ?n] [$ ?e :age ?a1]'
             ' [$2 ?e2 :name ?n] [$2 ?e2 :age ?a2]]')
        assert now.q(q, then, "Alice") == {(31, 30)}
        # Db inputs bind $ $2 in order, wherever they appear among the values
        assert now.q(q, "Alice", then) == {(31, 30)}
        assert then.q(q, now, "Alice") == {(30, 31)}


def test_q_errors_raise(conn):
    with conn.db() as db:
        with pytest.raises(datalith.Error):
            db.q('[:find ?x :where [?e :name ?n]]')


def test_time_travel_by_tx_and_datetime(conn):
    q = '[:find ?e ?a :where [?e :age ?a]]'
    with conn.db() as db:
        assert db.q(q) == {(4, 31)}
        with db.as_of(TX2) as d2:
            assert d2.q(q) == {(4, 30), (5, 25)}
        with db.as_of(TX3) as d3:
            assert d3.q(q) == {(4, 31), (5, 25)}
        with db.since(TX2) as s:
            assert s.q(q) == {(4, 31)}
        with db.history() as h:
            assert h.q('[:find ?a ?t ?op :where [4 :age ?a ?t ?op]]') == {
                (30, TX2, True), (30, TX3, False), (31, TX3, True)}
            assert h.q('[:find ?a ?t ?op :where [5 :age ?a ?t ?op]]') == {
                (25, TX2, True), (25, TX4, False)}
        future = datetime.datetime.now(UTC) + datetime.timedelta(days=1)
        with db.as_of(future) as f:
            assert f.q(q) == {(4, 31)}
        with db.as_of(datetime.datetime(2000, 1, 1, tzinfo=UTC)) as past:
            assert past.q('[:find ?n :where [?e :name ?n]]') == set()
        with db.since(datetime.datetime(2000, 1, 1, tzinfo=UTC)) as s:
            assert s.q(q) == {(4, 31)}


def test_time_point_types(conn):
    with conn.db() as db:
        with pytest.raises(TypeError):
            db.as_of("yesterday")
        with pytest.raises(TypeError):
            db.since(True)
        with pytest.raises(ValueError):
            db.as_of(datetime.datetime(2000, 1, 1))  # naive
        with pytest.raises(datalith.Error):
            db.as_of(5)  # not a transaction id


def test_pull_and_entity(conn):
    with conn.db() as db:
        assert db.pull('[:name {:friend [:name]}]', [K("name"), "Alice"]) == {
            K("name"): "Alice", K("friend"): [{K("name"): "Bob"}]}
        assert db.pull([K("name"), K("age")], 5) == {K("name"): "Bob"}
        assert db.pull_many('[:name]', [4, 5]) == [{K("name"): "Alice"}, {K("name"): "Bob"}]
        with db.as_of(TX2) as d2:
            assert d2.pull('[:age]', 5) == {K("age"): 25}
        e = db.entity(5)
        assert e[K("name")] == "Bob" and K("age") not in e
        assert db.entity(4)[K("friend")] in ({K("db/id"): 5}, [{K("db/id"): 5}], {(K("db/id"), 5)},
                                              {datalith.FrozenMap({K("db/id"): 5})})
        with pytest.raises(datalith.NotFoundError):
            db.pull('[:name]', [K("name"), "Nobody"])


def test_index_reads(conn):
    with conn.db() as db:
        assert db.datoms("avet", K("age")) == [datom(4, "age", 31, TX3)]
        assert db.datoms("eavt", 5) == [datom(5, "name", "Bob", TX2)]
        assert db.index_range("age", 0, 100) == [datom(4, "age", 31, TX3)]
        assert db.index_range("age", 32, None) == []
        seek = db.seek_datoms("eavt", 5)
        # Bob's name, then the four transactions' :db/txInstant datoms
        assert seek[0] == datom(5, "name", "Bob", TX2)
        assert [d.value[0] for d in seek[1:]] == [TX1, TX2, TX3, TX4]
        rseek = db.rseek_datoms("eavt", 5)
        es = [d.value[0] for d in rseek]
        assert rseek[0] == datom(5, "name", "Bob", TX2)
        assert es == sorted(es, reverse=True) and set(es) == {1, 2, 3, 4, 5}
        with db.history() as h:
            assert sorted(h.datoms("eavt", 5, K("age")), key=repr) == sorted(
                [datom(5, "age", 25, TX2), datom(5, "age", 25, TX4, False)], key=repr)


def test_filter(conn):
    with conn.db() as db:
        seen = []

        def no_age(d):
            seen.append(d)
            return d.value[1] != K("age")

        with db.filter(no_age) as f:
            assert f.is_filtered() and not db.is_filtered()
            assert f.q('[:find ?e :where [?e :age]]') == set()
            assert f.q('[:find ?n :where [?e :name ?n]]') == {("Alice",), ("Bob",)}
            with f.as_of(TX2) as f2:  # derived views keep the predicate
                assert f2.q('[:find ?e :where [?e :age]]') == set()
            with pytest.raises(datalith.Error):
                f.with_([{K("name"): "Carol"}])
        assert seen and all(isinstance(d, Tagged) for d in seen)
        with pytest.raises(TypeError):
            db.filter(42)


def test_with_and_db_with(conn):
    with conn.db() as db:
        r = db.with_([{K("db/id"): "c", K("name"): "Carol"}])
        assert r.tempids["c"] == 6
        with r.db_after_db as after:
            assert after.q('[:find ?e . :where [?e :name "Carol"]]') == 6
        assert db.q('[:find ?e . :where [?e :name "Carol"]]') is None
        with db.db_with([{K("name"): "Dan"}]) as d:
            assert d.q('[:find ?n :where [?e :name ?n]]') == {("Alice",), ("Bob",), ("Dan",)}
    with conn.db() as db:  # nothing was committed
        assert db.q('[:find ?n :where [?e :name ?n]]') == {("Alice",), ("Bob",)}


def test_schema_and_metrics(conn):
    with conn.db() as db:
        s = db.schema()
        assert set(s) == {K("name"), K("age"), K("friend")}
        assert s[K("age")][K("db/index")] is True
        assert s[K("name")][K("db/unique")] == K("db.unique/identity")
        assert K("name") in db.reverse_schema()[K("db.unique/identity")]
        m = db.metrics()
        # 11 schema datoms (name 4, age 4, friend 3) + 4 :db/txInstant +
        # Alice's name, age, friend + Bob's name
        assert m[K("count")] == 19
        assert m[K("per-entity-counts")][4] == 3 and m[K("per-entity-counts")][5] == 1
        # AVET holds the indexed and unique attributes' datoms: at least
        # :name's two and :age's one
        assert 3 <= m[K("avet-count")] < m[K("count")]


def test_tempid():
    a, b = datalith.tempid(), datalith.tempid("db.part/user")
    assert a < -1000000 and b < a
    assert datalith.tempid("db.part/tx") == K("db/current-tx")


def test_filter_from_several_threads(conn):
    """The predicate is called back from whichever thread reads the view."""
    import threading

    with conn.db() as db, db.filter(lambda d: d.value[0] != 5) as f:
        results, errors = [], []

        def work():
            try:
                for _ in range(20):
                    results.append(f.q('[:find ?n :where [?e :name ?n]]'))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len(results) == 80 and all(r == {("Alice",)} for r in results)
