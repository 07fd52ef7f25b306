"""The C fast path of cbor.loads (datalith/_cbor_c.c) against the pure-Python
reference decoder (cbor._loads_py): for every input both must give the same
value with the same Python types, or the same exception and message.

The values below cover every type of the docs/values.md mapping; the inputs
are their encodings (by cbor.dumps and by the engine), hand-made CBOR the
engine never writes (indefinite lengths, half floats, non-minimal heads),
malformed bytes, and seeded random mutations of valid encodings.
"""

import datetime as dt
import decimal
import random
import uuid

import pytest

import datalith
from datalith import Char, EdnList, FrozenMap, Keyword, Symbol, Tagged, cbor

_c = pytest.importorskip("datalith._cbor_c")
if cbor._fast is None:  # DATALITH_PURE_PYTHON_CBOR=1
    pytest.skip("the C decoder is turned off", allow_module_level=True)


def fast(b):
    """The C decoder alone: its value, or the fallback sentinel."""
    return _c.loads(b)


def outcome(f, b):
    try:
        return ("ok", f(b))
    except Exception as e:  # noqa: BLE001 - comparing whatever is raised
        return ("err", type(e), str(e))


def typed(v):
    """v with the type of every node, so 1 == 1.0 == True and list == tuple
    do not hide a difference."""
    if isinstance(v, (set, frozenset)):
        return (type(v), sorted((typed(x) for x in v), key=repr))
    if isinstance(v, dict) or isinstance(v, FrozenMap):
        return (type(v), sorted(((typed(k), typed(x)) for k, x in v.items()), key=repr))
    if isinstance(v, (list, tuple)):
        return (type(v), [typed(x) for x in v])
    if isinstance(v, float) and v != v:
        return (float, "nan")
    return (type(v), v)


def same(b):
    want = outcome(cbor._loads_py, b)
    got = outcome(cbor.loads, b)
    if want[0] == "ok":
        assert got[0] == "ok", (b, got)
        assert typed(got[1]) == typed(want[1]), b
    else:
        assert got == want, b


VALUES = [
    None, True, False, 0, 1, 23, 24, 255, 256, 65535, 65536, 2**32, 2**63 - 1, 2**64 - 1, 2**64, 2**100,
    -1, -24, -25, -256, -2**63, -2**63 - 1, -2**100, 0.0, -0.0, 1.5, 1e300, float("inf"),
    "", "a", "x" * 23, "x" * 24, "y" * 300, "ünï©ødé ☃ 𝄞", b"", b"\x00\xff" * 40,
    Keyword("a"), Keyword("ns/name"), Keyword("db.type/string"), Symbol("?e"), Symbol("ns/sym"),
    Char("c"), Char("☃"), uuid.UUID("12345678-1234-5678-1234-567812345678"),
    dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
    dt.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=dt.timezone.utc),
    decimal.Decimal("3.14"), decimal.Decimal("-1E+5"), Tagged(Symbol("my/tag"), [1, "two"]),
    EdnList([1, Keyword("k"), EdnList([])]),
    [], [1, 2, 3], list(range(30)), [[1, [2, [3]]]], {}, {Keyword("a"): 1, "b": [2]},
    {Keyword("db/id"): 1, Keyword("name"): "n", Keyword("tags"): {Keyword("t"), Keyword("u")}},
    set(), {1, 2, 3}, {(1, "a"), (2, "b")}, {frozenset({1}), frozenset()},
    {(1, 2): "tuple key", FrozenMap({Keyword("k"): 1}): "map key"},
    [{Keyword("a"): {Keyword("b"): [{Keyword("c"): {1, 2}}]}}],
]


@pytest.mark.parametrize("v", VALUES, ids=lambda v: repr(v)[:40])
def test_values_decode_the_same(v):
    same(cbor.dumps(v))


def test_the_fast_path_is_taken_for_engine_output():
    # Not a timing test: the C decoder must answer (not fall back) for what
    # the engine writes, or it would be dead code.
    for v in VALUES:
        b = datalith.value_convert(cbor.dumps(v), datalith.FORMAT_CBOR, datalith.FORMAT_CBOR)
        r = fast(b)
        assert r is not cbor._FALLBACK, v
        assert typed(r) == typed(cbor._loads_py(b))


def test_engine_results():
    cfg = {"store": {"backend": Keyword("memory"), "id": "cbor-c-test"}}
    datalith.create_database(cfg)
    try:
        with datalith.connect(cfg) as conn:
            conn.transact([{Keyword("db/ident"): Keyword("name"),
                            Keyword("db/valueType"): Keyword("db.type/string"),
                            Keyword("db/cardinality"): Keyword("db.cardinality/one")}])
            conn.transact([{Keyword("name"): "n%d" % i} for i in range(100)])
            with conn.db() as db:
                res = db.q("[:find ?e ?n :where [?e :name ?n]]")
                assert type(res) is set and len(res) == 100
                assert all(type(r) is tuple and type(r[1]) is str for r in res)
                assert {r[1] for r in res} == {"n%d" % i for i in range(100)}
    finally:
        datalith.delete_database(cfg)


HAND_MADE = [
    b"\x9f\x01\x02\xff",                 # indefinite array
    b"\xbf\x61a\x01\xff",                # indefinite map
    b"\x7f\x61a\x61b\xff",               # indefinite text
    b"\x5f\x41a\xff",                    # indefinite bytes
    b"\xf9\x3c\x00", b"\xf9\x7c\x00", b"\xf9\x00\x01", b"\xf9\xfc\x00", b"\xf9\x7e\x00",  # half floats
    b"\xfa\x3f\xc0\x00\x00",             # single float
    b"\x18\x05", b"\x19\x00\x05", b"\x1a\x00\x00\x00\x05", b"\x1b" + b"\x00" * 7 + b"\x05",  # non-minimal
    b"\x3b\xff\xff\xff\xff\xff\xff\xff\xff",  # -2**64
    b"\xd9\xd9\xf7\x01",                 # self-describing tag
    b"\xd8\x27\x62:a", b"\xd8\x27\x61?",  # keyword, symbol
]

MALFORMED = [
    b"", b"\x18", b"\x19\x01", b"\x1c", b"\x62a", b"\x82\x01", b"\xa1\x01", b"\x01\x02",
    b"\xff", b"\xf7", b"\xf8\x20", b"\x62\xff\xfe", b"\xd8\x27\x01", b"\xd8\x27\x60", b"\xd8\x27\x61:",
    b"\xd9\x01\x02\x01", b"\xd9\x01\x02\x82\x01\x01",      # set: not an array; duplicate elements
    b"\xd9\x01\x02\x83\x01\xf9\x3c\x00\xf5",              # set of 1, 1.0, True (equal in Python)
    b"\xa2\x01\x01\x01\x02",                               # duplicate map key
    b"\xa2\x01\x01\xf5\x02",                               # keys 1 and True
    b"\xd8\x25\x41\x00", b"\xc2\x01", b"\xc4\x01", b"\xc4\x82\x01\x61a",
    b"\xc1\x61a", b"\xd9\x03\xe9\xa1\x02\x01", b"\xda\x44\x54\x4c\x02\x1a\x00\x11\x00\x00",
    b"\xda\x44\x54\x4c\x01\x01", b"\xd8\x1b\x82\x01\x02", b"\xd8\x63\x01",
    b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff", b"\xbb\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\x81" * 600 + b"\x01",                               # deeper than MAX_DEPTH
    b"\xc1\x1b\x7f\xff\xff\xff\xff\xff\xff\xff",           # inst out of datetime's range
]


@pytest.mark.parametrize("b", HAND_MADE + MALFORMED, ids=lambda b: b[:12].hex())
def test_hand_made_and_malformed_inputs_agree(b):
    same(b)


def test_random_mutations_agree():
    rng = random.Random(1234)
    seeds = [cbor.dumps(v) for v in VALUES]
    for _ in range(4000):
        b = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(3)
            if op == 0 and b:
                b[rng.randrange(len(b))] = rng.randrange(256)
            elif op == 1 and b:
                del b[rng.randrange(len(b)):][:rng.randint(1, 4)]
            else:
                b.insert(rng.randrange(len(b) + 1), rng.randrange(256))
        same(bytes(b))


def test_fallback_is_not_a_value():
    # Malformed input makes the C decoder give up (never raise, never guess).
    assert fast(b"\x82\x01") is cbor._FALLBACK
    assert fast(b"\x01\x02") is cbor._FALLBACK
    with pytest.raises(datalith.ParseError):
        cbor.loads(b"\x82\x01")


# ------------------------------------------------------------------ dumps

class _Str(str):
    pass


def _cyclic():
    a = []
    a.append(a)
    return a


ENCODE_ODD = [
    2**63, -2**63 - 1, 2**64, "lone \ud800 surrogate", [1, "\udfff"], {Keyword("k"): "\ud83d"},
    _Str("subclass"), {1: _Str("x")}, _cyclic(), [[[[1]]]] * 3, {"d": {"d": {"d": {}}}},
    dt.date(2024, 1, 1), object(), 1j, [1, object()], {frozenset({1, 2}): (3, 4)},
    datalith.FrozenMap({1: 2}), bytearray(b"ab"), memoryview(b"cd"), True, [True, False, None],
]


def _deep(n):
    v = 1
    for _ in range(n):
        v = [v]
    return v


@pytest.mark.parametrize("v", VALUES + ENCODE_ODD + [_deep(511), _deep(512), _deep(600)],
                         ids=lambda v: repr(v)[:40])
def test_dumps_writes_the_same_bytes(v):
    want = outcome(cbor._dumps_py, v)
    got = outcome(cbor.dumps, v)
    assert got == want


def test_dumps_fast_path_is_taken():
    for v in [None, True, 1, -1, 2**63 - 1, -2**63, 1.5, "s", Keyword("k"), Symbol("?s"),
              [1, (2,)], {Keyword("a"): {1, 2}}, frozenset({"x"}), list(range(10000))]:
        b = _c.dumps(v)
        assert b is not cbor._FALLBACK, v
        assert b == cbor._dumps_py(v)
