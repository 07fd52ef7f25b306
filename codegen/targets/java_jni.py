"""Target java_jni (issue 7): the Java API and its JNI glue.

Generates, for every :implemented operation the :java naming offers:

  bindings/java/src/main/java/datalith/DatalithNative.java
      `static native` methods, one per op, named as the :java names
      (camelCase, `?` dropped, `!` -> Async, overlays honoured).  Handles are
      `long` pointers, :value and :bytes data `byte[]` (values as CBOR),
      :string data UTF-8 `byte[]`, :handles/db a `long[]`.
  bindings/java/native/datalith_jni_gen.c
      the JNIEXPORT functions `Java_datalith_DatalithNative_<name>`: copy the
      byte[] arguments, call the C function (an op with a :value argument or
      result gets its :format arguments fixed to DATALITH_FORMAT_CBOR), and on
      a non-zero status throw datalith.DatalithException with the code, its
      name and the engine's message (dj_throw in native/datalith_jni.c).  A
      zero handle throws instead of reaching the engine.  The header javac -h
      writes (datalith_DatalithNative.h) is included when the build has it, so
      the compiler checks every signature against the Java declaration.
  bindings/java/src/main/java/datalith/Datalith.java
      the public static API, Datahike's Java names (Datalith.connect,
      createDatabase, transact, datoms, q, pull, asOf ...): Java values in and
      out (Cbor.encode / Cbor.decode), Connection / Database objects for
      handles.  Borrowed handles are leased for the call (so close() waits for
      calls in flight, and a closed handle gives a DatalithException, never a
      crash); an :owned-by-callee argument is closed.  It extends the
      hand-written DatalithHelpers (memoryConfig, Edn helpers).
  bindings/java/src/main/java/datalith/ConnectionApi.java, DatabaseApi.java
      instance methods for every op whose first argument is a borrowed
      connection / snapshot (conn.transact(tx), db.datoms(args) ...); the
      hand-written Connection and Database extend them.

Callback types are not generated: an implemented op with a callback that the
:java naming offers makes gen.py refuse, naming it.  `filter` (excluded from
the host bindings' naming) is bound by hand: Database.filter(Predicate) and
NativeCallbacks / datalith_jni.c (a global ref to the predicate, freed by a
Cleaner once no view uses it; a derived view keeps its source's predicates
alive through the `new Database(ptr, source)` this generator emits).
"""

from targets import Target, File, BANNER

JPKG = "bindings/java/src/main/java/datalith"
CGEN = "bindings/java/native/datalith_jni_gen.c"

JAVA_RESERVED = {
    "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class",
    "const", "continue", "default", "do", "double", "else", "enum", "extends", "final",
    "finally", "float", "for", "goto", "if", "implements", "import", "instanceof", "int",
    "interface", "long", "native", "new", "package", "private", "protected", "public",
    "return", "short", "static", "strictfp", "super", "switch", "synchronized", "this",
    "throw", "throws", "transient", "try", "void", "volatile", "while", "true", "false",
    "null", "var", "record", "yield"}

# native (JNI) types per spec type: (java, jni C type)
NATIVE_IN = {"bool": ("boolean", "jboolean"), "int": ("long", "jlong"),
             "cstring": ("byte[]", "jbyteArray"), "string": ("byte[]", "jbyteArray"),
             "bytes": ("byte[]", "jbyteArray"), "value": ("byte[]", "jbyteArray"),
             "format": ("int", "jint"), "handle/conn": ("long", "jlong"),
             "handle/db": ("long", "jlong"), "handles/db": ("long[]", "jlongArray")}
NATIVE_OUT = {"void": ("void", "void"), "bool": ("boolean", "jboolean"),
              "int": ("long", "jlong"), "cstring": ("String", "jstring"),
              "string": ("byte[]", "jbyteArray"), "bytes": ("byte[]", "jbyteArray"),
              "value": ("byte[]", "jbyteArray"), "handle/conn": ("long", "jlong"),
              "handle/db": ("long", "jlong")}
PUBLIC_IN = {"bool": "boolean", "int": "long", "cstring": "String", "string": "String",
             "bytes": "byte[]", "value": "Object", "format": "int",
             "handle/conn": "Connection", "handle/db": "Database",
             "handles/db": "List<Database>"}
PUBLIC_OUT = {"void": "void", "bool": "boolean", "int": "long", "cstring": "String",
              "string": "String", "bytes": "byte[]", "value": "Object",
              "handle/conn": "Connection", "handle/db": "Database"}
HANDLE_CLASS = {"handle/conn": "Connection", "handle/db": "Database"}


def _ident(name):
    parts = name.split("-")
    s = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    return s + "_" if s in JAVA_RESERVED else s


def _jname(op):
    n = op.names["java"]
    return n + "_" if n in JAVA_RESERVED else n


def _jni_mangle(name):
    return name.replace("_", "_1")


def _has_value(op):
    return op.ret_type == "value" or any(a.type == "value" for a in op.args)


def _ops(spec):
    return [o for o in spec.ops if o.implemented and o.in_target("java")]


def _javadoc(text, indent="    "):
    import textwrap
    text = (text or "").replace("*/", "*&#47;").replace("<", "&lt;").replace(">", "&gt;")
    lines = textwrap.wrap(text, 76 - len(indent), break_on_hyphens=False,
                          break_long_words=False) or [""]
    return [indent + "/** " + lines[0]] + [indent + " * " + x for x in lines[1:]] + [indent + " */"] \
        if len(lines) > 1 else [indent + "/** " + lines[0] + " */"]


# ---------------------------------------------------------------- Java native

def _native_params(op):
    hv = _has_value(op)
    out = []
    for a in op.args:
        if a.type == "format" and hv:
            continue
        out.append((NATIVE_IN[a.type][0], NATIVE_IN[a.type][1], _ident(a.name), a))
    return out


def gen_native_java(spec):
    out = ["// " + BANNER + ".", "package datalith;", "",
           "/** The JNI entry points, one per implemented operation of spec/api.edn.",
           " *  Handles are raw pointers; values are CBOR.  Use {@link Datalith}. */",
           "final class DatalithNative {", "    private DatalithNative() {}", "",
           "    static { NativeLoader.load(); }", ""]
    for op in _ops(spec):
        ps = ", ".join("%s %s" % (jt, n) for jt, _, n, _ in _native_params(op))
        out.append("    static native %s %s(%s);" % (NATIVE_OUT[op.ret_type][0], _jname(op), ps))
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- C glue

def _c_function(spec, op):
    hv = _has_value(op)
    name = _jname(op)
    rt_java, rt_jni = NATIVE_OUT[op.ret_type]
    params = ["JNIEnv *env", "jclass cls"] + ["%s %s" % (jni, n) for _, jni, n, _ in _native_params(op)]
    body, cleanup, call = [], [], []
    fail_ret = {"void": "", "jboolean": "JNI_FALSE", "jlong": "0"}.get(rt_jni, "NULL")
    for a in op.args:
        n = _ident(a.name)
        t = a.type
        if t == "format":
            call.append("DATALITH_FORMAT_CBOR" if hv else "(int)%s" % n)
        elif t == "bool":
            call.append("%s ? 1 : 0" % n)
        elif t == "int":
            call.append("(int64_t)%s" % n)
        elif t in ("cstring", "string", "bytes", "value"):
            body.insert(0, "char *%s_p = NULL;" % n)
            body.insert(1, "size_t %s_n = 0;" % n)
            body.append("if (dj_in_bytes(env, %s, %d, &%s_p, &%s_n)) goto done;"
                        % (n, 1 if t == "cstring" else 0, n, n))
            cleanup.append("free(%s_p);" % n)
            call += ["%s_p" % n] if t == "cstring" else ["%s_p" % n, "%s_n" % n]
        elif t.startswith("handle/"):
            ctype = spec.handles[t]["c-type"]
            body.append("if (dj_check_handle(env, %s, \"%s\")) goto done;" % (n, a.name))
            call.append("(%s *)(intptr_t)%s" % (ctype, n))
        elif t == "handles/db":
            body.insert(0, "datalith_db **%s_p = NULL;" % n)
            body.insert(1, "size_t %s_n = 0;" % n)
            body.append("if (dj_in_handles(env, %s, (void ***)&%s_p, &%s_n)) goto done;" % (n, n, n))
            cleanup.append("free(%s_p);" % n)
            call += ["(datalith_db *const *)%s_p" % n, "%s_n" % n]
        else:
            raise ValueError("java_jni cannot bind type :%s" % t)
    decl_out = []
    post = []
    rt = op.ret_type
    if op.fallible and rt != "void":
        if rt == "bool":
            decl_out.append("int out = 0;")
            call.append("&out")
            post.append("ret = out ? JNI_TRUE : JNI_FALSE;")
        elif rt == "int":
            decl_out.append("int64_t out = 0;")
            call.append("&out")
            post.append("ret = (jlong)out;")
        elif rt in ("string", "bytes", "value"):
            decl_out += ["char *out = NULL;", "size_t out_len = 0;"]
            call += ["&out", "&out_len"]
            post.append("ret = dj_out_bytes(env, out, out_len);")
            cleanup.append("datalith_free(out);")
        elif rt.startswith("handle/"):
            ctype = spec.handles[rt]["c-type"]
            decl_out.append("%s *out = NULL;" % ctype)
            call.append("&out")
            post.append("ret = (jlong)(intptr_t)out;")
        else:
            raise ValueError("java_jni cannot return type :%s" % rt)
    lines = ["JNIEXPORT %s JNICALL Java_datalith_DatalithNative_%s(%s) {"
             % (rt_jni, _jni_mangle(name), ", ".join(params))]
    ind = "    "
    if not op.fallible:
        pre = [l for l in body if not l.startswith("if (dj_in_bytes")]
        if any(l.startswith("if (") for l in body):
            lines += [ind + "(void)cls;"] + [ind + l for l in body]
        else:
            lines.append(ind + "(void)cls;")
        ccall = "%s(%s)" % (op.names["c"], ", ".join(call))
        if rt == "void":
            lines.append(ind + ccall + ";")
        elif rt == "cstring":
            lines.append(ind + "return (*env)->NewStringUTF(env, %s);" % ccall)
        else:
            lines.append(ind + "return (%s)%s;" % (rt_jni, ccall))
        if any(l.startswith("if (") for l in body):
            lines.append("done:")
            lines += [ind + c for c in cleanup]
            if rt != "void":
                lines.append(ind + "return %s;" % fail_ret)
        lines.append("}")
        del pre
        return "\n".join(lines)
    lines.append(ind + "(void)cls;")
    if rt != "void":
        lines.append(ind + "%s ret = %s;" % (rt_jni, fail_ret))
    lines += [ind + l for l in decl_out]
    lines.append(ind + "int rc;")
    lines += [ind + l for l in body]
    lines.append(ind + "rc = %s(%s);" % (op.names["c"], ", ".join(call)))
    lines.append(ind + "if (rc != DATALITH_OK) {")
    lines.append(ind + "    dj_throw(env, rc);")
    lines.append(ind + "    goto done;")
    lines.append(ind + "}")
    lines += [ind + p for p in post]
    lines.append("done:")
    lines += [ind + c for c in cleanup]
    lines.append(ind + "return%s;" % ("" if rt == "void" else " ret"))
    lines.append("}")
    return "\n".join(lines)


def gen_glue(spec):
    out = ["/* " + BANNER + ".",
           "** The JNI functions behind datalith.DatalithNative, one per implemented",
           "** operation; helpers (dj_*) are in datalith_jni.c. */",
           "#include \"datalith_jni.h\"", "",
           "#ifdef DATALITH_JNI_HAVE_HEADER",
           "#include \"datalith_DatalithNative.h\"",
           "#endif", "",
           "#include <stdint.h>",
           "#include <stdlib.h>", ""]
    for op in _ops(spec):
        out.append(_c_function(spec, op))
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- public Java

def _public_method(spec, op, receiver=None, indent="    "):
    """The Datalith static method (receiver None) or an instance method of
    ConnectionApi/DatabaseApi delegating to it (receiver = the arg)."""
    hv = _has_value(op)
    shown = [a for a in op.args if not (a.type == "format" and hv)]
    rt = op.ret_type
    jrt = PUBLIC_OUT[rt]
    name = _jname(op)
    lines = []
    doc = op.doc or ""
    if rt != "void" and op.ret_doc:
        doc += " Returns " + op.ret_doc[:1].lower() + op.ret_doc[1:]
    lines += _javadoc(doc, indent)
    if receiver is not None:
        rest = [a for a in shown if a is not receiver]
        ps = ", ".join("%s %s" % (PUBLIC_IN[a.type], _ident(a.name)) for a in rest)
        args = ", ".join(["(%s) this" % HANDLE_CLASS[receiver.type]]
                         + [_ident(a.name) for a in rest])
        lines.append("%spublic final %s %s(%s) {" % (indent, jrt, name, ps))
        lines.append("%s    %sDatalith.%s(%s);" % (indent, "" if rt == "void" else "return ", name, args))
        lines.append(indent + "}")
        return "\n".join(lines)
    ps = ", ".join("%s %s" % (PUBLIC_IN[a.type], _ident(a.name)) for a in shown)
    lines.append("%spublic static %s %s(%s) {" % (indent, jrt, name, ps))
    b = indent + "    "
    owned = [a for a in op.args if a.type.startswith("handle/") and a.ownership == "owned-by-callee"]
    if owned:
        # Releasing is closing: the handle object releases its pointer once.
        for a in owned:
            lines.append("%sif (%s != null) %s.close();" % (b, _ident(a.name), _ident(a.name)))
        if rt != "void":
            raise ValueError("java_jni: op %s takes ownership and returns a value" % op.name)
        lines.append(indent + "}")
        return "\n".join(lines)
    call = []
    leased = any(a.type.startswith("handle") for a in op.args)
    for a in op.args:
        n = _ident(a.name)
        t = a.type
        if t == "format":
            if not hv:
                call.append(n)
        elif t == "value":
            lines.append("%sbyte[] %sCbor = Cbor.encode(%s);" % (b, n, n))
            call.append(n + "Cbor")
        elif t in ("string", "cstring"):
            lines.append("%sbyte[] %sUtf8 = Support.utf8(%s, \"%s\", %s);"
                         % (b, n, n, a.name, "true" if t == "cstring" else "false"))
            call.append(n + "Utf8")
        elif t == "bytes":
            lines.append("%sSupport.requireNonNull(%s, \"%s\");" % (b, n, a.name))
            call.append(n)
        elif t.startswith("handle/"):
            call.append("lease.add(%s, \"%s\")" % (n, a.name))
        elif t == "handles/db":
            call.append("lease.addAll(%s, \"%s\")" % (n, a.name))
        else:
            call.append(n)
    ncall = "DatalithNative.%s(%s)" % (name, ", ".join(call))
    if rt == "value":
        expr = "Cbor.decode(%s)" % ncall
    elif rt == "string":
        expr = "new String(%s, java.nio.charset.StandardCharsets.UTF_8)" % ncall
    elif rt == "handle/db" and any(a.type == "handle/db" for a in op.args):
        # a view derived from a snapshot keeps that snapshot's filter
        # predicates alive (Database.keepAlive)
        src = [a for a in op.args if a.type == "handle/db"][0]
        expr = "new Database(%s, %s)" % (ncall, _ident(src.name))
    elif rt in HANDLE_CLASS:
        expr = "new %s(%s)" % (HANDLE_CLASS[rt], ncall)
    else:
        expr = ncall
    stmt = (expr + ";") if rt == "void" else ("return " + expr + ";")
    if leased:
        lines.append("%stry (Lease lease = new Lease()) {" % b)
        lines.append("%s    %s" % (b, stmt))
        lines.append("%s}" % b)
    else:
        lines.append(b + stmt)
    lines.append(indent + "}")
    return "\n".join(lines)


def _varargs_overload(op, indent="    "):
    """Datahike-style convenience for a query-like op (a :value, then
    :handles/db, then a :value of inputs): name(query, db, Object... inputs)."""
    shown = [a for a in op.args if a.type != "format"]
    if (len(shown) != 3 or shown[0].type != "value" or shown[1].type != "handles/db"
            or shown[2].type != "value"):
        return None
    q, dbs, inputs = (_ident(a.name) for a in shown)
    rt = PUBLIC_OUT[op.ret_type]
    return "\n".join([
        indent + "/** {@link #%s(Object, List, Object)} with one database and the" % _jname(op),
        indent + " *  remaining inputs as arguments. */",
        "%spublic static %s %s(Object %s, Database db, Object... %s) {" % (indent, rt, _jname(op), q, inputs),
        "%s    %s%s(%s, List.of(db), java.util.Arrays.asList(%s));"
        % (indent, "" if op.ret_type == "void" else "return ", _jname(op), q, inputs),
        indent + "}"])


def gen_datalith(spec):
    out = ["// " + BANNER + ".", "package datalith;", "",
           "import java.util.List;", "",
           "/**",
           " * Datalith's Java API: one static method per implemented operation, named",
           " * as Datahike's Java API ({@code Datahike.createDatabase} ...).  Values are",
           " * plain Java values (see {@link Cbor}); failures throw {@link DatalithException}.",
           " */",
           "@SuppressWarnings(\"unused\")",
           "public final class Datalith extends DatalithHelpers {",
           "    private Datalith() {}", "",
           "    /** The spec version these bindings were generated from. */",
           "    public static final String SPEC_VERSION = \"%s\";" % spec.version, ""]
    for op in _ops(spec):
        out.append(_public_method(spec, op))
        out.append("")
        extra = _varargs_overload(op)
        if extra:
            out.append(extra)
            out.append("")
    out[-1] = "}"
    return "\n".join(out) + "\n"


def gen_handle_api(spec, htype, cls):
    out = ["// " + BANNER + ".", "package datalith;", "",
           "import java.util.List;", "",
           "/** Instance methods of {@link %s}: every operation whose first argument" % cls,
           " *  is a borrowed %s, delegating to {@link Datalith}. */" % htype,
           "@SuppressWarnings(\"unused\")",
           "public abstract class %sApi extends Handle {" % cls,
           "    %sApi(long ptr, java.util.function.LongConsumer release, String kind) {" % cls,
           "        super(ptr, release, kind);",
           "    }", ""]
    for op in _ops(spec):
        if op.args and op.args[0].type == htype and op.args[0].ownership != "owned-by-callee":
            out.append(_public_method(spec, op, receiver=op.args[0]))
            out.append("")
    out[-1] = "}"
    return "\n".join(out) + "\n"


class JavaJni(Target):
    name = "java_jni"
    naming = "java"
    ready = True
    enabled = True  # see gen.enabled_targets; the spec's flag says false still
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value",
                       "handle/conn", "handle/db", "handles/db"])
    design = __doc__

    def generate(self, spec):
        return [File(JPKG + "/DatalithNative.java", gen_native_java(spec)),
                File(JPKG + "/Datalith.java", gen_datalith(spec)),
                File(JPKG + "/ConnectionApi.java", gen_handle_api(spec, "handle/conn", "Connection")),
                File(JPKG + "/DatabaseApi.java", gen_handle_api(spec, "handle/db", "Database")),
                File(CGEN, gen_glue(spec))]


TARGET = JavaJni()
