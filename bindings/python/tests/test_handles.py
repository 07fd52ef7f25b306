"""Handles returned by the generated glue: released automatically by the
garbage collector (from any thread), explicit release detaches the
automatic one, errors map to the spec's exception classes."""

import gc
import threading
import uuid

import pytest

import datalith
from datalith import Keyword as K
from datalith import _generated as g
from datalith._native import ffi

pytestmark = pytest.mark.skipif(not hasattr(g, "connect"),
                                reason="connect is not an implemented op in spec/api.edn yet")


@pytest.fixture
def cfg():
    c = {K("store"): {K("backend"): K("memory"), K("id"): "py-handles-" + uuid.uuid4().hex},
         K("schema-flexibility"): K("write")}
    g.create_database(c)
    yield c
    g.delete_database(c)


SCHEMA = [{K("db/ident"): K("name"), K("db/valueType"): K("db.type/string"),
           K("db/cardinality"): K("db.cardinality/one")}]


def test_lifecycle_and_values(cfg):
    assert g.database_exists(cfg) is True
    conn = g.connect(cfg)
    report = g.transact(conn, SCHEMA + [{K("db/id"): "a", K("name"): "Alice"}])
    assert report[K("tempids")]["a"] == 2
    d = g.db(conn)
    [datom] = g.datoms(d, {K("index"): K("eavt"), K("components"): [2, K("name")]})
    assert datom.tag == datalith.Symbol("datahike/Datom")
    assert datom.value[:3] == [2, K("name"), "Alice"] and datom.value[4] is True
    assert g.schema(d)[K("name")][K("db/valueType")] == K("db.type/string")
    g.release_db(d)
    g.release(conn)


def test_errors_map_to_classes(cfg):
    conn = g.connect(cfg)
    with pytest.raises(datalith.SchemaError) as ei:
        g.transact(conn, [{K("age"): 3}])
    assert ei.value.code_name == "DATALITH_ESCHEMA" and ":age" in ei.value.message
    with pytest.raises(datalith.ExistsError):
        g.create_database(cfg)
    with pytest.raises(TypeError):
        g.transact(conn, [{K("name"): object()}])
    with pytest.raises(TypeError, match="handle"):
        g.db("not a handle")


class Holder:
    """What the Pythonic layer will look like: an object with `_ptr`."""

    def __init__(self, ptr):
        self._ptr = ptr


def test_explicit_release_through_holder(cfg):
    h = Holder(g.connect(cfg))
    g.release(h)
    assert h._ptr == ffi.NULL
    with pytest.raises(ValueError, match="already released"):
        g.db(h)


def test_gc_releases_from_other_threads(cfg):
    conn = g.connect(cfg)
    g.transact(conn, SCHEMA)
    errors = []

    def work():
        try:
            for _ in range(200):
                d = g.db(conn)
                assert K("name") in g.schema(d)
                del d  # released by ffi.gc, on this thread
                c2 = g.connect(cfg)  # shared, refcounted connection
                del c2
        except BaseException as e:  # noqa: B902
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    # snapshots created here are collected on whatever thread gc runs
    keep = [g.db(conn) for _ in range(50)]
    for t in threads:
        t.join()
    del keep
    gc.collect()
    assert not errors, errors[:3]
    assert K("name") in g.schema(g.db(conn))
