"""datalith: an embedded, immutable Datalog database with Datahike's
semantics (Python binding of the C engine).

Values in and out are native Python values; see datalith._values for the
mapping (Keyword, Symbol, Char, Tagged, EdnList, FrozenMap are the types
this package adds).  Text helpers:

    datalith.edn.loads / datalith.edn.dumps     EDN (the engine's reader/printer)
    datalith.json_loads / datalith.json_dumps   JSON with Datahike's tagged literals
    datalith.cbor.loads / datalith.cbor.dumps   CBOR (docs/values.md tags)

Databases: datalith.create_database(config), datalith.connect(config) ->
Connection (conn.transact(tx) -> TxReport, conn.db() -> Db: q, pull,
pull_many, entity, datoms, seek_datoms, rseek_datoms, index_range, as_of,
since, history, filter, with_, db_with, schema, reverse_schema, metrics);
config as a dict or EDN text.  datalith.compat.datahike is a
pydatahike-compatible layer.  The low-level functions, one per operation of the
spec, are in datalith._generated.

Every engine failure raises a subclass of datalith.Error carrying .code,
.code_name and the engine's message.
"""

from typing import Any, Union

from . import cbor, edn
from .api import Connection, Db, TxReport, connect, create_database, database_exists, delete_database, tempid
from ._errors import *  # noqa: F401,F403
from ._errors import Error, __all__ as _error_names
from ._generated import LIBRARY_VERSION as _LIBRARY_VERSION
from ._generated import value_convert, version
from ._native import lib as _lib
from ._values import Char, EdnList, FrozenMap, Keyword, Symbol, Tagged

__version__ = _LIBRARY_VERSION

FORMAT_EDN: int = _lib.DATALITH_FORMAT_EDN
FORMAT_JSON: int = _lib.DATALITH_FORMAT_JSON
FORMAT_CBOR: int = _lib.DATALITH_FORMAT_CBOR
_JSON, _CBOR = FORMAT_JSON, FORMAT_CBOR


def json_loads(text: Union[str, bytes]) -> Any:
    """Parse JSON with Datahike's tagged literals (["!kw", "a"], ["!set", [...]],
    ...) into native Python values, through the engine's JSON reader."""
    if not isinstance(text, (str, bytes, bytearray, memoryview)):
        raise TypeError("json_loads takes str or bytes, not %s" % type(text).__name__)
    return cbor.loads(value_convert(text, _JSON, _CBOR))


def json_dumps(value: Any) -> str:
    """Print a native Python value as JSON with Datahike's tagged literals."""
    return value_convert(cbor.dumps(value), _CBOR, _JSON).decode("utf-8")


__all__ = ["connect", "create_database", "delete_database", "database_exists",
           "tempid", "Connection", "Db", "TxReport", "__version__", "version", "edn", "cbor", "json_loads", "json_dumps",
           "value_convert", "FORMAT_EDN", "FORMAT_JSON", "FORMAT_CBOR", "Keyword", "Symbol", "Char", "Tagged", "EdnList", "FrozenMap",
           ] + list(_error_names)
