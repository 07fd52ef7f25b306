"""The Pythonic database layer (datalith.api)."""

import uuid

import pytest

import datalith
from datalith import Keyword as K


@pytest.fixture
def cfg():
    store_id = "py-api-" + uuid.uuid4().hex
    text = '{:store {:backend :memory :id "%s"} :schema-flexibility :write}' % store_id
    yield text
    if datalith.database_exists(text):
        datalith.delete_database(text)


def test_edn_config_flow(cfg):
    assert datalith.database_exists(cfg) is False
    completed = datalith.create_database(cfg)
    assert completed[K("schema-flexibility")] == K("write")
    with datalith.connect(cfg) as conn:
        conn.transact([{K("db/ident"): K("name"), K("db/valueType"): K("db.type/string"),
                        K("db/cardinality"): K("db.cardinality/one")}])
        report = conn.transact([{K("db/id"): "x", K("name"): "Ada"}])
        eid = report[K("tempids")]["x"]
        with conn.db() as db:
            [d] = db.datoms("eavt", eid, K("name"))
            assert d.value[2] == "Ada"
            assert K("name") in db.schema()
            assert K("name") in db.reverse_schema()[K("db/ident")]
        assert db.closed and "closed" in repr(db)
    assert conn.closed
    with pytest.raises(ValueError, match="already released"):
        conn.db()
    conn.close()  # idempotent


def test_dict_config_with_plain_strings():
    cfg = {"store": {"backend": "memory", "id": "py-api-" + uuid.uuid4().hex}}
    datalith.create_database(cfg)
    try:
        assert datalith.database_exists(cfg)
        conn = datalith.connect(cfg)
        db = conn.db()
        assert db.datoms("eavt", 1) is not None
        del db, conn  # released by the garbage collector
    finally:
        datalith.delete_database(cfg)
    assert not datalith.database_exists(cfg)


def test_config_errors():
    with pytest.raises(TypeError, match="dict or EDN"):
        datalith.connect(42)
    with pytest.raises(datalith.ParseError):
        datalith.connect("{:store")
    with pytest.raises(datalith.NotFoundError):
        datalith.connect({"store": {"backend": "memory", "id": "nope-" + uuid.uuid4().hex}})
