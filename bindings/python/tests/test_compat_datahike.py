"""datalith.compat.datahike: pydatahike's public API over datalith.  The
scenarios are those of pydatahike's own tests and README (lifecycle, JSON
and EDN tx-data, queries with (format, value) inputs, pull, schema,
exceptions, the Database class, time travel), with expectations worked out
by hand."""

import datetime
import json
import time
import uuid

import pytest

import datalith
from datalith.compat.datahike import (DatahikeException, Database, DatabaseSnapshot, create_database,
                                      database, database_exists, datoms, delete_database, edn, entity,
                                      gc_storage, index_range, kw, metrics, pull, pull_many, q,
                                      reverse_schema, schema, seek_datoms, transact)
import datalith.compat.datahike as dh
import datalith.compat.datahike.edn as dh_edn


def cfg(extra=""):
    return '{:store {:backend :memory :id #uuid "%s"}%s}' % (uuid.uuid4(), extra)


def test_public_names():
    for name in ["DatahikeException", "Database", "DatabaseSnapshot", "database", "Keyword",
                 "Symbol", "UUID", "Inst", "keyword", "symbol", "uuid", "inst", "string",
                 "Keywords", "kw", "database_exists", "create_database", "delete_database", "q",
                 "transact", "pull", "pull_many", "entity", "datoms", "seek_datoms", "index_range",
                 "schema", "reverse_schema", "metrics", "gc_storage"]:
        assert name in dh.__all__ and hasattr(dh, name), name
    assert dh_edn is edn


def test_lifecycle():
    c = cfg()
    assert database_exists(c) is False
    create_database(c)
    assert database_exists(c) is True
    delete_database(c)
    assert database_exists(c) is False


def test_json_transact_and_query():
    c = cfg(" :schema-flexibility :read")
    create_database(c)
    try:
        meta = transact(c, json.dumps([{"name": "Alice", "age": 30}, {"name": "Bob", "age": 25}]),
                        input_format="json")
        assert isinstance(meta[":db/txInstant"], datetime.datetime)
        r = q('[:find ?e ?name :where [?e :name ?name] [?e :name "Alice"]]', [("db", c)],
              output_format="json")
        assert r == ["!set", [[1, "Alice"]]]
        assert q("[:find ?e ?n :where [?e :name ?n]]", [("db", c)]) == {(1, "Alice"), (2, "Bob")}
        assert q("[:find ?a . :in $ ?n :where [?e :name ?n] [?e :age ?a]]",
                 [("db", c), ("edn", '"Bob"')]) == 25
        assert q("[:find ?a . :in $ ?n :where [?e :name ?n] [?e :age ?a]]",
                 [("db", c), ("json", '"Alice"')]) == 30
        assert q("[:find ?a . :where [?e :age ?a]]", [("db", c)], output_format="edn") in ("30", "25")
        # results: keywords as ":ns/name" strings
        assert pull(c, "[*]", 1) == {":db/id": 1, ":name": "Alice", ":age": 30}
        assert pull_many(c, "[:name]", [1, 2]) == [{":name": "Alice"}, {":name": "Bob"}]
        e = entity(c, 2)
        assert e[":name"] == "Bob" and e[":age"] == 25
        ds = datoms(c, ":eavt")
        assert [1, ":age", 30, 536870913, True] in ds and [2, ":name", "Bob", 536870913, True] in ds
        assert seek_datoms(c, ":eavt")[0][0] == 1
        # schema on read: no user attributes in the schema
        assert schema(c) == {}
        assert all(":name" not in attrs for attrs in reverse_schema(c).values())
        assert metrics(c)[":count"] == 5  # two names, two ages, one :db/txInstant
    finally:
        delete_database(c)


def test_edn_transact_with_schema_and_keyword_rule():
    c = cfg()
    create_database(c)
    try:
        transact(c, "[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}"
                    " {:db/ident :status :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}"
                    " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one"
                    "  :db/index true}]", input_format="edn")
        assert set(schema(c)) == {":name", ":status", ":age"}
        # JSON: keys become keywords, ":x" strings keywords, "\\:x" a literal string
        transact(c, json.dumps([{"name": "Charlie", "status": ":active", "age": 35},
                                {"name": "\\:colon", "age": 28}]))
        assert q('[:find ?s . :where [?e :name "Charlie"] [?e :status ?s]]', [("db", c)]) == ":active"
        assert q("[:find ?n . :where [?e :age 28] [?e :name ?n]]", [("db", c)]) == ":colon"
        assert [d[2] for d in index_range(c, ":age", 30, 40)] == [35]
    finally:
        delete_database(c)


def test_exceptions():
    c = cfg()
    with pytest.raises(DatahikeException):
        q('[:find ?e :where [?e :name "test"]]', [("db", c)])  # no such database
    create_database(c)
    try:
        with pytest.raises(DatahikeException) as ei:
            transact(c, '[{"age": 3}]')  # schema on write: :age is not defined
        assert "age" in str(ei.value)
        with pytest.raises(DatahikeException):
            q("[:find ?e :where [?e :name]]", [("branch:main", c)])
        with pytest.raises(DatahikeException):
            q("[:find ?e :where", [("db", c)])
        with pytest.raises(DatahikeException):
            gc_storage(c)
    finally:
        delete_database(c)


def test_database_class_and_time_travel():
    with database(backend=":memory", id=str(uuid.uuid4()), ) as db:
        assert isinstance(db, Database) and db.exists()
        db.transact([{kw.DB_IDENT: edn.keyword("name"), kw.DB_VALUE_TYPE: kw.STRING,
                      kw.DB_CARDINALITY: kw.ONE, kw.DB_UNIQUE: kw.UNIQUE_IDENTITY},
                     {"db/ident": ":age", "db/valueType": ":db.type/long",
                      "db/cardinality": ":db.cardinality/one"},
                     {"db/ident": ":note", "db/valueType": kw.STRING, "db/cardinality": kw.ONE}])
        db.transact([{"name": "Alice", "age": 30, "note": edn.string(":not-a-keyword")}])
        time.sleep(0.01)
        t = int(time.time() * 1000)
        time.sleep(0.01)
        db.transact({"name": "Bob", "age": 25})  # one map is a one-map transaction
        db.transact([{"db/id": 4, "age": 31}])  # Alice is entity 4 (after 3 attributes)
        assert db.q("[:find ?n :where [?e :name ?n]]") == {("Alice",), ("Bob",)}
        assert db.q("[:find ?a . :in $ ?n :where [?e :name ?n] [?e :age ?a]]", "Alice") == 31
        # json output: the "!set" wrapper is unwrapped by default
        assert sorted(db.q("[:find ?n :where [?e :name ?n]]", output_format="json")) == [["Alice"], ["Bob"]]
        assert db.q("[:find ?n :where [?e :name ?n]]", output_format="json", unwrap=False)[0] == "!set"
        assert db.pull("[:note]", 4) == {":note": ":not-a-keyword"}
        past = db.as_of(t)
        assert isinstance(past, DatabaseSnapshot)
        assert past.q("[:find ?n :where [?e :name ?n]]") == {("Alice",)}
        assert past.pull("[:age]", 4) == {":age": 30}
        assert db.since(t).q("[:find ?n :where [?e :name ?n]]") == {("Bob",)}
        assert db.history.q("[:find ?a ?op :where [4 :age ?a _ ?op]]") == {
            (30, True), (30, False), (31, True)}
        # two databases: $ now, $2 then
        assert db.q("[:find ?a ?b :in $ $2 :where [$ ?e :age ?a] [$2 ?e :age ?b] [?e :name \"Alice\"]]",
                    past) == {(31, 30)}
        assert db.entity(5)[":name"] == "Bob"
        assert [d[0] for d in db.datoms(":avet")] != []
        with pytest.raises(DatahikeException):
            db.branches()
        config = db.config
    assert not database_exists(config)


def test_edn_helpers():
    assert edn.keyword("name", "person").to_edn() == ":person/name"
    assert edn.symbol("inc").to_edn() == "inc"
    assert edn.uuid('#uuid "550e8400-e29b-41d4-a716-446655440000"').value == \
        "550e8400-e29b-41d4-a716-446655440000"
    assert edn.inst("2024-01-01T00:00:00Z").to_edn() == '#inst "2024-01-01T00:00:00Z"'
    assert edn.string(":x") == "<STRING>:x"
    assert kw.MANY == ":db.cardinality/many"
    # the conversion turns them into engine values
    conv = dh._to_value({"a": edn.keyword("b"), "u": edn.uuid("550e8400-e29b-41d4-a716-446655440000"),
                         "t": edn.inst("2024-01-01T00:00:00Z"), "s": edn.string(":x"), "k": ":y",
                         "e": "\\:z", "sym": edn.symbol("f", "my")})
    K = datalith.Keyword
    assert conv == {K("a"): K("b"), K("u"): uuid.UUID("550e8400-e29b-41d4-a716-446655440000"),
                    K("t"): datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
                    K("s"): ":x", K("k"): K("y"), K("e"): ":z", K("sym"): datalith.Symbol("my/f")}


def test_pydatahike_script_runs_after_changing_the_import():
    """pydatahike's README/low-level example, with only the import changed."""
    from datalith.compat.datahike import create_database, delete_database, q, transact  # noqa: F811
    config = '{:store {:backend :mem :id "pydatahike-compat-%s"} :schema-flexibility :read}' % uuid.uuid4()
    create_database(config)
    transact(config, '[{"name": "Alice"}]')
    result = q("[:find ?name :where [?e :name ?name]]", [("db", config)])
    assert result == {("Alice",)}
    assert q("[:find ?a . :where [?e :name ?a]]", [("db", config)]) == "Alice"
    delete_database(config)
