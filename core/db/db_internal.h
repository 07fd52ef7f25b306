/*
** db_internal.h — what db.c and commit.c share: the store environment and
** helpers to make values.  Not part of the contract in db.h.
*/
#ifndef DL_DB_INTERNAL_H
#define DL_DB_INTERNAL_H

#include "db.h"
#include "util/arena.h"

#include <string.h>

/* One store as seen by this process: the handle, the node cache and the
** bt_env every tree of the store reads through, and the config (a private
** deep copy).  Refcounted: each dl_db and each dl_conn holds one
** reference.  store == NULL for values never committed (dl_db_empty). */
struct dl_dbenv {
    atomic_int refs;
    dl_arena arena;   /* owns the config copy */
    dl_config config;
    dl_store *store;  /* owned; closed with the last reference */
    bt_cache *cache;
    bt_env bt;
    int log_tail;     /* durable store: commits may log their changes
                      ** instead of flushing nodes (commit.c) */
};

/* Log tail limits: a commit flushes the index nodes when the commits since
** the last flush would reach DL_LOG_MAX_COMMITS or their changes
** DL_LOG_MAX_DATOMS; a dl_db_apply of more changes records none. */
#define DL_LOG_MAX_COMMITS 1000
#define DL_LOG_MAX_DATOMS 65536

/* Node sizes of memory branches (durable stores keep the bt_env defaults). */
#define DL_MEM_LEAF_MAX 32
#define DL_MEM_BRANCH_MAX 32

/* New env with refcount 1 taking ownership of `store` (may be NULL); on
** failure the store is not closed. */
int dl_dbenv_new(const dl_config *cfg, dl_store *store, dl_dbenv **out);
void dl_dbenv_retain(dl_dbenv *e);
void dl_dbenv_release(dl_dbenv *e);

/* A value of env with empty trees and no schema (refcount 1). */
int dl_db_alloc(dl_dbenv *env, dl_db **out);
/* An empty database value of env (system schema only). */
int dl_db_empty_in(dl_dbenv *env, dl_db **out);

/* The order-independent hash of one datom summed into dl_db.hash. */
uint64_t dl_datom_hash(const dl_datom *d);

/* Record in db where it descends from (base's commit or base's parent). */
static inline void dl_db_set_base(dl_db *db, const dl_db *base) {
    const char *k = base->commit_key[0] ? base->commit_key : base->parent_key;
    size_t n = strlen(k);
    memcpy(db->parent_key, k, n + 1);
}

/* A private (unregistered) connection through an already open store `st`,
** which it takes ownership of on success (for tests wrapping a store, e.g.
** store_fault).  Released with dl_conn_release like any other.  Its
** commits flush every index node (no log tail) unless turned on below. */
int dl_conn_open_store(const dl_config *cfg, dl_store *st, dl_conn **out);
/* Let a connection's commits log their changes instead of flushing nodes
** (the default for dl_conn_open on durable stores). */
void dl_conn_set_log_tail(dl_conn *c, int on);

/* ---- for the listeners' watcher (listen.c) ---- */

/* Where listen.c keeps a connection's listener set (created on demand). */
struct dl_listen_set **dl_conn_listen_slot(dl_conn *c);
int dl_conn_is_memory(const dl_conn *c);
/* The branch head now: read from the store (memory: the newest commit). */
int dl_conn_head_now(dl_conn *c, char key[DL_COMMIT_KEY_MAX]);
/* The store's head_wait for c's branch; DATALITH_EUNSUPPORTED when the
** backend has none (the caller polls). */
int dl_conn_wait_head(dl_conn *c, const char *known, int timeout_ms);

/* What a listener needs of one commit record. */
typedef struct dl_commit_meta {
    char parent[DL_COMMIT_KEY_MAX]; /* "" for the first commit */
    uint64_t max_eid, max_tx, hash;
    int64_t tx_instant;
    uint8_t id[16];
    uint8_t *txdata;   /* malloc'd copy of the logged :tx-data (CBOR), or
                       ** NULL when the record flushed its nodes instead */
    size_t txdata_len;
} dl_commit_meta;
int dl_commit_meta_read(dl_conn *c, const char *key, dl_commit_meta *out);
/* The snapshot of commit `key` of c's store (retained for the caller). */
int dl_conn_load_commit(dl_conn *c, const char *key, dl_db **out);


#endif
