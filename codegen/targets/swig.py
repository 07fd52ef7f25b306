"""Target swig (issue 7): a SWIG interface for further languages.

Generates bindings/swig/datalith.i, one interface file that SWIG turns into
a binding for Tcl (built and tested here), Python, Ruby, Perl and the other
languages whose typemaps use SWIG's unified typemap library.

The file holds: %module datalith; the status and format codes as
constants (STATUS names and FORMAT_EDN/_JSON/_CBOR without the DATALITH_
prefix); a small typemap library keyed by spec type (below); one %apply per
argument name, chosen from the argument's spec type; and every implemented
op's declaration, renamed to its C name without the datalith_ prefix
(datalith_transact -> transact, datalith_conn_release -> conn_release).

Marshalling per spec type (the set in `binds`):

  :string :bytes :value  in: (const char *x, size_t x_len) <- one string
                         out: (char **out, size_t *out_len) -> the result
                         string; the C buffer is freed with datalith_free
                         right after the copy
  :format                an op with a :value argument or result has its
                         :format arguments fixed to DATALITH_FORMAT_EDN and
                         hidden (values cross as EDN text); value_convert's
                         `from`/`to` stay ordinary ints
  :bool :int             out-parameters become the result
  :cstring               a :static result is an ordinary string
  :handle/conn :handle/db
                         opaque SWIG pointers; a fresh handle is the result
                         and is released explicitly with conn_release /
                         db_release (the spec's :release ops)
  :handles/db            a list of db handles (Tcl: a Tcl list; Python: a
                         sequence; other languages: one handle)
  fallible ops           declared returning datalith_rc (an int); a negative
                         status becomes the language's exception carrying
                         datalith_error_last()->message; in Tcl a Tcl error
                         whose -errorcode is {DATALITH <STATUS> line column
                         offset}

Ops taking a callback (filter) are not offered: a host predicate needs a
per-language trampoline.  An argument name used with two different marshal
roles makes gen.py refuse (the %apply is per name).
"""

from targets import Target, File, BANNER
from targets import cdecl

PATH = "bindings/swig/datalith.i"

# The role of each spec type, as an argument and as a result.
IN_ROLE = {"string": "DL_TEXT", "bytes": "DL_TEXT", "value": "DL_TEXT",
           "handles/db": "DL_DBS"}
OUT_ROLE = {"string": "DL_TEXT_OUT", "bytes": "DL_TEXT_OUT", "value": "DL_TEXT_OUT",
            "bool": "DL_BOOL_OUT", "int": "DL_INT_OUT",
            "handle/conn": "DL_CONN_OUT", "handle/db": "DL_DB_OUT"}

LIBRARY = r'''
/* ---- typemap library, one per spec type (see codegen/targets/swig.py) ---- */

/* A single result: Tcl gets it as the command's result (not a one-element
** list); languages with tuples append it to the (void) result. */
#ifdef SWIGTCL
#define %dl_output(obj) %set_output(obj)
#else
#define %dl_output(obj) %append_output(obj)
#endif

/* :string :bytes :value in -- one string, passed with its byte length. */
%apply (const char *STRING, size_t LENGTH) { (const char *DL_TEXT, size_t DL_TEXT_LEN) };

/* :string :bytes :value out -- fresh text, copied then freed. */
%typemap(in, numinputs=0, noblock=1) (char **DL_TEXT_OUT, size_t *DL_TEXT_OUT_LEN)
  (char *dl_buf = NULL, size_t dl_len = 0) {
  $1 = &dl_buf; $2 = &dl_len;
}
%typemap(argout, noblock=1, fragment="SWIG_FromCharPtrAndSize")
  (char **DL_TEXT_OUT, size_t *DL_TEXT_OUT_LEN) {
  %dl_output(SWIG_FromCharPtrAndSize(*$1, *$2));
  datalith_free(*$1); *$1 = NULL;
}

/* :bool and :int out. */
%typemap(in, numinputs=0, noblock=1) int *DL_BOOL_OUT (int dl_b = 0) { $1 = &dl_b; }
%typemap(argout, noblock=1, fragment=SWIG_From_frag(int)) int *DL_BOOL_OUT {
  %dl_output(SWIG_From_int(*$1));
}
%typemap(in, numinputs=0, noblock=1) int64_t *DL_INT_OUT (int64_t dl_i = 0) { $1 = &dl_i; }
%typemap(argout, noblock=1, fragment=SWIG_From_frag(long long)) int64_t *DL_INT_OUT {
  %dl_output(SWIG_From_long_SS_long((long long)*$1));
}

/* :handle/conn and :handle/db out -- opaque pointers, released explicitly. */
%typemap(in, numinputs=0, noblock=1) datalith_conn **DL_CONN_OUT (datalith_conn *dl_c = NULL) {
  $1 = &dl_c;
}
%typemap(argout, noblock=1) datalith_conn **DL_CONN_OUT {
  %dl_output(SWIG_NewPointerObj(*$1, $*1_descriptor, 0));
}
%typemap(in, numinputs=0, noblock=1) datalith_db **DL_DB_OUT (datalith_db *dl_d = NULL) {
  $1 = &dl_d;
}
%typemap(argout, noblock=1) datalith_db **DL_DB_OUT {
  %dl_output(SWIG_NewPointerObj(*$1, $*1_descriptor, 0));
}

/* :format on an op that moves values: fixed to EDN, hidden. */
%typemap(in, numinputs=0, noblock=1) int DL_FORMAT_EDN { $1 = DATALITH_FORMAT_EDN; }

/* :handles/db -- several snapshots in order ($, $2 ...). */
#if defined(SWIGTCL)
%typemap(in) (datalith_db *const *DL_DBS, size_t DL_DBS_COUNT) (Tcl_Obj **dl_objs = NULL, int dl_n = 0) {
  int i;
  if (Tcl_ListObjGetElements(interp, $input, &dl_n, &dl_objs) != TCL_OK) SWIG_fail;
  $1 = ($1_ltype)(dl_n ? calloc((size_t)dl_n, sizeof(datalith_db *)) : NULL);
  if (dl_n && !$1) SWIG_exception_fail(SWIG_MemoryError, "out of memory");
  for (i = 0; i < dl_n; i++) {
    if (!SWIG_IsOK(SWIG_ConvertPtr(dl_objs[i], (void **)&((datalith_db **)$1)[i], SWIGTYPE_p_datalith_db, 0)))
      SWIG_exception_fail(SWIG_TypeError, "expected a list of datalith_db handles");
  }
  $2 = (size_t)dl_n;
}
#elif defined(SWIGPYTHON)
%typemap(in) (datalith_db *const *DL_DBS, size_t DL_DBS_COUNT) (PyObject *dl_seq = NULL) {
  Py_ssize_t i, n;
  dl_seq = PySequence_Fast($input, "expected a sequence of datalith_db handles");
  if (!dl_seq) SWIG_fail;
  n = PySequence_Fast_GET_SIZE(dl_seq);
  $1 = ($1_ltype)(n ? calloc((size_t)n, sizeof(datalith_db *)) : NULL);
  if (n && !$1) SWIG_exception_fail(SWIG_MemoryError, "out of memory");
  for (i = 0; i < n; i++) {
    if (!SWIG_IsOK(SWIG_ConvertPtr(PySequence_Fast_GET_ITEM(dl_seq, i), (void **)&((datalith_db **)$1)[i], SWIGTYPE_p_datalith_db, 0)))
      SWIG_exception_fail(SWIG_TypeError, "expected a sequence of datalith_db handles");
  }
  $2 = (size_t)n;
}
%typemap(freearg, noblock=1, match="in") (datalith_db *const *DL_DBS, size_t DL_DBS_COUNT) {
  Py_XDECREF(dl_seq$argnum); free((void *)$1);
}
#else
/* Other languages: one snapshot. */
%typemap(in) (datalith_db *const *DL_DBS, size_t DL_DBS_COUNT) (datalith_db *dl_one = NULL) {
  if (!SWIG_IsOK(SWIG_ConvertPtr($input, (void **)&dl_one, SWIGTYPE_p_datalith_db, 0)))
    SWIG_exception_fail(SWIG_TypeError, "expected a datalith_db handle");
  $1 = ($1_ltype)calloc(1, sizeof(datalith_db *));
  if (!$1) SWIG_exception_fail(SWIG_MemoryError, "out of memory");
  ((datalith_db **)$1)[0] = dl_one;
  $2 = 1;
}
#endif
#ifndef SWIGPYTHON
%typemap(freearg, noblock=1, match="in") (datalith_db *const *DL_DBS, size_t DL_DBS_COUNT) {
  free((void *)$1);
}
#endif

/* A fallible op's status: no value on success (an output typemap may set
** the result), an exception on failure. */
#ifdef SWIGTCL
%typemap(out, noblock=1) datalith_rc {
  if ($1 < 0) { dl_swig_tcl_error(interp, $1); SWIG_fail; }
}
#else
%typemap(out, noblock=1) datalith_rc {
  if ($1 < 0) SWIG_exception_fail(dl_swig_error_type($1), dl_swig_message($1));
  $result = VOID_Object;
}
#endif
'''

HELPERS = r'''%{
#include <stdlib.h>
#include <stdio.h>
#include "datalith.h"

/* The status of a fallible op; the out typemap turns a negative one into
** an exception, so the wrapper never returns it. */
typedef int datalith_rc;

static const char *dl_swig_message(int rc) {
    const datalith_error *e = datalith_error_last();
    return (e->message && e->message[0]) ? e->message : datalith_status_name(rc);
}
%}

#ifdef SWIGTCL
%{
/* A Tcl error: the result is the engine's message, -errorcode is
** {DATALITH <status name> line column offset}. */
static void dl_swig_tcl_error(Tcl_Interp *interp, int rc) {
    const datalith_error *e = datalith_error_last();
    Tcl_Obj *code[5];
    code[0] = Tcl_NewStringObj("DATALITH", -1);
    code[1] = Tcl_NewStringObj(datalith_status_name(rc), -1);
    code[2] = Tcl_NewWideIntObj((Tcl_WideInt)e->line);
    code[3] = Tcl_NewWideIntObj((Tcl_WideInt)e->column);
    code[4] = Tcl_NewWideIntObj((Tcl_WideInt)e->offset);
    Tcl_ResetResult(interp);
    Tcl_SetObjResult(interp, Tcl_NewStringObj(dl_swig_message(rc), -1));
    Tcl_SetObjErrorCode(interp, Tcl_NewListObj(5, code));
}
%}
#else
%{
/* The SWIG exception class closest to a status code. */
static int dl_swig_error_type(int rc) {
    switch (rc) {
    case DATALITH_ENOMEM: return SWIG_MemoryError;
    case DATALITH_EINVAL: return SWIG_ValueError;
    case DATALITH_EPARSE: return SWIG_SyntaxError;
    case DATALITH_ETYPE: return SWIG_TypeError;
    case DATALITH_EIO: return SWIG_IOError;
    case DATALITH_ENOTFOUND: return SWIG_IndexError;
    default: return SWIG_RuntimeError;
    }
}
%}
#endif
'''


def _moves_values(op):
    return any(a.type == "value" for a in op.args) or op.ret_type == "value"


class Swig(Target):
    name = 'swig'
    naming = 'c'
    ready = True
    enabled = True  # see gen.enabled_targets; the spec's flag says false still
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value",
                       "handle/conn", "handle/db", "handles/db"])
    design = __doc__

    def offers(self, op):
        return op.in_target("c") and not any(a.type.startswith("callback") for a in op.args)

    def _ops(self, spec):
        return [o for o in spec.ops if o.implemented and self.offers(o)]

    def _roles(self, spec):
        """{c parameter group (tuple of params): role} and conflicts."""
        roles, problems, seen = {}, [], {}
        for op in self._ops(spec):
            groups = []
            for a in op.args:
                ps = tuple(p for p, arg in cdecl.params(spec, op) if arg is a)
                if a.type in IN_ROLE:
                    groups.append((ps, IN_ROLE[a.type], a.name))
                elif a.type == "format" and _moves_values(op):
                    groups.append((ps, "DL_FORMAT_EDN", a.name))
                else:
                    groups.append((ps, None, a.name))
            if op.fallible and op.ret_type in OUT_ROLE:
                ps = tuple(p for p, arg in cdecl.params(spec, op) if arg is None)
                groups.append((ps, OUT_ROLE[op.ret_type], "result"))
            for ps, role, what in groups:
                if ps in seen and seen[ps][0] != role:
                    problems.append("%s:%s: op %s: %s: parameter %s is marshalled as %s here "
                                    "but as %s by op %s; rename one in the spec"
                                    % (spec.source, op.line, op.name, what, ", ".join(ps),
                                       role or "plain", seen[ps][0] or "plain", seen[ps][1]))
                seen.setdefault(ps, (role, op.name))
                if role:
                    roles.setdefault(ps, role)
        return roles, problems

    def check(self, spec, root):
        return self._roles(spec)[1]

    def generate(self, spec):
        ops = self._ops(spec)
        roles, _ = self._roles(spec)
        out = ["/* datalith.i -- %s." % BANNER, "**",
               "** The SWIG interface of Datalith: values cross as EDN text, handles as",
               "** opaque pointers released explicitly, failures as exceptions (Tcl:",
               "** errors with -errorcode {DATALITH <status> line column offset}).  See",
               "** bindings/swig/README.md; the rules are in codegen/targets/swig.py. */",
               "", "%module datalith", "", HELPERS.rstrip("\n"), "",
               "%include <exception.i>", "%include <stdint.i>", ""]
        out.append("/* ---- opaque handles ---- */")
        decls = []
        for o in ops:
            for t in o.types_used():
                d = spec.types[t]["c"].get("decl")
                if d and d not in decls:
                    decls.append(d)
        out.extend(decls)
        out.append("typedef int datalith_rc;")
        out.append(LIBRARY.rstrip("\n"))
        out.append("")
        out.append("/* ---- constants (spec :errors and :formats) ---- */")
        for f in spec.formats:
            out.append("%%constant int %s = %s;" % (f["c"][len(spec.c_macro_prefix):], f["c"]))
        for e in spec.errors:
            out.append("%%constant int %s = %s;" % (e["c"][len(spec.c_macro_prefix):], e["c"]))
        out.append("")
        out.append("/* ---- error and memory helpers of the hand-written header ---- */")
        out.append("%rename(status_name) datalith_status_name;")
        out.append("const char *datalith_status_name(int code);")
        out.append("")
        out.append("/* ---- marshalling of each parameter, chosen by its spec type ---- */")
        by_role = {}
        for ps, role in roles.items():
            by_role.setdefault(role, []).append(ps)
        for role in sorted(by_role):
            pats = sorted(ps[0] if len(ps) == 1 else "(%s)" % ", ".join(ps)
                          for ps in by_role[role])
            tmpl = {"DL_TEXT": "(const char *DL_TEXT, size_t DL_TEXT_LEN)",
                    "DL_TEXT_OUT": "(char **DL_TEXT_OUT, size_t *DL_TEXT_OUT_LEN)",
                    "DL_BOOL_OUT": "int *DL_BOOL_OUT", "DL_INT_OUT": "int64_t *DL_INT_OUT",
                    "DL_CONN_OUT": "datalith_conn **DL_CONN_OUT",
                    "DL_DB_OUT": "datalith_db **DL_DB_OUT",
                    "DL_FORMAT_EDN": "int DL_FORMAT_EDN",
                    "DL_DBS": "(datalith_db *const *DL_DBS, size_t DL_DBS_COUNT)"}[role]
            out.append("%%apply %s { %s };" % (tmpl, ", ".join(pats)))
        out.append("")
        out.append("/* ---- operations (spec :ops, :implemented, no callbacks) ---- */")
        for o in ops:
            c = o.names["c"]
            short = c[len(spec.c_prefix):] if c.startswith(spec.c_prefix) else c
            rt = "datalith_rc" if o.fallible else cdecl.return_type(spec, o)
            ps = [p for p, _ in cdecl.params(spec, o)] or ["void"]
            out.append("")
            out.append("/* %s */" % o.doc.split(". ")[0].rstrip("."))
            out.append("%%rename(%s) %s;" % (short, c))
            out.append("%s%s%s(%s);" % (rt, "" if rt.endswith("*") else " ", c, ", ".join(ps)))
        out.append("")
        return [File(PATH, "\n".join(out))]


TARGET = Swig()
