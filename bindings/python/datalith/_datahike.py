"""datalith.compat.datahike (this module; see datalith/compat.py): a
pydatahike-compatible layer over datalith: a script written for
pydatahike (Datahike's Python binding over libdatahike) runs after changing

    from datahike import ...        to    from datalith.compat.datahike import ...

Same public names and signatures (Datahike's reference, §12 of
datahike-semantics.md):

- low level, first argument a config as EDN text, a connection opened per
  call: database_exists, create_database, delete_database,
  transact(config, tx_data, input_format='json', output_format='cbor'),
  q(query, [(input_format, value), ...], output_format='cbor'), pull,
  pull_many, entity, datoms, seek_datoms, index_range, schema,
  reverse_schema, metrics, gc_storage;
- high level: Database (create/delete/exists/transact/q/pull/pull_many/
  entity/schema/as_of/since/history, a context manager that creates and
  deletes), DatabaseSnapshot, the database(...) context manager;
- edn helpers (edn.keyword, symbol, uuid, inst, string; kw constants);
- every engine failure raises DatahikeException (its message is the
  engine's).

Conventions, as pydatahike's:

- database inputs (the input_format of pull/entity/datoms/... and the
  format of a q input): 'db', 'history', 'asof:<ms>', 'since:<ms>' (<ms>
  milliseconds since the epoch); q inputs may also be 'edn' (EDN text),
  'json' (JSON text, converted as below), 'cbor' (base64 CBOR) or 'param'
  (EDN text); 'branch:' and 'commit:' are not supported by datalith;
- Python data going in (JSON tx-data, Database.transact, dict configs):
  map keys become keywords; strings starting with ':' become keywords,
  '\\:' escapes a literal colon, edn.string() forces a string;
- results ('cbor', the default): keywords as ':ns/name' strings, symbols
  as their name, sets as Python sets (vectors inside as tuples), other
  vectors as lists, datoms as [e, a, v, tx, added] lists, #inst as
  datetime, #uuid as uuid.UUID; 'json' gives the engine's JSON with
  Datahike's tags (["!set", [...]], ["!kw", "a"]) parsed by json.loads;
  'edn' gives EDN text;
- transact returns the transaction's :tx-meta (as libdatahike does).

Differences: gc_storage and the versioning (branch) operations raise
DatahikeException; errors never crash the process.
"""

import base64 as _base64
import datetime as _dt
import json as _json
import uuid as _uuid
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import api as _api
from . import cbor as _cbor
from . import edn as _dl_edn
from ._errors import Error as _Error
from ._values import Char as _Char, EdnList as _EdnList, Keyword as _K, Symbol as _S, Tagged as _Tagged
from .api import _keywordize

from . import _datahike_edn as edn
from ._datahike_edn import (EDNType, Inst, Keyword, Keywords, STRING_MARKER, Symbol, UUID, inst, keyword, kw,
                  string, symbol, uuid)

__all__ = [
    "DatahikeException", "Database", "DatabaseSnapshot", "database",
    "Keyword", "Symbol", "UUID", "Inst", "keyword", "symbol", "uuid", "inst", "string",
    "Keywords", "kw", "edn",
    "database_exists", "create_database", "delete_database", "q", "transact", "pull",
    "pull_many", "entity", "datoms", "seek_datoms", "index_range", "schema",
    "reverse_schema", "metrics", "gc_storage",
]



class DatahikeException(Exception):
    """Raised for every failure the engine reports (and for unsupported
    input formats); the message is the engine's."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)


# --- conversion -----------------------------------------------------------

def _inst(text: str) -> Any:
    return _dl_edn.loads('#inst "%s"' % text)


def _to_value(v: Any) -> Any:
    """Python data -> engine value, by the universal conversion rule."""
    if isinstance(v, (_K, _S, _Char)):
        return v
    if isinstance(v, EDNType):
        if isinstance(v, Keyword):
            return _K(v.value)
        if isinstance(v, Symbol):
            return _S(v.value)
        if isinstance(v, UUID):
            return _uuid.UUID(v.value)
        return _inst(v.value)
    if isinstance(v, str):
        if v.startswith(STRING_MARKER):
            return v[len(STRING_MARKER):]
        if v.startswith("\\:"):
            return v[1:]
        if v.startswith(":") and len(v) > 1:
            return _K(v[1:])
        return v
    if isinstance(v, dict):
        return {_to_key(k): _to_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)) and not isinstance(v, _EdnList):
        return [_to_value(x) for x in v]
    if isinstance(v, (set, frozenset)):
        return {_hashable(_to_value(x)) for x in v}
    return v


def _to_key(k: Any) -> Any:
    """Map keys are always keywords ("name" and ":name" are :name)."""
    if isinstance(k, (_K, _S, _Char)):
        return k
    if isinstance(k, str) and not k.startswith(STRING_MARKER):
        return _K(k[1:] if k.startswith(":") else k)
    return _hashable(_to_value(k))


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, set):
        return frozenset(v)
    return v


def _from_value(v: Any) -> Any:
    """Engine value -> what pydatahike's CBOR decoding gives."""
    if isinstance(v, _K):
        return ":" + v.full
    if isinstance(v, (_S, _Char)):
        return str.__str__(v)
    if isinstance(v, _Tagged):
        if v.tag.full == "datahike/Datom" and isinstance(v.value, (list, tuple)):
            return [_from_value(x) for x in v.value]
        return _from_value(v.value)
    if isinstance(v, dict) or (hasattr(v, "items") and hasattr(v, "keys")):
        return {_hashable(_from_value(k)): _from_value(x) for k, x in v.items()}
    if isinstance(v, (set, frozenset)):
        return {_hashable(_from_value(x)) for x in v}
    if isinstance(v, tuple) and not isinstance(v, _EdnList):
        return tuple(_from_value(x) for x in v)
    if isinstance(v, (list, _EdnList)):
        return [_from_value(x) for x in v]
    return v


def _json_dumps(v: Any) -> str:
    from . import json_dumps
    return json_dumps(v)


def _output(v: Any, output_format: str) -> Any:
    if output_format == "cbor":
        return _from_value(v)
    if output_format == "json":
        return _json.loads(_json_dumps(v))
    if output_format == "edn":
        return _dl_edn.dumps(v)
    raise DatahikeException("unknown output format %r (json, edn or cbor)" % (output_format,))


def _parse_input(text: Any, input_format: str) -> Any:
    """tx-data or a q input given as text in a format."""
    if input_format == "json":
        return _to_value(_json.loads(text) if isinstance(text, (str, bytes)) else text)
    if input_format == "edn":
        return _dl_edn.loads(text) if isinstance(text, (str, bytes)) else _to_value(text)
    if input_format == "cbor":
        raw = _base64.b64decode(text) if isinstance(text, (str, bytes)) else bytes(text)
        return _cbor.loads(raw)
    raise DatahikeException("unknown input format %r (json, edn or cbor)" % (input_format,))


def _config(config: Any) -> Any:
    if isinstance(config, (str, bytes)):
        return _keywordize(_dl_edn.loads(config))
    if isinstance(config, dict):
        return _keywordize(_to_value(config))
    raise TypeError("a config is EDN text or a dict, not %s" % type(config).__name__)


def _ms(text: str) -> _dt.datetime:
    try:
        ms = int(text)
    except ValueError:
        raise DatahikeException("a time point must be milliseconds since the epoch, not %r"
                                % (text,)) from None
    return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=ms)


class _Snapshot:
    """Opens a connection and the snapshot an input format names; closes
    both on exit."""

    def __init__(self, config: Any, input_format: str) -> None:
        self.config = config
        self.fmt = input_format
        self.conn: Any = None
        self.dbs: List[Any] = []

    def __enter__(self) -> Any:
        fmt = self.fmt
        if fmt.startswith(("branch:", "commit:")):
            raise DatahikeException("input format %r: branches and commits are not "
                                    "supported by datalith" % fmt)
        if not (fmt in ("db", "history") or fmt.startswith(("asof:", "since:"))):
            raise DatahikeException("unknown database input format %r "
                                    "(db, history, asof:<ms>, since:<ms>)" % fmt)
        self.conn = _api.connect(_config(self.config))
        db = self.conn.db()
        self.dbs.append(db)
        if fmt == "history":
            db = db.history()
        elif fmt.startswith("asof:"):
            db = db.as_of(_ms(fmt[5:]))
        elif fmt.startswith("since:"):
            db = db.since(_ms(fmt[6:]))
        if db is not self.dbs[-1]:
            self.dbs.append(db)
        return db

    def __exit__(self, *exc: Any) -> None:
        for db in reversed(self.dbs):
            db.close()
        if self.conn is not None:
            self.conn.close()


def _engine(fn: Any) -> Any:
    """Engine errors -> DatahikeException."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _Error as e:
            raise DatahikeException(e.message) from e
    return wrapper


def _read_edn(x: Any) -> Any:
    return _dl_edn.loads(x) if isinstance(x, str) and not isinstance(x, (_K, _S)) else _to_value(x)


# --- the low-level API ------------------------------------------------------

@_engine
def database_exists(config: str, output_format: str = "cbor") -> bool:
    """True if the database the config names exists."""
    return _api.database_exists(_config(config))


@_engine
def create_database(config: str, output_format: str = "cbor") -> None:
    """Create a database."""
    _api.create_database(_config(config))


@_engine
def delete_database(config: str, output_format: str = "cbor") -> None:
    """Delete a database."""
    _api.delete_database(_config(config))


@_engine
def transact(config: str, tx_data: Union[str, Any], input_format: str = "json",
             output_format: str = "cbor") -> Any:
    """Transact tx-data given as text in input_format ('json', 'edn' or
    base64 'cbor'); returns the transaction's :tx-meta (as libdatahike)."""
    tx = _parse_input(tx_data, input_format)
    with _api.connect(_config(config)) as conn:
        report = conn.transact(tx)
    return _output(report.tx_meta, output_format)


@_engine
def q(query: str, inputs: Sequence[Tuple[str, Any]], output_format: str = "cbor") -> Any:
    """Run a query.  inputs: (format, value) pairs in :in order; a database
    input is ('db' | 'history' | 'asof:<ms>' | 'since:<ms>', config EDN), any
    other is ('edn' | 'param', EDN text), ('json', JSON text) or ('cbor',
    base64)."""
    snaps: List[_Snapshot] = []
    dbs: List[Any] = []
    values: List[Any] = []
    try:
        for item in inputs:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise DatahikeException("a q input is a (format, value) pair, not %r" % (item,))
            fmt, value = item
            if fmt in ("edn", "param"):
                values.append(_read_edn(value))
            elif fmt == "_value":  # Database.q's plain Python arguments
                values.append(_to_value(value))
            elif fmt in ("json", "cbor"):
                values.append(_parse_input(value, fmt))
            else:
                s = _Snapshot(value, fmt)
                snaps.append(s)
                dbs.append(s.__enter__())
        if not dbs:
            raise DatahikeException("q needs at least one database input")
        result = dbs[0].q(_read_edn(query), *dbs[1:], *values)
    finally:
        for s in reversed(snaps):
            s.__exit__(None, None, None)
    return _output(result, output_format)


def _eid(eid: Any) -> Any:
    return _read_edn(eid) if isinstance(eid, str) else _to_value(eid)


@_engine
def pull(config: str, selector: str, eid: Any, input_format: str = "db",
         output_format: str = "cbor") -> Optional[Dict[str, Any]]:
    """Pull the selector (EDN text) for one entity (an id, or a lookup ref
    or ident as EDN text)."""
    with _Snapshot(config, input_format) as db:
        return _output(db.pull(_read_edn(selector), _eid(eid)), output_format)


@_engine
def pull_many(config: str, selector: str, eids: Any, input_format: str = "db",
              output_format: str = "cbor") -> List[Dict[str, Any]]:
    """pull for each id of a list (or of EDN text such as '[1 2]')."""
    ids = _read_edn(eids) if isinstance(eids, str) else [_eid(e) for e in eids]
    with _Snapshot(config, input_format) as db:
        return _output(db.pull_many(_read_edn(selector), ids), output_format)


@_engine
def entity(config: str, eid: Any, input_format: str = "db",
           output_format: str = "cbor") -> Dict[str, Any]:
    """All attributes of an entity."""
    with _Snapshot(config, input_format) as db:
        return _output(db.entity(_eid(eid)), output_format)


def _index(index: str) -> _K:
    return _K(index[1:] if index.startswith(":") else index)


@_engine
def datoms(config: str, index: str, input_format: str = "db",
           output_format: str = "cbor") -> List[List[Any]]:
    """All datoms of an index (':eavt', ':aevt', ':avet')."""
    with _Snapshot(config, input_format) as db:
        return _output(db.datoms(_index(index)), output_format)


@_engine
def seek_datoms(config: str, index: str, input_format: str = "db",
                output_format: str = "cbor") -> List[List[Any]]:
    """The datoms of an index from its start (no components, as libdatahike)."""
    with _Snapshot(config, input_format) as db:
        return _output(db.seek_datoms(_index(index)), output_format)


@_engine
def index_range(config: str, attrid: str, start: Any, end: Any, input_format: str = "db",
                output_format: str = "cbor") -> List[List[Any]]:
    """AVET datoms of an indexed attribute (':age') between start and end
    (Python values; strings stay strings)."""
    with _Snapshot(config, input_format) as db:
        return _output(db.index_range(_index(attrid), start, end), output_format)


@_engine
def schema(config: str, input_format: str = "db", output_format: str = "cbor") -> Dict[str, Any]:
    """The schema."""
    with _Snapshot(config, input_format) as db:
        return _output(db.schema(), output_format)


@_engine
def reverse_schema(config: str, input_format: str = "db",
                   output_format: str = "cbor") -> Dict[str, Any]:
    """The reverse schema."""
    with _Snapshot(config, input_format) as db:
        return _output(db.reverse_schema(), output_format)


@_engine
def metrics(config: str, input_format: str = "db", output_format: str = "cbor") -> Dict[str, Any]:
    """Datom counts."""
    with _Snapshot(config, input_format) as db:
        return _output(db.metrics(), output_format)


def gc_storage(config: str, before_timestamp_ms: Optional[int] = None,
               output_format: str = "cbor") -> Any:
    """Not supported by datalith: raises DatahikeException."""
    raise DatahikeException("gc_storage is not supported by datalith")


# --- the high-level API -------------------------------------------------------

def _q_args(args: Sequence[Any]) -> List[Tuple[str, Any]]:
    out: List[Tuple[str, Any]] = []
    for arg in args:
        if isinstance(arg, Database):
            out.append(("db", arg.config))
        elif isinstance(arg, DatabaseSnapshot):
            out.append((arg._input_format, arg._config))
        elif isinstance(arg, tuple):
            out.append(arg)
        else:
            out.append(("_value", arg))
    return out


def _unwrap(result: Any, unwrap: bool) -> Any:
    if unwrap and isinstance(result, (list, tuple)) and len(result) == 2 and result[0] == "!set":
        return result[1]
    return result


class Database:
    """A database named by its config: Database({"store": {"backend":
    ":memory", "id": "x"}}), Database(backend=":memory", id="x") or
    Database('{:store ...}').  Used as a context manager it creates the
    database on entry and deletes it on exit."""

    def __init__(self, config: Union[str, Dict[str, Any], None] = None, **kwargs: Any) -> None:
        if isinstance(config, str):
            self._config = config
        elif isinstance(config, dict):
            self._config = _dl_edn.dumps(_config(config))
        elif kwargs:
            self._config = _dl_edn.dumps(_config({"store": kwargs}))
        else:
            raise ValueError("Must provide config as dict, EDN string, or keyword arguments")

    @property
    def config(self) -> str:
        """The config as EDN text (for the low-level functions)."""
        return self._config

    @staticmethod
    def memory(id: str) -> "Database":
        """An in-memory database."""
        return Database({"store": {"backend": ":memory", "id": id}})

    @staticmethod
    def file(path: str) -> "Database":
        """A database in a directory."""
        return Database({"store": {"backend": ":file", "path": path}})

    def create(self) -> None:
        create_database(self._config)

    def delete(self) -> None:
        delete_database(self._config)

    def exists(self) -> bool:
        return database_exists(self._config)

    def transact(self, data: Union[str, List[Any], Dict[str, Any]], input_format: str = "json") -> Any:
        """Transact Python data (a list of maps, or one map) or text in
        input_format; returns the :tx-meta."""
        if isinstance(data, dict):
            data = [data]
        if isinstance(data, (list, tuple)):
            if input_format not in ("json", "edn"):
                raise ValueError("Unknown format: %s. Expected 'json' or 'edn'" % input_format)
            return _engine(lambda: _transact_value(self._config, _to_value(list(data))))()
        if isinstance(data, str):
            return transact(self._config, data, input_format=input_format)
        raise TypeError("Cannot transact type: %s" % type(data))

    def q(self, query: str, *args: Any, inputs: Optional[List[Any]] = None,
          output_format: str = "cbor", unwrap: bool = True) -> Any:
        """Query with this database as $; further Database/DatabaseSnapshot
        arguments are $2 ..., (format, value) tuples are passed as is, other
        arguments are Python values for the remaining :in variables."""
        query_inputs = inputs if inputs is not None else [("db", self._config)] + _q_args(args)
        return _unwrap(q(query, query_inputs, output_format=output_format), unwrap)

    def pull(self, pattern: Union[str, List[Any]], eid: Any, input_format: str = "db",
             output_format: str = "cbor") -> Optional[Dict[str, Any]]:
        return pull(self._config, _pattern(pattern), eid, input_format, output_format)

    def pull_many(self, pattern: Union[str, List[Any]], eids: List[Any], input_format: str = "db",
                  output_format: str = "cbor") -> List[Dict[str, Any]]:
        return pull_many(self._config, _pattern(pattern), eids, input_format, output_format)

    def entity(self, eid: Any, input_format: str = "db",
               output_format: str = "cbor") -> Optional[Dict[str, Any]]:
        return entity(self._config, eid, input_format, output_format)

    def datoms(self, index: str = ":eavt", input_format: str = "db",
               output_format: str = "cbor") -> List[List[Any]]:
        return datoms(self._config, index, input_format, output_format)

    def schema(self, output_format: str = "cbor") -> Any:
        return schema(self._config, output_format=output_format)

    def as_of(self, timestamp_ms: int) -> "DatabaseSnapshot":
        """The database as of a time (ms since the epoch)."""
        return DatabaseSnapshot(self._config, "asof:%d" % timestamp_ms)

    def since(self, timestamp_ms: int) -> "DatabaseSnapshot":
        """Only what was asserted after a time (ms since the epoch)."""
        return DatabaseSnapshot(self._config, "since:%d" % timestamp_ms)

    @property
    def history(self) -> "DatabaseSnapshot":
        """Every assertion and retraction."""
        return DatabaseSnapshot(self._config, "history")

    def _unsupported(self, *args: Any, **kwargs: Any) -> Any:
        raise DatahikeException("branches and commits are not supported by datalith")

    branches = branch = delete_branch = commit_id = parent_commit_ids = merge_db = _unsupported
    branch_as_db = commit_as_db = _unsupported

    def __enter__(self) -> "Database":
        self.create()
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        try:
            self.delete()
        except Exception:
            pass
        return False

    def __repr__(self) -> str:
        return "Database(%s)" % self._config


def _transact_value(config: str, tx: Any) -> Any:
    with _api.connect(_config(config)) as conn:
        return _from_value(conn.transact(tx).tx_meta)


def _pattern(pattern: Union[str, List[Any]]) -> str:
    if isinstance(pattern, str):
        return pattern
    return _dl_edn.dumps(_to_value(pattern))


class DatabaseSnapshot:
    """A read-only view of a Database: 'history', 'asof:<ms>' or
    'since:<ms>' (or 'db')."""

    def __init__(self, config: str, input_format: str) -> None:
        self._config = config
        self._input_format = input_format

    def q(self, query: str, *args: Any, output_format: str = "cbor", unwrap: bool = True) -> Any:
        query_inputs = [(self._input_format, self._config)] + _q_args(args)
        return _unwrap(q(query, query_inputs, output_format=output_format), unwrap)

    def pull(self, pattern: Union[str, List[Any]], eid: Any,
             output_format: str = "cbor") -> Optional[Dict[str, Any]]:
        return pull(self._config, _pattern(pattern), eid, self._input_format, output_format)

    def entity(self, eid: Any, output_format: str = "cbor") -> Optional[Dict[str, Any]]:
        return entity(self._config, eid, self._input_format, output_format)

    def datoms(self, index: str = ":eavt", output_format: str = "cbor") -> List[List[Any]]:
        return datoms(self._config, index, self._input_format, output_format)

    def __repr__(self) -> str:
        return "DatabaseSnapshot(%s, %s)" % (self._input_format, self._config)


@contextmanager
def database(config: Union[str, Dict[str, Any], None] = None, **kwargs: Any) -> Iterator[Database]:
    """Create a database for the with block and delete it afterwards."""
    if not config and not kwargs:
        raise ValueError("Must provide config")
    db = Database(config, **kwargs)
    db.create()
    try:
        yield db
    finally:
        try:
            db.delete()
        except Exception:
            pass
