"""Target cli_table (issue 7): the datalith command line's command table.

Will generate cli/commands_gen.c: one command per op the CLI offers, named
kebab-case without `?`/`!` (overlays: q -> query).  The CLI leaves out async
ops, ops returning a handle, ops taking a callback or taking ownership of a
handle, and ops with an :exclude overlay.  Handle arguments are given with
Datahike CLI prefixes (`conn:cfg.edn`, `db:cfg.edn`, `history:cfg.edn`,
`asof:<t>:cfg.edn`, `since:<t>:cfg.edn`); :value arguments are EDN text,
`edn:file`, `json:file` or `cbor:file`.  Usage text comes from :doc and
:args; exit status 0, 1 for an engine error (message on stderr), 2 for
usage errors.
"""

from targets import Target


class CliTable(Target):
    name = 'cli_table'
    naming = 'cli'
    ready = False
    binds = frozenset(["void", "bool", "int", "cstring", "string", "bytes", "format", "value", "handle/conn", "handle/db", "handles/db"])
    design = __doc__


TARGET = CliTable()
