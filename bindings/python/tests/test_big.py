"""A big value survives Python -> CBOR -> engine -> EDN -> engine -> CBOR
-> Python unchanged."""

import datetime
import decimal
import uuid

from datalith import Keyword, cbor, edn

UTC = datetime.timezone.utc


def make_big(n):
    return [{Keyword("db/id"): i,
             Keyword("person/name"): "name-%d" % i,
             Keyword("person/age"): i % 97,
             Keyword("person/score"): i / 7.0,
             Keyword("person/balance"): decimal.Decimal("%d.%02d" % (i, i % 100)),
             Keyword("person/id"): uuid.UUID(int=i * 7919),
             Keyword("person/born"): datetime.datetime(1970, 1, 1, tzinfo=UTC)
             + datetime.timedelta(milliseconds=i * 86400123),
             Keyword("person/tags"): {Keyword("tag/t%d" % (i % 10)), "s%d" % (i % 3)},
             Keyword("person/big"): 10 ** 30 + i,
             Keyword("person/blob"): bytes([i % 256]) * (i % 5)}
            for i in range(n)]


def test_big_value_round_trip():
    v = make_big(10000)
    text = edn.dumps(v)
    assert text.startswith("[{:db/id 0 ")
    assert text.count(":person/name") == 10000
    assert edn.loads(text) == v


def test_big_string_and_bytes():
    s = "é" * 1_000_000
    b = bytes(range(256)) * 4096
    v = [s, b]
    assert cbor.loads(cbor.dumps(v)) == v
    assert edn.loads(edn.dumps(v)) == v
