"""Target node_napi (issue 7): the Node.js addon's generated glue and typings.

Generates, from every :implemented op that the :js naming offers:

  bindings/node/src/ops_gen.c   plain C against Node-API (node_api.h): per op
                                a call record, a parse function (JS values ->
                                C arguments), an exec function (the C call;
                                runs on the calling thread or on the libuv
                                threadpool), a result function (C outputs ->
                                JS values) and a cleanup function, gathered in
                                a dln_op descriptor that the hand-written core
                                (src/core.c) runs synchronously (`<name>Sync`)
                                or, for :blocking? ops, as napi_create_async_work
                                returning a Promise (`<name>Async`).  Also the
                                handle kinds and their release functions.
  bindings/node/lib/generated.js
                                one JS function per op, camelCase by the spec's
                                :js naming (`?` dropped, `!` -> `Async`,
                                overlays honoured): :value arguments are CBOR-
                                encoded (lib/cbor.js), :value results decoded,
                                handles wrapped in Connection / Database
                                objects.  :blocking? ops return a Promise and
                                get a `<name>Sync` twin; the others are sync.
  bindings/node/lib/generated.d.ts
                                one declaration per function (re-exported by
                                the hand-written bindings/node/index.d.ts).

Marshalling per spec type (the set in `binds`; anything else refuses):

  :bool :int :format   JS boolean / number or BigInt / format name or number
  :cstring             JS string in; a :static result becomes a string
  :string :bytes       string or Uint8Array in; :string out is a string,
                       :bytes out a Buffer
  :value               any JS value in (CBOR-encoded in JS), decoded out.  An
                       op with a :value argument or result has its :format
                       arguments fixed to DATALITH_FORMAT_CBOR and hidden.
  :handle/conn :handle/db
                       an external holding a box {ptr, kind, busy}; the
                       finalizer calls the kind's release op.  An
                       :owned-by-callee argument empties the box first (no
                       double release); a box used by a pending async call
                       defers its release until the call completes.
  :handles/db          an array of Database objects

Callback types are refused until listen is implemented (they need a
thread-safe function).
"""

import re

from targets import Target, File, BANNER

SRC = "bindings/node/src/ops_gen.c"
JS = "bindings/node/lib/generated.js"
DTS = "bindings/node/lib/generated.d.ts"

RESERVED = {"with", "delete", "new", "function", "class", "default", "in", "var", "let",
            "const", "return", "this", "switch", "case", "do", "if", "else", "for",
            "while", "try", "catch", "finally", "throw", "typeof", "void", "yield",
            "import", "export", "super", "enum", "await", "null", "true", "false"}

TS_IN = {"bool": "boolean", "int": "number | bigint", "cstring": "string",
         "string": "string", "bytes": "string | Uint8Array", "format": "Format",
         "value": "any", "handle/conn": "Connection", "handle/db": "Database",
         "handles/db": "Database[]"}
TS_OUT = {"void": "void", "bool": "boolean", "int": "number | bigint", "cstring": "string",
          "string": "string", "bytes": "Buffer", "value": "any",
          "handle/conn": "Connection", "handle/db": "Database"}


def _kind_id(t):
    return "DLN_KIND_" + t.split("/")[1].upper()


def _arg_name(a):
    n = a.c_name
    parts = n.split("_")
    n = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    return n + "_" if n in RESERVED else n


def _has_value(op):
    return op.ret_type == "value" or any(a.type == "value" for a in op.args)


def _js_args(op):
    """The arguments JS passes (hidden :format args left out)."""
    hv = _has_value(op)
    return [a for a in op.args if not (a.type == "format" and hv)]


def _out_fields(spec, op):
    """[(ctype, field)] for a fallible op's out-parameters."""
    out = []
    for tmpl in spec.types[op.ret_type]["c"]["out"]:
        m = re.match(r"^(.*?)\*\{name\}(\w*)$", tmpl.strip())
        if not m:
            raise ValueError("node_napi: cannot read out template %r" % tmpl)
        out.append((m.group(1).strip(), "out" + m.group(2)))
    return out


def _c_op(spec, op):
    name = op.names["js"]
    sid = "op_" + re.sub(r"\W", "_", name)
    hv = _has_value(op)
    fields, parse, call, cleanup = [], [], [], []
    argi = 0
    for a in op.args:
        n = a.c_name
        t = a.type
        if t == "format" and hv:
            call.append("DATALITH_FORMAT_CBOR")
            continue
        if t in ("bool", "format"):
            fields.append("int %s;" % n)
            fn = "dln_arg_bool" if t == "bool" else "dln_arg_format"
            parse.append("if (%s(env, argv[%d], \"%s\", &c->%s)) return -1;" % (fn, argi, n, n))
            call.append("c->" + n)
        elif t == "int":
            fields.append("int64_t %s;" % n)
            parse.append("if (dln_arg_int(env, argv[%d], \"%s\", &c->%s)) return -1;" % (argi, n, n))
            call.append("c->" + n)
        elif t == "cstring":
            fields.append("char *%s;" % n)
            parse.append("if (dln_arg_cstring(env, argv[%d], \"%s\", &c->%s)) return -1;"
                         % (argi, n, n))
            call.append("c->" + n)
            cleanup.append("free(c->%s);" % n)
        elif t in ("string", "bytes", "value"):
            fields.append("dln_buf %s;" % n)
            parse.append("if (dln_arg_bytes(env, argv[%d], \"%s\", &c->%s)) return -1;"
                         % (argi, n, n))
            call += ["c->%s.p" % n, "c->%s.n" % n]
            cleanup.append("dln_buf_free(&c->%s);" % n)
        elif t.startswith("handle/"):
            ctype = spec.handles[t]["c-type"]
            fields.append("%s *%s;" % (ctype, n))
            fn = "dln_arg_take_handle" if a.ownership == "owned-by-callee" else "dln_arg_handle"
            parse += ["{",
                      "    void *p;",
                      "    if (%s(env, argv[%d], %s, \"%s\", &c->base, &p)) return -1;"
                      % (fn, argi, _kind_id(t), n),
                      "    c->%s = (%s *)p;" % (n, ctype),
                      "}"]
            call.append("c->" + n)
        elif t == "handles/db":
            fields += ["void **%s;" % n, "size_t %s_count;" % n]
            parse.append("if (dln_arg_handles(env, argv[%d], DLN_KIND_DB, \"%s\", &c->base, "
                         "&c->%s, &c->%s_count)) return -1;" % (argi, n, n, n))
            call += ["(datalith_db *const *)c->%s" % n, "c->%s_count" % n]
            cleanup.append("free(c->%s);" % n)
        else:
            raise ValueError("node_napi cannot bind type :%s" % t)
        argi += 1
    rt = op.ret_type
    result = []
    cfn = op.names["c"]
    if op.fallible and rt != "void":
        outs = _out_fields(spec, op)
        for ctype, f in outs:
            fields.append("%s%s%s;" % (ctype, "" if ctype.endswith("*") else " ", f))
            call.append("&c->" + f)
        exec_ = "c->base.rc = %s(%s);" % (cfn, ", ".join(call))
        if rt == "bool":
            result.append("return dln_ret_bool(env, c->out);")
        elif rt == "int":
            result.append("return dln_ret_int(env, c->out);")
        elif rt == "string":
            result.append("return dln_ret_string(env, &c->out, c->out_len);")
            cleanup.append("datalith_free(c->out);")
        elif rt in ("bytes", "value"):
            result.append("return dln_ret_bytes(env, &c->out, c->out_len);")
            cleanup.append("datalith_free(c->out);")
        elif rt.startswith("handle/"):
            result.append("{ void *p = c->out; c->out = NULL; return dln_ret_handle(env, %s, p); }"
                          % _kind_id(rt))
            rel = spec.op(str(spec.handles[rt]["release"])).names["c"]
            cleanup.append("if (c->out) %s(c->out);" % rel)
        else:
            raise ValueError("node_napi cannot return type :%s" % rt)
    elif op.fallible:
        exec_ = "c->base.rc = %s(%s);" % (cfn, ", ".join(call))
        result.append("return dln_ret_undefined(env);")
    elif rt == "void":
        exec_ = "%s(%s);" % (cfn, ", ".join(call))
        result.append("return dln_ret_undefined(env);")
    elif rt == "cstring":
        fields.append("const char *ret;")
        exec_ = "c->ret = %s(%s);" % (cfn, ", ".join(call))
        result.append("return dln_ret_cstring(env, c->ret);")
    else:
        raise ValueError("node_napi cannot return type :%s directly" % rt)
    if not fields:
        fields.append("char unused;")
    L = ["/* %s (spec: %s) */" % (name, op.name),
         "typedef struct %s_call {" % sid, "    dln_call base;"]
    L += ["    " + f for f in fields]
    L += ["} %s_call;" % sid, ""]
    L += ["static int %s_parse(napi_env env, napi_value *argv, dln_call *c_)" % sid, "{",
          "    %s_call *c = (%s_call *)c_;" % (sid, sid)]
    L += ["    " + p for p in parse]
    L += ["    (void)env; (void)argv; (void)c;", "    return 0;", "}", ""]
    L += ["static void %s_exec(dln_call *c_)" % sid, "{",
          "    %s_call *c = (%s_call *)c_;" % (sid, sid),
          "    " + exec_, "    (void)c;", "}", ""]
    L += ["static napi_value %s_result(napi_env env, dln_call *c_)" % sid, "{",
          "    %s_call *c = (%s_call *)c_;" % (sid, sid), "    (void)c;"]
    L += ["    " + r for r in result]
    L += ["}", ""]
    L += ["static void %s_cleanup(dln_call *c_)" % sid, "{",
          "    %s_call *c = (%s_call *)c_;" % (sid, sid)]
    L += ["    " + x for x in cleanup]
    L += ["    (void)c;", "}", ""]
    L += ["static const dln_op %s = {" % sid,
          "    \"%s\", sizeof(%s_call), %d, %s_parse, %s_exec, %s_result, %s_cleanup"
          % (name, sid, argi, sid, sid, sid, sid), "};", ""]
    L += ["static napi_value %s_sync(napi_env env, napi_callback_info info)" % sid, "{",
          "    return dln_run(env, info, &%s, 0);" % sid, "}", ""]
    if op.blocking:
        L += ["static napi_value %s_async(napi_env env, napi_callback_info info)" % sid, "{",
              "    return dln_run(env, info, &%s, 1);" % sid, "}", ""]
    reg = ["{\"%sSync\", %s_sync}," % (name, sid)]
    if op.blocking:
        reg.append("{\"%sAsync\", %s_async}," % (name, sid))
    return "\n".join(L), reg


def gen_c(spec, ops):
    kinds = sorted(spec.handles)
    L = ["/*", "** ops_gen.c -- the Node-API glue of every implemented operation.", "**",
         "** %s." % BANNER,
         "** Each op is a dln_op descriptor run by src/core.c (see dln.h).", "*/",
         "#include <stdlib.h>", "", "#include \"dln.h\"", ""]
    for i, t in enumerate(kinds):
        rel = spec.op(str(spec.handles[t]["release"])).names["c"]
        L += ["static void dln_release_%s(void *p)" % t.split("/")[1], "{",
              "    %s((%s *)p);" % (rel, spec.handles[t]["c-type"]), "}", ""]
    L.append("const dln_kind dln_kinds[DLN_NKINDS] = {")
    for t in kinds:
        k = t.split("/")[1]
        L.append("    {\"%s\", dln_release_%s}," % (k, k))
    L += ["};", ""]
    regs = []
    for op in ops:
        text, reg = _c_op(spec, op)
        L.append(text)
        regs += reg
    L.append("const dln_entry dln_entries[] = {")
    L += ["    " + r for r in regs]
    L += ["    {NULL, NULL}", "};", ""]
    return "\n".join(L)


def gen_kinds_h(spec):
    kinds = sorted(spec.handles)
    L = ["/* Handle kinds (%s). */" % BANNER]
    for i, t in enumerate(kinds):
        L.append("#define %s %d" % (_kind_id(t), i))
    L.append("#define DLN_NKINDS %d" % len(kinds))
    return "\n".join(L) + "\n"


def _jsdoc(op, args):
    out = ["/**"]
    for line in _wrap(op.doc, 74):
        out.append(" * " + line)
    for a in args:
        out.append(" * @param %s %s" % (_arg_name(a), a.doc))
    if op.ret_type != "void" and op.ret_doc:
        out.append(" * @returns %s" % op.ret_doc)
    if op.fallible and op.errors:
        out.append(" * @throws {DatalithError} .code %s"
                   % ", ".join("DATALITH_" + c.upper() for c, _ in op.errors))
    out.append(" */")
    return out


def _wrap(text, width):
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = (cur + " " + w) if cur else w
    return lines + ([cur] if cur else [])


def _js_fn(spec, op):
    name = op.names["js"]
    args = _js_args(op)
    params = [_arg_name(a) for a in args]
    conv = []
    for a, p in zip(args, params):
        t = a.type
        if t == "value":
            conv.append("rt.encode(%s)" % p)
        elif t in ("string", "bytes"):
            conv.append("rt.bytes(%s, '%s')" % (p, a.c_name))
        elif t == "format":
            conv.append("rt.format(%s, '%s')" % (p, a.c_name))
        elif t.startswith("handle/"):
            conv.append("rt.handle(%s, '%s', '%s')" % (p, t.split("/")[1], a.c_name))
        elif t == "handles/db":
            conv.append("rt.handles(%s, 'db', '%s')" % (p, a.c_name))
        else:
            conv.append(p)
    rt_ = op.ret_type
    if rt_ == "value":
        post = "rt.decode"
    elif rt_.startswith("handle/"):
        post = "rt.wrap%s" % rt_.split("/")[1].capitalize()
    else:
        post = None
    ccall = "native.%sSync(%s)" % (name, ", ".join(conv))
    L = _jsdoc(op, args)
    if op.blocking:
        L.append("function %sSync(%s) {" % (name, ", ".join(params)))
    else:
        L.append("function %s(%s) {" % (name, ", ".join(params)))
    L.append("  return %s;" % ("%s(%s)" % (post, ccall) if post else ccall))
    L.append("}")
    exports = [name if not op.blocking else name + "Sync"]
    if op.blocking:
        L += _jsdoc(op, args)
        L.append("function %s(%s) {" % (name, ", ".join(params)))
        L.append("  let p;")
        L.append("  try {")
        L.append("    p = native.%sAsync(%s);" % (name, ", ".join(conv)))
        L.append("  } catch (e) {")
        L.append("    return Promise.reject(e);")
        L.append("  }")
        L.append("  return %s;" % ("p.then(%s)" % post if post else "p"))
        L.append("}")
        exports.append(name)
    return "\n".join(L), exports


def gen_js(spec, ops):
    fns = [_js_fn(spec, o) for o in ops]
    L = ["'use strict';",
         "// Low-level functions, one per implemented operation of spec/api.edn.",
         "// %s." % BANNER,
         "// Blocking ops return a Promise (run on the libuv threadpool) and have a",
         "// ...Sync twin; values cross to C as CBOR (lib/cbor.js).", "",
         "const native = require('./native');",
         "const rt = require('./runtime');", "",
         "const LIBRARY_VERSION = '%s';" % spec.version,
         "const FORMATS = Object.freeze({%s});"
         % ", ".join("%s: %d" % (f["name"], f["value"]) for f in spec.formats),
         "const STATUS = Object.freeze({%s});"
         % ", ".join("%s: %d" % (e["c"], e["value"]) for e in spec.errors),
         "const BLOCKING = Object.freeze([%s]);"
         % ", ".join("'%s'" % o.names["js"] for o in ops if o.blocking), ""]
    L.append("// name, blocking?, the handle kind of the first argument (or null)")
    L.append("const OPS = Object.freeze([")
    for o in ops:
        first = o.args[0].type.split("/")[1] if o.args and o.args[0].type.startswith("handle/") else None
        L.append("  { name: '%s', blocking: %s, first: %s }," % (
            o.names["js"], "true" if o.blocking else "false", "'%s'" % first if first else "null"))
    L += ["]);", ""]
    exports = []
    for text, ex in fns:
        L += [text, ""]
        exports += ex
    L.append("module.exports = {")
    L.append("  LIBRARY_VERSION, FORMATS, STATUS, BLOCKING, OPS,")
    for e in exports:
        L.append("  %s," % e)
    L += ["};", ""]
    return "\n".join(L)


def gen_dts(spec, ops):
    L = ["// %s." % BANNER,
         "import type { Connection, Database } from '../index';",
         "export type Format = %s | number;" % " | ".join("'%s'" % f["name"] for f in spec.formats),
         "export declare const LIBRARY_VERSION: string;",
         "export declare const FORMATS: { readonly [name: string]: number };",
         "export declare const STATUS: { readonly [name: string]: number };"]
    for op in ops:
        args = _js_args(op)
        ps = ", ".join("%s: %s" % (_arg_name(a), TS_IN[a.type]) for a in args)
        r = TS_OUT[op.ret_type]
        L += ["/** %s */" % " ".join(_wrap(op.doc, 10 ** 6)).replace("*/", "* /")]
        if op.blocking:
            L.append("export declare function %s(%s): Promise<%s>;" % (op.names["js"], ps, r))
            L.append("export declare function %sSync(%s): %s;" % (op.names["js"], ps, r))
        else:
            L.append("export declare function %s(%s): %s;" % (op.names["js"], ps, r))
    # the methods index.js attaches to Connection / Database (first argument)
    for kind, iface in (("conn", "ConnectionMethods"), ("db", "DatabaseMethods")):
        L.append("export interface %s {" % iface)
        for op in ops:
            if not (op.args and op.args[0].type == "handle/" + kind):
                continue
            args = _js_args(op)[1:]
            ps = ", ".join("%s: %s" % (_arg_name(a), TS_IN[a.type]) for a in args)
            r = TS_OUT[op.ret_type]
            m = "release" if op.names["js"] == "releaseDb" else op.names["js"]
            if op.blocking:
                L.append("  %s(%s): Promise<%s>;" % (m, ps, r))
                L.append("  %sSync(%s): %s;" % (m, ps, r))
            else:
                L.append("  %s(%s): %s;" % (m, ps, r))
        L.append("}")
    return "\n".join(L) + "\n"


class NodeNapi(Target):
    name = 'node_napi'
    naming = 'js'
    ready = True
    enabled = True  # see gen.enabled_targets; the spec's flag says false still
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value",
                       "handle/conn", "handle/db", "handles/db"])
    design = __doc__

    def generate(self, spec):
        ops = [o for o in spec.ops if o.implemented and o.in_target("js")]
        for o in ops:
            if o.names["js"] in RESERVED:
                raise ValueError("node_napi: op %s: JS name %r is a reserved word; "
                                 "add a :targets {:js {:name ...}} overlay" % (o.name, o.names["js"]))
        return [File(SRC, gen_c(spec, ops)),
                File("bindings/node/src/kinds_gen.h", gen_kinds_h(spec)),
                File(JS, gen_js(spec, ops)),
                File(DTS, gen_dts(spec, ops))]


TARGET = NodeNapi()
