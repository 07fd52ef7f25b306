"""The API spec as a checked model: loading, validation and name derivation.

load(path) reads spec/api.edn, validates it against the schema written down
in spec/README.md and returns a Spec.  Every problem found is reported at
once as a SpecError whose message lists one line per problem, each naming
the spec file, the line, the operation and the key at fault.

Names are derived mechanically from an operation's kebab-case name (see
derive_names); an operation's :targets overlay may override any of them.
"""

import keyword as _pykeyword
import re

from edn import Keyword, Symbol, Map, read, EdnError

__all__ = ["SpecError", "Spec", "Op", "load", "parse", "derive_names",
           "OWNERSHIPS", "STABILITIES", "STATUSES", "NAME_TARGETS"]

OWNERSHIPS = ("borrowed", "owned-by-callee", "fresh", "static")
STABILITIES = ("stable", "beta", "experimental")
STATUSES = ("implemented", "planned")
CATEGORIES = ("meta", "values", "lifecycle", "connection", "write", "query",
              "pull", "index", "time", "schema", "versioning")
THREAD_SAFETY = ("any", "serialized-per-handle")
NAME_TARGETS = ("c", "python", "java", "js", "pod", "cli", "http")

TOP_KEYS = {"spec-version": True, "library": True, "types": True, "handles": True,
            "formats": True, "errors": True, "targets": True, "ops": True}
OP_KEYS = {"name": True, "doc": True, "status": True, "args": True, "ret": True,
           "stability": True, "remote?": True, "pure?": True, "blocking?": True,
           "since": True, "category": False, "errors": False, "examples": False,
           "fallible?": False, "async?": False, "thread-safety": False,
           "targets": False, "notes": False, "dispatch": False}
ARG_KEYS = {"name": True, "type": True, "ownership": True, "doc": True}
RET_KEYS = {"type": True, "ownership": False, "doc": False}
ERRREF_KEYS = {"code": True, "when": False}
EXAMPLE_KEYS = {"call": True, "ret": False, "doc": False}
TYPE_KEYS = {"doc": True, "c": False}
TYPE_C_KEYS = ("in", "out", "ret", "decl")
OVERLAY_KEYS = ("name", "exclude")
DISPATCH_KEYS = ("remote", "null-error")
DISPATCH_REMOTE = ("forward", "peer", "unsupported", "custom")

_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*[?!]?$")

# Reserved words a derived name must not collide with (an overlay fixes it).
RESERVED = {
    "python": set(_pykeyword.kwlist),
    "java": {"abstract", "assert", "boolean", "break", "byte", "case", "catch", "char",
             "class", "const", "continue", "default", "do", "double", "else", "enum",
             "extends", "final", "finally", "float", "for", "goto", "if", "implements",
             "import", "instanceof", "int", "interface", "long", "native", "new",
             "package", "private", "protected", "public", "return", "short", "static",
             "strictfp", "super", "switch", "synchronized", "this", "throw", "throws",
             "transient", "try", "void", "volatile", "while", "true", "false", "null"},
    "js": {"break", "case", "catch", "class", "const", "continue", "debugger", "default",
           "delete", "do", "else", "export", "extends", "finally", "for", "function",
           "if", "import", "in", "instanceof", "new", "return", "super", "switch", "this",
           "throw", "try", "typeof", "var", "void", "while", "with", "yield", "let",
           "static", "enum", "await", "implements", "package", "protected", "interface",
           "private", "public", "null", "true", "false"},
    "c": {"auto", "break", "case", "char", "const", "continue", "default", "do",
          "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline",
          "int", "long", "register", "restrict", "return", "short", "signed", "sizeof",
          "static", "struct", "switch", "typedef", "union", "unsigned", "void",
          "volatile", "while"},
}


class SpecError(Exception):
    """The spec is invalid; str() lists every problem, one per line."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _kw(x):
    return x.text if isinstance(x, Keyword) else None


def _snake(base):
    return base.replace("-", "_")


def _camel(base):
    parts = base.split("-")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def derive_names(name, is_async=False, c_prefix="datalith_"):
    """Mechanical names of an operation in every naming target.

    `?` is dropped; a trailing `!` becomes an Async suffix when the operation
    is asynchronous (Datahike's convention: transact! -> transactAsync) and is
    dropped otherwise (branch! -> branch).  C: prefix + snake_case; Python:
    snake_case; Java and JS: camelCase; pod: the spec name unchanged; CLI and
    HTTP route: kebab-case without `?`/`!`.
    """
    base = name.rstrip("?!")
    if name.endswith("!") and is_async:
        kebab = base + "-async"
    else:
        kebab = base
    return {
        "c": c_prefix + _snake(kebab),
        "python": _snake(kebab),
        "java": _camel(kebab),
        "js": _camel(kebab),
        "pod": name,
        "cli": base,
        "http": "/" + base,
    }


class Arg:
    def __init__(self, name, type_, ownership, doc):
        self.name, self.type, self.ownership, self.doc = name, type_, ownership, doc

    @property
    def c_name(self):
        return self.name.replace("-", "_")


class Op:
    """One operation, with defaults applied and names derived."""

    def __init__(self, m, spec):
        self.raw = m
        self.line = getattr(m, "line", 0)
        self.name = str(m[Keyword("name")])
        g = lambda k, d=None: m.get(Keyword(k), d)
        self.doc = g("doc")
        self.status = _kw(g("status"))
        self.category = _kw(g("category")) or "meta"
        self.stability = _kw(g("stability"))
        self.since = g("since")
        self.remote = bool(g("remote?"))
        self.pure = bool(g("pure?"))
        self.blocking = bool(g("blocking?"))
        self.is_async = bool(g("async?", False))
        self.fallible = bool(g("fallible?", True))
        self.thread_safety = _kw(g("thread-safety")) or "any"
        self.args = [Arg(str(a[Keyword("name")]), _kw(a[Keyword("type")]),
                         _kw(a[Keyword("ownership")]), a[Keyword("doc")])
                     for a in g("args", [])]
        r = g("ret")
        self.ret_type = _kw(r[Keyword("type")])
        self.ret_ownership = _kw(r.get(Keyword("ownership"))) or ("fresh" if self.ret_type != "void" else None)
        self.ret_doc = r.get(Keyword("doc"))
        self.errors = [(_kw(e[Keyword("code")]), e.get(Keyword("when"))) for e in g("errors", [])]
        self.examples = [{"call": e[Keyword("call")], "ret": e.get(Keyword("ret")),
                          "has_ret": Keyword("ret") in e, "doc": e.get(Keyword("doc"))}
                         for e in g("examples", [])]
        self.names = derive_names(self.name, self.is_async, spec.c_prefix)
        self.excluded = {}
        for tgt, ov in (g("targets") or {}).items():
            t = _kw(tgt)
            if Keyword("name") in ov:
                self.names[t] = ov[Keyword("name")]
            if Keyword("exclude") in ov:
                self.excluded[t] = ov[Keyword("exclude")]
        self.http_method = "GET" if self.pure else "POST"
        d = g("dispatch") or {}
        self.dispatch = {"remote": _kw(d.get(Keyword("remote"))),
                         "null-error": d.get(Keyword("null-error"))}

    @property
    def implemented(self):
        return self.status == "implemented"

    def in_target(self, t):
        """Whether naming target `t` offers this operation.

        HTTP routes exist for :remote? ops only.  The CLI leaves out what a
        command line cannot express: async ops, ops returning a handle or
        taking a callback or taking ownership of a handle; plus explicit
        :exclude overlays.
        """
        if t in self.excluded:
            return False
        if t == "http":
            return self.remote
        if t == "cli":
            return not (self.is_async or self.ret_type.startswith("handle")
                        or any(a.type.startswith("callback") or a.ownership == "owned-by-callee"
                               for a in self.args))
        return True

    def types_used(self):
        """Every type this operation's C signature involves."""
        return [a.type for a in self.args] + [self.ret_type]


class Spec:
    def __init__(self, m, source):
        self.raw, self.source = m, source
        lib = m[Keyword("library")]
        self.library = {_kw(k): v for k, v in lib.items()}
        self.version = self.library.get("version", "0")
        self.c_prefix = self.library.get("c-prefix", "datalith_")
        self.c_macro_prefix = self.library.get("c-macro-prefix", "DATALITH_")
        self.types = {}
        for k, v in m[Keyword("types")].items():
            c = v.get(Keyword("c"), {})
            self.types[k.text] = {"doc": v[Keyword("doc")],
                                  "c": {_kw(ck): cv for ck, cv in c.items()}}
        self.handles = {k.text: {_kw(hk): hv for hk, hv in v.items()}
                        for k, v in m[Keyword("handles")].items()}
        self.formats = [{_kw(k): v for k, v in f.items()} for f in m[Keyword("formats")]]
        self.errors = [{_kw(k): v for k, v in e.items()} for e in m[Keyword("errors")]]
        for e in self.errors:
            e["name"] = e["name"].text
            e["c"] = self.c_macro_prefix + e["name"].upper()
        for f in self.formats:
            f["name"] = f["name"].text
            f["c"] = self.c_macro_prefix + "FORMAT_" + f["name"].upper()
        self.targets = {k.text: {_kw(tk): tv for tk, tv in v.items()}
                        for k, v in m[Keyword("targets")].items()}
        self.ops = [Op(o, self) for o in m[Keyword("ops")]]

    def error(self, name):
        for e in self.errors:
            if e["name"] == name:
                return e
        raise KeyError(name)

    def op(self, name):
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(name)


# ------------------------------------------------------------------ validation

class _Checker:
    def __init__(self, source):
        self.source = source
        self.problems = []

    def err(self, line, where, msg):
        self.problems.append("%s:%s: %s: %s" % (self.source, line or "?", where, msg))

    def keys(self, m, allowed, line, where):
        """Check a map's keys: unknown ones and missing required ones."""
        if not isinstance(m, dict):
            self.err(line, where, "expected a map, found %s" % _show(m))
            return False
        for k in m:
            if not isinstance(k, Keyword):
                self.err(line, where, "key %s is not a keyword" % _show(k))
            elif k.text not in allowed:
                self.err(line, where, "unknown key :%s (allowed: %s)" % (
                    k.text, " ".join(":" + a for a in allowed)))
        ok = True
        for k, required in allowed.items():
            if required and Keyword(k) not in m:
                self.err(line, where, "missing :%s" % k)
                ok = False
        return ok


def _show(x):
    s = repr(x)
    return s if len(s) < 40 else s[:37] + "..."


def _nonempty_str(x):
    return isinstance(x, str) and x.strip() != ""


def validate(m, source="spec/api.edn"):
    """Check the raw EDN map against the schema; raise SpecError on problems."""
    ck = _Checker(source)
    line = getattr(m, "line", 1)
    if not ck.keys(m, TOP_KEYS, line, "spec"):
        raise SpecError(ck.problems)

    if m[Keyword("spec-version")] != 1:
        ck.err(line, "spec", ":spec-version must be 1")
    lib = m[Keyword("library")]
    ck.keys(lib, {"name": True, "version": True, "c-prefix": True, "c-macro-prefix": True},
            getattr(lib, "line", line), ":library")

    types = m[Keyword("types")]
    type_names = set()
    if not isinstance(types, dict):
        ck.err(line, ":types", "expected a map")
        types = {}
    if True:
        for k, v in types.items():
            tn = _kw(k)
            if tn is None:
                ck.err(getattr(types, "line", line), ":types", "type name %s is not a keyword" % _show(k))
                continue
            type_names.add(tn)
            where = "type :%s" % tn
            tl = getattr(v, "line", line)
            if not ck.keys(v, TYPE_KEYS, tl, where):
                continue
            if not _nonempty_str(v[Keyword("doc")]):
                ck.err(tl, where, ":doc must be a non-empty string")
            c = v.get(Keyword("c"), {})
            if isinstance(c, dict):
                for ck_, cv in c.items():
                    if _kw(ck_) not in TYPE_C_KEYS:
                        ck.err(tl, where, "unknown :c key %s (allowed: :in :out :ret)" % _show(ck_))
                    elif _kw(ck_) in ("ret", "decl"):
                        if not isinstance(cv, str):
                            ck.err(tl, where, ":c :%s must be a string" % _kw(ck_))
                    elif not (isinstance(cv, list) and cv and all(isinstance(s, str) and "{name}" in s for s in cv)):
                        ck.err(tl, where, ":c :%s must be a vector of C parameter templates containing {name}" % _kw(ck_))
            else:
                ck.err(tl, where, ":c must be a map")

    handles = m[Keyword("handles")]
    for k, v in handles.items():
        where = "handle %s" % _show(k)
        hl = getattr(v, "line", line)
        if _kw(k) not in type_names:
            ck.err(hl, where, "is not a declared type")
        if ck.keys(v, {"c-type": True, "release": True, "doc": True}, hl, where):
            if not _nonempty_str(v[Keyword("doc")]):
                ck.err(hl, where, ":doc must be a non-empty string")
            rel = v[Keyword("release")]
            if not (isinstance(rel, Symbol) and any(
                    isinstance(o, dict) and o.get(Keyword("name")) == rel for o in m[Keyword("ops")])):
                ck.err(hl, where, ":release must name an op of :ops")

    error_names = set()
    seen_vals = set()
    for e in m[Keyword("errors")]:
        el = getattr(e, "line", line)
        if not ck.keys(e, {"name": True, "value": True, "doc": True}, el, ":errors entry"):
            continue
        n = _kw(e[Keyword("name")])
        where = "error :%s" % n
        if n is None:
            ck.err(el, ":errors entry", ":name must be a keyword")
            continue
        if n in error_names:
            ck.err(el, where, "declared twice")
        error_names.add(n)
        v = e[Keyword("value")]
        if not isinstance(v, int) or isinstance(v, bool) or v > 0:
            ck.err(el, where, ":value must be 0 or a negative integer")
        elif v in seen_vals:
            ck.err(el, where, "value %d used twice" % v)
        seen_vals.add(v)
        if not _nonempty_str(e[Keyword("doc")]):
            ck.err(el, where, "missing :doc")

    for f in m[Keyword("formats")]:
        fl = getattr(f, "line", line)
        ck.keys(f, {"name": True, "value": True, "doc": True}, fl, ":formats entry")

    for k, v in m[Keyword("targets")].items():
        tl = getattr(v, "line", line)
        ck.keys(v, {"enabled?": True, "issue": False, "module": False, "class": False,
                    "package": False, "namespace": False, "program": False},
                tl, "target %s" % _show(k))

    names = set()
    for o in m[Keyword("ops")]:
        _validate_op(ck, o, type_names, error_names, names)

    if ck.problems:
        raise SpecError(ck.problems)


def _validate_op(ck, o, type_names, error_names, names):
    ol = getattr(o, "line", 0)
    nm = o.get(Keyword("name")) if isinstance(o, dict) else None
    where = "op %s" % (nm if nm is not None else "(unnamed)")
    if not ck.keys(o, OP_KEYS, ol, where):
        return
    if not isinstance(nm, Symbol) or not _KEBAB.match(nm.text):
        ck.err(ol, where, ":name must be a kebab-case symbol (optionally ending in ? or !)")
        return
    name = nm.text
    if name in names:
        ck.err(ol, where, "declared twice")
    names.add(name)
    g = lambda k: o.get(Keyword(k))
    if not _nonempty_str(g("doc")):
        ck.err(ol, where, ":doc must be a non-empty string")
    for key, allowed in (("status", STATUSES), ("stability", STABILITIES)):
        if _kw(g(key)) not in allowed:
            ck.err(ol, where, ":%s must be one of %s" % (key, " ".join(":" + a for a in allowed)))
    if g("category") is not None and _kw(g("category")) not in CATEGORIES:
        ck.err(ol, where, ":category must be one of %s" % " ".join(":" + a for a in CATEGORIES))
    if g("thread-safety") is not None and _kw(g("thread-safety")) not in THREAD_SAFETY:
        ck.err(ol, where, ":thread-safety must be one of %s" % " ".join(":" + a for a in THREAD_SAFETY))
    for key in ("remote?", "pure?", "blocking?", "fallible?", "async?"):
        if Keyword(key) in o and not isinstance(g(key), bool):
            ck.err(ol, where, ":%s must be true or false" % key)
    if name.endswith("!") and Keyword("async?") not in o:
        ck.err(ol, where, "a name ending in ! must say :async? true or false")
    if not (isinstance(g("since"), str) and re.match(r"^\d+\.\d+\.\d+$", g("since"))):
        ck.err(ol, where, ":since must be a version string \"M.m.p\"")

    argnames = set()
    args = g("args")
    if not isinstance(args, list):
        ck.err(ol, where, ":args must be a vector")
        args = []
    for a in args:
        al = getattr(a, "line", ol)
        an = a.get(Keyword("name")) if isinstance(a, dict) else None
        aw = "%s arg %s" % (where, an)
        if not ck.keys(a, ARG_KEYS, al, aw):
            continue
        if not isinstance(an, Symbol) or not _KEBAB.match(an.text) or an.text[-1] in "?!":
            ck.err(al, aw, "arg :name must be a kebab-case symbol")
        elif an.text in argnames:
            ck.err(al, aw, "arg name used twice")
        else:
            argnames.add(an.text)
            if an.text.replace("-", "_") in RESERVED["c"] or an.text == "out":
                ck.err(al, aw, "arg name is reserved in C (or is `out`)")
        t = _kw(a[Keyword("type")])
        if t not in type_names:
            ck.err(al, aw, "unknown type %s" % _show(a[Keyword("type")]))
        elif t == "void":
            ck.err(al, aw, "an argument cannot be :void")
        own = _kw(a[Keyword("ownership")])
        if own not in ("borrowed", "owned-by-callee"):
            ck.err(al, aw, ":ownership of an argument must be :borrowed or :owned-by-callee")
        if not _nonempty_str(a[Keyword("doc")]):
            ck.err(al, aw, "missing :doc")

    r = g("ret")
    rl = getattr(r, "line", ol)
    if ck.keys(r, RET_KEYS, rl, where + " :ret"):
        rt = _kw(r[Keyword("type")])
        if rt not in type_names:
            ck.err(rl, where + " :ret", "unknown type %s" % _show(r[Keyword("type")]))
        own = r.get(Keyword("ownership"))
        if own is not None and _kw(own) not in ("fresh", "static"):
            ck.err(rl, where + " :ret", ":ownership of a result must be :fresh or :static")
        fallible = g("fallible?") is not False
        if not fallible and rt != "void" and _kw(own) != "static":
            ck.err(rl, where, "an infallible op (:fallible? false) returns :void or a :static result")
        if fallible and _kw(own) == "static":
            ck.err(rl, where, "a :static result is only possible with :fallible? false")

    errs = g("errors") or []
    if g("fallible?") is False and errs:
        ck.err(ol, where, "an infallible op cannot list :errors")
    if g("fallible?") is not False and _kw(g("status")) == "implemented" and not errs:
        ck.err(ol, where, "a fallible implemented op must list its :errors")
    seen = set()
    for e in errs:
        el = getattr(e, "line", ol)
        if not ck.keys(e, ERRREF_KEYS, el, where + " :errors"):
            continue
        c = _kw(e[Keyword("code")])
        if c not in error_names or c == "ok":
            ck.err(el, where, "unknown error code %s" % _show(e[Keyword("code")]))
        elif c in seen:
            ck.err(el, where, "error %s listed twice" % c)
        seen.add(c)

    for ex in g("examples") or []:
        ck.keys(ex, EXAMPLE_KEYS, getattr(ex, "line", ol), where + " :examples")

    dp = g("dispatch")
    if dp is not None:
        if not isinstance(dp, dict) or not dp:
            ck.err(ol, where, ":dispatch must be a non-empty map")
        else:
            for k, v in dp.items():
                if _kw(k) not in DISPATCH_KEYS:
                    ck.err(ol, where, ":dispatch: unknown key %s (allowed: :remote :null-error)"
                           % _show(k))
                elif _kw(k) == "remote" and _kw(v) not in DISPATCH_REMOTE:
                    ck.err(ol, where, ":dispatch :remote must be one of %s"
                           % " ".join(":" + r for r in DISPATCH_REMOTE))
                elif _kw(k) == "null-error" and not _nonempty_str(v):
                    ck.err(ol, where, ":dispatch :null-error must be a non-empty string")

    tg = g("targets") or {}
    if not isinstance(tg, dict):
        ck.err(ol, where, ":targets must be a map")
        tg = {}
    for k, v in tg.items():
        t = _kw(k)
        if t not in NAME_TARGETS:
            ck.err(ol, where, "unknown naming target %s (allowed: %s)" % (
                _show(k), " ".join(":" + n for n in NAME_TARGETS)))
            continue
        if not isinstance(v, dict) or not v:
            ck.err(ol, where, "overlay :%s must be a non-empty map" % t)
            continue
        for ok in v:
            if _kw(ok) not in OVERLAY_KEYS:
                ck.err(ol, where, "overlay :%s: unknown key %s (allowed: :name :exclude)" % (t, _show(ok)))
            elif not _nonempty_str(v[ok]):
                ck.err(ol, where, "overlay :%s %s must be a non-empty string" % (t, _show(ok)))


def _check_names(spec):
    """Derived names must be unique per target and not reserved words."""
    problems = []
    for t in NAME_TARGETS:
        seen = {}
        for o in spec.ops:
            if not o.in_target(t):
                continue
            n = o.names[t]
            where = "%s:%s: op %s" % (spec.source, o.line, o.name)
            if n in RESERVED.get(t, ()):
                problems.append("%s: %s name '%s' is a reserved word; add :targets {:%s {:name \"...\"}}"
                                % (where, t, n, t))
            if n in seen:
                problems.append("%s: %s name '%s' collides with op %s" % (where, t, n, seen[n]))
            seen[n] = o.name
    if problems:
        raise SpecError(problems)


def parse(text, source="spec/api.edn"):
    """Parse and validate spec text; return a Spec or raise SpecError."""
    try:
        m = read(text, source)
    except EdnError as e:
        raise SpecError([str(e)]) from None
    if not isinstance(m, Map):
        raise SpecError(["%s: the spec must be one map" % source])
    validate(m, source)
    spec = Spec(m, source)
    _check_names(spec)
    return spec


def load(path, source=None):
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), source or path)
