"""Target c_header: the generated section of include/datalith.h.

Writes the text between
    /* BEGIN GENERATED API (codegen/gen.py from spec/api.edn) */
    /* END GENERATED API */
and nothing else: the rest of the header (conventions, datalith_status,
datalith_error, datalith_format, errors and memory functions) is written by
hand, and this target checks that its datalith_status and datalith_format
enums agree with the spec's :errors and :formats tables.

Per implemented operation: a contract comment (what it does, each
parameter with its ownership, the result and who frees it, every status
code it can return and when, thread safety, blocking, stability) and the
declaration.  Type declarations the operations need (opaque handle
typedefs, callback typedefs) come first, each once.
"""

import os
import re

from targets import Target, Section, BANNER
from targets import cdecl

HEADER = "include/datalith.h"
BEGIN = "/* BEGIN GENERATED API (codegen/gen.py from spec/api.edn) */"
END = "/* END GENERATED API */"

THREAD_SAFETY = {
    "any": "Thread safety: may be called from any thread, concurrently.",
    "serialized-per-handle": "Thread safety: calls on one handle must not overlap.",
}


def _has_pointer(spec, type_name):
    c = spec.types[type_name]["c"]
    return any("*" in t for t in c.get("in", []))


def contract(spec, op):
    paras = [op.doc]
    ps = cdecl.params(spec, op)
    rows = []
    for a in op.args:
        names = [p for p, arg in ps if arg is a]
        label = ", ".join(re.findall(r"(\w+)$", n)[0] for n in names)
        own = "[%s] " % a.ownership if _has_pointer(spec, a.type) else ""
        rows.append((label, own + a.doc))
    outs = [p for p, arg in ps if arg is None]
    if outs:
        label = ", ".join(re.findall(r"(\w+)$", n)[0] for n in outs)
        rows.append((label, "[%s] %s" % (op.ret_ownership, op.ret_doc or "the result")))
    if rows:
        w = max(len(r[0]) for r in rows) + 2
        lines = []
        for label, text in rows:
            lines.extend(cdecl.hanging("  " + label, text, w + 2))
        paras.append(["Parameters:"] + lines)
    if not op.fallible:
        if op.ret_type != "void":
            paras.append("Returns %s." % (op.ret_doc or "the result"))
    else:
        errs = []
        w = max([len(spec.error(c)["c"]) for c, _ in op.errors] + [0]) + 2
        for code, when in op.errors:
            e = spec.error(code)
            errs.extend(cdecl.hanging("  " + e["c"], when or e["doc"], w + 2))
        paras.append(["Returns DATALITH_OK, or:"] + errs)
    tail = THREAD_SAFETY[op.thread_safety]
    if op.blocking:
        tail += " May block on I/O."
    tail += " Stability: %s, since %s." % (op.stability, op.since)
    paras.append(tail)
    return cdecl.comment(paras)


class CHeader(Target):
    name = "c_header"
    naming = "c"
    ready = True
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value",
                       "handle/conn", "handle/db", "handles/db", "callback/listen",
                       "callback/filter"])
    design = __doc__

    def generate(self, spec):
        ops = [o for o in spec.ops if o.implemented]
        parts = ["/* " + BANNER[0].upper() + BANNER[1:] + ".\n** Edit spec/api.edn and run `python3 codegen/gen.py`. */"]
        decls = []
        for o in ops:
            for t in o.types_used():
                d = spec.types[t]["c"].get("decl")
                if d and d not in decls:
                    decls.append(d)
        if decls:
            parts.append("\n".join(decls))
        for o in ops:
            parts.append(contract(spec, o) + "\n" + cdecl.declaration(spec, o))
        return [Section(HEADER, BEGIN, END, "\n" + "\n\n".join(parts) + "\n\n")]

    def check(self, spec, root):
        """The hand-written enums of the header must match the spec's tables."""
        problems = []
        try:
            with open(os.path.join(root, HEADER), encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            return ["%s: cannot read: %s" % (HEADER, e)]
        for enum, table in (("datalith_status", spec.errors), ("datalith_format", spec.formats)):
            m = re.search(r"typedef enum %s \{(.*?)\}" % enum, text, re.S)
            if not m:
                problems.append("%s: enum %s not found" % (HEADER, enum))
                continue
            found = {n: int(v) for n, v in re.findall(r"(DATALITH_\w+)\s*=\s*(-?\d+)", m.group(1))}
            want = {e["c"]: e["value"] for e in table}
            if found != want:
                missing = sorted(set(want) - set(found))
                extra = sorted(set(found) - set(want))
                differ = sorted(k for k in set(want) & set(found) if want[k] != found[k])
                problems.append("%s: enum %s disagrees with spec/api.edn (missing %s, extra %s, "
                                "different values %s)" % (HEADER, enum, missing, extra, differ))
        return problems


TARGET = CHeader()
