"""Target c_dispatch (issue 6): the C facade's exported entry points.

Writes core/api/dispatch_gen.c and core/api/impl_gen.h.  For every
implemented fallible operation, dispatch_gen.c defines the exported
`DATALITH_API` function with exactly the header's signature (cdecl.py), whose
body does what every entry point used to repeat by hand, driven by the
spec's parameter types:

  1. dl_err_clear();
  2. NULL checks (DATALITH_EINVAL) of the borrowed handles, the callbacks and
     the result's out-pointer (and `!p && p_len` for :bytes inputs):
       - an op without handle or callback arguments: "NULL output pointer";
       - an op with them whose result comes back through one pointer (a
         handle, :bool or :int): one check, "NULL argument";
       - otherwise one check each: "NULL connection" / "NULL snapshot" /
         "NULL callback", then "NULL output pointer";
       - `:dispatch {:null-error "text"}` makes it one check with that text.
     :value arguments are checked where they are decoded (dl_api_read:
     "<what>: NULL data"), so not here.
  3. remote peers (core/remote), for ops taking a connection or snapshot
     handle; `:dispatch {:remote …}` says how, the default being :forward
     for :remote? true ops (an op with a handle that is not :remote? must
     say):
       :forward      the generic forwarding line, by signature: a snapshot
                     returning a value -> dl_rpeer_forward("<op>", …); a
                     snapshot returning a snapshot -> dl_rpeer_view; a query
                     (value, handles/db, value, format) -> dl_rpeer_query;
       :peer         if (DL_REMOTE_HANDLE(h)) return dl_rpeer_<c name>(…all
                     parameters…), a hand-written function in core/remote;
       :unsupported  if (DL_REMOTE_HANDLE(h)) return dl_rpeer_unsupported;
       :custom       nothing: the implementation handles remote handles.
  4. for an op with :format arguments but no :value or :bytes input (whose
     decoding checks the format), a check that each is a datalith_format:
     "unknown format %d";
  5. return dl_impl_<c name without prefix>(…the same parameters…): the
     hand-written implementation in core/api/*.c.

impl_gen.h declares every dl_impl_* function (hidden: not exported), so a
missing or mismatched implementation is a compile or link error.

Infallible ops (:fallible? false: version, the release functions) have no
error to clear and nothing to check; they stay hand-written.  The target
refuses an implemented op it cannot dispatch (a handle it cannot forward, a
:dispatch key that does not fit the signature) and names the op.
"""

import re

from targets import Target, File, BANNER
from targets import cdecl

DISPATCH = "core/api/dispatch_gen.c"
IMPL_H = "core/api/impl_gen.h"

HANDLES = ("handle/conn", "handle/db")
HANDLE_MSG = {"handle/conn": "NULL connection", "handle/db": "NULL snapshot"}
VALUE_OUT = ("value", "string", "bytes")


class DispatchError(Exception):
    pass


def _names(spec, op):
    """[(param name, arg or None)] of the C signature, in order."""
    return [(re.findall(r"(\w+)$", p)[0], a) for p, a in cdecl.params(spec, op)]


def base_name(spec, op):
    c = op.names["c"]
    return c[len(spec.c_prefix):] if c.startswith(spec.c_prefix) else c


def impl_name(spec, op):
    return "dl_impl_" + base_name(spec, op)


def dispatched(spec):
    """The ops that get a generated entry point."""
    return [o for o in spec.ops if o.implemented and o.fallible and o.in_target("c")]


def _call(head, args, indent, width=79):
    """`head(a, b, …)` as lines to put after `indent`: continuation lines
    aligned under the first argument (or 8 columns in when that is far)."""
    first = indent + head + "("
    col = len(first) if len(first) <= 44 else len(indent) + 8
    lines, cur = [], first
    for i, a in enumerate(args):
        piece = a + (")" if i == len(args) - 1 else ",")
        if cur in (first, " " * col):
            cur += piece
        elif len(cur) + 1 + len(piece) <= width:
            cur += " " + piece
        else:
            lines.append(cur)
            cur = " " * col + piece
    if not args:
        cur += ")"
    lines.append(cur)
    return "\n".join(lines)[len(indent):]


def _c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _null_checks(spec, op, names):
    """Lines of the NULL checks."""
    by_arg = {}
    for n, a in names:
        if a is not None:
            by_arg.setdefault(id(a), []).append(n)
    handles, callbacks, bytes_ = [], [], []
    for a in op.args:
        ns = by_arg[id(a)]
        if a.type in HANDLES and a.ownership == "borrowed":
            handles.append((ns[0], a.type))
        elif a.type.startswith("callback/"):
            callbacks.append(ns[0])
        elif a.type == "bytes":
            bytes_.append("(!%s && %s)" % (ns[0], ns[1]))
    outs = [n for n, a in names if a is None]
    out = outs[0] if outs else None
    fail = "return dl_err_set(DATALITH_EINVAL, %s);"

    def one(conds, msg):
        return ["if (%s)" % " || ".join(conds), "    " + fail % _c_str(msg)]

    custom = op.dispatch.get("null-error")
    conds = ["!" + h for h, _ in handles] + ["!" + c for c in callbacks] + bytes_
    if out:
        conds.append("!" + out)
    if custom:
        if not conds:
            raise DispatchError(":dispatch :null-error given but the op has nothing to "
                                "check for NULL")
        return one(conds, custom)
    lines = []
    for b in bytes_:
        lines += one([b], "NULL argument")
    if not handles and not callbacks:
        if out:
            lines += one(["!" + out], "NULL output pointer")
    elif out and len(outs) == 1:
        lines += one(["!" + h for h, _ in handles] + ["!" + c for c in callbacks] + ["!" + out],
                     "NULL argument")
    else:
        for h, t in handles:
            lines += one(["!" + h], HANDLE_MSG[t])
        for c in callbacks:
            lines += one(["!" + c], "NULL callback")
        if out:
            lines += one(["!" + out], "NULL output pointer")
    return lines


def _remote(spec, op, names):
    """Lines of the remote-peer handling."""
    mode = op.dispatch.get("remote")
    handle_args = [a for a in op.args if a.type in HANDLES + ("handles/db",)
                   and a.ownership == "borrowed"]
    if not handle_args:
        if mode and mode != "custom":
            raise DispatchError(":dispatch :remote :%s but the op takes no connection or "
                                "snapshot handle" % mode)
        return []
    if mode is None:
        if not op.remote:
            raise DispatchError("takes a handle but is not :remote?; say how a remote-peer "
                                "handle is handled: :dispatch {:remote :forward|:peer|"
                                ":unsupported|:custom}")
        mode = "forward"
    if mode == "custom":
        return []
    h = handle_args[0]
    hname = h.c_name
    all_params = [n for n, _ in names]
    fmts = [a.c_name for a in op.args if a.type == "format"]
    values = [a for a in op.args if a.type == "value"]
    if mode in ("peer", "unsupported"):
        if len(handle_args) != 1 or h.type not in HANDLES:
            raise DispatchError(":dispatch :remote :%s needs exactly one connection or "
                                "snapshot handle" % mode)
        test = "if (DL_REMOTE_HANDLE(%s)) /* core/remote */" % hname
        if mode == "peer":
            return [test, "    " + _call("return dl_rpeer_" + base_name(spec, op), all_params,
                                              "        ") + ";"]
        return [test, "    return dl_rpeer_unsupported(%s);" % _c_str(op.name)]
    # :forward, by signature
    types = [a.type for a in op.args]
    if types == ["value", "handles/db", "value", "format"] and op.ret_type in VALUE_OUT:
        q, dbs, inp, fmt = [a.c_name for a in op.args]
        args = [_c_str(op.name), q, q + "_len", dbs, dbs + "_count", inp, inp + "_len", fmt,
                "out", "out_len"]
        return ["int rr = dl_rpeer_dbs_remote(%s, %s_count); /* core/remote */" % (dbs, dbs),
                "if (rr < 0) return rr;",
                "if (rr)",
                "    " + _call("return dl_rpeer_query", args, "        ") + ";"]
    others = [a for a in op.args if a is not h]
    if (h.type == "handle/db" and len(handle_args) == 1 and len(fmts) == 1
            and all(a.type in ("value", "format") for a in others)):
        test = "if (DL_REMOTE_HANDLE(%s)) /* core/remote */" % hname
        if op.ret_type == "value":
            n = len(values)
            if n == 0:
                vals, lens = "NULL", "NULL"
            elif n == 1:
                vals, lens = "&" + values[0].c_name, "&%s_len" % values[0].c_name
            else:
                vals = "(const char *const[]){%s}" % ", ".join(v.c_name for v in values)
                lens = "(const size_t[]){%s}" % ", ".join(v.c_name + "_len" for v in values)
            args = [_c_str(op.name), hname, str(n), vals, lens, fmts[0], "out", "out_len"]
            return [test, "    " + _call("return dl_rpeer_forward", args, "        ") + ";"]
        if op.ret_type == "handle/db" and len(values) <= 1:
            v = values[0].c_name if values else None
            args = [_c_str(op.name), hname, v or "NULL", (v + "_len") if v else "0",
                    fmts[0], "out"]
            return [test, "    " + _call("return dl_rpeer_view", args, "        ") + ";"]
    if h.type == "handle/db" and not fmts and op.ret_type == "handle/db" and not values:
        args = [_c_str(op.name), hname, "NULL", "0", "0", "out"]
        return ["if (DL_REMOTE_HANDLE(%s)) /* core/remote */" % hname,
                "    " + _call("return dl_rpeer_view", args, "        ") + ";"]
    raise DispatchError("no generic remote forwarding for this signature; declare "
                        ":dispatch {:remote :peer|:unsupported|:custom}")


def _wrap_and(conds, indent, width=79):
    """`if (a && b && …)` wrapped under the first condition (indent: the
    body's indentation, which the caller adds to the first line)."""
    lines, cur = [], "if ("
    for i, c in enumerate(conds):
        piece = c + (")" if i == len(conds) - 1 else " &&")
        if cur == "if (" or len(indent) + len(cur) + 1 + len(piece) <= width:
            cur += ("" if cur == "if (" else " ") + piece
        else:
            lines.append(cur)
            cur = indent + "    " + piece
    lines.append(cur)
    return "\n".join(lines)


def _format_checks(spec, op):
    if any(a.type in ("value", "bytes") for a in op.args):
        return []
    lines = []
    for a in op.args:
        if a.type == "format":
            conds = [("%s != %s" % (a.c_name, f["c"])) for f in spec.formats]
            lines += [_wrap_and(conds, "    "),
                      "    return dl_err_set(DATALITH_EINVAL, \"unknown format %%d\", %s);"
                      % a.c_name]
    return lines


def entry_point(spec, op):
    """The C definition of op's exported function."""
    names = _names(spec, op)
    body = ["dl_err_clear();"]
    body += _null_checks(spec, op, names)
    body += _remote(spec, op, names)
    body += _format_checks(spec, op)
    body.append(_call("return " + impl_name(spec, op), [n for n, _ in names], "    ") + ";")
    head = cdecl.declaration(spec, op)[:-1] + " {"
    return head + "\n" + "\n".join("    " + l for l in body) + "\n}\n"


def impl_declaration(spec, op):
    params = [p for p, _ in cdecl.params(spec, op)] or ["void"]
    rt = cdecl.return_type(spec, op)
    return _call(rt + ("" if rt.endswith("*") else " ") + impl_name(spec, op), params, "") + ";"


def problems(spec):
    out = []
    for op in dispatched(spec):
        try:
            entry_point(spec, op)
        except DispatchError as e:
            out.append("%s:%s: op %s: target c_dispatch: %s" % (spec.source, op.line, op.name, e))
    return out


class CDispatch(Target):
    name = 'c_dispatch'
    naming = 'c'
    ready = True
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value",
                       "handle/conn", "handle/db", "handles/db", "callback/listen",
                       "callback/filter"])
    design = __doc__

    def check(self, spec, root):
        return problems(spec)

    def generate(self, spec):
        p = problems(spec)
        if p:
            raise DispatchError("\n".join(p))
        ops = dispatched(spec)
        banner = BANNER[0].upper() + BANNER[1:]
        c = ["/*",
             "** %s — the exported entry points of the C facade." % DISPATCH,
             "** %s." % banner,
             "** Edit spec/api.edn (or codegen/targets/c_dispatch.py) and run",
             "** `python3 codegen/gen.py`.",
             "**",
             "** Each function clears the thread's error, checks its handles and",
             "** out-pointers, forwards remote-peer handles (core/remote), and calls",
             "** the hand-written dl_impl_* implementation (core/api/api*.c).",
             "*/",
             '#include "datalith.h"',
             "",
             '#include "impl_gen.h"',
             "",
             '#include "remote/remote.h"',
             '#include "util/error.h"',
             ""]
        for op in ops:
            c.append(entry_point(spec, op))
        h = ["/*",
             "** %s — the hand-written implementations behind" % IMPL_H,
             "** %s." % DISPATCH,
             "** %s." % banner,
             "**",
             "** dl_impl_<op> has the public function's signature; the generated entry",
             "** point has already cleared the error, checked handles and out-pointers",
             "** and forwarded remote-peer handles (see codegen/targets/c_dispatch.py).",
             "** Internal to the library (hidden symbols).",
             "*/",
             "#ifndef DL_IMPL_GEN_H",
             "#define DL_IMPL_GEN_H",
             "",
             '#include "datalith.h"',
             ""]
        for op in ops:
            h.append(impl_declaration(spec, op))
        h += ["", "#endif", ""]
        return [File(DISPATCH, "\n".join(c)), File(IMPL_H, "\n".join(h))]


TARGET = CDispatch()
