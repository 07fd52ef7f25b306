/*
** api_load.c — the public facade of load-entities (spec/api.edn, write
** category): decode the records, remap and apply them on the connection's
** newest snapshot (dl_tx_load, core/db/tx.c), commit, and return the
** report in the caller's format.
**
** The load holds the facade's write lock (as transact does) from reading
** the newest snapshot to its commit.  If the head still moved (another
** writer of the store: dl_conn_commit's DATALITH_ECONFLICT, nothing
** written), the load is rerun on the new snapshot, a bounded number of
** times.
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"

#include "api_util.h"
#include "impl_gen.h"

#include "db/db.h"
#include "db/tx.h"
#include "remote/remote.h"
#include "util/arena.h"
#include "util/error.h"
#include "value/value.h"

#include <string.h>

#define LOAD_TRIES 8

int dl_impl_load_entities(datalith_conn *conn,
                          const char *entities,
                          size_t entities_len, int fmt,
                          char **out, size_t *out_len) {
    dl_conn *c = (dl_conn *)(void *)conn;
    dl_arena a;
    edn_value in, report;
    dl_db *before = NULL;
    dl_tx_report rep;
    int rc;

    memset(&rep, 0, sizeof rep);
    if (DL_REMOTE_HANDLE(conn) || dl_remote_conn_writer(c)) /* core/remote */
        return dl_remote_load_entities(conn, entities, entities_len, fmt, out,
                                       out_len);
    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, entities, entities_len, fmt, "entities", &in);
    for (int i = 0; rc == 0 && i < LOAD_TRIES; i++) {
        dl_tx_report_release(&rep);
        if (before) dl_db_release(before);
        before = NULL;
        dl_api_write_lock(1);
        rc = dl_conn_db(c, &before);
        if (!rc) rc = dl_tx_load(before, &in, &a, &rep);
        if (!rc) rc = dl_conn_commit(c, rep.db_after);
        dl_api_write_lock(0);
        if (rc != DATALITH_ECONFLICT) break;
        if (i + 1 < LOAD_TRIES) {
            dl_err_clear();
            rc = 0;
        }
    }
    if (!rc) rc = dl_api_report_value(&a, before, &rep, &report);
    if (!rc) rc = dl_api_write(&report, fmt, out, out_len);
    dl_tx_report_release(&rep);
    if (before) dl_db_release(before);
    dl_arena_free(&a);
    return rc;
}
