/*
** commit.c — connections and the commit protocol: create, exists, delete,
** connect, reading the newest commit, and making a value durable.
**
** COMMIT ORDER.  A commit writes, in this order:
**
**   1. index nodes      n<hash>   (bt_flush, children before parents) —
**                                   only when the log tail is flushed
**                                   (below); otherwise nothing
**   2. schema           s<hash>   (only when the schema changed; content
**                                   addressed, so an unchanged schema is
**                                   never rewritten)
**   3. commit record    c<hash>   (CBOR map: roots, schema key, counters,
**                                   config, commit id, parents)
**   4. sync                        (everything above is durable)
**   5. head <branch>  := "c<hash>" (compare-and-set against the head this
**                                   connection last saw)
**
** so a reader that sees a head sees every object under it, and a crash at
** any point leaves the previous head and at most unreachable objects.
**
**   heads/db ──▶ c9f0… ──┬─▶ eavt  n12a… ──▶ n77b…, n0c4…
**                        ├─▶ aevt  n5e1… ──▶ …
**                        ├─▶ avet  …     (+ temporal-* with history)
**                        ├─▶ schema s3d2…
**                        └─▶ parents [c41e…] ──▶ the previous commit
**
** LOG TAIL.  Flushing six trees per commit costs depth+1 node writes per
** touched path; so a commit on a durable store normally records its own
** changes (:tx-data, encoded by dl_db_apply into next->txdata) in a
** format 2 commit record that keeps the roots of the last flushed commit,
** and the index nodes are flushed every DL_LOG_MAX_COMMITS commits or
** DL_LOG_MAX_DATOMS changes, for values without recorded changes, and when
** the writing connection closes.  load_commit replays the tail: from the
** flushed roots, or incrementally from the snapshot the connection already
** has (docs/format.md, "The log tail"):
**
**   head ─▶ c3 {log 3, roots R, tx3} ─▶ c2 {log 2, R, tx2} ─▶ c1 {log 1, R, tx1}
**                                          ▲ conn->cur            ─▶ c0 {R}
**   reader holding c2: replay tx3 on c2;  fresh reader: open R, replay tx1..3
**
** CONNECTIONS.  One dl_conn per [store identity, branch] per process, kept
** in a registry under a mutex.  A connection remembers the head bytes it
** last saw and the snapshot they name; dl_conn_db re-reads the head (one
** small read) and loads a commit record only when the head changed.  The
** store's single-writer lock is taken by the first commit and held until
** the connection is freed.
*/
#define _GNU_SOURCE
#include "db_internal.h"

#include "listen.h"
#include "store/object.h"
#include "util/buf.h"
#include "util/error.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <xxhash.h>

#define COMMIT_FORMAT 1      /* roots are complete */
#define COMMIT_FORMAT_LOG 2  /* roots + the log tail (:log-count > 0) */

/* Where a commit stands in the log tail (docs/format.md "The log tail"):
** the roots of the last commit that flushed its index nodes, and how many
** commits (and changes) have been logged since. */
typedef struct dl_tail {
    char roots[DL_INDEX_COUNT][DL_COMMIT_KEY_MAX];
    uint64_t count, datoms;
} dl_tail;

struct dl_conn {
    int refs;                 /* under reg_mu */
    int released;             /* the database was deleted */
    struct dl_conn *next;     /* registry chain */
    char *ident;              /* store identity + branch */
    const char *branch;       /* interned branch name */
    dl_dbenv *env;
    pthread_mutex_t mu;       /* serialises db refresh and commits */
    dl_db *cur;               /* newest snapshot seen */
    char head[DL_COMMIT_KEY_MAX];       /* head payload last seen */
    char schema_key[DL_COMMIT_KEY_MAX]; /* key of cur->schema */
    int locked;               /* holds the store's writer lock */
    int mem;                  /* :memory branch kept in the process (below) */
    dl_tail tail;             /* log tail state of `head` */
    struct dl_listen_set *listen; /* listen.c; NULL until the first listen */
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static dl_conn *reg_head;

/* MEMORY BRANCHES.  A :memory database lives only in this process, so its
** commits are never written to the store: the newest committed dl_db IS the
** branch.  dl_db_create still writes the empty first commit (so exists,
** connect and the config check work as for every store); after that the
** connection's `cur` is authoritative and a commit is a pointer swap under
** the connection's mutex (after the same parent check).  When the last
** reference to a memory connection goes, its `cur` moves into `mem_kept`
** (under reg_mu, keyed by the connection identity), and the next connection
** to the branch starts from it; dl_db_delete drops the kept values of the
** store.
**
**   reg_head ──▶ conn{ident "memory:\"x\"#db", cur ──▶ dl_db (newest)}
**   mem_kept ──▶ kept{ident "memory:\"y\"#db", db ──▶ dl_db}  (no conn open)
*/
typedef struct mem_kept {
    struct mem_kept *next;
    char *ident;
    dl_db *db; /* one reference */
} mem_kept;

static mem_kept *mem_kept_head; /* under reg_mu */

static const char *idx_key_name[DL_INDEX_COUNT] = {
    "eavt", "aevt", "avet", "temporal-eavt", "temporal-aevt", "temporal-avet"};

/* ---- small helpers ---- */

static const char *branch_name(const dl_config *cfg) {
    return cfg->branch ? cfg->branch->full : "db";
}

static int is_memory(const dl_config *cfg) {
    return !cfg->backend || strcmp(cfg->backend->full, "memory") == 0;
}

static void hex_key(char prefix, const void *p, size_t len,
                    char out[DL_COMMIT_KEY_MAX]) {
    static const char hex[] = "0123456789abcdef";
    XXH128_hash_t h = XXH3_128bits(p, len);
    uint8_t b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(h.high64 >> (56 - 8 * i));
        b[8 + i] = (uint8_t)(h.low64 >> (56 - 8 * i));
    }
    out[0] = prefix;
    for (int i = 0; i < 16; i++) {
        out[1 + 2 * i] = hex[b[i] >> 4];
        out[2 + 2 * i] = hex[b[i] & 15];
    }
    out[33] = 0;
}

static int random_uuid(uint8_t u[16]) {
    size_t got = 0;
    while (got < 16) {
        ssize_t r = getrandom(u + got, 16 - got, 0);
        if (r <= 0) {
            /* no entropy source: a time and address based fallback */
            uint64_t t = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)u;
            uint64_t x = XXH3_64bits(&t, sizeof t);
            memcpy(u, &x, 8);
            x = XXH3_64bits(&x, sizeof x) ^ (uint64_t)clock();
            memcpy(u + 8, &x, 8);
            break;
        }
        got += (size_t)r;
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    return 0;
}

/* A fresh commit id and key for a memory commit: XXH3-128 of a per-process
** random seed and a counter (unique within the process, which is all a
** memory branch needs; no syscall per commit). */
static uint8_t mem_seed[16];
static _Atomic uint64_t mem_counter;
static pthread_once_t mem_seed_once = PTHREAD_ONCE_INIT;

static void mem_seed_init(void) { random_uuid(mem_seed); }

static void mem_commit_id(uint8_t id[16], char key[DL_COMMIT_KEY_MAX]) {
    static const char hex[] = "0123456789abcdef";
    uint64_t in[3];
    pthread_once(&mem_seed_once, mem_seed_init);
    memcpy(in, mem_seed, 16);
    in[2] = atomic_fetch_add(&mem_counter, 1);
    XXH128_hash_t h = XXH3_128bits(in, sizeof in);
    for (int i = 0; i < 8; i++) {
        id[i] = (uint8_t)(h.high64 >> (56 - 8 * i));
        id[8 + i] = (uint8_t)(h.low64 >> (56 - 8 * i));
    }
    id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
    key[0] = 'c';
    for (int i = 0; i < 16; i++) {
        key[1 + 2 * i] = hex[id[i] >> 4];
        key[2 + 2 * i] = hex[id[i] & 15];
    }
    key[33] = 0;
}

/* "<backend>:<where>" naming the store, so two configs that name the same
** store give the same text (file and LMDB paths are made absolute). */
static int store_identity(const dl_config *cfg, dl_buf *b) {
    const edn_value *v;
    const char *backend = cfg->backend ? cfg->backend->full : "memory";
    int rc = dl_buf_printf(b, "%s:", backend);
    if (rc) return rc;
    if ((v = edn_map_getk(&cfg->store, "path")) && v->type == EDN_STRING) {
        char *real = realpath(v->u.s, NULL);
        rc = dl_buf_puts(b, real ? real : v->u.s);
        free(real);
        return rc;
    }
    if ((v = edn_map_getk(&cfg->store, "id"))) return edn_write(b, v);
    return edn_write(b, &cfg->store);
}

static int conn_ident(const dl_config *cfg, char **out) {
    dl_buf b = DL_BUF_INIT;
    int rc = store_identity(cfg, &b);
    if (!rc) rc = dl_buf_printf(&b, "#%s", branch_name(cfg));
    if (rc) {
        dl_buf_free(&b);
        return rc;
    }
    *out = dl_buf_detach(&b, NULL);
    return *out ? 0 : dl_err_nomem();
}

/* ---- the schema object ---- */

static int schema_encode(const dl_schema *s, dl_buf *b) {
    dl_arena a;
    edn_value m;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_schema_to_edn(&a, s, &m);
    if (!rc) rc = cbor_write(b, &m);
    dl_arena_free(&a);
    return rc;
}

static int schema_decode(const dl_config *cfg, const char *key,
                         const uint8_t *p, size_t len, dl_schema **out) {
    dl_arena a;
    edn_value m;
    dl_schema *base = NULL;
    dl_schema_builder *b = NULL;
    const edn_sym *k_ident = edn_intern_full("db/ident", 8);
    const edn_sym *k_id = edn_intern_full("db/id", 5);
    int rc;
    dl_arena_init(&a, 0);
    rc = cbor_read(&a, p, len, NULL, &m);
    if (!rc && m.type != EDN_MAP) rc = DATALITH_ECORRUPT;
    if (!rc) rc = dl_schema_new(cfg->schema_flexibility, cfg->attribute_refs, &base);
    if (!rc) rc = dl_schema_edit(base, &b);
    for (uint32_t i = 0; !rc && i < m.n; i++) {
        const edn_value *def = &m.u.items[2 * i + 1];
        const edn_value *id = edn_map_getk(def, "db/id");
        const edn_value *ident = edn_map_getk(def, "db/ident");
        if (!id || id->type != EDN_INT || !ident) {
            rc = DATALITH_ECORRUPT;
            break;
        }
        uint64_t e = (uint64_t)id->u.i;
        rc = dl_schema_builder_assert(b, e, k_ident, ident);
        for (uint32_t j = 0; !rc && j < def->n; j++) {
            const edn_value *k = &def->u.items[2 * j];
            if (k->type != EDN_KEYWORD) {
                rc = DATALITH_ECORRUPT;
                break;
            }
            if (k->u.sym == k_ident || k->u.sym == k_id) continue;
            rc = dl_schema_builder_assert(b, e, k->u.sym, &def->u.items[2 * j + 1]);
        }
    }
    if (b) {
        int frc = dl_schema_builder_finish(b, out);
        if (!rc) rc = frc;
        else if (frc == 0) dl_schema_release(*out);
    }
    dl_schema_release(base);
    dl_arena_free(&a);
    if (rc && rc != DATALITH_ENOMEM) {
        const char *why = dl_err_last()->message;
        char copy[256];
        snprintf(copy, sizeof copy, "%s", why ? why : "");
        return dl_err_set(DATALITH_ECORRUPT, "corrupt object '%s': bad schema (%s)",
                          key, copy);
    }
    return rc;
}

/* ---- the commit record ---- */

typedef struct commit_rec {
    char roots[DL_INDEX_COUNT][DL_COMMIT_KEY_MAX];
    char schema[DL_COMMIT_KEY_MAX];
    uint64_t max_eid, max_tx, hash;
    int64_t tx_instant;
    uint8_t id[16];
    char parent[DL_COMMIT_KEY_MAX];
    edn_value config; /* in the caller's arena */
    uint64_t log_count, log_datoms; /* 0: roots are complete */
    const uint8_t *txdata;          /* CBOR of this commit's changes */
    size_t txdata_len;
} commit_rec;

static edn_value kw(const char *full) { return edn_keyword_str(full); }

static int rec_encode(dl_arena *a, const dl_config *cfg, const commit_rec *r,
                      dl_buf *b) {
    edn_value kv[2 * 24];
    size_t n = 0;
    edn_value v;
    int rc;
#define PUT(k, val)                                                          \
    do {                                                                     \
        kv[2 * n] = kw(k);                                                   \
        kv[2 * n + 1] = (val);                                               \
        n++;                                                                 \
    } while (0)
#define STR(k, s)                                                            \
    do {                                                                     \
        if ((rc = edn_string(a, (s), strlen(s), &v)) != 0) return rc;        \
        PUT(k, v);                                                           \
    } while (0)
    PUT("format", edn_int(r->log_count ? COMMIT_FORMAT_LOG : COMMIT_FORMAT));
    if (r->log_count) {
        PUT("log-count", edn_int((int64_t)r->log_count));
        PUT("log-datoms", edn_int((int64_t)r->log_datoms));
        if ((rc = edn_bytes(a, r->txdata, r->txdata_len, &v)) != 0) return rc;
        PUT("tx-data", v);
    }
    if ((rc = dl_config_to_edn(a, cfg, &v)) != 0) return rc;
    PUT("config", v);
    for (int i = 0; i < DL_INDEX_COUNT; i++)
        if (r->roots[i][0]) STR(idx_key_name[i], r->roots[i]);
    STR("schema", r->schema);
    PUT("max-eid", edn_int((int64_t)r->max_eid));
    PUT("max-tx", edn_int((int64_t)r->max_tx));
    PUT("tx-instant", edn_int(r->tx_instant));
    PUT("hash", edn_int((int64_t)r->hash));
    PUT("commit-id", edn_uuid(r->id));
    {
        edn_value par[1], vec;
        size_t np = 0;
        if (r->parent[0]) {
            if ((rc = edn_string(a, r->parent, strlen(r->parent), &par[0])) != 0)
                return rc;
            np = 1;
        }
        if ((rc = edn_vector(a, par, np, &vec)) != 0) return rc;
        PUT("parents", vec);
    }
#undef PUT
#undef STR
    if ((rc = edn_map(a, kv, n, &v)) != 0) return rc;
    return cbor_write(b, &v);
}

static int rec_bad(const char *key, const char *what) {
    return dl_err_set(DATALITH_ECORRUPT, "corrupt object '%s': %s", key, what);
}

static int rec_str(const edn_value *m, const char *k, char out[DL_COMMIT_KEY_MAX],
                   int required, const char *key) {
    const edn_value *v = edn_map_getk(m, k);
    out[0] = 0;
    if (!v) return required ? rec_bad(key, "commit record lacks a field") : 0;
    if (v->type != EDN_STRING || v->n == 0 || v->n >= DL_COMMIT_KEY_MAX)
        return rec_bad(key, "commit record field has a bad value");
    memcpy(out, v->u.s, v->n);
    out[v->n] = 0;
    return 0;
}

static int rec_int(const edn_value *m, const char *k, int64_t *out,
                   const char *key) {
    const edn_value *v = edn_map_getk(m, k);
    if (!v || v->type != EDN_INT)
        return rec_bad(key, "commit record lacks an integer field");
    *out = v->u.i;
    return 0;
}

/* Read commit `key` into r (config into arena a). */
static int rec_read(dl_store *st, dl_arena *a, const char *key, commit_rec *r) {
    uint8_t *p = NULL;
    size_t len;
    edn_value m;
    int64_t x;
    int rc = dl_obj_get(st, key, DL_OBJ_COMMIT, &p, &len);
    if (rc) return rc;
    memset(r, 0, sizeof *r);
    rc = cbor_read(a, p, len, NULL, &m);
    free(p);
    if (rc || m.type != EDN_MAP) return rec_bad(key, "commit record is not a CBOR map");
    if ((rc = rec_int(&m, "format", &x, key)) != 0) return rc;
    if (x != COMMIT_FORMAT && x != COMMIT_FORMAT_LOG)
        return dl_err_set(DATALITH_EUNSUPPORTED,
                          "commit '%s' has format %lld; this build reads %d "
                          "and %d",
                          key, (long long)x, COMMIT_FORMAT, COMMIT_FORMAT_LOG);
    if (x == COMMIT_FORMAT_LOG) {
        int64_t cnt = 0, nd = 0;
        const edn_value *td = edn_map_getk(&m, "tx-data");
        if ((rc = rec_int(&m, "log-count", &cnt, key)) != 0) return rc;
        if ((rc = rec_int(&m, "log-datoms", &nd, key)) != 0) return rc;
        if (cnt <= 0 || cnt > 100000000 || nd < 0)
            return rec_bad(key, "commit record has a bad :log-count");
        if (!td || td->type != EDN_BYTES)
            return rec_bad(key, "commit record lacks :tx-data");
        r->log_count = (uint64_t)cnt;
        r->log_datoms = (uint64_t)nd;
        r->txdata = (const uint8_t *)td->u.s;
        r->txdata_len = td->n;
    }
    for (int i = 0; i < DL_INDEX_COUNT; i++)
        if ((rc = rec_str(&m, idx_key_name[i], r->roots[i], i < DL_TEAVT, key)) != 0)
            return rc;
    if ((rc = rec_str(&m, "schema", r->schema, 1, key)) != 0) return rc;
    if ((rc = rec_int(&m, "max-eid", &x, key)) != 0) return rc;
    r->max_eid = (uint64_t)x;
    if ((rc = rec_int(&m, "max-tx", &x, key)) != 0) return rc;
    r->max_tx = (uint64_t)x;
    if ((rc = rec_int(&m, "tx-instant", &r->tx_instant, key)) != 0) return rc;
    if ((rc = rec_int(&m, "hash", &x, key)) != 0) return rc;
    r->hash = (uint64_t)x;
    const edn_value *v = edn_map_getk(&m, "commit-id");
    if (!v || v->type != EDN_UUID) return rec_bad(key, "commit record lacks :commit-id");
    memcpy(r->id, v->u.uuid, 16);
    v = edn_map_getk(&m, "parents");
    if (!v || v->type != EDN_VECTOR) return rec_bad(key, "commit record lacks :parents");
    if (v->n > 0) {
        if (v->u.items[0].type != EDN_STRING || v->u.items[0].n >= DL_COMMIT_KEY_MAX)
            return rec_bad(key, "commit record has a bad parent");
        memcpy(r->parent, v->u.items[0].u.s, v->u.items[0].n);
        r->parent[v->u.items[0].n] = 0;
    }
    v = edn_map_getk(&m, "config");
    if (!v || v->type != EDN_MAP) return rec_bad(key, "commit record lacks :config");
    r->config = *v;
    return 0;
}

/* Read head `branch` into key (""+ENOTFOUND when absent). */
static int head_read(dl_store *st, const char *branch, char key[DL_COMMIT_KEY_MAX]) {
    uint8_t *p = NULL;
    size_t len;
    int rc = dl_head_get(st, branch, &p, &len);
    key[0] = 0;
    if (rc) return rc;
    if (len == 0 || len >= DL_COMMIT_KEY_MAX || p[0] != 'c') {
        free(p);
        return dl_err_set(DATALITH_ECORRUPT, "corrupt head '%s': not a commit key", branch);
    }
    memcpy(key, p, len);
    key[len] = 0;
    free(p);
    return 0;
}

/* ---- reading commits ---- */

/* The schema of record r: `reuse` when its key matches, else decoded. */
static int rec_schema(dl_dbenv *env, const commit_rec *r, dl_schema *reuse,
                      const char *reuse_key, dl_schema **out) {
    uint8_t *p;
    size_t len;
    int rc;
    if (reuse && reuse_key && strcmp(reuse_key, r->schema) == 0) {
        dl_schema_retain(reuse);
        *out = reuse;
        return 0;
    }
    if ((rc = dl_obj_get(env->store, r->schema, DL_OBJ_SCHEMA, &p, &len)) != 0)
        return rc;
    rc = schema_decode(&env->config, r->schema, p, len, out);
    free(p);
    return rc;
}

static void rec_stamp(dl_db *db, const commit_rec *r, const char *key) {
    db->max_eid = r->max_eid;
    db->max_tx = r->max_tx;
    db->last_tx_instant = r->tx_instant;
    db->hash = r->hash;
    memcpy(db->commit_id, r->id, 16);
    snprintf(db->commit_key, sizeof db->commit_key, "%s", key);
    snprintf(db->parent_key, sizeof db->parent_key, "%s", key);
    free(db->txdata);
    db->txdata = NULL;
    db->txdata_len = db->txdata_n = 0;
}

/* A snapshot of a record whose roots are complete (log_count 0). */
static int load_flushed(dl_dbenv *env, const char *key, const commit_rec *r,
                        dl_schema *reuse, const char *reuse_key, dl_db **out) {
    dl_db *db = NULL;
    int rc;
    if ((rc = dl_db_alloc(env, &db)) != 0) return rc;
    for (int i = 0; i < DL_INDEX_COUNT; i++) {
        if (!r->roots[i][0]) continue;
        bt_tree_release(&db->idx[i]);
        if ((rc = bt_tree_open(&env->bt, (dl_index)i, r->roots[i], &db->idx[i])) != 0)
            goto fail;
    }
    if ((rc = rec_schema(env, r, reuse, reuse_key, &db->schema)) != 0) goto fail;
    rec_stamp(db, r, key);
    *out = db;
    return 0;
fail:
    dl_db_release(db);
    return rc;
}

/* Apply record r's :tx-data to prev (its parent's snapshot) under key. */
static int replay_one(dl_dbenv *env, const dl_db *prev, const char *prev_skey,
                      const char *key, const commit_rec *r, dl_db **out) {
    dl_arena a;
    edn_value v;
    dl_change *ch = NULL;
    dl_schema *s = NULL;
    int rc;
    dl_arena_init(&a, 0);
    rc = cbor_read(&a, r->txdata, r->txdata_len, NULL, &v);
    if (rc || v.type != EDN_VECTOR) {
        rc = rec_bad(key, "commit record has a bad :tx-data");
        goto out;
    }
    if (!(ch = calloc(v.n ? v.n : 1, sizeof *ch))) {
        rc = dl_err_nomem();
        goto out;
    }
    for (uint32_t i = 0; i < v.n; i++) {
        const edn_value *f = &v.u.items[i];
        if (f->type != EDN_VECTOR || f->n != 5 || f->u.items[0].type != EDN_INT ||
            f->u.items[1].type != EDN_KEYWORD || f->u.items[3].type != EDN_INT ||
            f->u.items[4].type != EDN_BOOL) {
            rc = rec_bad(key, "commit record has a bad :tx-data entry");
            goto out;
        }
        ch[i].d.e = (uint64_t)f->u.items[0].u.i;
        ch[i].d.a = f->u.items[1].u.sym;
        ch[i].d.v = f->u.items[2];
        ch[i].d.tx = (uint64_t)f->u.items[3].u.i;
        ch[i].d.added = f->u.items[4].u.b;
    }
    if (strcmp(prev_skey, r->schema) != 0 &&
        (rc = rec_schema(env, r, NULL, NULL, &s)) != 0)
        goto out;
    rc = dl_db_apply(prev, ch, v.n, s, r->max_eid, r->max_tx, r->tx_instant, out);
    if (rc) {
        if (rc != DATALITH_ENOMEM) {
            char why[200];
            snprintf(why, sizeof why, "%s", dl_err_last()->message ? dl_err_last()->message : "");
            rc = dl_err_set(DATALITH_ECORRUPT,
                            "corrupt object '%s': its :tx-data does not apply (%s)",
                            key, why);
        }
        goto out;
    }
    if ((*out)->hash != r->hash) {
        dl_db_release(*out);
        *out = NULL;
        rc = rec_bad(key, "replaying its :tx-data gives another datom hash");
        goto out;
    }
    rec_stamp(*out, r, key);
out:
    dl_schema_release(s);
    free(ch);
    dl_arena_free(&a);
    return rc;
}

/* A snapshot of commit `key` in env.  `reuse` (may be NULL) is a schema
** already decoded from object `reuse_key`.  `have` (may be NULL) is a
** snapshot of an earlier commit of the branch (schema key `reuse_key`):
** when `key` logs its changes on top of it, only the commits after it are
** replayed.  *tail receives key's log tail state. */
static int load_commit(dl_dbenv *env, const char *key, dl_schema *reuse,
                       const char *reuse_key, const dl_db *have, dl_db **out,
                       char schema_key[DL_COMMIT_KEY_MAX], dl_tail *tail) {
    dl_arena a;
    commit_rec *recs = NULL;
    char (*keys)[DL_COMMIT_KEY_MAX] = NULL;
    size_t n = 0, cap = 0;
    dl_db *db = NULL;
    const char *skey;
    int rc = 0;
    dl_arena_init(&a, 0);
    /* newest first: key, its parent, … back to the flushed commit or to
    ** `have` (k is copied: recs moves when it grows) */
    char k[DL_COMMIT_KEY_MAX];
    snprintf(k, sizeof k, "%s", key);
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            void *p1 = realloc(recs, nc * sizeof *recs);
            if (p1) recs = p1;
            void *p2 = p1 ? realloc(keys, nc * sizeof *keys) : NULL;
            if (p2) keys = p2;
            if (!p1 || !p2) {
                rc = dl_err_nomem();
                goto done;
            }
            cap = nc;
        }
        snprintf(keys[n], DL_COMMIT_KEY_MAX, "%s", k);
        if ((rc = rec_read(env->store, &a, k, &recs[n])) != 0) goto done;
        commit_rec *r = &recs[n++];
        if (n > 1 && (r->log_count != recs[n - 2].log_count - 1 ||
                      memcmp(r->roots, recs[0].roots, sizeof r->roots) != 0)) {
            rc = rec_bad(k, "commit record does not continue the log tail of its child");
            goto done;
        }
        if (r->log_count == 0) break;
        if (!r->parent[0]) {
            rc = rec_bad(k, "commit record logs changes but has no parent");
            goto done;
        }
        if (have && strcmp(r->parent, have->commit_key) == 0)
            break; /* replay on top of the snapshot we have */
        memmove(k, r->parent, sizeof k);
    }
    /* the base: the flushed commit, or `have` */
    if (recs[n - 1].log_count == 0) {
        if ((rc = load_flushed(env, keys[n - 1], &recs[n - 1], reuse, reuse_key,
                               &db)) != 0)
            goto done;
        skey = recs[n - 1].schema;
        n--;
    } else {
        dl_db_retain((dl_db *)have);
        db = (dl_db *)have;
        skey = reuse_key ? reuse_key : "";
    }
    while (n > 0) {
        dl_db *nx = NULL;
        n--;
        if ((rc = replay_one(env, db, skey, keys[n], &recs[n], &nx)) != 0) goto done;
        dl_db_release(db);
        db = nx;
        skey = recs[n].schema;
    }
    if (have && db == have) { /* cannot happen: key != have's key */
        rc = rec_bad(key, "commit record replays nothing");
        goto done;
    }
    snprintf(schema_key, DL_COMMIT_KEY_MAX, "%s", recs[0].schema);
    if (tail) {
        memcpy(tail->roots, recs[0].roots, sizeof tail->roots);
        tail->count = recs[0].log_count;
        tail->datoms = recs[0].log_datoms;
    }
done:
    free(recs);
    free(keys);
    dl_arena_free(&a);
    if (rc) {
        dl_db_release(db);
        return rc;
    }
    *out = db;
    return 0;
}

/* ---- writing commits ---- */

/* Write `next` as a commit whose head is expected to be `expected` ("" for
** none).  With `tail` (the parent's log tail state) and changes recorded in
** next->txdata, the commit logs them instead of flushing, while the tail
** stays under the limits; otherwise every index node is flushed.  On
** success sets next's commit fields, *schema_key and *tail. */
static int write_commit(dl_dbenv *env, const char *branch, dl_db *next,
                        const char *expected, const dl_schema *known_schema,
                        const char *known_key, char schema_key[DL_COMMIT_KEY_MAX],
                        dl_tail *tail) {
    commit_rec r;
    dl_arena a;
    dl_buf b = DL_BUF_INIT;
    char ckey[DL_COMMIT_KEY_MAX];
    int rc = 0;
    memset(&r, 0, sizeof r);
    /* 1. index nodes, or the log tail */
    if (tail && next->txdata && tail->roots[DL_EAVT][0] &&
        tail->count + 1 < DL_LOG_MAX_COMMITS &&
        tail->datoms + next->txdata_n <= DL_LOG_MAX_DATOMS) {
        memcpy(r.roots, tail->roots, sizeof r.roots);
        r.log_count = tail->count + 1;
        r.log_datoms = tail->datoms + next->txdata_n;
        r.txdata = next->txdata;
        r.txdata_len = next->txdata_len;
    } else {
        for (int i = 0; i < DL_INDEX_COUNT; i++) {
            if (i >= DL_TEAVT && !env->config.keep_history) continue;
            if ((rc = bt_flush(&next->idx[i], r.roots[i])) != 0) return rc;
        }
    }
    /* 2. schema, unless it is the one already stored */
    if (known_schema && known_key && known_key[0] && next->schema == known_schema) {
        snprintf(r.schema, sizeof r.schema, "%s", known_key);
    } else {
        if ((rc = schema_encode(next->schema, &b)) != 0) goto out;
        hex_key('s', b.data, b.len, r.schema);
        if ((rc = dl_obj_put(env->store, r.schema, DL_OBJ_SCHEMA,
                             (const uint8_t *)b.data, b.len)) != 0)
            goto out;
        dl_buf_free(&b);
    }
    /* 3. commit record */
    r.max_eid = next->max_eid;
    r.max_tx = next->max_tx;
    r.tx_instant = next->last_tx_instant;
    r.hash = next->hash;
    random_uuid(r.id);
    snprintf(r.parent, sizeof r.parent, "%s", expected);
    dl_arena_init(&a, 0);
    rc = rec_encode(&a, &env->config, &r, &b);
    dl_arena_free(&a);
    if (rc) goto out;
    hex_key('c', b.data, b.len, ckey);
    if ((rc = dl_obj_put(env->store, ckey, DL_OBJ_COMMIT,
                         (const uint8_t *)b.data, b.len)) != 0)
        goto out;
    /* 4. sync, 5. head */
    if ((rc = env->store->vt->sync(env->store)) != 0) goto out;
    /* expected "" means "the head must not exist yet" */
    rc = dl_head_cas(env->store, branch,
                     expected[0] ? (const uint8_t *)expected : NULL,
                     strlen(expected), (const uint8_t *)ckey, strlen(ckey));
    if (rc) goto out;
    snprintf(next->commit_key, sizeof next->commit_key, "%s", ckey);
    snprintf(next->parent_key, sizeof next->parent_key, "%s", ckey);
    memcpy(next->commit_id, r.id, 16);
    snprintf(schema_key, DL_COMMIT_KEY_MAX, "%s", r.schema);
    if (tail) {
        memcpy(tail->roots, r.roots, sizeof r.roots);
        tail->count = r.log_count;
        tail->datoms = r.log_datoms;
    }
out:
    dl_buf_free(&b);
    return rc;
}

/* ---- lifecycle ---- */

static int open_store(const dl_config *cfg, int create, dl_store **out) {
    int rc = dl_store_open(&cfg->store, create, out);
    if (rc == DATALITH_ENOTFOUND && !create)
        return dl_err_set(DATALITH_ENOTFOUND, "Database does not exist.");
    return rc;
}

int dl_db_exists(const dl_config *cfg, int *out) {
    dl_store *st;
    int ex = 0, rc;
    char key[DL_COMMIT_KEY_MAX];
    if (!cfg || !out) return dl_err_set(DATALITH_EINVAL, "dl_db_exists: NULL argument");
    *out = 0;
    if ((rc = dl_store_exists(&cfg->store, &ex)) != 0) return rc;
    if (!ex) return 0;
    if ((rc = dl_store_open(&cfg->store, 0, &st)) != 0)
        return rc == DATALITH_ENOTFOUND ? (dl_err_clear(), 0) : rc;
    rc = head_read(st, branch_name(cfg), key);
    st->vt->close(st);
    if (rc == DATALITH_ENOTFOUND) {
        dl_err_clear();
        return 0;
    }
    if (rc) return rc;
    *out = 1;
    return 0;
}

int dl_db_create(const dl_config *cfg) {
    dl_store *st;
    dl_dbenv *env;
    dl_db *db;
    char key[DL_COMMIT_KEY_MAX], skey[DL_COMMIT_KEY_MAX];
    int rc;
    if (!cfg) return dl_err_set(DATALITH_EINVAL, "dl_db_create: NULL argument");
    if ((rc = dl_store_open(&cfg->store, 1, &st)) != 0) return rc;
    rc = head_read(st, branch_name(cfg), key);
    if (rc == 0) {
        st->vt->close(st);
        return dl_err_set(DATALITH_EEXISTS, "Database already exists.");
    }
    if (rc != DATALITH_ENOTFOUND) {
        st->vt->close(st);
        return rc;
    }
    dl_err_clear();
    if ((rc = dl_dbenv_new(cfg, st, &env)) != 0) {
        st->vt->close(st);
        return rc;
    }
    if ((rc = st->vt->lock_writer(st)) == 0) {
        if ((rc = dl_db_empty_in(env, &db)) == 0) {
            rc = write_commit(env, branch_name(cfg), db, "", NULL, NULL, skey, NULL);
            if (rc == DATALITH_ECONFLICT)
                rc = dl_err_set(DATALITH_EEXISTS, "Database already exists.");
            dl_db_release(db);
        }
        st->vt->unlock_writer(st);
    }
    dl_dbenv_release(env);
    return rc;
}

static void mark_released(const char *store_ident) {
    size_t n = strlen(store_ident);
    mem_kept *drop = NULL;
    pthread_mutex_lock(&reg_mu);
    for (mem_kept **pp = &mem_kept_head; *pp;) {
        mem_kept *k = *pp;
        if (strncmp(k->ident, store_ident, n) == 0 && k->ident[n] == '#') {
            *pp = k->next;
            k->next = drop;
            drop = k;
        } else {
            pp = &k->next;
        }
    }
    dl_conn *gone = NULL; /* released connections, each retained once */
    for (dl_conn **pp = &reg_head; *pp;) {
        dl_conn *c = *pp;
        if (strncmp(c->ident, store_ident, n) == 0 && c->ident[n] == '#') {
            c->released = 1;
            c->refs++;
            *pp = c->next;
            c->next = gone;
            gone = c;
        } else {
            pp = &c->next;
        }
    }
    pthread_mutex_unlock(&reg_mu);
    while (drop) {
        mem_kept *k = drop;
        drop = k->next;
        dl_db_release(k->db);
        free(k->ident);
        free(k);
    }
    /* A released connection gives up the writer lock now, not when its
    ** last user lets go: a lock that outlives the store (a PostgreSQL
    ** advisory lock does) would refuse the database created next. */
    while (gone) {
        dl_conn *c = gone;
        gone = c->next;
        c->next = NULL;
        pthread_mutex_lock(&c->mu);
        if (c->locked) {
            c->env->store->vt->unlock_writer(c->env->store);
            c->locked = 0;
        }
        pthread_mutex_unlock(&c->mu);
        dl_conn_release(c);
    }
}

int dl_db_delete(const dl_config *cfg) {
    dl_store *st;
    dl_buf b = DL_BUF_INIT;
    int ex = 0, rc;
    if (!cfg) return dl_err_set(DATALITH_EINVAL, "dl_db_delete: NULL argument");
    if ((rc = store_identity(cfg, &b)) != 0) return rc;
    mark_released(b.data);
    dl_buf_free(&b);
    if ((rc = dl_store_exists(&cfg->store, &ex)) != 0) return rc;
    if (!ex) return 0;
    if ((rc = dl_store_open(&cfg->store, 0, &st)) != 0)
        return rc == DATALITH_ENOTFOUND ? (dl_err_clear(), 0) : rc;
    return st->vt->destroy(st);
}

/* ---- connections ---- */

/* On close, a writer with a log tail flushes it: one more commit with the
** same content as the head and complete roots, so the next connection
** replays nothing.  Best effort: on any failure the tail simply stays (it
** is as durable as a flush). */
static void conn_flush_tail(dl_conn *c) {
    dl_db *v = NULL;
    char skey[DL_COMMIT_KEY_MAX];
    dl_tail t = c->tail;
    if (!c->locked || c->released || c->mem || !c->cur || c->tail.count == 0)
        return;
    if (dl_db_alloc(c->env, &v) != 0) return;
    for (int i = 0; i < DL_INDEX_COUNT; i++) {
        bt_tree_release(&v->idx[i]);
        bt_tree_copy(&v->idx[i], &c->cur->idx[i]);
    }
    v->schema = c->cur->schema;
    dl_schema_retain(v->schema);
    v->max_eid = c->cur->max_eid;
    v->max_tx = c->cur->max_tx;
    v->last_tx_instant = c->cur->last_tx_instant;
    v->hash = c->cur->hash;
    dl_db_set_base(v, c->cur);
    /* the caller's pending error (if any) survives a failed flush */
    const datalith_error *e = dl_err_last();
    int code = e->code;
    char *saved = code && e->message ? strdup(e->message) : NULL;
    if (write_commit(c->env, c->branch, v, c->head, c->cur->schema,
                     c->schema_key, skey, &t) != 0) {
        if (code) dl_err_set(code, "%s", saved ? saved : "");
        else dl_err_clear();
    }
    free(saved);
    dl_db_release(v);
}

static void conn_free(dl_conn *c) {
    conn_flush_tail(c);
    dl_db_release(c->cur);
    if (c->locked) c->env->store->vt->unlock_writer(c->env->store);
    dl_dbenv_release(c->env);
    pthread_mutex_destroy(&c->mu);
    free(c->ident);
    free(c);
}

static int conn_new(const dl_config *cfg, char *ident, dl_store *given,
                    dl_conn **out) {
    dl_store *st = given;
    dl_arena a;
    dl_config eff;
    commit_rec r;
    dl_conn *c = NULL;
    char head[DL_COMMIT_KEY_MAX];
    int rc;
    dl_arena_init(&a, 0);
    if (!st && (rc = open_store(cfg, 0, &st)) != 0) goto fail;
    rc = head_read(st, branch_name(cfg), head);
    if (rc == DATALITH_ENOTFOUND) {
        rc = dl_err_set(DATALITH_ENOTFOUND, "Database does not exist.");
        goto fail;
    }
    if (rc) goto fail;
    if ((rc = rec_read(st, &a, head, &r)) != 0) goto fail;
    memset(&eff, 0, sizeof eff);
    if ((rc = dl_config_check_stored(&a, cfg, &r.config, &eff)) != 0) goto fail;
    if (!(c = calloc(1, sizeof *c))) {
        rc = dl_err_nomem();
        goto fail;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->refs = 1;
    c->ident = ident;
    c->branch = branch_name(cfg);
    c->mem = !given && is_memory(cfg);
    if (c->mem) {
        /* a branch kept from an earlier connection (reg_mu is held) */
        for (mem_kept **pp = &mem_kept_head; *pp; pp = &(*pp)->next) {
            mem_kept *k = *pp;
            if (strcmp(k->ident, ident) != 0) continue;
            *pp = k->next;
            c->cur = k->db; /* the kept reference moves to the conn */
            c->env = k->db->env;
            dl_dbenv_retain(c->env);
            memcpy(c->head, c->cur->commit_key, sizeof c->head);
            free(k->ident);
            free(k);
            st->vt->close(st);
            dl_arena_free(&a);
            *out = c;
            return 0;
        }
    }
    if ((rc = dl_dbenv_new(&eff, st, &c->env)) != 0) {
        c->ident = NULL;
        goto fail;
    }
    st = NULL; /* owned by env */
    c->env->log_tail = !c->mem && !given;
    if (c->mem) {
        /* memory branches are never stored: smaller nodes make the path
        ** copy of each commit cheaper (about a quarter less CPU for
        ** add-5 / retract-5 in bench/write_bench) */
        c->env->bt.leaf_max = DL_MEM_LEAF_MAX;
        c->env->bt.branch_max = DL_MEM_BRANCH_MAX;
    }
    if ((rc = load_commit(c->env, head, NULL, NULL, NULL, &c->cur, c->schema_key,
                          &c->tail)) != 0) {
        c->ident = NULL;
        goto fail;
    }
    memcpy(c->head, head, sizeof head);
    dl_arena_free(&a);
    *out = c;
    return 0;
fail:
    if (c) {
        if (c->env) {
            dl_db_release(c->cur);
            if (given) { /* the caller keeps the store it gave */
                c->env->store = NULL;
                c->env->bt.store = NULL;
            }
            dl_dbenv_release(c->env);
        }
        pthread_mutex_destroy(&c->mu);
        free(c);
    }
    if (st && st != given) st->vt->close(st);
    dl_arena_free(&a);
    return rc;
}

void dl_conn_set_log_tail(dl_conn *c, int on) {
    pthread_mutex_lock(&c->mu);
    c->env->log_tail = on && !c->mem;
    pthread_mutex_unlock(&c->mu);
}

int dl_conn_open_store(const dl_config *cfg, dl_store *st, dl_conn **out) {
    char *ident = strdup("private");
    dl_conn *c;
    int rc;
    if (!ident) return dl_err_nomem();
    if ((rc = conn_new(cfg, ident, st, &c)) != 0) {
        free(ident);
        return rc;
    }
    c->released = 0;
    *out = c;
    return 0;
}

/* A second connect to a branch this process already has open shares the
** connection, so its config must agree with the open one by the same rules
** as with the stored config (runtime keys may differ); otherwise Datahike's
** :config-does-not-match-existing-connections. */
static int conn_check_shared(dl_conn *c, const dl_config *cfg) {
    dl_arena a;
    edn_value open_cfg;
    dl_config eff;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_config_to_edn(&a, &c->env->config, &open_cfg);
    if (!rc) rc = dl_config_check_stored(&a, cfg, &open_cfg, &eff);
    dl_arena_free(&a);
    if (rc == DATALITH_ECONFLICT) {
        const char *m = dl_err_last()->message;
        const char *why = m ? strstr(m, " Differing key") : NULL;
        char buf[512];
        snprintf(buf, sizeof buf, "%s", why ? why : "");
        return dl_err_set(DATALITH_ECONFLICT,
                          "Configuration does not match existing "
                          "connections.%s", buf);
    }
    return rc;
}

int dl_conn_open(const dl_config *cfg, dl_conn **out) {
    char *ident = NULL;
    dl_conn *c;
    int rc;
    if (!cfg || !out) return dl_err_set(DATALITH_EINVAL, "dl_conn_open: NULL argument");
    if ((rc = conn_ident(cfg, &ident)) != 0) return rc;
    pthread_mutex_lock(&reg_mu);
    for (c = reg_head; c; c = c->next) {
        if (strcmp(c->ident, ident) == 0) {
            c->refs++;
            pthread_mutex_unlock(&reg_mu);
            free(ident);
            if ((rc = conn_check_shared(c, cfg)) != 0) {
                dl_conn_release(c);
                return rc;
            }
            *out = c;
            return 0;
        }
    }
    /* connect under the registry lock so two threads share one conn */
    rc = conn_new(cfg, ident, NULL, &c);
    if (rc == 0) {
        c->next = reg_head;
        reg_head = c;
        *out = c;
    } else {
        free(ident);
    }
    pthread_mutex_unlock(&reg_mu);
    return rc;
}

void dl_conn_retain(dl_conn *c) {
    pthread_mutex_lock(&reg_mu);
    c->refs++;
    pthread_mutex_unlock(&reg_mu);
}

void dl_conn_release(dl_conn *c) {
    if (!c) return;
    pthread_mutex_lock(&reg_mu);
    int last = --c->refs == 0;
    if (last && !c->released) {
        for (dl_conn **pp = &reg_head; *pp; pp = &(*pp)->next) {
            if (*pp == c) {
                *pp = c->next;
                break;
            }
        }
        if (c->mem) {
            /* keep the branch for the next connection; without memory for
            ** the entry the branch falls back to the store's first commit */
            mem_kept *k = malloc(sizeof *k);
            char *id = strdup(c->ident);
            if (k && id) {
                k->ident = id;
                k->db = c->cur;
                c->cur = NULL;
                k->next = mem_kept_head;
                mem_kept_head = k;
            } else {
                free(k);
                free(id);
            }
        }
    }
    pthread_mutex_unlock(&reg_mu);
    if (last) {
        dl_listen_conn_closing(c); /* stops (joins) its watcher thread */
        conn_free(c);
    }
}

const dl_config *dl_conn_config(const dl_conn *c) { return &c->env->config; }

static int conn_check(dl_conn *c) {
    if (c->released)
        return dl_err_set(DATALITH_EINVAL, "Connection has been released.");
    return 0;
}

int dl_conn_db(dl_conn *c, dl_db **out) {
    char head[DL_COMMIT_KEY_MAX];
    int rc;
    if (!c || !out) return dl_err_set(DATALITH_EINVAL, "dl_conn_db: NULL argument");
    pthread_mutex_lock(&c->mu);
    if ((rc = conn_check(c)) != 0) goto out;
    if (c->mem) { /* the connection's value is the branch */
        dl_db_retain(c->cur);
        *out = c->cur;
        goto out;
    }
    if ((rc = head_read(c->env->store, c->branch, head)) != 0) {
        if (rc == DATALITH_ENOTFOUND)
            rc = dl_err_set(DATALITH_ENOTFOUND, "Database does not exist.");
        goto out;
    }
    if (strcmp(head, c->head) != 0) {
        dl_db *db;
        char skey[DL_COMMIT_KEY_MAX];
        if ((rc = load_commit(c->env, head, c->cur->schema, c->schema_key, c->cur,
                              &db, skey, &c->tail)) != 0)
            goto out;
        dl_db_release(c->cur);
        c->cur = db;
        memcpy(c->head, head, sizeof head);
        memcpy(c->schema_key, skey, sizeof skey);
    }
    dl_db_retain(c->cur);
    *out = c->cur;
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int dl_conn_commit(dl_conn *c, dl_db *next) {
    char skey[DL_COMMIT_KEY_MAX];
    int rc;
    if (!c || !next) return dl_err_set(DATALITH_EINVAL, "dl_conn_commit: NULL argument");
    pthread_mutex_lock(&c->mu);
    if ((rc = conn_check(c)) != 0) goto out;
    if (next->env != c->env) {
        rc = dl_err_set(DATALITH_EINVAL,
                        "dl_conn_commit: the value was not built from this "
                        "connection's database");
        goto out;
    }
    if (next->commit_key[0]) {
        rc = dl_err_set(DATALITH_EINVAL, "dl_conn_commit: the value is already committed");
        goto out;
    }
    if (strcmp(next->parent_key, c->head) != 0) {
        rc = dl_err_set(DATALITH_ECONFLICT,
                        "The database changed since this value's base was read "
                        "(base %s, newest %s).",
                        next->parent_key[0] ? next->parent_key : "none", c->head);
        goto out;
    }
    if (!c->locked) {
        if ((rc = c->env->store->vt->lock_writer(c->env->store)) != 0) goto out;
        c->locked = 1;
    }
    if (c->mem) {
        mem_commit_id(next->commit_id, next->commit_key);
        memcpy(next->parent_key, next->commit_key, sizeof next->parent_key);
        skey[0] = 0;
        goto adopt;
    }
    rc = write_commit(c->env, c->branch, next, c->head, c->cur->schema,
                      c->schema_key, skey, &c->tail);
    if (rc == DATALITH_ECONFLICT)
        rc = dl_err_set(DATALITH_ECONFLICT,
                        "Another writer moved the head of branch '%s' since "
                        "this connection read it.",
                        c->branch);
    if (rc) goto out;
adopt:
    dl_db_retain(next);
    dl_db_release(c->cur);
    c->cur = next;
    memcpy(c->head, next->commit_key, sizeof c->head);
    memcpy(c->schema_key, skey, sizeof skey);
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ---- commit records for listeners (listen.c; db_internal.h) ---- */

struct dl_listen_set **dl_conn_listen_slot(dl_conn *c) { return &c->listen; }
int dl_conn_is_memory(const dl_conn *c) { return c->mem; }

int dl_conn_head_now(dl_conn *c, char key[DL_COMMIT_KEY_MAX]) {
    int rc;
    if (c->mem) {
        pthread_mutex_lock(&c->mu);
        memcpy(key, c->head, DL_COMMIT_KEY_MAX);
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    rc = head_read(c->env->store, c->branch, key);
    if (rc == DATALITH_ENOTFOUND)
        rc = dl_err_set(DATALITH_ENOTFOUND, "Database does not exist.");
    return rc;
}

int dl_conn_wait_head(dl_conn *c, const char *known, int timeout_ms) {
    dl_store *st = c->env->store;
    if (c->mem || !st || !st->vt->head_wait) return DATALITH_EUNSUPPORTED;
    /* The store compares raw head bytes: frame the key as dl_head_cas
    ** stored it, or every wait would return at once. */
    uint8_t *e = NULL;
    size_t en = 0;
    if (known && *known) {
        int rc = dl_obj_encode(DL_OBJ_HEAD, (const uint8_t *)known,
                               strlen(known), &e, &en);
        if (rc) return rc;
    }
    int rc = st->vt->head_wait(st, c->branch, e, en, timeout_ms);
    free(e);
    return rc;
}

int dl_commit_meta_read(dl_conn *c, const char *key, dl_commit_meta *out) {
    dl_arena a;
    commit_rec r;
    int rc;
    memset(out, 0, sizeof *out);
    dl_arena_init(&a, 0);
    rc = rec_read(c->env->store, &a, key, &r);
    if (!rc) {
        memcpy(out->parent, r.parent, sizeof out->parent);
        out->max_eid = r.max_eid;
        out->max_tx = r.max_tx;
        out->hash = r.hash;
        out->tx_instant = r.tx_instant;
        memcpy(out->id, r.id, 16);
        if (r.txdata) {
            out->txdata = malloc(r.txdata_len ? r.txdata_len : 1);
            if (!out->txdata) rc = dl_err_nomem();
            else memcpy(out->txdata, r.txdata, r.txdata_len);
            out->txdata_len = r.txdata_len;
        }
    }
    dl_arena_free(&a);
    return rc;
}

int dl_conn_load_commit(dl_conn *c, const char *key, dl_db **out) {
    char skey[DL_COMMIT_KEY_MAX];
    return load_commit(c->env, key, NULL, NULL, NULL, out, skey, NULL);
}

/* ---- opening an older commit ---- */

int dl_conn_db_at(dl_conn *c, const uint8_t id[16], size_t max_walk,
                  dl_db **out) {
    dl_db *cur = NULL;
    char k[DL_COMMIT_KEY_MAX], skey[DL_COMMIT_KEY_MAX];
    int rc;
    if (!c || !id || !out)
        return dl_err_set(DATALITH_EINVAL, "dl_conn_db_at: NULL argument");
    if ((rc = dl_conn_db(c, &cur)) != 0) return rc;
    if (memcmp(cur->commit_id, id, 16) == 0) {
        *out = cur;
        return 0;
    }
    if (c->mem) {
        dl_db_release(cur);
        return dl_err_set(DATALITH_ENOTFOUND,
                          "Commit not found: a memory database keeps only "
                          "its newest commit.");
    }
    snprintf(k, sizeof k, "%s", cur->commit_key);
    dl_db_release(cur);
    /* walk the first parents from the head; each record is one read */
    for (size_t steps = 0; k[0]; steps++) {
        dl_arena a;
        commit_rec r;
        if (max_walk && steps > max_walk) break;
        dl_arena_init(&a, 0);
        rc = rec_read(c->env->store, &a, k, &r);
        dl_arena_free(&a);
        if (rc) return rc;
        if (memcmp(r.id, id, 16) == 0)
            return load_commit(c->env, k, NULL, NULL, NULL, out, skey, NULL);
        memmove(k, r.parent, sizeof k);
    }
    return dl_err_set(DATALITH_ENOTFOUND,
                      "Commit not found on branch '%s'.", c->branch);
}
