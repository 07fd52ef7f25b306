"""Python types for the EDN values that have no native Python counterpart.

The value model (docs/values.md) maps to Python as follows:

    EDN                  Python (out)               also accepted (in)
    nil true false       None True False
    42  (int64)          int
    42N (bigint)         int (beyond int64 it is    any int: int64 range is
                         written as a bigint)       written as a long
    1.5  ##NaN ##Inf     float
    1.50M (bigdec)       decimal.Decimal (exact)
    "text"               str
    #bytes               bytes                      bytearray, memoryview
    :ns/name             Keyword
    ns/name              Symbol
    \\a                   Char
    #uuid "..."          uuid.UUID
    #inst "..."          datetime.datetime (UTC)    aware datetimes only
    [1 2]                list (tuple where a        list, tuple
                         hashable value is needed)
    (1 2)                EdnList (a tuple)
    {:a 1}               dict (FrozenMap where      any Mapping
                         hashable)
    #{1 2}               set (frozenset where       set, frozenset
                         hashable)
    #my/tag 1            Tagged(Symbol, value)

"Where hashable": a vector, map or set that is an element of a set or a key
of a map decodes to tuple, FrozenMap or frozenset, so a query result such
as #{[1 "a"] [2 "b"]} becomes {(1, "a"), (2, "b")}.

Keyword, Symbol and Char are str subclasses, so they can be used wherever
text is expected (print, f-strings, str methods, json).  They are EQUAL ONLY
TO VALUES OF THEIR OWN TYPE: Keyword(":a") != ":a" and Keyword(":a") !=
Symbol(":a").  This keeps EDN semantics (a map may have both ":a" and :a as
keys) and makes every decoded value round-trip.  They hash like their text,
which is allowed (equal hashes do not make values equal) and fast.
Keywords and symbols are interned: Keyword(":a") is
Keyword("a").
"""

from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

__all__ = ["Keyword", "Symbol", "Char", "Tagged", "EdnList", "FrozenMap"]


def _split(full: str) -> Tuple[Optional[str], str]:
    """Split at the first '/', as the engine does, unless the name is "/"."""
    if full != "/" and "/" in full:
        ns, name = full.split("/", 1)
        return ns, name
    return None, full


class _Named(str):
    """Base of Keyword and Symbol: an interned name "ns/name" or "name"."""

    __slots__ = ()
    _table: Dict[str, "_Named"]
    _prefix = ""

    def __new__(cls, text: str, name: Optional[str] = None) -> "_Named":
        if name is not None:  # Keyword("ns", "name")
            if not isinstance(text, str) or not isinstance(name, str):
                raise TypeError("%s(ns, name) takes two strings" % cls.__name__)
            full = "%s/%s" % (text, name) if text else name
        else:
            if not isinstance(text, str):
                raise TypeError("%s() takes a string, not %s" % (cls.__name__, type(text).__name__))
            full = str(text)
            if cls._prefix and full.startswith(cls._prefix):
                full = full[len(cls._prefix):]
        try:
            return cls._table[full]
        except KeyError:
            pass
        if not full:
            raise ValueError("%s name must not be empty" % cls.__name__)
        obj = str.__new__(cls, cls._prefix + full)
        return cls._table.setdefault(full, obj)

    @property
    def full(self) -> str:
        """"ns/name" or "name", without the keyword colon."""
        return str.__str__(self)[len(self._prefix):]

    @property
    def ns(self) -> Optional[str]:
        """The namespace, or None."""
        return _split(self.full)[0]

    namespace = ns

    @property
    def name(self) -> str:
        """The local name."""
        return _split(self.full)[1]

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return str.__eq__(self, other)
        return False

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    # The hash of the text: fast (a C slot), and harmless for a plain string
    # with the same text, which hashes alike but is never equal.
    __hash__ = str.__hash__

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, str.__repr__(self))

    def __reduce__(self) -> Any:
        return (type(self), (self.full,))

    def __copy__(self) -> "_Named":
        return self

    def __deepcopy__(self, memo: Any) -> "_Named":
        return self


class Keyword(_Named):
    """An EDN keyword such as :person/name.

    Keyword(":person/name"), Keyword("person/name") and
    Keyword("person", "name") are the same (interned) object; its text,
    str() and print() are ":person/name"; .ns is "person", .name "name".
    Equal only to keywords with the same name.
    """

    __slots__ = ()
    _table: Dict[str, "_Named"] = {}
    _prefix = ":"


class Symbol(_Named):
    """An EDN symbol such as ?e or clojure.core/inc; its text is "ns/name".
    Equal only to symbols with the same name; interned."""

    __slots__ = ()
    _table: Dict[str, "_Named"] = {}
    _prefix = ""


class Char(str):
    """An EDN character (\\a): a one-character str, equal only to Chars."""

    __slots__ = ()

    def __new__(cls, c: Any) -> "Char":
        if isinstance(c, int) and not isinstance(c, bool):
            c = chr(c)
        if not isinstance(c, str) or len(c) != 1:
            raise ValueError("Char takes one character or a code point, not %r" % (c,))
        return str.__new__(cls, c)

    def __eq__(self, other: object) -> bool:
        return type(other) is Char and str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__

    def __repr__(self) -> str:
        return "Char(%s)" % str.__repr__(self)

    def __reduce__(self) -> Any:
        return (Char, (str.__str__(self),))


class Tagged:
    """A tagged literal the engine does not interpret, e.g. #my/point [1 2].
    `tag` is a Symbol (a str is converted), `value` any value."""

    __slots__ = ("tag", "value")

    def __init__(self, tag: Any, value: Any) -> None:
        object.__setattr__(self, "tag", tag if isinstance(tag, Symbol) else Symbol(tag))
        object.__setattr__(self, "value", value)

    def __setattr__(self, k: str, v: Any) -> None:
        raise AttributeError("Tagged is immutable")

    def __eq__(self, other: object) -> bool:
        return (type(other) is Tagged and self.tag == other.tag  # type: ignore[attr-defined]
                and _strict_eq(self.value, other.value))  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("Tagged", self.tag, self.value))

    def __repr__(self) -> str:
        return "Tagged(%r, %r)" % (self.tag, self.value)

    def __reduce__(self) -> Any:
        return (Tagged, (self.tag, self.value))


def _strict_eq(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


class EdnList(tuple):
    """An EDN list (1 2 3), as a tuple.  Plain tuples and lists are written
    as vectors; use EdnList to write a list (e.g. a query's rule body)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EdnList(%s)" % tuple.__repr__(self)


class FrozenMap(Mapping):
    """An immutable, hashable mapping: how a map that is a set element or a
    map key decodes.  Equal to any Mapping with the same items."""

    __slots__ = ("_d", "_h")

    def __init__(self, *args: Any, **kw: Any) -> None:
        self._d = dict(*args, **kw)
        self._h: Optional[int] = None

    def __getitem__(self, k: Any) -> Any:
        return self._d[k]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        if self._h is None:
            self._h = hash(frozenset(self._d.items()))
        return self._h

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._d == other._d
        return isinstance(other, Mapping) and self._d == dict(other.items())

    def __repr__(self) -> str:
        return "FrozenMap(%r)" % (self._d,)

    def __reduce__(self) -> Any:
        return (FrozenMap, (self._d,))

