/*
** api_query.c — the public facade of the query engine: datalith_q,
** datalith_query_stats and datalith_explain (spec/api.edn, category
** :query).
**
** Same shape as api_db.c (the generated entry points in dispatch_gen.c
** check the arguments and forward remote-peer snapshots): decode the query
** and the inputs into one per-call arena, run core/query, encode the
** result in the caller's format, free the arena.  The query may arrive as
** a vector, a map, or a string holding EDN (in any format, since a string
** survives JSON and CBOR).
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"

#include "api_util.h"
#include "impl_gen.h"

#include "db/db.h"
#include "query/query.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "value/value.h"

#include <stdlib.h>
#include <string.h>

/* Decode and run; *res and *plan are built in a. */
static int aq_run(dl_arena *a, const char *query, size_t query_len,
                  datalith_db *const *dbs, size_t dbs_count,
                  const char *inputs, size_t inputs_len, int fmt,
                  edn_value *qv, edn_value *res, edn_value *plan) {
    edn_value iv;
    int rc;
    if (dbs_count && !dbs) return dl_err_set(DATALITH_EINVAL, "NULL dbs array");
    for (size_t i = 0; i < dbs_count; i++)
        if (!dbs[i]) return dl_err_set(DATALITH_EINVAL, "NULL database handle at %zu", i);
    rc = dl_api_read(a, query, query_len, fmt, "query", qv);
    if (rc) return rc;
    iv = edn_nil();
    if (inputs && inputs_len) {
        rc = dl_api_read(a, inputs, inputs_len, fmt, "inputs", &iv);
        if (rc) return rc;
    }
    return q_run(a, qv, (dl_db *const *)(const void *)dbs, dbs_count, &iv,
                 NULL, res, plan);
}

/* {:query :ret :consts :rules :stats}: the plan map with :ret added. */
static int aq_stats(dl_arena *a, const edn_value *res, const edn_value *plan,
                    edn_value *out) {
    edn_value *kv = dl_arena_alloc(a, sizeof(edn_value) * 2 * (plan->n + 1));
    if (!kv) return DATALITH_ENOMEM;
    memcpy(kv, plan->u.items, sizeof(edn_value) * 2 * plan->n);
    kv[2 * plan->n] = edn_keyword_str("ret");
    kv[2 * plan->n + 1] = *res;
    return edn_map(a, kv, plan->n + 1, out);
}

int dl_impl_query_stats(const char *query, size_t query_len,
                        datalith_db *const *dbs,
                        size_t dbs_count, const char *inputs,
                        size_t inputs_len, int fmt, char **out,
                        size_t *out_len) {
    dl_arena a;
    edn_value qv, res, plan, st;
    dl_arena_init(&a, 0);
    int rc = aq_run(&a, query, query_len, dbs, dbs_count, inputs, inputs_len,
                    fmt, &qv, &res, &plan);
    if (!rc) rc = aq_stats(&a, &res, &plan, &st);
    if (!rc) rc = dl_api_write(&st, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

static int aq_put_value(dl_buf *b, const edn_value *v) {
    return edn_write(b, v);
}

/* The text of explain: one numbered line per top-level clause, in the
** order the planner ran them, then the result size. */
static int aq_explain_text(dl_buf *b, const edn_value *res, const edn_value *plan) {
    const edn_value *q = edn_map_getk(plan, "query");
    const edn_value *stats = edn_map_getk(plan, "stats");
    int rc = dl_buf_puts(b, "query: ");
    if (!rc && q) rc = aq_put_value(b, q);
    if (!rc) rc = dl_buf_puts(b, "\nplan (clauses in the order run; est = datoms under a pattern's"
                                 " constants, else the rows a clause receives):\n");
    for (uint32_t i = 0; !rc && stats && i < stats->n; i++) {
        const edn_value *e = &stats->u.items[i];
        const edn_value *cl = edn_map_getk(e, "clause"), *ty = edn_map_getk(e, "type");
        const edn_value *est = edn_map_getk(e, "est"), *t = edn_map_getk(e, "t");
        const edn_value *via = edn_map_getk(e, "via"), *rels = edn_map_getk(e, "rels");
        const edn_value *rel = rels && rels->n ? &rels->u.items[0] : NULL;
        const edn_value *rows = rel ? edn_map_getk(rel, "rows") : NULL;
        const edn_value *bound = rel ? edn_map_getk(rel, "bound") : NULL;
        rc = dl_buf_printf(b, "  %u. ", i + 1);
        if (!rc && cl) rc = aq_put_value(b, cl);
        if (!rc)
            rc = dl_buf_printf(b, "\n       %s  est %lld  rows %lld  %.3f ms  bound ",
                               ty ? ty->u.sym->full : "?", est ? (long long)est->u.i : 0LL,
                               rows ? (long long)rows->u.i : 0LL, t ? t->u.d : 0.0);
        if (!rc && bound) rc = aq_put_value(b, bound);
        if (!rc && via && via->type == EDN_STRING)
            rc = dl_buf_printf(b, "\n       via %.*s", (int)via->n, via->u.s);
        if (!rc) rc = dl_buf_putc(b, '\n');
    }
    if (!rc && stats && !stats->n) rc = dl_buf_puts(b, "  (no :where clauses)\n");
    if (!rc) {
        long long n = (res->type == EDN_SET || res->type == EDN_VECTOR) ? (long long)res->n
                    : res->type == EDN_NIL ? 0 : 1;
        rc = dl_buf_printf(b, "result: %lld %s (%s)\n", n, n == 1 ? "item" : "items",
                           res->type == EDN_SET ? "set" : res->type == EDN_VECTOR ? "vector"
                           : res->type == EDN_NIL ? "nil" : "single value");
    }
    return rc;
}

int dl_impl_explain(const char *query, size_t query_len,
                    datalith_db *const *dbs, size_t dbs_count,
                    const char *inputs, size_t inputs_len,
                    int fmt, char **out, size_t *out_len) {
    dl_arena a;
    edn_value qv, res, plan;
    dl_buf b = DL_BUF_INIT;
    dl_arena_init(&a, 0);
    int rc = aq_run(&a, query, query_len, dbs, dbs_count, inputs, inputs_len,
                    fmt, &qv, &res, &plan);
    if (!rc) rc = aq_explain_text(&b, &res, &plan);
    if (!rc) {
        size_t len = 0;
        *out = dl_buf_detach(&b, &len);
        if (!*out) rc = dl_err_nomem();
        else if (out_len) *out_len = len;
    }
    dl_buf_free(&b);
    dl_arena_free(&a);
    return rc;
}

int dl_impl_q(const char *query, size_t query_len,
              datalith_db *const *dbs, size_t dbs_count,
              const char *inputs, size_t inputs_len, int fmt,
              char **out, size_t *out_len) {
    dl_arena a;
    edn_value qv, res;
    dl_arena_init(&a, 0);
    int rc = aq_run(&a, query, query_len, dbs, dbs_count, inputs, inputs_len,
                    fmt, &qv, &res, NULL);
    if (!rc) rc = dl_api_write(&res, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}
