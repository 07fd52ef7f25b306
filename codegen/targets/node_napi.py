"""Target node_napi (issue 7): the Node.js addon and its typings.

Will generate bindings/node/src/ops_gen.cc (node-addon-api functions, one per
implemented op; ops marked :blocking? run in a Napi::AsyncWorker and return a
Promise, with a `<name>Sync` variant), bindings/node/lib/generated.js and
bindings/node/index.d.ts.  Names are camelCase (`?` dropped, `!` -> `Async`,
JS reserved words need an overlay: `with` -> `withDb`).  Values become JS
values (Keyword class, Set, Map/objects, Date, UUID strings); handles are
wrapped in objects with finalizers.  Callbacks (listen) need a thread-safe
function and are refused until implemented.
"""

from targets import Target


class NodeNapi(Target):
    name = 'node_napi'
    naming = 'js'
    ready = False
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value", "handle/conn", "handle/db", "handles/db"])
    design = __doc__


TARGET = NodeNapi()
