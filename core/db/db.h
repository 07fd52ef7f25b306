/*
** db.h — databases as values: snapshots, connections and the commit
** protocol.
**
** A snapshot (dl_db) is an immutable value: the six index trees, the schema,
** the id counters and the identity of the commit it was read from.  It is
** refcounted and may be shared between threads and held for as long as
** needed; nothing that happens later (commits, even by other processes)
** changes it.
**
** A connection (dl_conn) is the process's handle on one branch of one store.
** Connections are shared: connecting twice to the same [store identity,
** branch] in one process returns the same dl_conn with its refcount raised.
** dl_conn_db() returns the newest snapshot, after one cheap check of the
** store's head (so commits by another process are picked up without
** reopening).
**
** Writing is two steps, so that the transaction layer (tx.c) and raw loaders
** share one path:
**
**   dl_db_apply(base, datoms)  ──▶ next   pure: new trees in memory
**   dl_conn_commit(conn, next)  ──▶ durable: nodes, schema, commit record,
**                                           then the branch head (CAS)
**
** The first commit of a connection takes the store's single-writer lock; a
** second writer (another process, or another store handle in this process)
** gets DATALITH_ELOCKED and nothing is written.
**
** On-store layout (docs/format.md):
**   objects  n<hash>  index nodes (core/index)
**            s<hash>  schema (the attribute definitions, CBOR)
**            c<hash>  commit record (CBOR map, below)
**   heads    <branch> the commit key of the branch's newest commit
** A commit record holds: format version, config (completed, EDN map), the
** six root keys (temporal ones only with :keep-history?), the schema key,
** max-eid, max-tx, the last :db/txInstant, the datom hash, the commit id
** (uuid) and the parents' commit keys.
*/
#ifndef DL_DB_H
#define DL_DB_H

#include "config.h"
#include "index/btree.h"
#include "schema.h"
#include "store/store.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct dl_conn dl_conn;
typedef struct dl_dbenv dl_dbenv; /* store + node cache + bt_env, shared */

#define DL_COMMIT_KEY_MAX 40

typedef struct dl_db {
    atomic_int refs;
    dl_dbenv *env;            /* retained; keeps the store and cache alive */
    const dl_config *config;  /* owned by env (immutable) */
    bt_tree idx[DL_INDEX_COUNT]; /* temporal trees empty without history */
    dl_schema *schema;        /* retained */
    uint64_t max_eid;         /* largest entity id in use (DL_E0 if none) */
    uint64_t max_tx;          /* last transaction id (DL_TX0 if none) */
    int64_t last_tx_instant;  /* ms of the last :db/txInstant (0 if none) */
    uint64_t hash;            /* sum of edn hashes of current datoms */
    char commit_key[DL_COMMIT_KEY_MAX]; /* "" for an uncommitted value */
    uint8_t commit_id[16];    /* uuid of the commit, zero if uncommitted */
    /* The commit this value descends from: its own commit_key once
    ** committed; for a value made by dl_db_apply, the newest commit among
    ** its bases ("" for none).  dl_conn_commit uses it as the parent and
    ** as the head it expects to replace. */
    char parent_key[DL_COMMIT_KEY_MAX];
    /* The view this value is (core/db/view.h); all zero for a plain
    ** snapshot.  Readers go through dl_scan_open, which honours them. */
    unsigned view;            /* DL_VIEW_* bits */
    uint64_t as_of_tx;        /* DL_VIEW_AS_OF: newest visible tx (incl.) */
    uint64_t since_tx;        /* DL_VIEW_SINCE: only txs after this one */
    struct dl_view_filter_link *filter; /* retained predicate chain or NULL */
    /* Internal to db.c/commit.c: for a value made by dl_db_apply on a
    ** committed base of a durable store, its changes encoded as the commit
    ** record's :tx-data (CBOR, docs/format.md "The log tail"); NULL when
    ** not recorded (the commit then flushes the index nodes). */
    uint8_t *txdata;
    size_t txdata_len;
    size_t txdata_n;          /* number of changes in txdata */
} dl_db;

void dl_db_retain(dl_db *db);
void dl_db_release(dl_db *db);

/* The store environment a snapshot reads through (for cursors). */
const bt_env *dl_db_btenv(const dl_db *db);

/* ---- lifecycle ---- */

/* An empty, uncommitted database value for cfg (system schema only, no
** store needed when cfg's backend is :memory and nothing is committed).
** Used by create and by tests of the layers above. */
int dl_db_empty(const dl_config *cfg, dl_db **out);

/* Whether a database exists for this config (store present and branch head
** present). */
int dl_db_exists(const dl_config *cfg, int *out);

/* Create the store (if needed) and write an empty database as the first
** commit of cfg->branch.  Existing database: DATALITH_EEXISTS
** ("Database already exists.").  The schema of an empty database holds only
** the system attributes. */
int dl_db_create(const dl_config *cfg);

/* Delete the whole store (all branches).  Releases nothing: callers must
** have released their connections (open ones are marked released). */
int dl_db_delete(const dl_config *cfg);

/* ---- connections ---- */

/* Connect to cfg's branch (shared per process, see above).  Missing
** database: DATALITH_ENOTFOUND "Database does not exist."; a config that
** does not match the stored one: DATALITH_ECONFLICT (dl_config_check_stored). */
int dl_conn_open(const dl_config *cfg, dl_conn **out);
void dl_conn_retain(dl_conn *c);
/* Drop one reference; the last one releases the writer lock and the store.
** Using a released connection afterwards: DATALITH_EINVAL
** ("Connection has been released."). */
void dl_conn_release(dl_conn *c);

/* The newest snapshot (retained for the caller).  Re-reads the branch head
** (one small read) and loads the new commit record if it changed. */
int dl_conn_db(dl_conn *c, dl_db **out);

/* The connection's config (completed, as stored). */
const dl_config *dl_conn_config(const dl_conn *c);

/* ---- writing ---- */

/* One change to apply: assert (added) or retract datom d.  Retractions
** name the datom to remove from the current indexes; the tx field of a
** retraction is the retracting transaction. */
typedef struct dl_change {
    dl_datom d;
} dl_change;

/* Build the next value of `base`: apply the changes (assertions inserted in
** EAVT, AEVT and — for attributes the schema puts in AVET — AVET;
** retractions removed from them; with history, every change also recorded
** in the temporal trees unless the attribute is :db/noHistory), then set
** the counters and schema given.  Changes must already be validated and
** final (the transaction layer's job): no tempids, no redundant assertions.
** `schema` NULL keeps base's.  The result is uncommitted (commit_key ""). */
int dl_db_apply(const dl_db *base, const dl_change *changes, size_t n,
                dl_schema *schema, uint64_t max_eid, uint64_t max_tx,
                int64_t tx_instant, dl_db **out);

/* dl_db_apply for a caller that has already applied `changes`, in order, to
** copies of base's EAVT and AVET (the transaction layer's working trees):
** those trees are moved into the result (*eavt and *avet become empty, also
** on error) and only AEVT and the temporal trees are updated here, which
** saves a second path copy per change in two of the trees.  Same result as
** dl_db_apply (large change lists go through it). */
int dl_db_apply_moved(const dl_db *base, const dl_change *changes, size_t n,
                      dl_schema *schema, uint64_t max_eid, uint64_t max_tx,
                      int64_t tx_instant, bt_tree *eavt, bt_tree *avet,
                      dl_db **out);

/* Make `next` (built from the connection's current snapshot) durable and
** the branch's newest commit: flush new index nodes, write the schema object
** if it changed, the commit record (parents = the current head), sync, then
** compare-and-set the head.  On success next->commit_key/commit_id are set
** and the connection's current snapshot becomes `next`.  If the head moved
** since `next`'s base was read (another writer): DATALITH_ECONFLICT and
** nothing visible changes.  Takes the writer lock on first use. */
int dl_conn_commit(dl_conn *c, dl_db *next);

/* The snapshot of the commit of c's branch whose commit id is `id`
** (retained for the caller), found by walking first parents back from the
** newest commit (at most max_walk records; 0 = no bound).  Not on the
** branch (or beyond the bound, or a memory branch's older commit):
** DATALITH_ENOTFOUND "Commit not found ...".  Used by the writer server to
** open the exact snapshot a client names. */
int dl_conn_db_at(dl_conn *c, const uint8_t id[16], size_t max_walk,
                  dl_db **out);

#endif
