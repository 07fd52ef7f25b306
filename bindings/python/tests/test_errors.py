"""Bad input of every kind gives a clear exception, never a crash."""

import datetime
import os
import sys

import pytest

import datalith
from datalith import Keyword, cbor, edn


@pytest.mark.parametrize("text,line,column", [
    ("{:a 1", 1, 6),             # unclosed map: reported at the end of input
    ("[1 2\n 3", 2, 3),
    ("[1 2]\n\n  ]", 3, 3),      # stray closer
    ('"abc', 1, 1),              # unterminated string
    ("{:a 1 :a 2}", 1, 1),       # duplicate key: the engine points at the map
    ("#{1 1}", 1, 1),            # duplicate element: the engine points at the set
    ("", None, None),
])
def test_malformed_edn_has_position(text, line, column):
    with pytest.raises(datalith.ParseError) as ei:
        edn.loads(text)
    e = ei.value
    assert isinstance(e, datalith.Error) and isinstance(e, ValueError)
    assert e.code == -3 and e.code_name == "DATALITH_EPARSE"
    assert e.message and e.message in str(e)
    if line is not None:
        assert (e.line, e.column) == (line, column), e.message


def test_parse_error_position_in_message():
    with pytest.raises(datalith.ParseError) as ei:
        edn.loads("[1\n 2\n 3 }")
    assert ei.value.line == 3 and ei.value.column == 4
    assert "line 3" in ei.value.message


def test_too_deep_edn_is_limit_error():
    with pytest.raises(datalith.LimitError) as ei:
        edn.loads("[" * 100000 + "]" * 100000)
    assert ei.value.code == -4 and ei.value.code_name == "DATALITH_ELIMIT"


def test_deep_but_allowed_edn_round_trips():
    text = "[" * 400 + "]" * 400
    v = edn.loads(text)
    assert edn.dumps(v) == text


def test_too_deep_python_value_is_limit_error():
    v = []
    for _ in range(10000):
        v = [v]
    with pytest.raises(datalith.LimitError):
        edn.dumps(v)


def test_cyclic_python_value_is_limit_error():
    v = []
    v.append(v)
    with pytest.raises(datalith.LimitError):
        edn.dumps(v)


class Opaque:
    pass


@pytest.mark.parametrize("value,needle", [
    (Opaque(), "Opaque"),
    ([1, {2: object()}], "object"),
    (datetime.date(2020, 1, 1), "datetime.date"),
    (1 + 2j, "complex"),
    (print, "builtin_function_or_method"),
])
def test_unsupported_python_types_raise_type_error(value, needle):
    with pytest.raises(TypeError) as ei:
        edn.dumps(value)
    assert needle in str(ei.value) and "EDN" in str(ei.value)


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        edn.dumps(datetime.datetime(2020, 1, 1))


def test_non_finite_decimal_is_refused():
    import decimal
    with pytest.raises(ValueError, match="finite"):
        edn.dumps(decimal.Decimal("NaN"))


def test_lone_surrogate_is_refused():
    with pytest.raises(ValueError, match="surrogate"):
        edn.dumps("a\ud800b")


def test_unhashable_key_from_python_types_is_refused():
    # {1 :a 1.0 :b} is a valid EDN map, but a dict cannot hold both keys
    with pytest.raises(ValueError, match="equals another key"):
        edn.loads("{1 :a 1.0 :b}")


def test_loads_wrong_argument_types():
    with pytest.raises(TypeError):
        edn.loads(42)
    with pytest.raises(TypeError):
        datalith.json_loads(None)
    with pytest.raises(TypeError):
        cbor.loads("text")
    with pytest.raises(TypeError):
        datalith.value_convert(b"1", "edn", datalith.FORMAT_EDN)


def test_unknown_format_is_invalid_argument():
    with pytest.raises(datalith.InvalidArgumentError) as ei:
        datalith.value_convert(b"1", 99, datalith.FORMAT_EDN)
    assert ei.value.code == -2 and "99" in ei.value.message


@pytest.mark.parametrize("data", [
    b"",                      # nothing
    b"\x82\x01",              # array(2) with one item
    b"\x7f\x61",              # unterminated indefinite text
    b"\x61",                  # text(1) with no byte
    b"\xd8\x25\x41\x00",      # tag 37 with 1 byte
    b"\xd9\x01\x02\x01",      # tag 258 (set) on an int
    b"\xc4\x82\x01",          # tag 4 short
    b"\xdb\x00\x00\x00\x00\x00\x00\x12\x34\x01",  # unknown tag
    b"\x01\x02",              # trailing bytes
    b"\xff",                  # stray break
    b"\xf7",                  # undefined
    b"\x62\xc3\x28",          # invalid UTF-8
    b"\x9b\xff\xff\xff\xff\xff\xff\xff\xff",  # absurd length
    b"\xa2\x01\x02\x01\x03",  # duplicate key
])
def test_malformed_cbor(data):
    """Both decoders refuse: the engine and the Python one."""
    with pytest.raises(datalith.ParseError):
        cbor.loads(data)
    with pytest.raises(datalith.ParseError):
        datalith.value_convert(data, datalith.FORMAT_CBOR, datalith.FORMAT_EDN)


def test_deep_cbor_is_limit_error():
    with pytest.raises(datalith.LimitError):
        cbor.loads(b"\x81" * 5000 + b"\x01")


def test_exception_hierarchy_covers_every_status(root):
    sys.path.insert(0, os.path.join(root, "codegen"))
    try:
        import spec as specmod
        spec = specmod.load(os.path.join(root, "spec", "api.edn"))
    finally:
        sys.path.pop(0)
    codes = {e["value"]: e["c"] for e in spec.errors if e["value"] != 0}
    assert set(datalith._errors.ERRORS) == set(codes)
    for code, cls in datalith._errors.ERRORS.items():
        assert issubclass(cls, datalith.Error)
        assert cls.code == code and cls.code_name == codes[code]
        assert getattr(datalith, cls.__name__) is cls
    assert issubclass(datalith.OutOfMemoryError, MemoryError)
    assert issubclass(datalith.NotFoundError, LookupError)


def test_every_implemented_op_has_a_function(root):
    sys.path.insert(0, os.path.join(root, "codegen"))
    try:
        import spec as specmod
        spec = specmod.load(os.path.join(root, "spec", "api.edn"))
    finally:
        sys.path.pop(0)
    want = {o.names["python"] for o in spec.ops if o.implemented and o.in_target("python")}
    assert set(datalith._generated.__all__) == want
    for name in want:
        fn = getattr(datalith._generated, name)
        assert fn.__doc__ and fn.__doc__.strip()
    # implemented ops the generator leaves out (they take a callback) are
    # hand-bound in the Pythonic layer
    hand = {"filter": datalith.Db.filter, "listen": datalith.Connection.listen,
            "unlisten": datalith.Connection.unlisten}
    left = {o.names["python"] for o in spec.ops if o.implemented and not o.in_target("python")}
    assert left <= set(hand), "implemented ops with no Python binding: %s" % (left - set(hand))


def test_keyword_error_free_usage():
    # a Keyword is accepted wherever text is: as EDN input text it is parsed
    assert edn.loads(Keyword("a")) == Keyword("a")
