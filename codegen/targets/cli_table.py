"""Target cli_table (issue 7): the datalith command line's command table.

Generates cli/commands_gen.h and cli/commands_gen.c: one command per op the
CLI offers, named kebab-case without `?`/`!` (overlays: q -> query).  The
CLI leaves out async ops, ops returning a handle, ops taking a callback or
taking ownership of a handle, and ops with an :exclude overlay (Op.in_target).

Each command is a row {name, op, doc, argument definitions, result kind,
call thunk}.  The thunk is a generated C function with one uniform
signature, `int (*)(const cli_arg *args, int fmt, cli_ret *out)`, that
calls the op's C function: every :format argument receives `fmt` (the CLI
exchanges values as EDN and converts at the edges), every other argument
takes the next cli_arg in order.  So cli/main.c never names an op; a newly
implemented op appears in the CLI when the spec says :implemented.

Handle arguments are given with Datahike CLI prefixes (`conn:cfg.edn`,
`db:cfg.edn`, `history:cfg.edn`, `asof:<t>:cfg.edn`, `since:<t>:cfg.edn`);
:value arguments are EDN text, `edn:file`, `json:file` or `cbor:file`.
CLI_HAVE_<OP> macros say which view ops (history, as-of, since) the
generated table can use.  Exit status 0, 1 for an engine error (message on
stderr), 2 for usage errors.

The thunk generator (call_types, thunks) is shared with pod_describe, whose
invocations need the same uniform calls.
"""

from targets import Target, File, BANNER
from targets import cdecl

KINDS = ["void", "bool", "int", "cstring", "string", "bytes", "format", "value",
         "handle/conn", "handle/db", "handles/db"]


def kind_macro(prefix, t):
    return "%s_K_%s" % (prefix.upper(), t.replace("/", "_").upper())


def c_string(s):
    """A C string literal for arbitrary text (UTF-8 passes through)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif o < 32:
            out.append("\\%03o" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def hides_format(op):
    """:format arguments are fixed by the caller (not user arguments) when the
    op exchanges :value data; otherwise (value-convert) they are arguments."""
    return op.ret_type == "value" or any(a.type == "value" for a in op.args)


def user_args(op):
    return [a for a in op.args if not (a.type == "format" and hides_format(op))]


def call_types(prefix):
    """The C declarations of the uniform call shape, prefixed (cli / pod)."""
    p = prefix
    lines = ["/* Argument and result kinds: the spec types. */", "enum {"]
    for i, t in enumerate(KINDS):
        lines.append("    %s = %d," % (kind_macro(p, t), i))
    lines += ["};", "",
              "/* One argument of a uniform call; which fields count depends on the",
              "** kind: s/n for value, string, bytes and cstring text (values are in the",
              "** call's format), i for bool, int and format, conn, db, and dbs/ndbs. */",
              "typedef struct %s_arg {" % p,
              "    const char *s;",
              "    size_t n;",
              "    int64_t i;",
              "    datalith_conn *conn;",
              "    datalith_db *db;",
              "    datalith_db *const *dbs;",
              "    size_t ndbs;",
              "} %s_arg;" % p, "",
              "/* The result of a uniform call.  s/n is fresh (datalith_free) for value,",
              "** string and bytes results; cs is static; conn and db are fresh handles. */",
              "typedef struct %s_ret {" % p,
              "    char *s;",
              "    size_t n;",
              "    const char *cs;",
              "    int64_t i;",
              "    datalith_conn *conn;",
              "    datalith_db *db;",
              "} %s_ret;" % p, "",
              "typedef struct %s_argdef {" % p,
              "    const char *name;",
              "    int kind;",
              "    const char *doc;",
              "} %s_argdef;" % p, "",
              "typedef struct %s_op {" % p,
              "    const char *name;     /* the name this target uses */",
              "    const char *op;       /* the spec name */",
              "    const char *doc;",
              "    const char *ret_doc;  /* NULL when none */",
              "    int nargs;",
              "    const %s_argdef *args;" % p,
              "    int ret;              /* a kind */",
              "    int (*call)(const %s_arg *args, int fmt, %s_ret *out);" % (p, p),
              "} %s_op;" % p]
    return "\n".join(lines)


def _thunk(spec, op, prefix):
    fn = "%s_call_%s" % (prefix, op.names["c"][len(spec.c_prefix):])
    call, k = [], 0
    for a in op.args:
        t = a.type
        if t == "format":
            if hides_format(op):
                call.append("fmt")
            else:
                call.append("(int)a[%d].i" % k)
                k += 1
            continue
        if t in ("bool",):
            call.append("(int)a[%d].i" % k)
        elif t == "int":
            call.append("a[%d].i" % k)
        elif t == "cstring":
            call.append("a[%d].s" % k)
        elif t in ("string", "bytes", "value"):
            call += ["a[%d].s" % k, "a[%d].n" % k]
        elif t == "handle/conn":
            call.append("a[%d].conn" % k)
        elif t == "handle/db":
            call.append("a[%d].db" % k)
        elif t == "handles/db":
            call += ["a[%d].dbs" % k, "a[%d].ndbs" % k]
        else:
            raise ValueError("%s cannot bind type :%s" % (prefix, t))
        k += 1
    rt = op.ret_type
    pre, post = [], []
    if op.fallible and rt != "void":
        if rt == "bool":
            pre.append("int v = 0;")
            call.append("&v")
            post.append("out->i = v;")
        elif rt == "int":
            call.append("&out->i")
        elif rt in ("string", "bytes", "value"):
            call += ["&out->s", "&out->n"]
        elif rt == "handle/conn":
            call.append("&out->conn")
        elif rt == "handle/db":
            call.append("&out->db")
        else:
            raise ValueError("%s cannot return type :%s" % (prefix, rt))
    body = ["static int %s(const %s_arg *a, int fmt, %s_ret *out) {" % (fn, prefix, prefix)]
    body.append("    (void)a; (void)fmt; (void)out;")
    body += ["    " + x for x in pre]
    ccall = "%s(%s)" % (op.names["c"], ", ".join(call))
    if op.fallible:
        body.append("    int rc = %s;" % ccall)
        body += ["    " + x for x in post]
        body.append("    return rc;")
    elif rt == "void":
        body += ["    %s;" % ccall, "    return 0;"]
    elif rt == "cstring":
        body += ["    out->cs = %s;" % ccall, "    return 0;"]
    else:
        raise ValueError("%s: infallible op %s returns :%s" % (prefix, op.name, rt))
    body.append("}")
    return fn, "\n".join(body)


def thunks(spec, ops, prefix, naming):
    """C text: argdef arrays, thunks and the `<prefix>_ops` table."""
    out = []
    rows = []
    for op in ops:
        fn, text = _thunk(spec, op, prefix)
        ua = user_args(op)
        arr = "NULL"
        if ua:
            arr = "%s_args_%s" % (prefix, op.names["c"][len(spec.c_prefix):])
            out.append("static const %s_argdef %s[] = {" % (prefix, arr))
            for a in ua:
                out.append("    {%s, %s, %s}," % (c_string(a.name), kind_macro(prefix, a.type),
                                                  c_string(a.doc)))
            out.append("};")
        out.append(text)
        out.append("")
        rows.append("    {%s, %s,\n     %s,\n     %s,\n     %d, %s, %s, %s}," % (
            c_string(str(op.names[naming])), c_string(op.name), c_string(op.doc),
            c_string(op.ret_doc) if op.ret_doc else "NULL", len(ua), arr,
            kind_macro(prefix, op.ret_type), fn))
    out.append("const %s_op %s_ops[] = {" % (prefix, prefix))
    out += rows
    out.append("};")
    out.append("const size_t %s_op_count = %d;" % (prefix, len(rows)))
    return "\n".join(out)


def have_macros(spec, prefix, names):
    lines = []
    for n in names:
        try:
            op = spec.op(n)
        except KeyError:
            continue
        m = "%s_HAVE_%s" % (prefix.upper(), op.names["c"][len(spec.c_prefix):].upper())
        lines.append("#define %s %d" % (m, 1 if op.implemented else 0))
    return "\n".join(lines)


class CliTable(Target):
    name = 'cli_table'
    naming = 'cli'
    ready = True
    binds = frozenset(KINDS)
    design = __doc__

    def generate(self, spec):
        ops = [o for o in spec.ops if o.implemented and o.in_target("cli")]
        h = ["/* commands_gen.h -- the datalith CLI's command table (%s). */" % BANNER,
             "#ifndef DATALITH_CLI_COMMANDS_GEN_H",
             "#define DATALITH_CLI_COMMANDS_GEN_H", "",
             "#include \"datalith.h\"", "",
             "#include <stddef.h>",
             "#include <stdint.h>", "",
             call_types("cli"), "",
             "/* View ops the db:/history:/asof:/since: prefixes need (1 = implemented). */",
             have_macros(spec, "cli", ["db", "history", "as-of", "since"]), "",
             "extern const cli_op cli_ops[];",
             "extern const size_t cli_op_count;", "",
             "#endif", ""]
        c = ["/* commands_gen.c -- one uniform call per CLI command (%s). */" % BANNER,
             "#include \"commands_gen.h\"", "",
             thunks(spec, ops, "cli", "cli"), ""]
        return [File("cli/commands_gen.h", "\n".join(h)),
                File("cli/commands_gen.c", "\n".join(c))]


TARGET = CliTable()
