"""pydatahike's EDN helpers (``from datahike import edn, kw``), for
datalith.compat.datahike.

    edn.keyword("name", "person")   # -> :person/name
    edn.symbol("inc")               # -> inc
    edn.uuid("550e8400-...")        # -> #uuid "550e8400-..."
    edn.inst("2024-01-01T00:00:00Z")
    edn.string(":literal")          # a string that starts with ':' and is not a keyword
    kw.STRING, kw.ONE, kw.DB_IDENT  # ":db.type/string", ... (plain ":..." strings)

As in pydatahike, Keyword/Symbol/UUID/Inst are small wrapper objects with
.value and .to_edn(); the conversion of compat inputs turns them into the
engine's values.
"""

from typing import Optional

__all__ = ["EDNType", "Keyword", "Symbol", "UUID", "Inst", "keyword", "symbol", "uuid",
           "inst", "string", "Keywords", "kw"]

STRING_MARKER = "<STRING>"


class EDNType:
    """Base class of the explicit EDN types."""

    def __init__(self, value: str) -> None:
        self.value = value

    def to_edn(self) -> str:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.value == self.value  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.value))

    def __repr__(self) -> str:
        return "%s(%r)" % (type(self).__name__, self.value)


class Keyword(EDNType):
    """An explicit keyword: Keyword("name", "person") is :person/name."""

    def __init__(self, name: str, namespace: Optional[str] = None) -> None:
        super().__init__("%s/%s" % (namespace, name) if namespace else name)

    def to_edn(self) -> str:
        return ":" + self.value


class Symbol(EDNType):
    """An explicit symbol: Symbol("assoc", "clojure.core")."""

    def __init__(self, name: str, namespace: Optional[str] = None) -> None:
        super().__init__("%s/%s" % (namespace, name) if namespace else name)

    def to_edn(self) -> str:
        return self.value


class UUID(EDNType):
    """An explicit #uuid (the text, with or without the #uuid prefix)."""

    def __init__(self, value: str) -> None:
        if value.startswith("#uuid"):
            value = value[5:].strip().strip('"')
        super().__init__(value)

    def to_edn(self) -> str:
        return '#uuid "%s"' % self.value


class Inst(EDNType):
    """An explicit #inst (ISO 8601 text, with or without the #inst prefix)."""

    def __init__(self, value: str) -> None:
        if value.startswith("#inst"):
            value = value[5:].strip().strip('"')
        super().__init__(value)

    def to_edn(self) -> str:
        return '#inst "%s"' % self.value


def keyword(name: str, namespace: Optional[str] = None) -> Keyword:
    """An EDN keyword."""
    return Keyword(name, namespace)


def symbol(name: str, namespace: Optional[str] = None) -> Symbol:
    """An EDN symbol."""
    return Symbol(name, namespace)


def uuid(value: str) -> UUID:
    """An EDN UUID."""
    return UUID(value)


def inst(value: str) -> Inst:
    """An EDN instant."""
    return Inst(value)


def string(value: str) -> str:
    """A string kept as a string even if it starts with ':' (pydatahike's
    "<STRING>" marker, which the input conversion removes)."""
    return STRING_MARKER + value


class Keywords:
    """pydatahike's keyword constants (":..." strings, keywords by the
    conversion rule)."""

    DB_ID = ":db/id"
    DB_IDENT = ":db/ident"
    DB_VALUE_TYPE = ":db/valueType"
    DB_CARDINALITY = ":db/cardinality"
    DB_DOC = ":db/doc"
    DB_UNIQUE = ":db/unique"
    DB_IS_COMPONENT = ":db/isComponent"
    DB_NO_HISTORY = ":db/noHistory"
    DB_INDEX = ":db/index"
    DB_FULLTEXT = ":db/fulltext"
    STRING = ":db.type/string"
    BOOLEAN = ":db.type/boolean"
    LONG = ":db.type/long"
    BIGINT = ":db.type/bigint"
    FLOAT = ":db.type/float"
    DOUBLE = ":db.type/double"
    BIGDEC = ":db.type/bigdec"
    INSTANT = ":db.type/instant"
    UUID_TYPE = ":db.type/uuid"
    KEYWORD_TYPE = ":db.type/keyword"
    SYMBOL_TYPE = ":db.type/symbol"
    REF = ":db.type/ref"
    BYTES = ":db.type/bytes"
    ONE = ":db.cardinality/one"
    MANY = ":db.cardinality/many"
    UNIQUE_VALUE = ":db.unique/value"
    UNIQUE_IDENTITY = ":db.unique/identity"
    TX = ":db/tx"
    TX_INSTANT = ":db/txInstant"
    SCHEMA_READ = ":read"
    SCHEMA_WRITE = ":write"


kw = Keywords()
