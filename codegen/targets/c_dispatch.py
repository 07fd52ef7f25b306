"""Target c_dispatch (issue 6): the C facade's argument checking and dispatch.

Will generate core/api/dispatch_gen.c (and core/api/dispatch_gen.h): for each
implemented operation the exported `datalith_<name>` entry point, which
clears the thread's last error, checks every argument against its spec type
(NULL pointers with a non-zero length, an unknown datalith_format, a
released handle -> DATALITH_EINVAL with a message naming the argument),
decodes :value arguments with the value codecs into a per-call arena, calls
the hand-written implementation `dl_op_<snake_name>(...)` in core/api/ with
decoded values, encodes the result in `fmt`, and frees the arena on every
path.  The implementation functions are declared in the generated header so
a missing one is a link error, not a silent gap.

Naming: exported symbol = the op's C name (spec overlay :c :name wins);
implementation = dl_op_ + snake_case of the spec name (? dropped, ! -> _async
for async ops).  Binds every spec type, callbacks included.
"""

from targets import Target


class CDispatch(Target):
    name = 'c_dispatch'
    naming = 'c'
    ready = False
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value", "handle/conn", "handle/db", "handles/db", "callback/listen", "callback/filter"])
    design = __doc__


TARGET = CDispatch()
