/*
** db.c — database values (dl_db) and the pure step that builds the next
** value from a list of changes (dl_db_apply).
**
** A dl_db is six B+tree snapshots plus a schema and counters.  Building the
** next value copies the six root references (O(1), bt_tree_copy) and
** updates the copies; the base keeps its roots, so it never changes:
**
**   base ──▶ idx[EAVT] ──▶ R ─┬─▶ L1         next ──▶ idx[EAVT] ──▶ R' ─┬─▶ L1
**                             └─▶ L2                                    └─▶ L2'
**
** Every dl_db holds a reference to its dl_dbenv: the store handle, the node
** cache and the bt_env its trees read through, plus a private copy of the
** config.  All snapshots and the connection of one store in this process
** share one env; a value made by dl_db_empty without a store gets an env of
** its own whose store is NULL.  The env is freed with its last reference,
** after every tree reading through it is gone.
**
** Two write fast paths live here too: a large list of assertions on small
** trees is merged and rebuilt with bt_build (apply_bulk), and a value
** built on a committed base of a durable store records its changes in
** db->txdata, which commit.c writes as the log tail instead of flushing
** index nodes.
**
** The commit protocol (store environments, connections, commit records)
** lives in commit.c.
*/
#define _GNU_SOURCE /* qsort_r */
#include "db.h"
#include "db_internal.h"

#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- environments ---- */

static int env_copy_value(dl_arena *a, edn_value *v) {
    edn_value out;
    int rc = edn_clone(a, v, &out);
    if (rc == 0) *v = out;
    return rc;
}

int dl_dbenv_new(const dl_config *cfg, dl_store *store, dl_dbenv **out) {
    dl_dbenv *e = calloc(1, sizeof *e);
    int rc = 0;
    if (!e) return dl_err_nomem();
    atomic_init(&e->refs, 1);
    dl_arena_init(&e->arena, 0);
    e->config = *cfg;
    if ((rc = env_copy_value(&e->arena, &e->config.store)) != 0 ||
        (rc = env_copy_value(&e->arena, &e->config.name)) != 0 ||
        (rc = env_copy_value(&e->arena, &e->config.initial_tx)) != 0 ||
        (rc = env_copy_value(&e->arena, &e->config.index_config)) != 0 ||
        (rc = env_copy_value(&e->arena, &e->config.writer.map)) != 0 ||
        (rc = env_copy_value(&e->arena, &e->config.extra)) != 0)
        goto fail;
    if (store) {
        /* Datahike's :store-cache-size counts nodes; a non-default value
        ** is read as that many nodes of ~64 KiB.  Default: the cache's
        ** own budget (bt_cache_new with 0). */
        size_t budget = 0;
        if (cfg->store_cache_size > 0 &&
            cfg->store_cache_size != DL_CONFIG_DEFAULT_STORE_CACHE_SIZE)
            budget = (size_t)cfg->store_cache_size * 64 * 1024;
        if ((rc = bt_cache_new(budget, &e->cache)) != 0) goto fail;
    }
    e->store = store;
    e->bt.store = store;
    e->bt.cache = e->cache;
    *out = e;
    return 0;
fail:
    if (rc == DATALITH_ENOMEM) dl_err_nomem();
    dl_arena_free(&e->arena);
    free(e);
    return rc;
}

void dl_dbenv_retain(dl_dbenv *e) { atomic_fetch_add(&e->refs, 1); }

void dl_dbenv_release(dl_dbenv *e) {
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1) return;
    if (e->store) e->store->vt->close(e->store);
    if (e->cache) bt_cache_free(e->cache);
    dl_arena_free(&e->arena);
    free(e);
}

/* ---- values ---- */

void dl_db_retain(dl_db *db) { atomic_fetch_add(&db->refs, 1); }

void dl_db_release(dl_db *db) {
    if (!db || atomic_fetch_sub(&db->refs, 1) != 1) return;
    for (int i = 0; i < DL_INDEX_COUNT; i++) bt_tree_release(&db->idx[i]);
    dl_schema_release(db->schema);
    dl_dbenv_release(db->env);
    free(db->txdata);
    free(db);
}

const bt_env *dl_db_btenv(const dl_db *db) { return &db->env->bt; }

/* A value with env retained and empty trees. */
int dl_db_alloc(dl_dbenv *env, dl_db **out) {
    dl_db *db = calloc(1, sizeof *db);
    if (!db) return dl_err_nomem();
    atomic_init(&db->refs, 1);
    dl_dbenv_retain(env);
    db->env = env;
    db->config = &env->config;
    for (int i = 0; i < DL_INDEX_COUNT; i++)
        bt_tree_init(&db->idx[i], &env->bt, (dl_index)i);
    db->max_eid = DL_E0;
    db->max_tx = DL_TX0;
    *out = db;
    return 0;
}

int dl_db_empty_in(dl_dbenv *env, dl_db **out) {
    dl_db *db;
    int rc = dl_db_alloc(env, &db);
    if (rc) return rc;
    rc = dl_schema_new(env->config.schema_flexibility,
                       env->config.attribute_refs, &db->schema);
    if (rc) {
        dl_db_release(db);
        return rc;
    }
    /* under :attribute-refs? ids 1-54 belong to the system schema, so the
    ** first user entity is 55 (Datahike's ue0) */
    if (env->config.attribute_refs) db->max_eid = DL_SCHEMA_UE0 - 1;
    *out = db;
    return 0;
}

int dl_db_empty(const dl_config *cfg, dl_db **out) {
    dl_dbenv *env;
    int rc;
    if (!cfg || !out) return dl_err_set(DATALITH_EINVAL, "dl_db_empty: NULL argument");
    if ((rc = dl_dbenv_new(cfg, NULL, &env)) != 0) return rc;
    rc = dl_db_empty_in(env, out);
    dl_dbenv_release(env);
    return rc;
}

/* ---- the datom hash ----
**
** db->hash is the wrapping sum over the current datoms of
**   h(d) = mix64(edn_hash(v) ^ mix64(e) ^ mix64(edn_hash(:a) + 1))
** (mix64 is the splitmix64 finaliser), so it is independent of insertion
** order and of tx, and is updated in O(1) per change.  It is stored in the
** commit record and checked by tests; it is not a cryptographic digest. */
static uint64_t mix64(uint64_t z) {
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

uint64_t dl_datom_hash(const dl_datom *d) {
    edn_value a = edn_keyword(d->a);
    return mix64(edn_hash(&d->v) ^ mix64(d->e) ^ mix64(edn_hash(&a) + 1));
}

/* ---- the log tail ----
**
** A value built on a committed base of a durable store records its changes
** so that dl_conn_commit can write them into the commit record (:tx-data)
** instead of flushing index nodes: a CBOR vector of [e :a v tx added]
** vectors in application order (docs/format.md, "The log tail"). */
static int encode_txdata(const dl_change *ch, size_t n, dl_db *db) {
    dl_arena a;
    dl_buf b = DL_BUF_INIT;
    edn_value *items, vec;
    int rc = 0;
    dl_arena_init(&a, 0);
    items = dl_arena_alloc(&a, (n ? n : 1) * sizeof *items);
    if (!items) rc = DATALITH_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        const dl_datom *d = &ch[i].d;
        edn_value f[5];
        f[0] = edn_int((int64_t)d->e);
        f[1] = edn_keyword(d->a);
        f[2] = d->v;
        f[3] = edn_int((int64_t)d->tx);
        f[4] = edn_bool(d->added);
        rc = edn_vector(&a, f, 5, &items[i]);
    }
    if (!rc) rc = edn_vector(&a, items, n, &vec);
    if (!rc) rc = cbor_write(&b, &vec);
    dl_arena_free(&a);
    if (rc) {
        dl_buf_free(&b);
        return rc == DATALITH_ENOMEM ? dl_err_nomem() : rc;
    }
    db->txdata = (uint8_t *)dl_buf_detach(&b, &db->txdata_len);
    db->txdata_n = n;
    return db->txdata ? 0 : dl_err_nomem();
}

/* ---- apply ---- */

/* The current datom with d's [e a v] (any tx) in EAVT: its tx in *tx. */
static int find_current(const bt_tree *eavt, const dl_datom *d, int *found,
                        uint64_t *tx) {
    bt_cursor *c;
    int rc = bt_cursor_open(eavt, &c);
    *found = 0;
    if (rc) return rc;
    dl_datom key = *d, cur;
    key.tx = 0;
    key.added = true;
    if ((rc = bt_cursor_seek(c, &key, 3, 0)) == 0 && bt_cursor_valid(c)) {
        bt_cursor_get(c, &cur);
        if (dl_datom_cmp(DL_EAVT, &cur, &key, 3) == 0) {
            *found = 1;
            *tx = cur.tx;
        }
    }
    if (rc == 0) rc = bt_cursor_error(c);
    bt_cursor_close(c);
    return rc;
}

static const dl_attr *attr_of(const dl_schema *now, const dl_schema *before,
                              const edn_sym *a) {
    const dl_attr *x = dl_schema_attr(now, a);
    if (!x && before) x = dl_schema_attr(before, a);
    return x;
}

static int apply_one(dl_db *db, const dl_schema *before, const dl_change *ch) {
    const dl_datom *d = &ch->d;
    const dl_attr *attr = attr_of(db->schema, before, d->a);
    bool history = db->config->keep_history && !(attr && attr->no_history);
    int rc, changed;
    if (d->added) {
        dl_datom x = *d;
        x.added = true;
        if ((rc = bt_insert(&db->idx[DL_EAVT], &x, &changed)) != 0) return rc;
        if (!changed) return 0; /* same [e a v tx] already present */
        if ((rc = bt_insert(&db->idx[DL_AEVT], &x, NULL)) != 0) return rc;
        if (attr && attr->avet &&
            (rc = bt_insert(&db->idx[DL_AVET], &x, NULL)) != 0)
            return rc;
        db->hash += dl_datom_hash(&x);
    } else {
        int found;
        uint64_t tx = 0;
        if ((rc = find_current(&db->idx[DL_EAVT], d, &found, &tx)) != 0)
            return rc;
        if (!found)
            return dl_err_set(DATALITH_EINVAL,
                              "dl_db_apply: retraction of [%llu :%s] names no "
                              "current datom",
                              (unsigned long long)d->e, d->a->full);
        dl_datom x = *d;
        x.tx = tx;
        x.added = true;
        if ((rc = bt_remove(&db->idx[DL_EAVT], &x, NULL)) != 0 ||
            (rc = bt_remove(&db->idx[DL_AEVT], &x, NULL)) != 0 ||
            (rc = bt_remove(&db->idx[DL_AVET], &x, NULL)) != 0)
            return rc;
        db->hash -= dl_datom_hash(&x);
    }
    if (history) {
        dl_datom h = *d;
        for (int i = DL_TEAVT; i <= DL_TAVET; i++) {
            if (i == DL_TAVET && !(attr && attr->avet)) continue;
            if ((rc = bt_insert(&db->idx[i], &h, NULL)) != 0) return rc;
        }
    }
    return 0;
}

/* ---- bulk apply ----
**
** A large list of assertions on small trees (the first load of a
** database) is applied by merging instead of inserting datom by datom: per
** tree, the datoms to add are sorted in the tree's order, merged with the
** tree's current datoms and the tree is rebuilt bottom-up (bt_build).  A
** tree that is large compared with the list is updated by bt_insert as
** usual.  The result equals the per-change path: an assertion whose
** [e a v tx] is already in EAVT (or repeats an earlier one of the list)
** changes nothing, in no tree. */
#define BULK_MIN 256 /* fewer changes: per-change path */

static int bulk_cmp(const void *x, const void *y, void *ctx) {
    return dl_datom_cmp(*(const dl_index *)ctx, x, y, 5);
}

/* Rebuild t in order o from its datoms plus add[0..k) (sorted in o, no
** duplicates among themselves).  With `dup` (EAVT), an added datom equal
** to a present one is dropped and flagged dup[i] = 1; dup indexes the
** sorted add[]. */
static int bulk_merge(bt_tree *t, dl_index o, const dl_datom *add, size_t k,
                      unsigned char *dup) {
    uint64_t cnt = bt_tree_count(t);
    dl_datom *m = malloc((cnt + k + 1) * sizeof *m);
    bt_cursor *c = NULL;
    bt_tree nt;
    size_t nm = 0, i = 0;
    int rc;
    if (!m) return dl_err_nomem();
    if ((rc = bt_cursor_open(t, &c)) != 0) goto out;
    rc = bt_cursor_first(c);
    while (rc == 0 && bt_cursor_valid(c)) {
        dl_datom cur;
        bt_cursor_get(c, &cur);
        while (i < k) {
            int r = dl_datom_cmp(o, &add[i], &cur, 5);
            if (r > 0) break;
            if (r == 0) {
                if (dup) dup[i] = 1;
            } else {
                m[nm++] = add[i];
            }
            i++;
        }
        m[nm++] = cur; /* v stays valid: the old tree is held by t */
        rc = bt_cursor_next(c);
    }
    if (rc == 0) rc = bt_cursor_error(c);
    if (rc) goto out;
    while (i < k) m[nm++] = add[i++];
    if ((rc = bt_build(t->env, o, m, nm, &nt)) != 0) goto out;
    bt_cursor_close(c);
    c = NULL;
    bt_tree_release(t);
    *t = nt;
out:
    if (c) bt_cursor_close(c);
    free(m);
    return rc;
}

static int bulk_tree(bt_tree *t, dl_index o, dl_datom *add, size_t k) {
    int rc;
    if (k == 0) return 0;
    if (bt_tree_count(t) > 4 * (uint64_t)k) {
        for (size_t i = 0; i < k; i++)
            if ((rc = bt_insert(t, &add[i], NULL)) != 0) return rc;
        return 0;
    }
    qsort_r(add, k, sizeof *add, bulk_cmp, &o);
    return bulk_merge(t, o, add, k, NULL);
}

/* 1: applied; 0: not applicable (use the per-change path); <0: error. */
static int apply_bulk(dl_db *db, const dl_schema *before,
                      const dl_change *ch, size_t n) {
    dl_index o = DL_EAVT;
    dl_datom *e = NULL, *sel = NULL;
    unsigned char *dup = NULL;
    size_t k = 0;
    int rc = 0;
    if (n < BULK_MIN || bt_tree_count(&db->idx[DL_EAVT]) > 4 * (uint64_t)n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!ch[i].d.added) return 0;
    e = malloc(n * sizeof *e);
    sel = malloc(n * sizeof *sel);
    dup = calloc(n, 1);
    if (!e || !sel || !dup) {
        rc = dl_err_nomem();
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        e[i] = ch[i].d;
        e[i].added = true;
    }
    qsort_r(e, n, sizeof *e, bulk_cmp, &o);
    /* repeats within the list (same [e a v tx]) count once */
    for (size_t i = 1; i < n; i++)
        if (dl_datom_cmp(DL_EAVT, &e[i - 1], &e[i], 5) == 0) dup[i] = 1;
    for (size_t i = 0; i < n; i++)
        if (!dup[i]) e[k++] = e[i];
    memset(dup, 0, n);
    if ((rc = bulk_merge(&db->idx[DL_EAVT], DL_EAVT, e, k, dup)) != 0) goto out;
    {
        size_t w = 0;
        for (size_t i = 0; i < k; i++)
            if (!dup[i]) e[w++] = e[i];
        k = w;
    }
    for (size_t i = 0; i < k; i++) db->hash += dl_datom_hash(&e[i]);
    for (int t = DL_AEVT; t < DL_INDEX_COUNT && rc == 0; t++) {
        size_t ns = 0;
        if (t >= DL_TEAVT && !db->config->keep_history) break;
        for (size_t i = 0; i < k; i++) {
            const dl_attr *attr = attr_of(db->schema, before, e[i].a);
            bool avet = attr && attr->avet;
            bool history = db->config->keep_history && !(attr && attr->no_history);
            if ((t == DL_AVET || t == DL_TAVET) && !avet) continue;
            if (t >= DL_TEAVT && !history) continue;
            sel[ns++] = e[i];
        }
        rc = bulk_tree(&db->idx[t], (dl_index)t, sel, ns);
    }
out:
    free(e);
    free(sel);
    free(dup);
    return rc ? rc : 1;
}

/* The end both apply paths share: counters, the base link, and the log
** record of a small transaction on a store that keeps a log tail.  Takes
** over `db`: released on failure. */
static int apply_finish(const dl_db *base, dl_db *db, const dl_change *changes,
                        size_t n, uint64_t max_eid, uint64_t max_tx,
                        int64_t tx_instant, dl_db **out) {
    int rc;
    db->max_eid = max_eid;
    db->max_tx = max_tx;
    db->last_tx_instant = tx_instant;
    dl_db_set_base(db, base);
    if (base->env->log_tail && base->commit_key[0] && n <= DL_LOG_MAX_DATOMS &&
        (rc = encode_txdata(changes, n, db)) != 0) {
        dl_db_release(db);
        return rc;
    }
    *out = db;
    return 0;
}

int dl_db_apply(const dl_db *base, const dl_change *changes, size_t n,
                dl_schema *schema, uint64_t max_eid, uint64_t max_tx,
                int64_t tx_instant, dl_db **out) {
    dl_db *db;
    int rc;
    if (!base || !out || (n && !changes))
        return dl_err_set(DATALITH_EINVAL, "dl_db_apply: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (!changes[i].d.a)
            return dl_err_set(DATALITH_EINVAL,
                              "dl_db_apply: change %zu has no attribute", i);
    if ((rc = dl_db_alloc(base->env, &db)) != 0) return rc;
    for (int i = 0; i < DL_INDEX_COUNT; i++) {
        bt_tree_release(&db->idx[i]);
        bt_tree_copy(&db->idx[i], &base->idx[i]);
    }
    db->schema = schema ? schema : base->schema;
    dl_schema_retain(db->schema);
    db->hash = base->hash;
    int bulk = apply_bulk(db, base->schema, changes, n);
    if (bulk < 0) {
        dl_db_release(db);
        return bulk;
    }
    for (size_t i = 0; !bulk && i < n; i++) {
        if ((rc = apply_one(db, base->schema, &changes[i])) != 0) {
            dl_db_release(db);
            return rc;
        }
    }
    return apply_finish(base, db, changes, n, max_eid, max_tx, tx_instant,
                        out);
}

/* ---- apply with moved EAVT and AVET (the transaction layer) ---- */

/* The current datom with d's [a e v] (any tx) in AEVT: its tx in *tx. */
static int find_current_aevt(const bt_tree *aevt, const dl_datom *d,
                             int *found, uint64_t *tx) {
    bt_cursor *c;
    dl_datom key = *d, cur;
    int rc = bt_cursor_open(aevt, &c);
    *found = 0;
    if (rc) return rc;
    key.tx = 0;
    key.added = true;
    if ((rc = bt_cursor_seek(c, &key, 3, 0)) == 0 && bt_cursor_valid(c)) {
        bt_cursor_get(c, &cur);
        if (dl_datom_cmp(DL_AEVT, &cur, &key, 3) == 0) {
            *found = 1;
            *tx = cur.tx;
        }
    }
    if (rc == 0) rc = bt_cursor_error(c);
    bt_cursor_close(c);
    return rc;
}

int dl_db_apply_moved(const dl_db *base, const dl_change *changes, size_t n,
                      dl_schema *schema, uint64_t max_eid, uint64_t max_tx,
                      int64_t tx_instant, bt_tree *eavt, bt_tree *avet,
                      dl_db **out) {
    dl_db *db;
    int rc = 0;
    if (n >= BULK_MIN) {
        bt_tree_release(eavt);
        bt_tree_release(avet);
        return dl_db_apply(base, changes, n, schema, max_eid, max_tx,
                           tx_instant, out);
    }
    if (!base || !out || (n && !changes) || !eavt || !avet) {
        if (eavt) bt_tree_release(eavt);
        if (avet) bt_tree_release(avet);
        return dl_err_set(DATALITH_EINVAL, "dl_db_apply_moved: NULL argument");
    }
    if ((rc = dl_db_alloc(base->env, &db)) != 0) {
        bt_tree_release(eavt);
        bt_tree_release(avet);
        return rc;
    }
    for (int i = 0; i < DL_INDEX_COUNT; i++) {
        bt_tree_release(&db->idx[i]);
        if (i == DL_EAVT || i == DL_AVET) {
            db->idx[i] = i == DL_EAVT ? *eavt : *avet;
            bt_tree_init(i == DL_EAVT ? eavt : avet, db->idx[i].env,
                         (dl_index)i);
        } else {
            bt_tree_copy(&db->idx[i], &base->idx[i]);
        }
    }
    db->schema = schema ? schema : base->schema;
    dl_schema_retain(db->schema);
    db->hash = base->hash;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const dl_datom *d = &changes[i].d;
        const dl_attr *attr = attr_of(db->schema, base->schema, d->a);
        bool history = db->config->keep_history && !(attr && attr->no_history);
        if (!d->a) {
            rc = dl_err_set(DATALITH_EINVAL,
                            "dl_db_apply: change %zu has no attribute", i);
            break;
        }
        if (d->added) {
            dl_datom x = *d;
            int changed;
            x.added = true;
            if ((rc = bt_insert(&db->idx[DL_AEVT], &x, &changed)) != 0) break;
            if (!changed) continue;
            db->hash += dl_datom_hash(&x);
        } else {
            int found;
            uint64_t tx = 0;
            dl_datom x = *d;
            if ((rc = find_current_aevt(&db->idx[DL_AEVT], d, &found, &tx)) != 0)
                break;
            if (!found) {
                rc = dl_err_set(DATALITH_EINVAL,
                                "dl_db_apply: retraction of [%llu :%s] names "
                                "no current datom",
                                (unsigned long long)d->e, d->a->full);
                break;
            }
            x.tx = tx;
            x.added = true;
            if ((rc = bt_remove(&db->idx[DL_AEVT], &x, NULL)) != 0) break;
            db->hash -= dl_datom_hash(&x);
        }
        if (history) {
            for (int t = DL_TEAVT; t <= DL_TAVET && rc == 0; t++) {
                if (t == DL_TAVET && !(attr && attr->avet)) continue;
                rc = bt_insert(&db->idx[t], d, NULL);
            }
        }
    }
    if (rc) {
        dl_db_release(db);
        return rc;
    }
    return apply_finish(base, db, changes, n, max_eid, max_tx, tx_instant,
                        out);
}
