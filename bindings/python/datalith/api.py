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

import atexit as _atexit
import datetime as _dt
import sys as _sys
import threading as _threading
import traceback as _traceback
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _generated as _g
from . import cbor as _cbor
from . import edn as _edn
from ._native import ffi as _ffi
from ._native import lib as _lib
from ._errors import raise_last as _raise_last
from ._values import Keyword, Tagged

__all__ = ["connect", "create_database", "delete_database", "database_exists",
           "tempid", "Connection", "Db", "TxReport", "TimePoint"]

#: A point in time for as_of/since: a transaction id (an int above
#: 536870912, e.g. a report's ``tx``) or an aware ``datetime`` (an #inst).
TimePoint = Union[int, _dt.datetime]

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


def tempid(part: Union[str, Keyword] = "db.part/user") -> Any:
    """A fresh negative temporary id for a partition (process-wide, counting
    down from -1000001); ``tempid("db.part/tx")`` is ``:db/current-tx``."""
    return _g.tempid(_kw(part))


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


_REPORT_KEYS = ("db-before", "db-after", "tx-data", "tempids", "tx-meta")


class TxReport(Mapping):
    """A transaction report (Datahike's tx-report).

    Attributes (and the same values under the keyword keys of the engine's
    report map, so ``report[Keyword("tempids")]`` works too):

    - ``tx_data``: list of datoms (``Tagged("datahike/Datom", [e a v tx added])``),
      including the transaction's ``:db/txInstant`` datom;
    - ``tempids``: dict tempid -> entity id, always with ``:db/current-tx``;
    - ``tx_meta``: the ``:tx-meta`` given with the transaction (or None);
    - ``db_before`` / ``db_after``: the snapshots as the engine summarises
      them: ``Tagged("datahike/DB", {:max-eid :max-tx :commit-id})``;
    - ``db_after_db``: for ``Db.with_`` only, the ``Db`` after the
      transaction (None for ``Connection.transact``: use ``conn.db()``);
    - ``tx``: the transaction id (``tempids[:db/current-tx]``).
    """

    __slots__ = ("_map", "db_after_db")

    def __init__(self, report: Mapping[Any, Any], db_after: Optional["Db"] = None) -> None:
        self._map = dict(report)
        self.db_after_db = db_after

    def _get(self, k: str) -> Any:
        return self._map.get(Keyword(k))

    @property
    def db_before(self) -> Any:
        return self._get("db-before")

    @property
    def db_after(self) -> Any:
        return self._get("db-after")

    @property
    def tx_data(self) -> List[Any]:
        return self._get("tx-data") or []

    @property
    def tempids(self) -> Dict[Any, Any]:
        return self._get("tempids") or {}

    @property
    def tx_meta(self) -> Any:
        return self._get("tx-meta")

    @property
    def tx(self) -> Optional[int]:
        return self.tempids.get(Keyword("db/current-tx"))

    def __getitem__(self, k: Any) -> Any:
        if type(k) is str and k.replace("_", "-") in _REPORT_KEYS:
            k = Keyword(k.replace("_", "-"))
        return self._map[k]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __repr__(self) -> str:
        return "<datalith.TxReport tx=%r tempids=%r, %d datoms>" % (
            self.tx, self.tempids, len(self.tx_data))


# Listener callbacks the engine may still call, by (connection address,
# key as CBOR): a cffi callback must outlive every call the engine makes, so
# it is dropped only by unlisten (or Connection.close, which unlistens the
# listeners it registered).
_LISTEN_LOCK = _threading.Lock()
_LISTENERS: Dict[Tuple[int, Any], Any] = {}
# Callbacks removed from inside a callback: the one running must not be
# freed under its own call, and nothing tells when it has returned, so
# these few are kept for the life of the process.
_RETIRED: List[Any] = []
_IN_CALLBACK = _threading.local()
# Connections with listeners stay reachable (the GC must not release one
# under its listeners) until unlisten or close; at interpreter exit their
# listeners are removed before Python finalizes (a watcher must not call
# into a finalizing interpreter).
_LISTENING: set = set()


def _unlisten_all_at_exit() -> None:
    for conn in list(_LISTENING):
        try:
            conn._drop_listeners()
        except Exception:  # noqa: BLE001 -- best effort at exit
            pass


_atexit.register(_unlisten_all_at_exit)


def _retire(cb: Any) -> None:
    """Drop a cffi callback the engine no longer calls (inside a callback:
    keep it, see _RETIRED); under _LISTEN_LOCK."""
    if cb is not None and getattr(_IN_CALLBACK, "active", False):
        _RETIRED.append(cb)


def _report_listener_error(callback: Any) -> None:
    """Print the exception a listener raised (the engine's watcher thread
    goes on with the next report)."""
    try:
        _sys.stderr.write("Exception in datalith listener %r:\n" % (callback,))
        _traceback.print_exc(file=_sys.stderr)
    except Exception:  # noqa: BLE001 -- never let reporting kill the watcher
        pass


class Connection(_Handle):
    """A connection to one database (shared and refcounted by the engine)."""

    __slots__ = ("_listen_keys",)

    def __init__(self, ptr: Any) -> None:
        super().__init__(ptr)
        self._listen_keys: List[Tuple[bytes, Any]] = []  # (engine's CBOR, key)

    def listen(self, callback: Callable[["TxReport"], Any], key: Any = None) -> Any:
        """Call ``callback(report)`` after every commit of this database: this
        connection's transactions and, once the engine's watcher thread
        notices them (a few tens of milliseconds), commits by other
        connections and processes (memory stores: this process only).
        ``report`` is a TxReport; for commits made elsewhere its tempids and
        tx_meta hold only ``:db/current-tx`` and ``:db/txInstant``.

        The callback runs on the engine's watcher thread (holding the GIL
        only while it runs), one report at a time, in commit order; it may
        call anything, including ``transact`` and ``unlisten``.  An exception
        it raises is printed to stderr and does not stop later reports.
        Returns the key (``key``, or a fresh keyword) for ``unlisten``."""
        if not callable(callback):
            raise TypeError("listen takes a callable")
        ptr = self._ptr if self._ptr != _ffi.NULL else _closed()

        def call(_ctx: Any, status: int, report: Any, n: int) -> None:
            _IN_CALLBACK.active = True
            try:
                if status != 0:
                    _raise_last(status)
                callback(TxReport(_cbor.loads(_ffi.unpack(report, n))))
            except BaseException:  # noqa: BLE001 -- reported, never raised into C
                _report_listener_error(callback)
            finally:
                _IN_CALLBACK.active = False

        cb = _ffi.callback("datalith_listen_fn", call)
        kb = b"" if key is None else _cbor.dumps(_kw(key) if isinstance(key, str) else key)
        out = _ffi.new("char **")
        n = _ffi.new("size_t *")
        with _LISTEN_LOCK:  # registered before the engine can call it
            rc = _lib.datalith_listen(ptr, kb, len(kb), _lib.DATALITH_FORMAT_CBOR, cb,
                                      _ffi.NULL, out, n)
            if rc != 0:
                _raise_last(rc)
            got = _ffi.unpack(out[0], n[0])
            _lib.datalith_free(out[0])
            k = _cbor.loads(got)
            _LISTENERS[(int(_ffi.cast("uintptr_t", ptr)), k)] = cb
            self._listen_keys.append((got, k))
            _LISTENING.add(self)
        return k

    def unlisten(self, key: Any) -> None:
        """Remove the listener ``key``: when this returns its callback is not
        running (unless called from inside it) and is not called again.
        NotFoundError if there is no such listener."""
        ptr = self._ptr if self._ptr != _ffi.NULL else _closed()
        kb = _cbor.dumps(_kw(key) if isinstance(key, str) else key)
        rc = _lib.datalith_unlisten(ptr, kb, len(kb), _lib.DATALITH_FORMAT_CBOR)
        if rc != 0:
            _raise_last(rc)
        k = _cbor.loads(kb)
        with _LISTEN_LOCK:
            _retire(_LISTENERS.pop((int(_ffi.cast("uintptr_t", ptr)), k), None))
            self._listen_keys = [x for x in self._listen_keys if x[1] != k]
            if not self._listen_keys:
                _LISTENING.discard(self)

    def _drop_listeners(self) -> None:
        """Unlisten every listener this object registered."""
        if self._ptr != _ffi.NULL:
            for kb, k in list(self._listen_keys):
                _lib.datalith_unlisten(self._ptr, kb, len(kb), _lib.DATALITH_FORMAT_CBOR)
                with _LISTEN_LOCK:
                    _retire(_LISTENERS.pop((int(_ffi.cast("uintptr_t", self._ptr)), k), None))
        self._listen_keys = []
        with _LISTEN_LOCK:
            _LISTENING.discard(self)

    def db(self) -> "Db":
        """The current snapshot (Datahike's @conn)."""
        return Db(_g.db(self))

    def transact(self, tx_data: Any, tx_meta: Any = None) -> TxReport:
        """Transact tx-data (a list of maps and [:db/add ...] vectors, or
        {:tx-data ... :tx-meta ...}) and wait for the commit; returns a
        TxReport (attributes db_before, db_after, tx_data, tempids, tx_meta;
        also a mapping with the report's keyword keys)."""
        if tx_meta is not None:
            tx_data = {Keyword("tx-data"): tx_data, Keyword("tx-meta"): tx_meta}
        return TxReport(_g.transact(self, tx_data))

    def close(self) -> None:
        """Remove the listeners this object registered, then release the
        connection (the engine stops its watcher thread with the last
        reference)."""
        if self._ptr != _ffi.NULL:
            self._drop_listeners()
            _g.release(self)

    def __repr__(self) -> str:
        return "<datalith.Connection%s>" % (" closed" if self.closed else "")


def _index_args(index: Union[str, Keyword], components: Sequence[Any]) -> Dict[Any, Any]:
    return {Keyword("index"): _kw(index), Keyword("components"): list(components)}


def _time_point(t: TimePoint) -> Any:
    if isinstance(t, bool) or not isinstance(t, (int, _dt.datetime)):
        raise TypeError("a time point is a transaction id (int) or a datetime, not %s"
                        % type(t).__name__)
    if isinstance(t, _dt.datetime) and t.tzinfo is None:
        raise ValueError("a datetime time point must be timezone-aware (e.g. tzinfo=timezone.utc)")
    return t


class Db(_Handle):
    """An immutable snapshot of a database, or a view of one (as-of, since,
    history, filter).  Derived views are new Db objects; each is released
    on close() (or a with block) or when garbage-collected."""

    # _keep: Python objects the engine calls back into (filter predicates)
    # that must outlive this view and the views derived from it.
    __slots__ = ("_keep",)

    def __init__(self, ptr: Any, keep: Tuple[Any, ...] = ()) -> None:
        super().__init__(ptr)
        self._keep = keep

    def _derived(self, ptr: Any) -> "Db":
        return Db(ptr, self._keep)

    # --- queries ---------------------------------------------------------

    def q(self, query: Any, *inputs: Any) -> Any:
        """Run a Datalog query with this snapshot as ``$``.

        ``query`` is a vector (list) or map of native values, or EDN text
        (``'[:find ?n :where [?e :name ?n]]'``).  Further ``Db`` inputs are
        bound to ``$2``, ``$3`` ... in the order given; every other input
        is a value bound to the next non-database ``:in`` variable (scalars,
        collections, relations, rules).  Returns a set of tuples, a list or a
        scalar as the :find spec says."""
        dbs: List[Db] = [self]
        values: List[Any] = []
        for x in inputs:
            (dbs if isinstance(x, Db) else values).append(x)
        return _g.q(query, dbs, values)

    def pull(self, selector: Any, eid: Any) -> Optional[Dict[Any, Any]]:
        """The attributes of one entity the pull pattern asks for (a list such
        as ``[Keyword("name"), {Keyword("friend"): [Keyword("name")]}]`` or EDN
        text), or None; ``eid`` is an id, an ident or a lookup ref."""
        return _g.pull(self, _selector(selector), eid)

    def pull_many(self, selector: Any, eids: Sequence[Any]) -> List[Optional[Dict[Any, Any]]]:
        """pull for each id, in order."""
        return _g.pull_many(self, _selector(selector), list(eids))

    def entity(self, eid: Any) -> Optional[Dict[Any, Any]]:
        """All attributes of an entity as a dict (references as {:db/id n}),
        or None.  Not lazy, unlike Datahike's entity."""
        return _g.entity(self, eid)

    # --- indexes -----------------------------------------------------------

    def datoms(self, index: Union[str, Keyword] = "eavt", *components: Any) -> List[Any]:
        """Datoms of an index (eavt, aevt, avet) matching leading components."""
        return _g.datoms(self, _index_args(index, components))

    def seek_datoms(self, index: Union[str, Keyword] = "eavt", *components: Any) -> List[Any]:
        """Datoms of an index from the given components to the end."""
        return _g.seek_datoms(self, _index_args(index, components))

    def rseek_datoms(self, index: Union[str, Keyword] = "eavt", *components: Any) -> List[Any]:
        """Datoms at or before the given components, in descending order."""
        return _g.rseek_datoms(self, _index_args(index, components))

    def index_range(self, attr: Union[str, Keyword], start: Any = None, end: Any = None) -> List[Any]:
        """AVET datoms of an indexed attribute with start <= v <= end
        (None: open end)."""
        return _g.index_range(self, {Keyword("attrid"): _kw(attr),
                                     Keyword("start"): start, Keyword("end"): end})

    # --- views -------------------------------------------------------------

    def as_of(self, t: TimePoint) -> "Db":
        """The database as it was at transaction id or datetime ``t``
        (inclusive).  Needs :keep-history? true."""
        return self._derived(_g.as_of(self, _time_point(t)))

    def since(self, t: TimePoint) -> "Db":
        """Only the datoms asserted after ``t`` (exclusive)."""
        return self._derived(_g.since(self, _time_point(t)))

    def history(self) -> "Db":
        """Every assertion and retraction ever made (datoms' added flag is
        False for retractions).  Needs :keep-history? true."""
        return self._derived(_g.history(self))

    def filter(self, pred: Callable[[Any], bool]) -> "Db":
        """A view keeping only the datoms for which ``pred(datom)`` is true;
        the datom is ``Tagged("datahike/Datom", [e, a, v, tx, added])``.
        ``pred`` may be called from any thread using the view; an exception
        in it counts as false (and is printed).  Views compose with AND."""
        if not callable(pred):
            raise TypeError("filter takes a callable predicate")

        def call(_ctx: Any, datom: Any, n: int) -> int:
            return 1 if pred(_cbor.loads(_ffi.unpack(datom, n))) else 0

        cb = _ffi.callback("datalith_filter_fn", call, error=0)
        out = _ffi.new("datalith_db **")
        rc = _lib.datalith_db_filter(self._ptr if self._ptr != _ffi.NULL else _closed(),
                                     cb, _ffi.NULL, _lib.DATALITH_FORMAT_CBOR, out)
        if rc != 0:
            _raise_last(rc)
        return Db(_ffi.gc(out[0], _lib.datalith_db_release), self._keep + (cb,))

    def is_filtered(self) -> bool:
        """True if this is a filtered view."""
        return _g.is_filtered(self)

    # --- speculative transactions -----------------------------------------

    def with_(self, tx_data: Any) -> TxReport:
        """Apply tx-data without committing (Datahike's ``with``); the
        report's ``db_after_db`` is the resulting Db.  (The engine is asked
        twice, for the report and for the Db; both start from this same
        snapshot, so ids agree; only the :db/txInstant wall-clock values
        may differ by the time between the calls.)"""
        report = _g.with_db(self, tx_data)
        return TxReport(report, self.db_with(tx_data))

    def db_with(self, tx_data: Any) -> "Db":
        """The snapshot after applying tx-data, without committing."""
        return self._derived(_g.db_with(self, tx_data))

    # --- schema and metrics ------------------------------------------------

    def schema(self) -> Dict[Any, Any]:
        """The schema: attribute ident -> attribute map (with :db/id)."""
        return _g.schema(self)

    def reverse_schema(self) -> Dict[Any, Any]:
        """Property -> set of attributes that have it."""
        return _g.reverse_schema(self)

    def metrics(self) -> Dict[Any, Any]:
        """Datom counts: {:count :avet-count :per-attr-counts
        :per-entity-counts} (+ :temporal-count :temporal-avet-count with
        history)."""
        return _g.metrics(self)

    def close(self) -> None:
        if self._ptr != _ffi.NULL:
            _g.release_db(self)
        self._keep = ()

    def __repr__(self) -> str:
        return "<datalith.Db%s>" % (" closed" if self.closed else "")


def _closed() -> Any:
    raise ValueError("db was already released")


def _selector(sel: Any) -> Any:
    """A pull pattern given as EDN text is read first ("[*]" is [*])."""
    return _edn.loads(sel) if isinstance(sel, str) and not isinstance(sel, Keyword) else sel
