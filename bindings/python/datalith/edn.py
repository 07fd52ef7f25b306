"""EDN text <-> native Python values, through the engine's EDN reader and
printer (so parsing and printing are exactly the engine's).

    loads('{:a [1 2]}')   -> {Keyword(':a'): [1, 2]}
    dumps({Keyword('a'): [1, 2]}) -> '{:a [1 2]}'

dumps prints canonically (maps and sets sorted, as the engine does).
Malformed text raises datalith.ParseError with .line and .column; nesting
beyond the engine's limit raises datalith.LimitError; a Python value that
has no EDN form raises TypeError.
"""

from typing import Any, Union

from . import cbor as _cbor
from ._generated import value_convert as _convert
from ._native import lib

__all__ = ["loads", "dumps", "normalize"]

_EDN = lib.DATALITH_FORMAT_EDN
_CBOR = lib.DATALITH_FORMAT_CBOR


def loads(text: Union[str, bytes]) -> Any:
    """Parse one EDN value into native Python values."""
    if not isinstance(text, (str, bytes, bytearray, memoryview)):
        raise TypeError("edn.loads takes str or bytes, not %s" % type(text).__name__)
    return _cbor.loads(_convert(text, _EDN, _CBOR))


def dumps(value: Any) -> str:
    """Print a native Python value as canonical EDN text."""
    return _convert(_cbor.dumps(value), _CBOR, _EDN).decode("utf-8")


def normalize(text: Union[str, bytes]) -> str:
    """Parse EDN text and print it canonically, without going through Python
    values (so nothing is lost, e.g. 1N stays 1N)."""
    return _convert(text, _EDN, _EDN).decode("utf-8")
