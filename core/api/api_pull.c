/*
** api_pull.c — the public facade of pull and pull-many (spec/api.edn,
** category :pull).
**
** Same shape as api_db.c (the generated entry points in dispatch_gen.c
** check the arguments and forward remote-peer snapshots): decode the
** selector and the entity id(s) into a per-call arena, run core/pull,
** encode the result in the caller's format, free the arena.  The result
** is fresh memory the caller frees with datalith_free().
*/
#include "datalith.h"

#include "api_util.h"
#include "impl_gen.h"

#include "db/db.h"
#include "pull/pull.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "value/value.h"

#include <stdlib.h>

#define TO_DB(d) ((const dl_db *)(const void *)(d))

/* pull (many == 0) or pull-many (many == 1). */
static int api_pull(datalith_db *dbh, const char *selector,
                    size_t selector_len, const char *ids, size_t ids_len,
                    int fmt, char **out, size_t *out_len, int many) {
    dl_arena a;
    edn_value pattern, id, result;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, selector, selector_len, fmt, "selector", &pattern);
    if (!rc) rc = dl_api_read(&a, ids, ids_len, fmt, many ? "eids" : "eid", &id);
    if (!rc)
        rc = many ? dl_pull_many_value(&a, TO_DB(dbh), &pattern, &id, &result)
                  : dl_pull_value(&a, TO_DB(dbh), &pattern, &id, &result);
    if (!rc) rc = dl_api_write(&result, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

int dl_impl_pull(datalith_db *db, const char *selector,
                 size_t selector_len, const char *eid,
                 size_t eid_len, int fmt, char **out,
                 size_t *out_len) {
    return api_pull(db, selector, selector_len, eid, eid_len, fmt, out,
                    out_len, 0);
}

int dl_impl_pull_many(datalith_db *db, const char *selector,
                      size_t selector_len, const char *eids,
                      size_t eids_len, int fmt, char **out,
                      size_t *out_len) {
    return api_pull(db, selector, selector_len, eids, eids_len, fmt, out,
                    out_len, 1);
}
