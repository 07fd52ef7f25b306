"""A small EDN reader for the server tests (standard library only).

Maps read as Map (a hashable dict), vectors and lists as tuple, sets as frozenset (so they
can hold vectors), keywords as Kw, symbols as Sym, and every tagged literal
(#inst, #uuid, #datahike/DB ...) as Tagged(tag, value).
"""


class Kw(str):
    """A keyword, e.g. Kw("db/id") for :db/id."""

    def __repr__(self):
        return ":" + str.__str__(self)

    def __eq__(self, other):
        return isinstance(other, Kw) and str.__eq__(self, other)

    def __hash__(self):
        return hash((":", str.__str__(self)))


class Sym(str):
    def __repr__(self):
        return str.__str__(self)

    def __eq__(self, other):
        return isinstance(other, Sym) and str.__eq__(self, other)

    def __hash__(self):
        return hash(("'", str.__str__(self)))


class Tagged:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value

    def __eq__(self, other):
        return isinstance(other, Tagged) and (self.tag, self.value) == (other.tag, other.value)

    def __hash__(self):
        return hash((self.tag, self.value if not isinstance(self.value, dict) else None))

    def __repr__(self):
        return "#%s %r" % (self.tag, self.value)


class Map(dict):
    """A read-only dict that hashes (maps may sit in sets, e.g. #{{:db/id 4}})."""

    def __hash__(self):
        return hash(frozenset(self.items()))


class EdnError(ValueError):
    pass


_DELIM = set(" \t\r\n,()[]{}\";")
_ESC = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}


def loads(text):
    val, i = _read(text, _skip(text, 0))
    i = _skip(text, i)
    if i != len(text):
        raise EdnError("trailing text at %d" % i)
    return val


def _skip(s, i):
    while i < len(s):
        c = s[i]
        if c in " \t\r\n,":
            i += 1
        elif c == ";":
            while i < len(s) and s[i] != "\n":
                i += 1
        else:
            break
    return i


def _seq(s, i, close):
    out = []
    while True:
        i = _skip(s, i)
        if i >= len(s):
            raise EdnError("unclosed collection")
        if s[i] == close:
            return out, i + 1
        v, i = _read(s, i)
        out.append(v)


def _read(s, i):
    if i >= len(s):
        raise EdnError("end of input")
    c = s[i]
    if c == "[":
        items, i = _seq(s, i + 1, "]")
        return tuple(items), i
    if c == "(":
        items, i = _seq(s, i + 1, ")")
        return tuple(items), i
    if c == "{":
        items, i = _seq(s, i + 1, "}")
        return Map((items[k], items[k + 1]) for k in range(0, len(items), 2)), i
    if c == '"':
        out, i = [], i + 1
        while s[i] != '"':
            if s[i] == "\\":
                e = s[i + 1]
                if e == "u":
                    out.append(chr(int(s[i + 2:i + 6], 16)))
                    i += 6
                    continue
                out.append(_ESC[e])
                i += 2
            else:
                out.append(s[i])
                i += 1
        return "".join(out), i + 1
    if c == "#":
        if s[i + 1] == "{":
            items, i = _seq(s, i + 2, "}")
            return frozenset(items), i
        if s[i + 1] == "#":  # ##Inf ##NaN
            j = i + 2
            while j < len(s) and s[j] not in _DELIM:
                j += 1
            return float({"Inf": "inf", "-Inf": "-inf", "NaN": "nan"}[s[i + 2:j]]), j
        j = i + 1
        while s[j] not in _DELIM:
            j += 1
        tag = s[i + 1:j]
        v, j = _read(s, _skip(s, j))
        return Tagged(tag, v), j
    if c == "\\":
        j = i + 2
        while j < len(s) and s[j] not in _DELIM:
            j += 1
        return Tagged("char", s[i + 1:j]), j
    j = i
    while j < len(s) and s[j] not in _DELIM:
        j += 1
    tok = s[i:j]
    if not tok:
        raise EdnError("unexpected %r at %d" % (c, i))
    if tok[0] == ":":
        return Kw(tok[1:]), j
    if tok == "nil":
        return None, j
    if tok == "true":
        return True, j
    if tok == "false":
        return False, j
    if tok[0].isdigit() or (tok[0] in "+-" and len(tok) > 1 and tok[1].isdigit()):
        t = tok.rstrip("NM")
        try:
            return int(t), j
        except ValueError:
            return float(t), j
    return Sym(tok), j
