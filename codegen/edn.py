"""A small EDN reader and printer, sufficient for spec/api.edn.

Standard library only: the code generator runs before anything is installed.

Mapping of EDN to Python:

    nil true false      None True False
    42 42N              int
    1.5 1.5M            float (M keeps the text in a Decimal)
    "text"              str
    \\a \\newline       Char (a str subclass)
    :ns/name            Keyword
    ns/name             Symbol
    [a b]               Vector (a list subclass)
    (a b)               EdnList (a list subclass)
    {k v}               Map (a dict subclass)
    #{a b}              EdnSet (a frozenset subclass)
    #tag form           Tagged(tag, form)
    ; comment, #_form   skipped

Every Vector, EdnList and Map carries `line` (1-based) where it starts, so
the validator can point at the spec text.  Read errors raise EdnError with
the source name, line and column.
"""

import decimal

__all__ = ["EdnError", "Keyword", "Symbol", "Char", "Vector", "EdnList", "Map",
           "EdnSet", "Tagged", "read", "read_all", "dumps"]


class EdnError(ValueError):
    """Malformed EDN text; the message names the source, line and column."""

    def __init__(self, msg, source="<edn>", line=0, column=0):
        super().__init__("%s:%d:%d: %s" % (source, line, column, msg))
        self.line, self.column = line, column


class _Named:
    """Shared behaviour of keywords and symbols: `ns/name` or `name`."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    @property
    def namespace(self):
        return self.text.split("/", 1)[0] if "/" in self.text[1:] else None

    @property
    def name(self):
        return self.text.split("/", 1)[1] if "/" in self.text[1:] else self.text

    def __eq__(self, other):
        return type(self) is type(other) and self.text == other.text

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((type(self).__name__, self.text))

    def __lt__(self, other):
        return self.text < other.text


class Keyword(_Named):
    __slots__ = ()

    def __repr__(self):
        return ":" + self.text

    __str__ = __repr__


class Symbol(_Named):
    __slots__ = ()

    def __repr__(self):
        return self.text

    __str__ = __repr__


class Char(str):
    pass


class Vector(list):
    line = 0


class EdnList(list):
    line = 0


class Map(dict):
    line = 0


class EdnSet(frozenset):
    pass


class Tagged:
    __slots__ = ("tag", "form")

    def __init__(self, tag, form):
        self.tag, self.form = tag, form

    def __eq__(self, other):
        return isinstance(other, Tagged) and (self.tag, self.form) == (other.tag, other.form)

    def __hash__(self):
        return hash((self.tag, _hashable(self.form)))

    def __repr__(self):
        return "#%s %s" % (self.tag, dumps(self.form))


def _hashable(x):
    """A hashable stand-in for a collection used as a map key or set element."""
    if isinstance(x, list):
        return tuple(_hashable(e) for e in x)
    if isinstance(x, dict):
        return frozenset((_hashable(k), _hashable(v)) for k, v in x.items())
    return x


_DELIMS = set("()[]{}\"; \t\r\n,")
_CHAR_NAMES = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r",
               "backspace": "\b", "formfeed": "\f"}
_STR_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f",
                '"': '"', "\\": "\\"}
_CLOSERS = {"(": ")", "[": "]", "{": "}"}

_DISCARD = object()


class _Reader:
    def __init__(self, text, source):
        self.s, self.i, self.source = text, 0, source
        self.depth = 0

    def pos(self, i=None):
        i = self.i if i is None else i
        line = self.s.count("\n", 0, i) + 1
        col = i - (self.s.rfind("\n", 0, i) + 1) + 1
        return line, col

    def error(self, msg, i=None):
        line, col = self.pos(i)
        return EdnError(msg, self.source, line, col)

    def skip_ws(self):
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c in " \t\r\n,":
                self.i += 1
            elif c == ";":
                j = s.find("\n", self.i)
                self.i = n if j < 0 else j + 1
            else:
                break

    def token(self):
        j = self.i
        while j < len(self.s) and self.s[j] not in _DELIMS:
            j += 1
        tok, self.i = self.s[self.i:j], j
        return tok

    def read(self):
        """Read one form; returns _DISCARD for `#_form`, raises at EOF."""
        self.skip_ws()
        if self.i >= len(self.s):
            raise self.error("unexpected end of input")
        start = self.i
        c = self.s[self.i]
        if c in "([{":
            return self.read_coll(c, start)
        if c in ")]}":
            raise self.error("unmatched '%s'" % c)
        if c == '"':
            return self.read_string()
        if c == "\\":
            return self.read_char()
        if c == "#":
            return self.read_dispatch(start)
        tok = self.token()
        return self.atom(tok, start)

    def read_coll(self, opener, start, kind=None):
        self.depth += 1
        if self.depth > 200:
            raise self.error("nesting deeper than 200", start)
        self.i += 1
        closer = _CLOSERS[opener]
        items = []
        while True:
            self.skip_ws()
            if self.i >= len(self.s):
                raise self.error("unterminated '%s' (opened here)" % opener, start)
            if self.s[self.i] == closer:
                self.i += 1
                break
            form = self.read()
            if form is not _DISCARD:
                items.append(form)
        self.depth -= 1
        line = self.pos(start)[0]
        if kind == "set":
            elems = [_hashable(e) for e in items]
            if len(set(elems)) != len(elems):
                raise self.error("duplicate element in set", start)
            return EdnSet(elems)
        if opener == "(":
            out = EdnList(items)
        elif opener == "[":
            out = Vector(items)
        else:
            if len(items) % 2:
                raise self.error("map literal has an odd number of forms", start)
            out = Map()
            for k, v in zip(items[0::2], items[1::2]):
                hk = _hashable(k)
                if hk in out:
                    raise self.error("duplicate map key %s" % dumps(k), start)
                out[hk] = v
        out.line = line
        return out

    def read_string(self):
        start = self.i
        self.i += 1
        out = []
        s, n = self.s, len(self.s)
        while True:
            if self.i >= n:
                raise self.error("unterminated string", start)
            c = s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                if self.i + 1 >= n:
                    raise self.error("unterminated string", start)
                e = s[self.i + 1]
                if e in _STR_ESCAPES:
                    out.append(_STR_ESCAPES[e])
                    self.i += 2
                elif e == "u":
                    hexd = s[self.i + 2:self.i + 6]
                    if len(hexd) != 4 or any(h not in "0123456789abcdefABCDEF" for h in hexd):
                        raise self.error("bad \\u escape in string")
                    out.append(chr(int(hexd, 16)))
                    self.i += 6
                else:
                    raise self.error("unknown escape \\%s in string" % e)
            else:
                out.append(c)
                self.i += 1

    def read_char(self):
        start = self.i
        self.i += 1
        if self.i >= len(self.s):
            raise self.error("backslash at end of input", start)
        j = self.i + 1
        while j < len(self.s) and self.s[j] not in _DELIMS:
            j += 1
        tok, self.i = self.s[self.i:j], j
        if len(tok) == 1:
            return Char(tok)
        if tok in _CHAR_NAMES:
            return Char(_CHAR_NAMES[tok])
        if tok.startswith("u") and len(tok) == 5:
            try:
                return Char(chr(int(tok[1:], 16)))
            except ValueError:
                pass
        raise self.error("unknown character literal \\%s" % tok, start)

    def read_dispatch(self, start):
        nxt = self.s[self.i + 1:self.i + 2]
        if nxt == "{":
            self.i += 1
            return self.read_coll("{", start, kind="set")
        if nxt == "_":
            self.i += 2
            form = self.read()
            while form is _DISCARD:   # `#_#_ a b` discards both a and b
                form = self.read()
            return _DISCARD
        if nxt == "#":
            self.i += 2
            tok = self.token()
            vals = {"Inf": float("inf"), "-Inf": float("-inf"), "NaN": float("nan")}
            if tok not in vals:
                raise self.error("unknown symbolic value ##%s" % tok, start)
            return vals[tok]
        self.i += 1
        tok = self.token()
        if not tok or not (tok[0].isalpha()):
            raise self.error("bad dispatch '#%s'" % (tok or nxt), start)
        form = self.read()
        while form is _DISCARD:
            form = self.read()
        return Tagged(Symbol(tok), form)

    def atom(self, tok, start):
        if tok == "nil":
            return None
        if tok == "true":
            return True
        if tok == "false":
            return False
        c = tok[0]
        if c.isdigit() or (c in "+-" and len(tok) > 1 and tok[1].isdigit()):
            return self.number(tok, start)
        if c == ":":
            body = tok[1:]
            if not body or body.startswith(":") or body.endswith("/") or body.startswith("/"):
                raise self.error("bad keyword '%s'" % tok, start)
            return Keyword(body)
        if tok.endswith("/") and tok != "/":
            raise self.error("bad symbol '%s'" % tok, start)
        return Symbol(tok)

    def number(self, tok, start):
        try:
            if tok.endswith("N"):
                return int(tok[:-1])
            if tok.endswith("M"):
                return decimal.Decimal(tok[:-1])
            if any(ch in tok for ch in ".eE"):
                return float(tok)
            return int(tok, 10)
        except (ValueError, decimal.InvalidOperation):
            raise self.error("bad number '%s'" % tok, start) from None


def read_all(text, source="<edn>"):
    """Every top-level form of `text`, as a list."""
    r = _Reader(text, source)
    out = []
    while True:
        r.skip_ws()
        if r.i >= len(r.s):
            return out
        form = r.read()
        if form is not _DISCARD:
            out.append(form)


def read(text, source="<edn>"):
    """Exactly one form; anything else is an error."""
    forms = read_all(text, source)
    if len(forms) != 1:
        raise EdnError("expected exactly one form, found %d" % len(forms), source, 1, 1)
    return forms[0]


def _dump_str(s):
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def dumps(x):
    """Print a value as EDN on one line (maps in insertion order)."""
    if x is None:
        return "nil"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, (Keyword, Symbol)):
        return repr(x)
    if isinstance(x, Char):
        for name, c in _CHAR_NAMES.items():
            if c == x:
                return "\\" + name
        return "\\" + x
    if isinstance(x, str):
        return _dump_str(x)
    if isinstance(x, decimal.Decimal):
        return str(x) + "M"
    if isinstance(x, float):
        if x != x:
            return "##NaN"
        if x in (float("inf"), float("-inf")):
            return "##Inf" if x > 0 else "##-Inf"
        return repr(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, Tagged):
        return repr(x)
    if isinstance(x, dict):
        return "{" + ", ".join("%s %s" % (dumps(k), dumps(v)) for k, v in x.items()) + "}"
    if isinstance(x, (frozenset, set)):
        return "#{" + " ".join(sorted(dumps(e) for e in x)) + "}"
    if isinstance(x, EdnList):
        return "(" + " ".join(dumps(e) for e in x) + ")"
    if isinstance(x, (list, tuple)):
        return "[" + " ".join(dumps(e) for e in x) + "]"
    raise TypeError("cannot print %r as EDN" % (x,))
