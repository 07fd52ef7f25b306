/*
** api_listen.c — the public facade of transaction listeners: listen and
** unlisten (spec/api.edn, category :connection; core/db/listen.h has the
** contract and the threading rules).  The exported entry points are
** generated (dispatch_gen.c: error clearing, NULL checks, and remote-peer
** connections handed to dl_rpeer_listen / dl_rpeer_unlisten, core/remote/
** rlisten.c: spec :dispatch {:remote :peer}).
*/
#include "datalith.h"

#include "api_util.h"
#include "impl_gen.h"

#include "db/db.h"
#include "db/listen.h"
#include "util/arena.h"
#include "util/error.h"

#define TO_CONN(c) ((dl_conn *)(void *)(c))

int dl_impl_listen(datalith_conn *conn, const char *key,
                   size_t key_len, int fmt,
                   datalith_listen_fn cb, void *cb_ctx,
                   char **out, size_t *out_len) {
    dl_arena a;
    edn_value k, done;
    int rc;
    dl_arena_init(&a, 0);
    k = edn_nil();
    rc = key && key_len ? dl_api_read(&a, key, key_len, fmt, "listen key", &k) : 0;
    if (!rc) rc = dl_listen_add(TO_CONN(conn), &k, fmt, cb, cb_ctx, &a, &done);
    if (!rc) {
        rc = dl_api_write(&done, fmt, out, out_len);
        if (rc) dl_listen_remove(TO_CONN(conn), &done);
    }
    dl_arena_free(&a);
    return rc;
}

int dl_impl_unlisten(datalith_conn *conn, const char *key,
                     size_t key_len, int fmt) {
    dl_arena a;
    edn_value k;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, key, key_len, fmt, "unlisten key", &k);
    if (!rc) rc = dl_listen_remove(TO_CONN(conn), &k);
    dl_arena_free(&a);
    return rc;
}
