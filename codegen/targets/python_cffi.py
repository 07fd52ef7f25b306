"""Target python_cffi (issue 6): the Python package's generated glue.

Generates three files under bindings/python/datalith/:

  _cdef.py       CDEF, the cffi `cdef` text (API mode, out of line): the
                 datalith_status and datalith_format enums and the
                 datalith_error struct (from the spec's :errors/:formats and
                 the header's hand-written conventions), the error and
                 memory functions, the declarations the implemented ops need
                 (handle typedefs) and every implemented op's declaration
                 with DATALITH_API and comments stripped.  build_ffi.py
                 feeds it to cffi, which checks it against the real header
                 when the extension compiles.
  _errors.py     the exception hierarchy: datalith.Error (.code, .code_name,
                 .message, .line, .column, .offset) and one subclass per
                 status of :errors (ParseError, LimitError, ...), each also
                 deriving from the closest Python built-in exception, plus
                 raise_last(rc), which raises the class for `rc` with the
                 calling thread's last engine error.
  _generated.py  one function per implemented op, named snake_case by the
                 spec's :python naming (`?` dropped, `!` -> `_async`,
                 overlays honoured).  Parameters that are Python keywords get
                 a trailing underscore (`in` -> `in_`).  Docstrings come from
                 :doc, the arguments' docs and :errors.

Marshalling per spec type (the set in `binds`; anything else refuses):

  :bool :int :format   Python int/bool in; out-parameters read back
  :cstring             str in (UTF-8); a :static result is decoded to str
  :string              str in (UTF-8); results decoded, freed with datalith_free
  :bytes               bytes-like (or str, UTF-8) in; bytes out, freed
  :value               any native Python value in, CBOR-encoded; results
                       CBOR-decoded to native values.  An op that has a
                       :value argument or result gets its :format arguments
                       fixed to DATALITH_FORMAT_CBOR and hidden from Python.
  :handle/conn :handle/db
                       in: a cdata pointer or an object with `_ptr`; fresh
                       out: wrapped with ffi.gc(ptr, <the handle's release
                       op>); an :owned-by-callee argument has its gc
                       destructor detached before the call (no double free)
  :handles/db          a sequence of handles, passed as an array and a count

Callback types are not bound yet (they need `extern "Python"` trampolines
and a lifetime policy for the context handle, which belongs with listen);
an :implemented op that takes one makes gen.py refuse, naming the op.

All C calls go through cffi API mode, which releases the GIL for the call.
"""

import keyword
import re
import textwrap

from targets import Target, File, BANNER
from targets import cdecl

PKG = "bindings/python/datalith"

# Python class names of the status codes, and the built-in exception each
# also derives from.  A code not listed gets "<Name>Error" from its name.
ERROR_CLASSES = {
    "enomem": ("OutOfMemoryError", "MemoryError"),
    "einval": ("InvalidArgumentError", "ValueError"),
    "eparse": ("ParseError", "ValueError"),
    "elimit": ("LimitError", None),
    "etype": ("ValueTypeError", "TypeError"),
    "eio": ("StoreIOError", "OSError"),
    "ecorrupt": ("CorruptError", None),
    "elocked": ("LockedError", None),
    "enotfound": ("NotFoundError", "LookupError"),
    "eexists": ("ExistsError", None),
    "eschema": ("SchemaError", None),
    "etx": ("TransactionError", None),
    "equery": ("QueryError", None),
    "ecanceled": ("CanceledError", None),
    "eunsupported": ("UnsupportedError", None),
    "econflict": ("ConflictError", None),
    "einternal": ("InternalError", None),
}

HINTS = {
    "void": "None", "bool": "bool", "int": "int", "cstring": "str", "string": "str",
    "bytes": "bytes", "format": "int", "value": "Any", "handle/conn": "Any",
    "handle/db": "Any", "handles/db": "Sequence[Any]",
}
IN_HINTS = dict(HINTS, bytes="Union[bytes, bytearray, memoryview, str]")


def error_class(e):
    name = e["name"]
    if name in ERROR_CLASSES:
        return ERROR_CLASSES[name]
    base = name[1:] if name.startswith("e") else name
    return ("".join(p.capitalize() for p in base.split("-")) + "Error", None)


def _py_arg(a):
    n = a.c_name
    return n + "_" if keyword.iskeyword(n) or n in ("ffi", "lib", "rt") else n


def _pydoc(text):
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _wrap(text, indent, width=79):
    return textwrap.wrap(text, width - len(indent), initial_indent="",
                         subsequent_indent="", break_on_hyphens=False,
                         break_long_words=False) or [""]


def cdef_text(spec):
    ops = [o for o in spec.ops if o.implemented]
    lines = ["typedef enum datalith_status {"]
    for i, e in enumerate(spec.errors):
        lines.append("    %s = %d%s" % (e["c"], e["value"], "," if i < len(spec.errors) - 1 else ""))
    lines.append("} datalith_status;")
    lines.append("typedef enum datalith_format {")
    for i, f in enumerate(spec.formats):
        lines.append("    %s = %d%s" % (f["c"], f["value"], "," if i < len(spec.formats) - 1 else ""))
    lines.append("} datalith_format;")
    lines += [
        "typedef struct datalith_error {",
        "    int code;",
        "    const char *message;",
        "    long line;",
        "    long column;",
        "    long offset;",
        "} datalith_error;",
        "const datalith_error *datalith_error_last(void);",
        "void datalith_error_clear(void);",
        "const char *datalith_status_name(int code);",
        "void datalith_free(void *p);",
    ]
    decls = []
    for o in ops:
        for t in o.types_used():
            d = spec.types[t]["c"].get("decl")
            if d and d not in decls:
                decls.append(d)
    lines += decls
    for o in ops:
        lines.append(cdecl.declaration(spec, o, api_macro="", width=10 ** 6))
    return "\n".join(lines) + "\n"


def gen_cdef(spec):
    return ('"""The cffi cdef of the datalith extension (%s)."""\n\n'
            "# %s\n\nCDEF = r'''\n%s'''\n" % (BANNER, BANNER, cdef_text(spec)))


def gen_errors(spec):
    out = ['"""Exceptions raised by datalith, one class per engine status code.',
           "", BANNER + ".", '"""', "",
           "from typing import Dict, Optional, Type", "", "",
           "class Error(Exception):",
           '    """An engine failure.  .code is the negative status, .code_name its C',
           "    name (e.g. \"DATALITH_EPARSE\"), .message the engine's message; for parse",
           "    errors .line and .column (1-based) and .offset (0-based byte offset) give",
           '    the position, else they are None."""', "",
           "    code: int = -1",
           "    code_name: str = \"DATALITH_E?\"", "",
           "    def __init__(self, message: str, code: Optional[int] = None,",
           "                 line: Optional[int] = None, column: Optional[int] = None,",
           "                 offset: Optional[int] = None) -> None:",
           "        Exception.__init__(self, message)",
           "        if code is not None and code != type(self).code:",
           "            self.code = code",
           "            self.code_name = CODE_NAMES.get(code, \"DATALITH_E?\")",
           "        self.message = message",
           "        self.line = line",
           "        self.column = column",
           "        self.offset = offset", "",
           "    def __str__(self) -> str:",
           "        return \"%s: %s\" % (self.code_name, self.message)", ""]
    names = []
    for e in spec.errors:
        if e["value"] == 0:
            continue
        cls, builtin = error_class(e)
        names.append((e, cls))
        out += ["", "class %s(Error%s):" % (cls, ", " + builtin if builtin else ""),
                '    """%s (%s)."""' % (_pydoc(e["doc"][:1].upper() + e["doc"][1:]), e["c"]),
                "    code = %d" % e["value"],
                "    code_name = \"%s\"" % e["c"], ""]
    out += ["", "CODE_NAMES: Dict[int, str] = {"]
    out += ["    %d: \"%s\"," % (e["value"], e["c"]) for e in spec.errors]
    out += ["}", "", "ERRORS: Dict[int, Type[Error]] = {"]
    out += ["    %d: %s," % (e["value"], cls) for e, cls in names]
    out += ["}", "", "__all__ = [\"Error\", %s]" % ", ".join('"%s"' % c for _, c in names), "",
            "",
            "def raise_last(rc: int) -> None:",
            '    """Raise the exception for status `rc` with the calling thread\'s last',
            '    engine error (its message and, for parse errors, position)."""',
            "    from ._native import ffi, lib",
            "    err = lib.datalith_error_last()",
            "    msg = ffi.string(err.message).decode(\"utf-8\", \"replace\") if err.message else \"\"",
            "    if not msg:",
            "        msg = ffi.string(lib.datalith_status_name(rc)).decode()",
            "    line = column = offset = None",
            "    if err.code == rc and err.line > 0:",
            "        line, column = int(err.line), int(err.column)",
            "    if err.code == rc and err.offset >= 0:",
            "        offset = int(err.offset)",
            "    raise ERRORS.get(rc, Error)(msg, rc, line, column, offset)", ""]
    return "\n".join(out)


def _op_function(spec, op):
    has_value = op.ret_type == "value" or any(a.type == "value" for a in op.args)
    params, body, pre = [], [], []
    call = []
    for a in op.args:
        n = _py_arg(a)
        t = a.type
        if t == "format" and has_value:
            call.append("lib.DATALITH_FORMAT_CBOR")
            continue
        params.append("%s: %s" % (n, IN_HINTS[t]))
        if t in ("bool", "int", "format"):
            pre += ["if type(%s) is not int:" % n, "    %s = rt.as_int(%s, %r)" % (n, n, a.name)]
            call.append(n)
        elif t == "cstring":
            pre.append("%s = rt.as_cstring(%s, %r)" % (n, n, a.name))
            call.append(n)
        elif t in ("string", "bytes"):
            pre += ["if type(%s) is not bytes:" % n, "    %s = rt.as_bytes(%s, %r)" % (n, n, a.name)]
            call += [n, "len(%s)" % n]
        elif t == "value":
            pre.append("%s = rt.encode_value(%s)" % (n, n))
            call += [n, "len(%s)" % n]
        elif t.startswith("handle/"):
            if a.ownership == "owned-by-callee":
                pre.append("%s = rt.take_handle(%s, %r)" % (n, n, a.name))
            else:
                pre.append("%s = rt.handle_ptr(%s, %r)" % (n, n, a.name))
            call.append(n)
        elif t == "handles/db":
            pre.append("%s = rt.handle_array(%s, %r)" % (n, n, a.name))
            call += [n, "len(%s)" % n]
        else:
            raise ValueError("python_cffi cannot bind type :%s" % t)
    rt_type = op.ret_type
    post = []
    if op.fallible and rt_type != "void":
        outs = spec.types[rt_type]["c"]["out"]
        for i, tmpl in enumerate(outs):
            ctype = re.sub(r"\{name\}\w*$", "", tmpl).strip()
            var = "out" if i == 0 else "out%d" % i
            pre.append("%s = ffi.new(%r)" % (var, ctype))
            call.append(var)
        if rt_type == "bool":
            post.append("return bool(out[0])")
        elif rt_type == "int":
            post.append("return int(out[0])")
        elif rt_type == "string":
            post.append("return rt.take_bytes(out[0], out1[0]).decode(\"utf-8\")")
        elif rt_type == "bytes":
            post.append("return rt.take_bytes(out[0], out1[0])")
        elif rt_type == "value":
            post.append("return rt.decode_value(rt.take_bytes(out[0], out1[0]))")
        elif rt_type.startswith("handle/"):
            release = spec.op(str(spec.handles[rt_type]["release"])).names["c"]
            post.append("return rt.own_handle(out[0], lib.%s)" % release)
        else:
            raise ValueError("python_cffi cannot return type :%s" % rt_type)
    ccall = "lib.%s(%s)" % (op.names["c"], ", ".join(call))
    if op.fallible:
        body = pre + ["rc = " + ccall, "if rc != 0:", "    raise_last(rc)"] + post
    elif rt_type == "void":
        body = pre + [ccall]
    elif rt_type == "cstring":
        body = pre + ["return ffi.string(%s).decode(\"utf-8\")" % ccall]
    else:
        body = pre + ["return %s" % ccall]
    ret_hint = HINTS[rt_type]
    name = op.names["python"]
    doc = _wrap(_pydoc(op.doc), "    ")
    shown = [a for a in op.args if not (a.type == "format" and has_value)]
    if shown:
        doc += ["", "Args:"]
        for a in shown:
            w = textwrap.wrap(_pydoc(a.doc), 68, break_on_hyphens=False, break_long_words=False)
            doc.append("    %s: %s" % (_py_arg(a), w[0]))
            doc += ["        " + x for x in w[1:]]
    if rt_type != "void" and op.ret_doc:
        doc += ["", "Returns:"] + ["    " + x for x in textwrap.wrap(
            _pydoc(op.ret_doc), 70, break_on_hyphens=False, break_long_words=False)]
    if op.fallible and op.errors:
        doc += ["", "Raises:"]
        for code, when in op.errors:
            e = spec.error(code)
            w = textwrap.wrap("%s: %s" % (error_class(e)[0], _pydoc(when or e["doc"])), 70,
                              break_on_hyphens=False, break_long_words=False)
            doc.append("    " + w[0])
            doc += ["        " + x for x in w[1:]]
    lines = ["def %s(%s) -> %s:" % (name, ", ".join(params), ret_hint)]
    lines.append('    """' + doc[0])
    lines += [("    " + d).rstrip() for d in doc[1:]]
    lines.append('    """')
    lines += ["    " + b for b in body]
    return name, "\n".join(lines)


def gen_ops(spec):
    ops = [o for o in spec.ops if o.implemented and o.in_target("python")]
    fns = [_op_function(spec, o) for o in ops]
    head = ['"""Low-level functions, one per implemented operation of spec/api.edn.',
            "", BANNER + ".", "",
            "Each calls the C function of the same name (the GIL is released during",
            "the call), raises a datalith.Error subclass on failure and frees what",
            "the engine returned.  The Pythonic API is built on these.",
            '"""', "",
            "from typing import Any, Sequence, Union  # noqa: F401", "",
            "from . import _runtime as rt  # noqa: F401",
            "from ._errors import raise_last  # noqa: F401",
            "from ._native import ffi, lib  # noqa: F401", "",
            "LIBRARY_VERSION = \"%s\"" % spec.version, "",
            "FORMATS = {%s}" % ", ".join('"%s": %d' % (f["name"], f["value"]) for f in spec.formats),
            "", "__all__ = [%s]" % ", ".join('"%s"' % n for n, _ in fns)]
    return "\n".join(head) + "\n" + "".join("\n\n" + text + "\n" for _, text in fns)


class PythonCffi(Target):
    name = "python_cffi"
    naming = "python"
    ready = True
    enabled = True  # see gen.enabled_targets; the spec's flag says false still
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value",
                       "handle/conn", "handle/db", "handles/db"])
    design = __doc__

    def generate(self, spec):
        return [File(PKG + "/_cdef.py", gen_cdef(spec)),
                File(PKG + "/_errors.py", gen_errors(spec)),
                File(PKG + "/_generated.py", gen_ops(spec))]


TARGET = PythonCffi()
