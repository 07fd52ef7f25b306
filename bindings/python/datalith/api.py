"""The Pythonic database API over the generated glue (_generated.py).

    with datalith.connect({"store": ...}) as conn:   # or an EDN string
        conn.transact([{Keyword("name"): "Ada"}])
        with conn.db() as db:
            db.datoms("eavt", 1)

Configurations are dicts of native values or EDN text.  Connections and
snapshots release their engine handle when closed (close(), a with block)
or, failing that, when garbage-collected, from whatever thread collects
them.  close() must not race another call on the same object; snapshots
themselves may be shared between threads freely.
"""

from typing import Any, Dict, List, Union

from . import _generated as _g
from . import edn as _edn
from ._native import ffi as _ffi
from ._values import Keyword

__all__ = ["connect", "create_database", "delete_database", "database_exists",
           "Connection", "Db"]

Config = Union[Dict[Any, Any], str, bytes]


def _config(config: Config) -> Any:
    if isinstance(config, (str, bytes)):
        return _edn.loads(config)
    if not isinstance(config, dict):
        raise TypeError("a configuration is a dict or EDN text, not %s" % type(config).__name__)
    return config


def _kw(x: Any) -> Any:
    return x if isinstance(x, Keyword) or not isinstance(x, str) else Keyword(x)


_ENUM_KEYS = frozenset(["backend", "schema-flexibility", "branch", "index"])


def _keywordize(config: Any) -> Any:
    """Plain-string keys of config maps become keywords ({"store": ...} is
    {:store ...}), and so do the string values of the keys whose values are
    always keywords (backend, schema-flexibility, branch, index); any other
    value is passed as given."""
    if isinstance(config, dict):
        out = {}
        for k, v in config.items():
            if type(k) is str:
                k = Keyword(k)
            if isinstance(k, Keyword) and k.full in _ENUM_KEYS and type(v) is str:
                v = Keyword(v)
            out[k] = _keywordize(v)
        return out
    return config


def database_exists(config: Config) -> bool:
    """True if a database exists at the store the configuration names."""
    return _g.database_exists(_keywordize(_config(config)))


def create_database(config: Config) -> Dict[Any, Any]:
    """Create a database; returns the completed configuration."""
    return _g.create_database(_keywordize(_config(config)))


def delete_database(config: Config) -> None:
    """Delete the whole store of a database."""
    _g.delete_database(_keywordize(_config(config)))


def connect(config: Config) -> "Connection":
    """Connect to an existing database (a context manager)."""
    return Connection(_g.connect(_keywordize(_config(config))))


class _Handle:
    __slots__ = ("_ptr", "__weakref__")

    def __init__(self, ptr: Any) -> None:
        self._ptr = ptr

    @property
    def closed(self) -> bool:
        return self._ptr == _ffi.NULL

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError


class Connection(_Handle):
    """A connection to one database (shared and refcounted by the engine)."""

    __slots__ = ()

    def db(self) -> "Db":
        """The current snapshot (Datahike's @conn)."""
        return Db(_g.db(self))

    def transact(self, tx_data: Any) -> Dict[Any, Any]:
        """Transact tx-data (a list of maps and [:db/add ...] vectors, or
        {:tx-data ... :tx-meta ...}); returns the report map."""
        return _g.transact(self, tx_data)

    def close(self) -> None:
        if self._ptr != _ffi.NULL:
            _g.release(self)

    def __repr__(self) -> str:
        return "<datalith.Connection%s>" % (" closed" if self.closed else "")


class Db(_Handle):
    """An immutable snapshot of a database."""

    __slots__ = ()

    def datoms(self, index: Union[str, Keyword] = "eavt", *components: Any) -> List[Any]:
        """Datoms of an index (eavt, aevt, avet) matching leading components."""
        return _g.datoms(self, {Keyword("index"): _kw(index),
                                Keyword("components"): list(components)})

    def schema(self) -> Dict[Any, Any]:
        """The schema: attribute ident -> attribute map."""
        return _g.schema(self)

    def reverse_schema(self) -> Dict[Any, Any]:
        """Property -> set of attributes that have it."""
        return _g.reverse_schema(self)

    def close(self) -> None:
        if self._ptr != _ffi.NULL:
            _g.release_db(self)

    def __repr__(self) -> str:
        return "<datalith.Db%s>" % (" closed" if self.closed else "")

