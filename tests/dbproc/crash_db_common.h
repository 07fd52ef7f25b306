/*
** crash_db_common.h — the deterministic workload shared by the database
** level crash and multi-process tests (and checked by both).
**
** Commit k (k = 1, 2, …) asserts [k :n (7k) tx] with tx = DL_TX0 + k on a
** schema-on-read database, so a snapshot whose max-tx is DL_TX0 + k must
** hold exactly the datoms [j :n 7j DL_TX0+j] for j = 1..k — a complete
** prefix.  Anything else (a missing, extra or wrong datom, a count that
** disagrees with max-tx, a bad hash) is a torn state.
*/
#ifndef CRASH_DB_COMMON_H
#define CRASH_DB_COMMON_H

#include "db/db.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

static dl_arena wl_arena;

/* Parse a config for backend ("file" / "lmdb") at path. */
static int wl_config(const char *backend, const char *path, dl_config *out) {
    char text[1024];
    edn_value v;
    int rc;
    dl_arena_init(&wl_arena, 0);
    snprintf(text, sizeof text,
             "{:store {:backend :%s :path \"%s\"} :schema-flexibility :read}",
             backend, path);
    if ((rc = edn_read(&wl_arena, text, strlen(text), NULL, &v)) != 0) return rc;
    memset(out, 0, sizeof *out);
    return dl_config_parse(&wl_arena, &v, out);
}

/* Commit k on top of the connection's newest value (which must be k-1). */
static int wl_commit(dl_conn *c, uint64_t k) {
    dl_db *cur = NULL, *next = NULL;
    dl_change ch;
    int rc = dl_conn_db(c, &cur);
    if (rc) return rc;
    if (cur->max_tx != DL_TX0 + k - 1) {
        dl_db_release(cur);
        return dl_err_set(DATALITH_EINTERNAL, "expected base %llu, found %llu",
                          (unsigned long long)(k - 1),
                          (unsigned long long)(cur->max_tx - DL_TX0));
    }
    memset(&ch, 0, sizeof ch);
    ch.d.e = k;
    ch.d.a = edn_intern_full("n", 1);
    ch.d.v = edn_int((int64_t)(7 * k));
    ch.d.tx = DL_TX0 + k;
    ch.d.added = true;
    rc = dl_db_apply(cur, &ch, 1, NULL, k, DL_TX0 + k, (int64_t)k, &next);
    if (rc == 0) rc = dl_conn_commit(c, next);
    dl_db_release(next);
    dl_db_release(cur);
    return rc;
}

/* Check that db is exactly the prefix 1..k; *k_out = k.  Returns 0 or a
** message in why. */
static int wl_verify(const dl_db *db, uint64_t *k_out, char *why, size_t wn) {
    uint64_t k = db->max_tx - DL_TX0, j = 0;
    bt_cursor *cur;
    int bad = 0;
    if (db->max_tx < DL_TX0 || bt_tree_count(&db->idx[DL_EAVT]) != k ||
        bt_tree_count(&db->idx[DL_TEAVT]) != k || db->max_eid != k) {
        snprintf(why, wn, "counts disagree: max-tx %llu eavt %llu teavt %llu",
                 (unsigned long long)k,
                 (unsigned long long)bt_tree_count(&db->idx[DL_EAVT]),
                 (unsigned long long)bt_tree_count(&db->idx[DL_TEAVT]));
        return -1;
    }
    if (bt_cursor_open(&db->idx[DL_EAVT], &cur) != 0) {
        snprintf(why, wn, "cursor: %s", dl_err_last()->message);
        return -1;
    }
    for (bt_cursor_first(cur); bt_cursor_valid(cur); bt_cursor_next(cur)) {
        dl_datom d;
        bt_cursor_get(cur, &d);
        j++;
        if (d.e != j || strcmp(d.a->full, "n") != 0 || d.v.type != EDN_INT ||
            d.v.u.i != (int64_t)(7 * j) || d.tx != DL_TX0 + j)
            bad = 1;
    }
    if (bt_cursor_error(cur)) {
        snprintf(why, wn, "scan: %s", dl_err_last()->message);
        bad = 2;
    }
    bt_cursor_close(cur);
    if (bad == 1 || j != k) {
        snprintf(why, wn, "content of prefix %llu is wrong", (unsigned long long)k);
        return -1;
    }
    if (bad) return -1;
    *k_out = k;
    return 0;
}

#endif
