/*
** api_query.c — the public facade of the query engine: datalith_q,
** datalith_query_stats and datalith_explain (spec/api.edn, category
** :query).
**
** Same shape as api_db.c: clear the thread's error, decode the query and
** the inputs into one per-call arena, run core/query, encode the result in
** the caller's format, free the arena.  The query may arrive as a vector,
** a map, or a string holding EDN (in any format, since a string survives
** JSON and CBOR).
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"

#include "db/db.h"
#include "query/query.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "value/value.h"

#include <stdlib.h>
#include <string.h>

static int aq_read(dl_arena *a, const char *p, size_t n, int fmt,
                   const char *what, edn_value *out) {
    int rc;
    if (!p && n) return dl_err_set(DATALITH_EINVAL, "%s: NULL data", what);
    if (!p) p = "";
    switch (fmt) {
    case DATALITH_FORMAT_EDN: rc = edn_read(a, p, n, NULL, out); break;
    case DATALITH_FORMAT_JSON: rc = json_read(a, p, n, NULL, out); break;
    case DATALITH_FORMAT_CBOR:
        rc = cbor_read(a, (const uint8_t *)p, n, NULL, out);
        break;
    default:
        return dl_err_set(DATALITH_EINVAL, "%s: unknown format %d", what, fmt);
    }
    if (rc) dl_err_prefix("%s: ", what);
    return rc;
}

static int aq_write(const edn_value *v, int fmt, char **out, size_t *out_len) {
    dl_buf b = DL_BUF_INIT;
    int rc;
    switch (fmt) {
    case DATALITH_FORMAT_EDN: rc = edn_write(&b, v); break;
    case DATALITH_FORMAT_JSON: rc = json_write(&b, v); break;
    case DATALITH_FORMAT_CBOR: rc = cbor_write(&b, v); break;
    default: rc = dl_err_set(DATALITH_EINVAL, "unknown format %d", fmt);
    }
    if (rc) {
        dl_buf_free(&b);
        return rc;
    }
    size_t len = 0;
    *out = dl_buf_detach(&b, &len);
    if (!*out) return dl_err_nomem();
    if (out_len) *out_len = len;
    return DATALITH_OK;
}

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
    rc = aq_read(a, query, query_len, fmt, "query", qv);
    if (rc) return rc;
    iv = edn_nil();
    if (inputs && inputs_len) {
        rc = aq_read(a, inputs, inputs_len, fmt, "inputs", &iv);
        if (rc) return rc;
    }
    return q_run(a, qv, (dl_db *const *)(const void *)dbs, dbs_count, &iv,
                 NULL, res, plan);
}

DATALITH_API int datalith_q(const char *query, size_t query_len,
                            datalith_db *const *dbs, size_t dbs_count,
                            const char *inputs, size_t inputs_len, int fmt,
                            char **out, size_t *out_len) {
    dl_arena a;
    edn_value qv, res;
    dl_err_clear();
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    dl_arena_init(&a, 0);
    int rc = aq_run(&a, query, query_len, dbs, dbs_count, inputs, inputs_len,
                    fmt, &qv, &res, NULL);
    if (!rc) rc = aq_write(&res, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}
