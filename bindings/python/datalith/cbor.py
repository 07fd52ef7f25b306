"""CBOR (RFC 8949) encoder and decoder for datalith values.

The reference encoder and decoder are pure Python; dumps() and loads() first
try the C codec datalith._cbor_c (built with the package; see the end of
this file), which falls back to the Python code for anything unusual.

Values cross the C boundary as CBOR bytes; this module converts between
them and native Python values (see datalith._values for the type mapping).
The tags are those of docs/values.md ("CBOR") and core/value/cbor.c:

    bigint   tag 2 / 3 bignum (ints beyond int64; int64 range uses major 0/1)
    bigdec   tag 4 [exponent, mantissa]
    keyword  tag 39 text ":ns/name"     symbol  tag 39 text "ns/name"
    uuid     tag 37 bytes(16)           set     tag 258 array
    inst     tag 1 integer seconds, or tag 1001 {1: seconds, -3: ms 0..999}
    list     tag 0x44544C01 array       char    tag 0x44544C02 code point
    tagged   tag 27 [text "ns/name", value]

The encoder writes definite lengths, shortest heads and float64 doubles,
as the engine's writer does; the decoder also reads indefinite lengths and
half/single floats.  dumps() raises TypeError for a value it cannot
represent and datalith.LimitError past MAX_DEPTH levels of nesting (which
also catches cyclic containers); loads() raises datalith.ParseError for
malformed input.
"""

import datetime as _dt
import decimal as _decimal
import struct as _struct
import uuid as _uuid
from collections.abc import Mapping as _Mapping
from typing import Any

from ._values import Char, EdnList, FrozenMap, Keyword, Symbol, Tagged

__all__ = ["dumps", "loads", "MAX_DEPTH"]

MAX_DEPTH = 512  # the engine's default nesting limit for readers

TAG_EPOCH, TAG_BIGPOS, TAG_BIGNEG, TAG_DECIMAL = 1, 2, 3, 4
TAG_OBJECT, TAG_UUID, TAG_IDENT, TAG_SET = 27, 37, 39, 258
TAG_EXTTIME, TAG_SELFDESC = 1001, 55799
TAG_LIST, TAG_CHAR = 0x44544C01, 0x44544C02

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MIN64, _MAX64 = -(1 << 63), (1 << 63) - 1

_pack_B = _struct.Struct(">BB").pack
_pack_H = _struct.Struct(">BH").pack
_pack_I = _struct.Struct(">BI").pack
_pack_Q = _struct.Struct(">BQ").pack
_pack_d = _struct.Struct(">Bd").pack


def _head(major: int, n: int) -> bytes:
    m = major << 5
    if n < 24:
        return bytes((m | n,))
    if n < 0x100:
        return _pack_B(m | 24, n)
    if n < 0x10000:
        return _pack_H(m | 25, n)
    if n < 0x100000000:
        return _pack_I(m | 26, n)
    return _pack_Q(m | 27, n)


def _limit_error(msg: str) -> Exception:
    from ._errors import LimitError
    return LimitError(msg)


def _parse_error(msg: str, offset: int) -> Exception:
    from ._errors import ParseError
    return ParseError("%s at byte %d" % (msg, offset), offset=offset)


def _enc_int(out: bytearray, v: int) -> None:
    if 0 <= v <= _MAX64:
        out += _head(0, v)
    elif _MIN64 <= v < 0:
        out += _head(1, -1 - v)
    else:
        mag = v if v >= 0 else -1 - v
        out += _head(6, TAG_BIGPOS if v >= 0 else TAG_BIGNEG)
        b = mag.to_bytes((mag.bit_length() + 7) // 8, "big")
        out += _head(2, len(b))
        out += b


def _enc_text(out: bytearray, s: str) -> None:
    try:
        b = s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError("string is not valid Unicode (lone surrogate at index %d): %r"
                         % (e.start, s[:40])) from None
    out += _head(3, len(b))
    out += b


def _enc_decimal(out: bytearray, d: _decimal.Decimal) -> None:
    if not d.is_finite():
        raise ValueError("cannot encode %s: EDN bigdecs are finite" % d)
    sign, digits, exp = d.as_tuple()
    m = int("".join(map(str, digits)) or "0")
    out += b"\xc4\x82"  # tag 4, array(2)
    _enc_int(out, int(exp))
    _enc_int(out, -m if sign else m)


def _enc_inst(out: bytearray, t: _dt.datetime) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("cannot encode a naive datetime (%s): an inst is an instant; "
                         "give it a timezone, e.g. tzinfo=datetime.timezone.utc" % t)
    d = t - _EPOCH
    ms = (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000
    s, f = divmod(ms, 1000)
    if f == 0:
        out += b"\xc1"  # tag 1
        _enc_int(out, s)
    else:
        out += b"\xd9\x03\xe9\xa2\x01"  # tag 1001, map(2), key 1
        _enc_int(out, s)
        out += b"\x22"  # key -3
        _enc_int(out, f)


def _describe(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _enc(out: bytearray, v: Any, depth: int) -> None:
    t = type(v)
    if t is str:
        _enc_text(out, v)
    elif t is int:
        _enc_int(out, v)
    elif v is None:
        out += b"\xf6"
    elif t is bool:
        out += b"\xf5" if v else b"\xf4"
    elif t is float:
        out += _pack_d(0xFB, v)
    elif t is Keyword:
        out += b"\xd8\x27"
        _enc_text(out, v)
    elif t is list or t is tuple:
        if depth >= MAX_DEPTH:
            raise _limit_error("value nested deeper than %d levels" % MAX_DEPTH)
        out += _head(4, len(v))
        for x in v:
            _enc(out, x, depth + 1)
    elif t is dict:
        if depth >= MAX_DEPTH:
            raise _limit_error("value nested deeper than %d levels" % MAX_DEPTH)
        out += _head(5, len(v))
        for k, x in v.items():
            _enc(out, k, depth + 1)
            _enc(out, x, depth + 1)
    else:
        _enc_other(out, v, t, depth)


def _enc_other(out: bytearray, v: Any, t: type, depth: int) -> None:
    if t is Symbol:
        out += b"\xd8\x27"
        _enc_text(out, v)
    elif t is Char:
        out += b"\xda\x44\x54\x4c\x02"
        out += _head(0, ord(v))
    elif t is EdnList:
        if depth >= MAX_DEPTH:
            raise _limit_error("value nested deeper than %d levels" % MAX_DEPTH)
        out += b"\xda\x44\x54\x4c\x01"
        out += _head(4, len(v))
        for x in v:
            _enc(out, x, depth + 1)
    elif isinstance(v, (set, frozenset)):
        if depth >= MAX_DEPTH:
            raise _limit_error("value nested deeper than %d levels" % MAX_DEPTH)
        out += b"\xd9\x01\x02"
        out += _head(4, len(v))
        for x in v:
            _enc(out, x, depth + 1)
    elif isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        out += _head(2, len(b))
        out += b
    elif isinstance(v, _uuid.UUID):
        out += b"\xd8\x25\x50"
        out += v.bytes
    elif isinstance(v, _dt.datetime):
        _enc_inst(out, v)
    elif isinstance(v, _decimal.Decimal):
        _enc_decimal(out, v)
    elif t is Tagged:
        if depth >= MAX_DEPTH:
            raise _limit_error("value nested deeper than %d levels" % MAX_DEPTH)
        out += b"\xd8\x1b\x82"
        _enc_text(out, v.tag.full)
        _enc(out, v.value, depth + 1)
    elif isinstance(v, bool):
        out += b"\xf5" if v else b"\xf4"
    elif isinstance(v, (Keyword, Symbol, Char)):  # subclasses of ours
        _enc_other(out, v, (Keyword if isinstance(v, Keyword) else
                            Symbol if isinstance(v, Symbol) else Char), depth)
    elif isinstance(v, str):
        _enc_text(out, str(v))
    elif isinstance(v, int):
        _enc_int(out, int(v))
    elif isinstance(v, float):
        out += _pack_d(0xFB, float(v))
    elif isinstance(v, (list, tuple)):
        _enc(out, list(v), depth)
    elif isinstance(v, _Mapping):
        _enc(out, dict(v.items()), depth)
    elif isinstance(v, _dt.date):
        raise TypeError("cannot encode a datetime.date (%s) as an EDN value: use a "
                        "timezone-aware datetime.datetime for an inst" % v)
    else:
        raise TypeError("cannot encode a value of type %s.%s as an EDN value: %s "
                        "(supported: None, bool, int, float, str, bytes, Decimal, UUID, "
                        "aware datetime, list, tuple, dict, set, frozenset, Keyword, "
                        "Symbol, Char, Tagged, EdnList)"
                        % (t.__module__, t.__qualname__, _describe(v)))


def dumps(value: Any) -> bytes:
    """Encode a native Python value as CBOR bytes."""
    if _fast_dumps is not None:
        b = _fast_dumps(value)
        if b is not _FALLBACK:
            return b
    return _dumps_py(value)


def _dumps_py(value: Any) -> bytes:
    """dumps() by the pure-Python encoder alone (the reference)."""
    out = bytearray()
    _enc(out, value, 0)
    return bytes(out)


# ----------------------------------------------------------------- decoding

_unpack_d = _struct.Struct(">d").unpack_from
_unpack_f = _struct.Struct(">f").unpack_from
_unpack_e = _struct.Struct(">e").unpack_from
_unpack_I = _struct.Struct(">I").unpack_from


# Decoded tag 39 texts (":a", "?e") -> their interned Keyword/Symbol; bounded.
_IDENTS: dict = {}
_IDENTS_MAX = 65536


class _Dec:
    __slots__ = ("b", "n")

    def __init__(self, b: bytes) -> None:
        self.b = b
        self.n = len(b)

    def need(self, pos: int, k: int) -> None:
        if pos + k > self.n:
            raise _parse_error("unexpected end of input", pos)

    def arg(self, ai: int, pos: int, at: int):  # -> (value, pos)
        if ai < 24:
            return ai, pos
        b = self.b
        if ai == 24:
            self.need(pos, 1)
            return b[pos], pos + 1
        if ai == 25:
            self.need(pos, 2)
            return int.from_bytes(b[pos:pos + 2], "big"), pos + 2
        if ai == 26:
            self.need(pos, 4)
            return int.from_bytes(b[pos:pos + 4], "big"), pos + 4
        if ai == 27:
            self.need(pos, 8)
            return int.from_bytes(b[pos:pos + 8], "big"), pos + 8
        raise _parse_error("reserved additional information %d" % ai, at)

    def chunks(self, major: int, pos: int, at: int):  # indefinite string
        parts = []
        b = self.b
        while True:
            self.need(pos, 1)
            ib = b[pos]
            if ib == 0xFF:
                return b"".join(parts), pos + 1
            if ib >> 5 != major or (ib & 31) == 31:
                raise _parse_error("bad chunk in an indefinite-length string", pos)
            n, p = self.arg(ib & 31, pos + 1, pos)
            self.need(p, n)
            parts.append(b[p:p + n])
            pos = p + n

    def item(self, pos: int, depth: int, key: bool):  # -> (value, pos)
        b = self.b
        if pos >= self.n:
            raise _parse_error("unexpected end of input", pos)
        ib = b[pos]
        # Fast paths for the commonest items: small ints, short text and
        # keywords already seen (the general code below handles the rest).
        if ib < 0x1B:
            if ib < 24:
                return ib, pos + 1
            if ib == 24:
                if pos + 2 <= self.n:
                    return b[pos + 1], pos + 2
            elif ib == 25:
                if pos + 3 <= self.n:
                    return (b[pos + 1] << 8) | b[pos + 2], pos + 3
            elif pos + 5 <= self.n:
                return _unpack_I(b, pos + 1)[0], pos + 5
        elif 0x60 <= ib < 0x78:
            end = pos + ib - 0x5F
            if end <= self.n:
                try:
                    return b[pos + 1:end].decode("utf-8"), end
                except UnicodeDecodeError:
                    pass
        elif ib == 0xD8 and b[pos + 1:pos + 2] == b"\x27":
            hb = b[pos + 2] if pos + 2 < self.n else 0
            if 0x61 <= hb < 0x78:
                end = pos + hb - 0x5D
                v = _IDENTS.get(b[pos + 3:end])
                if v is not None and end <= self.n:
                    return v, end
        major = ib >> 5
        ai = ib & 31
        at = pos
        pos += 1
        if major == 0:
            if ai < 24:
                return ai, pos
            return self.arg(ai, pos, at)
        if major == 3:
            if ai == 31:
                raw, pos = self.chunks(3, pos, at)
            else:
                n, pos = self.arg(ai, pos, at) if ai >= 24 else (ai, pos)
                if pos + n > self.n:
                    raise _parse_error("text of %d bytes runs past the end" % n, at)
                raw = b[pos:pos + n]
                pos += n
            try:
                return raw.decode("utf-8"), pos
            except UnicodeDecodeError:
                raise _parse_error("text is not valid UTF-8", at) from None
        if major == 4:
            if depth >= MAX_DEPTH:
                raise _limit_error("CBOR nested deeper than %d levels" % MAX_DEPTH)
            items = []
            if ai == 31:
                while True:
                    if pos >= self.n:
                        raise _parse_error("unexpected end of input", pos)
                    if b[pos] == 0xFF:
                        pos += 1
                        break
                    x, pos = self.item(pos, depth + 1, key)
                    items.append(x)
            else:
                n, pos = self.arg(ai, pos, at) if ai >= 24 else (ai, pos)
                if n > self.n - pos:
                    raise _parse_error("array of %d items runs past the end" % n, at)
                item = self.item
                append = items.append
                limit = self.n
                for _ in range(n):
                    if pos < limit and b[pos] < 24:  # small int, inline
                        append(b[pos])
                        pos += 1
                    else:
                        x, pos = item(pos, depth + 1, key)
                        append(x)
            return (tuple(items) if key else items), pos
        if major == 5:
            if depth >= MAX_DEPTH:
                raise _limit_error("CBOR nested deeper than %d levels" % MAX_DEPTH)
            d = {}
            item = self.item
            indef = ai == 31
            if not indef:
                n, pos = self.arg(ai, pos, at) if ai >= 24 else (ai, pos)
                if n > self.n - pos:
                    raise _parse_error("map of %d entries runs past the end" % n, at)
            i = 0
            while True:
                if indef:
                    if pos >= self.n:
                        raise _parse_error("unexpected end of input", pos)
                    if b[pos] == 0xFF:
                        pos += 1
                        break
                elif i == n:
                    break
                kat = pos
                k, pos = item(pos, depth + 1, True)
                v, pos = item(pos, depth + 1, key)
                if k in d:
                    if _same_key(d, k):
                        raise _parse_error("duplicate map key", kat)
                    raise ValueError("map key %r equals another key in Python (e.g. 1, "
                                     "1.0 and True) but not in EDN; a dict cannot hold "
                                     "both" % (k,))
                d[k] = v
                i += 1
            return (FrozenMap(d) if key else d), pos
        if major == 1:
            n, pos = self.arg(ai, pos, at) if ai >= 24 else (ai, pos)
            return -1 - n, pos
        if major == 2:
            if ai == 31:
                return self.chunks(2, pos, at)
            n, pos = self.arg(ai, pos, at) if ai >= 24 else (ai, pos)
            if pos + n > self.n:
                raise _parse_error("byte string of %d bytes runs past the end" % n, at)
            return b[pos:pos + n], pos + n
        if major == 6:
            tag, pos = self.arg(ai, pos, at) if ai >= 24 else (ai, pos)
            return self.tagged(tag, pos, at, depth, key)
        # major 7
        if ai == 22:
            return None, pos
        if ai == 21:
            return True, pos
        if ai == 20:
            return False, pos
        if ai == 27:
            self.need(pos, 8)
            return _unpack_d(b, pos)[0], pos + 8
        if ai == 26:
            self.need(pos, 4)
            return _unpack_f(b, pos)[0], pos + 4
        if ai == 25:
            self.need(pos, 2)
            return _unpack_e(b, pos)[0], pos + 2
        if ai == 31:
            raise _parse_error("unexpected break", at)
        raise _parse_error("unsupported simple value %d" % ai, at)

    def tagged(self, tag: int, pos: int, at: int, depth: int, key: bool):
        if tag == TAG_IDENT:
            v, pos = self.item(pos, depth, key)
            if type(v) is not str or not v or v == ":":
                raise _parse_error("tag 39 (identifier) expects non-empty text", at)
            obj = Keyword(v[1:]) if v[0] == ":" else Symbol(v)
            if len(_IDENTS) < _IDENTS_MAX:
                _IDENTS[v.encode("utf-8")] = obj
            return obj, pos
        if tag == TAG_SET:
            v, pos = self.item(pos, depth, True)
            if type(v) is not tuple:
                raise _parse_error("tag 258 (set) expects an array", at)
            s = frozenset(v)
            if len(s) != len(v):
                raise ValueError("set at byte %d has elements that are equal in Python "
                                 "(duplicates, or e.g. 1, 1.0 and True); a Python set "
                                 "cannot hold them all" % at)
            return (s if key else set(s)), pos
        if tag == TAG_LIST:
            v, pos = self.item(pos, depth, True)
            if type(v) is not tuple:
                raise _parse_error("list tag expects an array", at)
            return EdnList(v), pos
        if tag == TAG_SELFDESC:
            return self.item(pos, depth, key)
        if tag not in _VALUE_TAGS:
            raise _parse_error("unsupported CBOR tag %d" % tag, at)
        v, pos = self.item(pos, depth, key)
        return _tag_value(tag, v, at), pos


_TAG_SYMS: dict = {}  # tag 27 names ("datahike/Datom") -> their Symbol; bounded

_VALUE_TAGS = frozenset((TAG_UUID, TAG_BIGPOS, TAG_BIGNEG, TAG_DECIMAL, TAG_EPOCH, TAG_EXTTIME,
                         TAG_CHAR, TAG_OBJECT))


def _tag_value(tag: int, v: Any, at: int) -> Any:
    """The value of a tag in _VALUE_TAGS whose content decoded to v (the
    content starts after the tag head at byte `at`).  Also called by the C
    decoder (_cbor_c.c), so both finish these tags the same way."""
    if tag == TAG_UUID:
        if type(v) is not bytes or len(v) != 16:
            raise _parse_error("tag 37 (UUID) expects 16 bytes", at)
        return _uuid.UUID(bytes=v)
    if tag == TAG_BIGPOS or tag == TAG_BIGNEG:
        if type(v) is not bytes:
            raise _parse_error("tag %d (bignum) expects a byte string" % tag, at)
        m = int.from_bytes(v, "big")
        return m if tag == TAG_BIGPOS else -1 - m
    if tag == TAG_DECIMAL:
        if (not isinstance(v, (list, tuple)) or len(v) != 2 or type(v[0]) is not int
                or type(v[1]) is not int):
            raise _parse_error("tag 4 (decimal fraction) expects [exponent, mantissa]", at)
        e, m = v
        return _decimal.Decimal((1 if m < 0 else 0, tuple(int(c) for c in str(abs(m))), e))
    if tag == TAG_EPOCH or tag == TAG_EXTTIME:
        return _inst(tag, v, at)
    if tag == TAG_CHAR:
        if type(v) is not int or not 0 <= v <= 0x10FFFF:
            raise _parse_error("char tag expects a code point 0..0x10FFFF", at)
        return Char(chr(v))
    if tag == TAG_OBJECT:
        if not isinstance(v, (list, tuple)) or len(v) != 2 or type(v[0]) is not str:
            raise _parse_error('tag 27 (tagged value) expects ["tag", value]', at)
        sym = _TAG_SYMS.get(v[0])
        if sym is None:
            sym = Symbol(v[0])
            if len(_TAG_SYMS) < 1024:
                _TAG_SYMS[v[0]] = sym
        return Tagged(sym, v[1])
    raise _parse_error("unsupported CBOR tag %d" % tag, at)


_INST_KEYS = frozenset((1, -3))


def _inst(tag: int, v: Any, at: int) -> _dt.datetime:
    if tag == TAG_EPOCH:
        if type(v) is int:
            ms = v * 1000
        elif type(v) is float and v == v and abs(v) < 9.2e15:
            ms = int(round(v * 1000))
        else:
            raise _parse_error("tag 1 expects a number of epoch seconds", at)
    else:
        if not isinstance(v, dict) or 1 not in v or type(v[1]) is not int or \
                not v.keys() <= _INST_KEYS or \
                (-3 in v and not (type(v[-3]) is int and 0 <= v[-3] <= 999)):
            raise _parse_error("tag 1001 expects {1: seconds, -3: milliseconds 0..999}", at)
        ms = v[1] * 1000 + v.get(-3, 0)
    try:
        return _EPOCH + _dt.timedelta(milliseconds=ms)
    except OverflowError:
        raise ValueError("inst %d ms from the epoch is outside the range of "
                         "datetime.datetime (years 1..9999)" % ms) from None


def _same_key(d: dict, k: Any) -> bool:
    """True if d already holds a key equal to k in EDN terms (Python's ==
    also equates 1 and 1.0 or True and 1, which EDN keeps apart)."""
    for x in d:
        if x == k and type(x) is type(k):
            return True
    return False


def loads(data: bytes) -> Any:
    """Decode one CBOR item (the whole input) to a native Python value."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError("cbor.loads takes bytes, not %s" % type(data).__name__)
    if _fast is not None:
        v = _fast(data)
        if v is not _FALLBACK:
            return v
    return _loads_py(data)


def _loads_py(data: bytes) -> Any:
    """loads() by the pure-Python decoder alone (the reference)."""
    d = _Dec(data)
    try:
        v, pos = d.item(0, 0, False)
    except RecursionError:
        raise _limit_error("CBOR nested too deeply for the Python decoder") from None
    if pos != len(data):
        raise _parse_error("trailing bytes after the value", pos)
    return v


# The C codec (_cbor_c.c, built with the package) decodes what the engine
# writes, and encodes the common value types, several times faster; on
# anything unusual it returns _FALLBACK and the Python code above runs, so
# values, bytes and errors are the same either way.
# DATALITH_PURE_PYTHON_CBOR=1 (read at import) turns it off.
_FALLBACK = object()
_fast = _fast_dumps = None
if not __import__("os").environ.get("DATALITH_PURE_PYTHON_CBOR"):
    try:
        from . import _cbor_c
    except ImportError:  # a build without the extension: pure Python only
        pass
    else:
        _cbor_c.configure(Keyword, Symbol, FrozenMap, EdnList, Tagged, _tag_value, _FALLBACK, MAX_DEPTH)
        _fast = _cbor_c.loads
        _fast_dumps = _cbor_c.dumps
