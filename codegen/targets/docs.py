"""Target docs: docs/api.md, the API reference.

One Markdown file: conventions (status codes, out-parameters, ownership,
values and formats, handles, how names are derived per language, HTTP
routes), the types, formats and errors tables, an index of every operation
(implemented and planned) with its name in each binding, then one section
per operation: doc, C signature (for planned ones the signature it will
get), parameters with ownership, result, errors, flags and examples.
"""

from edn import dumps
from targets import Target, File, BANNER
from targets import cdecl

PATH = "docs/api.md"

CATEGORY_TITLES = [
    ("meta", "Library"), ("values", "Values"), ("lifecycle", "Databases"),
    ("connection", "Connections and listeners"), ("write", "Transactions"),
    ("query", "Queries"), ("pull", "Pull and entity"), ("index", "Raw index access"),
    ("time", "Views: history, as-of, since, filter"), ("schema", "Schema and statistics"),
    ("versioning", "Branches and commits"),
]

CONVENTIONS = """\
## Conventions

- **Status codes.** Every fallible function returns `int`: `DATALITH_OK` (0)
  or a negative `DATALITH_E*` code from the table below. The calling thread's
  last error (`datalith_error_last()`) carries the code, a message naming the
  problem and, for `DATALITH_EPARSE`, the line, column and byte offset.
  Bindings raise their language's exception with that message.
- **Out-parameters.** Results come back through out-parameters named `out`
  (and `out_len` for lengths), written only on success.
- **Ownership** of every pointer is part of the contract:
  - `borrowed` - the callee only reads it during the call; the caller keeps it.
  - `owned-by-callee` - the caller hands it over and must not use it again.
  - `fresh` - the callee allocates the result; the caller frees it
    (`datalith_free` for bytes and text, the handle's release function for
    handles).
  - `static` - lives as long as the library; never freed.
- **Values** cross the boundary as bytes in a `datalith_format`: EDN text,
  JSON with Datahike's tagged literals, or CBOR. Operations that take or
  return values have a `fmt` argument naming the format of all of them.
  Text need not be NUL-terminated on input; text results are.
- **Handles** (connections, snapshots) are opaque and refcounted. C releases
  them explicitly; every binding releases them automatically.
- **Names.** Operations keep Datahike's kebab-case names. Each binding
  derives its name mechanically: `?` is dropped; a trailing `!` becomes
  `Async` (`_async`) when the operation is asynchronous and is dropped
  otherwise; C adds the `datalith_` prefix to snake_case, Python uses
  snake_case, Java and JavaScript camelCase, the Babashka pod keeps the spec
  name in namespace `datalith.pod`, the CLI and HTTP routes use kebab-case.
  A spec overlay may override a name (e.g. `with` is `with_db` in Python).
- **Remote.** Operations marked remote get an HTTP route `/<name>` on the
  writer server: `GET` when the operation is pure (referentially
  transparent), else `POST`; the body is the vector of arguments.
- **Status.** `planned` operations are specified but not yet implemented:
  they generate no code, and their signature below is the one they will get.
"""


def _table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def _yes(b):
    return "yes" if b else "no"


def _name(op, t):
    return "`%s`" % op.names[t] if op.in_target(t) else "-"


def _anchor(op):
    return "op-" + op.name.rstrip("?!").replace("?", "").replace("!", "")


def _op_section(spec, op):
    L = []
    title = "### `%s`" % op.name
    if not op.implemented:
        title += " (planned)"
    L.append('<a id="%s"></a>' % _anchor(op))
    L.append(title)
    L.append("")
    L.append(op.doc)
    L.append("")
    L.append("```c")
    L.append(cdecl.declaration(spec, op))
    L.append("```")
    L.append("")
    facts = ["stability: **%s**" % op.stability, "since %s" % op.since,
             "status: %s" % op.status]
    facts.append("remote: " + ("`%s %s`" % (op.http_method, op.names["http"]) if op.remote else "no"))
    facts.append("pure: " + _yes(op.pure))
    facts.append("blocking: " + _yes(op.blocking))
    if op.is_async:
        facts.append("asynchronous")
    L.append(" · ".join(facts))
    L.append("")
    L.append(_table(["C", "Python", "Java", "JavaScript", "pod", "CLI"],
                    [[_name(op, "c"), _name(op, "python"), _name(op, "java"),
                      _name(op, "js"), _name(op, "pod"), _name(op, "cli")]]))
    L.append("")
    if op.args:
        L.append("Parameters:")
        L.append("")
        for a in op.args:
            L.append("- `%s` (`:%s`, %s) - %s" % (a.name, a.type, a.ownership, a.doc))
        L.append("")
    if op.ret_type != "void":
        L.append("Result: `:%s`, %s%s" % (op.ret_type, op.ret_ownership,
                                          " - " + op.ret_doc if op.ret_doc else ""))
        L.append("")
    if op.fallible:
        if op.errors:
            L.append("Errors:")
            L.append("")
            for code, when in op.errors:
                e = spec.error(code)
                L.append("- `%s` - %s" % (e["c"], when or e["doc"]))
            L.append("")
    else:
        L.append("Cannot fail.")
        L.append("")
    for op_ex in op.examples:
        if op_ex["doc"]:
            L.append(op_ex["doc"])
            L.append("")
        L.append("```clojure")
        line = dumps(op_ex["call"])
        if op_ex["has_ret"]:
            line += "\n;; => " + dumps(op_ex["ret"])
        L.append(line)
        L.append("```")
        L.append("")
    return "\n".join(L)


class Docs(Target):
    name = "docs"
    naming = None
    ready = True
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value",
                       "handle/conn", "handle/db", "handles/db", "callback/listen",
                       "callback/filter"])
    design = __doc__

    def generate(self, spec):
        impl = [o for o in spec.ops if o.implemented]
        S = ["<!-- %s -->" % BANNER, "",
             "# Datalith API reference", "",
             "Version %s. %d operations: %d implemented, %d planned. Generated from "
             "[`spec/api.edn`](../spec/api.edn) (schema: [`spec/README.md`](../spec/README.md)); "
             "the C declarations are those of [`include/datalith.h`](../include/datalith.h)."
             % (spec.version, len(spec.ops), len(impl), len(spec.ops) - len(impl)), "",
             CONVENTIONS]
        S.append("## Types\n")
        S.append(_table(["type", "C parameters", "meaning"],
                        [[":" + n, "<br>".join("`%s`" % p for p in
                                               t["c"].get("in", []) + ([t["c"]["ret"]] if "ret" in t["c"] else [])) or "-",
                          t["doc"]] for n, t in spec.types.items()]))
        S.append("")
        S.append("## Formats (`datalith_format`)\n")
        S.append(_table(["constant", "value", "meaning"],
                        [["`%s`" % f["c"], f["value"], f["doc"]] for f in spec.formats]))
        S.append("")
        S.append("## Errors (`datalith_status`)\n")
        S.append("Values are stable; codes are only ever added.\n")
        S.append(_table(["constant", "value", "meaning"],
                        [["`%s`" % e["c"], e["value"], e["doc"]] for e in spec.errors]))
        S.append("")
        S.append("## Operations\n")
        S.append(_table(["operation", "status", "stability", "C", "Python", "Java", "JS", "CLI",
                         "remote", "pure"],
                        [["[`%s`](#%s)" % (o.name, _anchor(o)), o.status, o.stability,
                          _name(o, "c"), _name(o, "python"), _name(o, "java"), _name(o, "js"),
                          _name(o, "cli"),
                          ("%s `%s`" % (o.http_method, o.names["http"])) if o.remote else "no",
                          _yes(o.pure)] for o in spec.ops]))
        S.append("")
        for cat, title in CATEGORY_TITLES:
            ops = [o for o in spec.ops if o.category == cat]
            if not ops:
                continue
            S.append("## %s\n" % title)
            for o in ops:
                S.append(_op_section(spec, o))
        text = "\n".join(S).rstrip("\n") + "\n"
        return [File(PATH, text)]


TARGET = Docs()
