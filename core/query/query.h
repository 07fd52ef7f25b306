/*
** query.h — the Datalog query engine: parse a query (vector, map or EDN
** string form), plan it by cost from exact index counts, run it over one or
** more snapshots and plain collections, and shape the result exactly as
** Datahike does (reference/datahike-semantics.md §5; docs/query.md).
**
**   query value ──q_parse──▶ AST (arena) ──q_run──▶ relations ──▶ result
**                                            │
**                           q_scan.c: every datom read goes through here
**
** One call owns one arena: the AST, every intermediate value and the result
** live in it and are freed together by the caller.  Relation row storage is
** malloc'd and released by q_run before it returns, success or error.
*/
#ifndef DL_QUERY_H
#define DL_QUERY_H

#include "db/db.h"
#include "util/arena.h"
#include "value/value.h"

#include <stddef.h>

/* Default bound on the rows of any one intermediate relation. */
#define Q_ROW_LIMIT ((size_t)50000000)

typedef struct q_opts {
    size_t row_limit; /* 0: Q_ROW_LIMIT */
    int explain;      /* fill *plan_out with the executed plan */
} q_opts;

/* Run `query` (a vector, map, or string/quoted form) against the database
** inputs dbs[0..ndbs) (bound in :in order to the $ sources) and the other
** inputs (a vector value, or NULL for none).  A $ source beyond ndbs takes
** the next value of `inputs` as a collection of tuples.  The result is
** built in `a`.  When plan_out is non-NULL it receives, built in `a`,
**   {:query q :consts {?x v …} :rules r-or-nil
**    :stats [{:clause form :type :lookup|:pred|:fn|:not|:or|:rule
**             :rels [{:bound #{?vars} :rows n}] :est n :t ms :via "…"} …]}
** with one :stats entry per top-level :where clause, in execution order
** (docs/query.md, "query-stats and explain").
** Errors: DATALITH_EQUERY (names the offending form), DATALITH_EPARSE (query
** text), DATALITH_ELIMIT (row bound), DATALITH_ENOMEM, store errors. */
int q_run(dl_arena *a, const edn_value *query, dl_db *const *dbs,
          size_t ndbs, const edn_value *inputs, const q_opts *opts,
          edn_value *out, edn_value *plan_out);

#endif
