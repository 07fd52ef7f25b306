"""Target swig (issue 7): a SWIG interface for further languages.

Will generate bindings/swig/datalith.i: %module datalith, the generated
declarations, typemaps for (const char *x, size_t x_len) input pairs and
(char **out, size_t *out_len) fresh outputs (%newobject, freed with
datalith_free), %newobject for fresh handles and release functions as
destructors, and an exception typemap turning a negative status into the
target language's exception with datalith_error_last()->message.  Names are
the C names without the datalith_ prefix.  Callbacks are not bound.
"""

from targets import Target


class Swig(Target):
    name = 'swig'
    naming = 'c'
    ready = False
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value", "handle/conn", "handle/db", "handles/db"])
    design = __doc__


TARGET = Swig()
