"""Target pod_describe (issue 7): the Babashka pod's describe map and dispatch.

Will generate bindings/pod/describe_gen.edn (the `describe` reply: format
"edn", namespace "datalith.pod", one var per implemented op named exactly as
the spec name, e.g. database-exists?, transact!) and
bindings/pod/dispatch_gen.c (a table from var name to a function that reads
the EDN argument vector, resolves handle arguments from opaque string ids
"conn:<n>" / "db:<n>", calls the C API and encodes the result or an
ex-message/ex-data error).  A pod cannot call back into the client
synchronously, so callback types are not bindable.
"""

from targets import Target


class PodDescribe(Target):
    name = 'pod_describe'
    naming = 'pod'
    ready = False
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value", "handle/conn", "handle/db", "handles/db"])
    design = __doc__


TARGET = PodDescribe()
