"""Target python_cffi (issue 6): the Python package's glue.

Will generate bindings/python/datalith/_cdef.h (the cffi `cdef` text: the
generated declarations of include/datalith.h with DATALITH_API and comments
stripped, plus the hand-written part's enums) and
bindings/python/datalith/_generated.py: one function per implemented op,
named snake_case (`?` dropped, `!` -> `_async`, Python keywords need an
overlay: `with` -> `with_db`), with a docstring from :doc/:args/:errors and
type hints from the spec types (:value -> Any native value, :handle/db ->
Db, :bool -> bool, :int -> int, :string -> str, :bytes -> bytes).  Each
releases the GIL around the C call (cffi API mode, out of line), encodes
:value arguments as CBOR, decodes results to native values, wraps fresh
handles with ffi.gc(release) and raises datalith.Error subclasses by status.
Callbacks are bound with @ffi.def_extern trampolines.
"""

from targets import Target


class PythonCffi(Target):
    name = 'python_cffi'
    naming = 'python'
    ready = False
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value", "handle/conn", "handle/db", "handles/db", "callback/listen", "callback/filter"])
    design = __doc__


TARGET = PythonCffi()
