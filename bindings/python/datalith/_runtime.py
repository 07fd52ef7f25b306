"""Helpers the generated glue (_generated.py) calls: argument checks,
taking ownership of engine memory and handles, and the value codec.

Hand-written; kept small so the generated code stays readable.
"""

from typing import Any, Sequence

from . import cbor as _cbor
from ._native import ffi, lib


def as_int(x: Any, what: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        if isinstance(x, bool):
            return int(x)
        raise TypeError("%s must be an int, not %s" % (what, type(x).__name__))
    return x


def as_cstring(x: Any, what: str) -> bytes:
    if isinstance(x, str):
        x = x.encode("utf-8")
    if not isinstance(x, bytes):
        raise TypeError("%s must be a str, not %s" % (what, type(x).__name__))
    if b"\0" in x:
        raise ValueError("%s must not contain NUL characters" % what)
    return x


def as_bytes(x: Any, what: str) -> bytes:
    """str (encoded as UTF-8) or any bytes-like object, as bytes."""
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        try:
            return x.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValueError("%s is not valid Unicode (lone surrogate at index %d)"
                             % (what, e.start)) from None
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(x).__name__))


def take_bytes(p: Any, n: int) -> bytes:
    """Copy n bytes the engine returned at p, then free p."""
    try:
        return ffi.unpack(p, n)
    finally:
        lib.datalith_free(p)


def encode_value(x: Any) -> bytes:
    return _cbor.dumps(x)


def decode_value(b: bytes) -> Any:
    return _cbor.loads(b)


def handle_ptr(h: Any, what: str) -> Any:
    p = getattr(h, "_ptr", h)
    if not isinstance(p, ffi.CData):
        raise TypeError("%s must be a datalith handle, not %s" % (what, type(h).__name__))
    if p == ffi.NULL:
        raise ValueError("%s was already released" % what)
    return p


def take_handle(h: Any, what: str) -> Any:
    """For an :owned-by-callee handle: detach its automatic release, since
    the callee takes it over."""
    p = handle_ptr(h, what)
    raw = ffi.cast(ffi.typeof(p), p)
    ffi.gc(p, None)
    if hasattr(h, "_ptr"):
        h._ptr = ffi.NULL
    return raw


def own_handle(p: Any, release: Any) -> Any:
    """A fresh handle, released automatically when garbage-collected."""
    return ffi.gc(p, release)


def handle_array(hs: Sequence[Any], what: str) -> Any:
    ptrs = [handle_ptr(h, what) for h in hs]
    t = ffi.typeof(ptrs[0]) if ptrs else ffi.typeof("datalith_db *")
    return ffi.new(ffi.getctype(t, "[]"), ptrs)
