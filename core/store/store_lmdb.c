/*
** store_lmdb.c — the :lmdb backend: one LMDB environment in the store
** directory with two named databases.
**
**   <path>/data.mdb      LMDB data: DB "objects" (key → framed object)
**                                   DB "heads"   (branch → framed head)
**   <path>/lock.mdb      LMDB's reader table
**   <path>/writer.lock   Datalith's single-writer lock (flock + pid)
**
** LMDB's rules, and how they are kept:
**   - one MDB_env per process per path: a process-wide registry of open
**     environments, refcounted, shared by every handle on the same path
**     (entries belong to the process that opened them; a forked child
**     opens its own);
**   - read transactions are not tied to threads: MDB_NOTLS;
**   - write transactions are serialised by LMDB itself, across processes;
**     that does not make a second writer safe, so writer.lock is held as
**     in the file backend.
**
** Puts are buffered in the handle (visible to its own get/list) and
** written in one transaction by sync(), or by head_cas together with the
** head — objects and head then become durable in a single LMDB commit,
** which is fsync'd before it returns (LMDB's default durable mode).
**
**   put ──▶ pend ──(commit starts)──▶ flight ──(commit done)──▶ data.mdb
**
** A commit moves `pend` to `flight` under the short mutex and writes
** `flight` without holding it, so gets and puts from other threads never
** wait for the fsync; get looks in pend, then flight, then the database.
** Commits (sync, head_cas, head_del, del) are serialised by `cmu`.
**
** Monotonic reads.  LMDB 0.9.x reads the current txnid and then the meta
** page of that parity without re-checking it; a read transaction that
** begins while the writer finishes one commit and writes the next meta
** page can see the newer tree, and the following read transaction the
** older one — a head seen to go backwards, or an object a head names seen
** missing.  lmdb_begin_read rules this out: every commit in this process
** bumps `gen` after it completes, and a read transaction whose begin
** overlapped a completed commit (gen changed), or that is two or more
** commits behind the newest meta page (a writer in another process), is
** retried.  Readers never wait for a writer.
*/
#define _GNU_SOURCE
#include "store_impl.h"

#include "util/error.h"

#include <errno.h>
#include <lmdb.h>
#include <sched.h>
#include <stdatomic.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if UINTPTR_MAX > 0xffffffffu
#define LMDB_MAP_SIZE ((size_t)64 << 30) /* sparse: costs nothing unused */
#else
#define LMDB_MAP_SIZE ((size_t)1 << 30)
#endif

typedef struct lmdb_env {
    struct lmdb_env *next;
    char *path; /* realpath */
    pid_t pid;
    int refs;
    MDB_env *env;
    MDB_dbi objs, heads;
    atomic_ulong gen; /* commits completed through this env */
} lmdb_env;

typedef dl_store_batch lmdb_batch;

typedef struct lmdb_store {
    dl_store base;
    lmdb_env *e;
    char *root;
    pthread_mutex_t mu;  /* pend and flight (short) */
    pthread_mutex_t cmu; /* one commit at a time */
    lmdb_batch pend;     /* puts not yet being committed */
    lmdb_batch flight;   /* puts in the commit under way */
    dl_wlock wlock;
} lmdb_store;

static pthread_mutex_t lmdb_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static lmdb_env *lmdb_reg;

static int lmdb_fail(int mrc, const char *op, const char *what) {
    if (mrc == MDB_MAP_FULL)
        return dl_err_set(DATALITH_ELIMIT,
                          "lmdb store is full (%s '%s'): map size %zu bytes",
                          op, what, LMDB_MAP_SIZE);
    if (mrc == MDB_CORRUPTED || mrc == MDB_PAGE_NOTFOUND ||
        mrc == MDB_INVALID || mrc == MDB_VERSION_MISMATCH)
        return dl_err_set(DATALITH_ECORRUPT, "lmdb: %s (%s '%s')",
                          mdb_strerror(mrc), op, what);
    return dl_err_set(DATALITH_EIO, "lmdb: %s (%s '%s')", mdb_strerror(mrc),
                      op, what);
}

/* ---- transactions ---- */

/* Begin a read transaction that is no older than any earlier one of this
** process (see "Monotonic reads" above). */
static int lmdb_begin_read(lmdb_env *e, MDB_txn **txn) {
    for (unsigned attempt = 0;; attempt++) {
        unsigned long g1 = atomic_load(&e->gen);
        int mrc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, txn);
        if (mrc) return mrc;
        unsigned long g2 = atomic_load(&e->gen);
        MDB_envinfo info;
        if (g1 == g2 && (mdb_env_info(e->env, &info) != 0 ||
                         info.me_last_txnid <= mdb_txn_id(*txn) + 1))
            return 0;
        mdb_txn_abort(*txn);
        if (attempt >= 8) sched_yield();
    }
}

/* Commit a write transaction and publish it to lmdb_begin_read. */
static int lmdb_commit(lmdb_env *e, MDB_txn *txn) {
    int mrc = mdb_txn_commit(txn);
    if (mrc == 0) atomic_fetch_add(&e->gen, 1);
    return mrc;
}

/* ---- buffered puts (caller holds mu) ---- */

/* Start a commit: take cmu, move pend to flight. */
static void lmdb_commit_begin(lmdb_store *l) {
    pthread_mutex_lock(&l->cmu);
    pthread_mutex_lock(&l->mu);
    lmdb_batch t = l->flight; /* empty, keeps its array */
    l->flight = l->pend;
    l->pend = t;
    pthread_mutex_unlock(&l->mu);
}

/* End a commit: on success drop flight; on failure return its entries to
** pend (a newer put of the same key, made meanwhile, wins). */
static void lmdb_commit_end(lmdb_store *l, int ok) {
    pthread_mutex_lock(&l->mu);
    if (!ok) dl_store_batch_requeue(&l->pend, &l->flight);
    dl_store_batch_clear(&l->flight);
    pthread_mutex_unlock(&l->mu);
    pthread_mutex_unlock(&l->cmu);
}

/* Write the in-flight puts into txn (caller holds cmu). */
static int lmdb_flight_write(lmdb_store *l, MDB_txn *txn) {
    for (size_t i = 0; i < l->flight.n; i++) {
        MDB_val k = {strlen(l->flight.it[i].key), l->flight.it[i].key};
        MDB_val v = {l->flight.it[i].len, l->flight.it[i].data};
        int mrc = mdb_put(txn, l->e->objs, &k, &v, 0);
        if (mrc) return lmdb_fail(mrc, "put", l->flight.it[i].key);
    }
    return 0;
}

/* ---- objects ---- */

static int lmdb_read(lmdb_store *l, MDB_dbi dbi, const char *what,
                     const char *key, uint8_t **out, size_t *len) {
    MDB_txn *txn;
    int mrc = lmdb_begin_read(l->e, &txn);
    if (mrc) return lmdb_fail(mrc, "begin read", key);
    MDB_val k = {strlen(key), (void *)key}, v;
    mrc = mdb_get(txn, dbi, &k, &v);
    int rc = 0;
    if (mrc == MDB_NOTFOUND) {
        rc = dl_err_set(DATALITH_ENOTFOUND, "%s '%s' not found", what, key);
    } else if (mrc) {
        rc = lmdb_fail(mrc, "get", key);
    } else {
        uint8_t *b = malloc(v.mv_size ? v.mv_size : 1);
        if (!b) {
            rc = dl_err_nomem();
        } else {
            if (v.mv_size) memcpy(b, v.mv_data, v.mv_size);
            *out = b;
            *len = v.mv_size;
        }
    }
    mdb_txn_abort(txn);
    return rc;
}

static int lmdb_get(dl_store *s, const char *key, uint8_t **out,
                    size_t *len) {
    lmdb_store *l = (lmdb_store *)s;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    pthread_mutex_lock(&l->mu);
    rc = dl_store_batch_copy(&l->pend, &l->flight, key, out, len);
    pthread_mutex_unlock(&l->mu);
    if (rc) return rc < 0 ? rc : 0;
    /* Not buffered: a commit that held it has finished before we looked,
    ** so a fresh read transaction sees it. */
    return lmdb_read(l, l->e->objs, "object", key, out, len);
}

static int lmdb_put(dl_store *s, const char *key, const uint8_t *data,
                    size_t len) {
    lmdb_store *l = (lmdb_store *)s;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    uint8_t *copy = malloc(len ? len : 1);
    char *k = strdup(key);
    if (!copy || !k) {
        free(copy);
        free(k);
        return dl_err_nomem();
    }
    if (len) memcpy(copy, data, len);
    pthread_mutex_lock(&l->mu);
    rc = dl_store_batch_set(&l->pend, k, copy, len);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static int lmdb_del(dl_store *s, const char *key) {
    lmdb_store *l = (lmdb_store *)s;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    pthread_mutex_lock(&l->cmu);
    pthread_mutex_lock(&l->mu);
    dl_store_batch_remove(&l->pend, key);
    pthread_mutex_unlock(&l->mu);
    MDB_txn *txn;
    int mrc = mdb_txn_begin(l->e->env, NULL, 0, &txn);
    if (mrc) {
        rc = lmdb_fail(mrc, "begin write", key);
    } else {
        MDB_val k = {strlen(key), (void *)key};
        mrc = mdb_del(txn, l->e->objs, &k, NULL);
        if (mrc && mrc != MDB_NOTFOUND) {
            mdb_txn_abort(txn);
            rc = lmdb_fail(mrc, "delete", key);
        } else if ((mrc = lmdb_commit(l->e, txn)) != 0) {
            rc = lmdb_fail(mrc, "commit", key);
        }
    }
    pthread_mutex_unlock(&l->cmu);
    return rc;
}

static int lmdb_keys_add(char ***keys, size_t *n, size_t *cap,
                         const char *k, size_t klen) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **nk = realloc(*keys, nc * sizeof *nk);
        if (!nk) return dl_err_nomem();
        *keys = nk;
        *cap = nc;
    }
    if (!((*keys)[*n] = strndup(k, klen))) return dl_err_nomem();
    (*n)++;
    return 0;
}

static int lmdb_list(dl_store *s, const char *prefix,
                     int (*cb)(void *ctx, const char *key), void *ctx) {
    lmdb_store *l = (lmdb_store *)s;
    size_t pl = prefix ? strlen(prefix) : 0;
    char **keys = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    /* Buffered keys first, so a commit finishing meanwhile cannot hide
    ** one: it is then in the database scan below. */
    pthread_mutex_lock(&l->mu);
    lmdb_batch *bs[2] = {&l->pend, &l->flight};
    for (int bi = 0; bi < 2 && !rc; bi++)
        for (size_t i = 0; i < bs[bi]->n && !rc; i++) {
            const char *pk = bs[bi]->it[i].key;
            if (pl && strncmp(pk, prefix, pl) != 0) continue;
            rc = lmdb_keys_add(&keys, &n, &cap, pk, strlen(pk));
        }
    pthread_mutex_unlock(&l->mu);
    size_t nbuf = n;

    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int mrc = 0;
    if (!rc && (mrc = lmdb_begin_read(l->e, &txn)))
        rc = lmdb_fail(mrc, "begin read", "list");
    if (!rc && (mrc = mdb_cursor_open(txn, l->e->objs, &cur)))
        rc = lmdb_fail(mrc, "cursor", "list");
    if (!rc) {
        MDB_val k = {pl, (void *)(prefix ? prefix : "")}, v;
        mrc = mdb_cursor_get(cur, &k, &v, pl ? MDB_SET_RANGE : MDB_FIRST);
        while (mrc == 0 && !rc) {
            if (pl && (k.mv_size < pl || memcmp(k.mv_data, prefix, pl) != 0))
                break;
            int seen = 0;
            for (size_t j = 0; j < nbuf && !seen; j++)
                seen = strlen(keys[j]) == k.mv_size &&
                       memcmp(keys[j], k.mv_data, k.mv_size) == 0;
            if (!seen)
                rc = lmdb_keys_add(&keys, &n, &cap, k.mv_data, k.mv_size);
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        if (!rc && mrc && mrc != MDB_NOTFOUND)
            rc = lmdb_fail(mrc, "scan", "list");
    }
    if (cur) mdb_cursor_close(cur);
    if (txn) mdb_txn_abort(txn);
    /* Keys were collected first so cb may call back into the store. */
    for (size_t i = 0; i < n && !rc; i++) rc = cb(ctx, keys[i]);
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
    return rc;
}

static int lmdb_sync(dl_store *s) {
    lmdb_store *l = (lmdb_store *)s;
    int rc = 0;
    lmdb_commit_begin(l);
    if (l->flight.n) {
        MDB_txn *txn;
        int mrc = mdb_txn_begin(l->e->env, NULL, 0, &txn);
        if (mrc) {
            rc = lmdb_fail(mrc, "begin write", l->root);
        } else if ((rc = lmdb_flight_write(l, txn)) != 0) {
            mdb_txn_abort(txn);
        } else if ((mrc = lmdb_commit(l->e, txn)) != 0) {
            rc = lmdb_fail(mrc, "commit", l->root);
        }
    }
    lmdb_commit_end(l, rc == 0);
    return rc;
}

/* ---- heads ---- */

static int lmdb_head_get(dl_store *s, const char *branch, uint8_t **out,
                         size_t *len) {
    lmdb_store *l = (lmdb_store *)s;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    return lmdb_read(l, l->e->heads, "head", branch, out, len);
}

/* One write transaction: buffered objects, compare, head.  With `del` the
** head is deleted instead (expected and data are ignored). */
static int lmdb_head_write(lmdb_store *l, const char *branch,
                           const uint8_t *expected, size_t elen,
                           const uint8_t *data, size_t len, int del) {
    MDB_txn *txn;
    lmdb_commit_begin(l);
    int mrc = mdb_txn_begin(l->e->env, NULL, 0, &txn);
    if (mrc) {
        int rc = lmdb_fail(mrc, "begin write", branch);
        lmdb_commit_end(l, 0);
        return rc;
    }
    int rc = lmdb_flight_write(l, txn);
    MDB_val k = {strlen(branch), (void *)branch}, v;
    if (!rc && del) {
        mrc = mdb_del(txn, l->e->heads, &k, NULL);
        if (mrc && mrc != MDB_NOTFOUND) rc = lmdb_fail(mrc, "delete", branch);
    } else if (!rc) {
        mrc = mdb_get(txn, l->e->heads, &k, &v);
        if (mrc && mrc != MDB_NOTFOUND) {
            rc = lmdb_fail(mrc, "get", branch);
        } else {
            int exists = mrc == 0;
            int match = expected
                            ? (exists && v.mv_size == elen &&
                               (elen == 0 ||
                                memcmp(v.mv_data, expected, elen) == 0))
                            : !exists;
            if (!match) {
                rc = dl_err_set(DATALITH_ECONFLICT,
                                "head '%s' was changed by another writer",
                                branch);
            } else {
                MDB_val nv = {len, (void *)data};
                mrc = mdb_put(txn, l->e->heads, &k, &nv, 0);
                if (mrc) rc = lmdb_fail(mrc, "put", branch);
            }
        }
    }
    if (rc) {
        mdb_txn_abort(txn);
    } else if ((mrc = lmdb_commit(l->e, txn)) != 0) {
        rc = lmdb_fail(mrc, "commit", branch);
    }
    lmdb_commit_end(l, rc == 0);
    return rc;
}

static int lmdb_head_cas(dl_store *s, const char *branch,
                         const uint8_t *expected, size_t elen,
                         const uint8_t *data, size_t len) {
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    return lmdb_head_write((lmdb_store *)s, branch, expected, elen, data, len,
                           0);
}

static int lmdb_head_del(dl_store *s, const char *branch) {
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    return lmdb_head_write((lmdb_store *)s, branch, NULL, 0, NULL, 0, 1);
}

/* ---- lifetime ---- */

static int lmdb_lock_writer(dl_store *s) {
    lmdb_store *l = (lmdb_store *)s;
    size_t n = strlen(l->root) + 16;
    char *p = malloc(n);
    if (!p) return dl_err_nomem();
    snprintf(p, n, "%s/writer.lock", l->root);
    int rc = dl_wlock_acquire(&l->wlock, p);
    free(p);
    return rc;
}

static void lmdb_unlock_writer(dl_store *s) {
    dl_wlock_release(&((lmdb_store *)s)->wlock);
}

static void lmdb_env_release(lmdb_env *e) {
    pthread_mutex_lock(&lmdb_reg_mu);
    int last = --e->refs == 0;
    if (last) {
        for (lmdb_env **pp = &lmdb_reg; *pp; pp = &(*pp)->next) {
            if (*pp == e) {
                *pp = e->next;
                break;
            }
        }
    }
    pthread_mutex_unlock(&lmdb_reg_mu);
    if (last) {
        mdb_env_close(e->env);
        free(e->path);
        free(e);
    }
}

static void lmdb_close(dl_store *s) {
    lmdb_store *l = (lmdb_store *)s;
    dl_wlock_release(&l->wlock);
    dl_store_batch_free(&l->pend);
    dl_store_batch_free(&l->flight);
    lmdb_env_release(l->e);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->cmu);
    free(l->root);
    free(l);
}

static int lmdb_destroy(dl_store *s) {
    lmdb_store *l = (lmdb_store *)s;
    char *root = strdup(l->root);
    lmdb_close(s);
    if (!root) return dl_err_nomem();
    int rc = dl_rmtree(root);
    free(root);
    return rc;
}

static const dl_store_vtable lmdb_vtable = {
    DL_STORE_VTABLE_V1, "lmdb", lmdb_get, lmdb_put, lmdb_del, lmdb_list,
    lmdb_sync, lmdb_head_get, lmdb_head_cas, lmdb_head_del, lmdb_lock_writer,
    lmdb_unlock_writer, lmdb_close, lmdb_destroy, NULL};

/* ---- open ---- */

static int lmdb_data_exists(const char *root) {
    size_t n = strlen(root) + 16;
    char *p = malloc(n);
    if (!p) return 0;
    snprintf(p, n, "%s/data.mdb", root);
    struct stat st;
    int e = stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return e;
}

int dl_store_lmdb_exists(const edn_value *cfg, int *out) {
    const char *path;
    int rc = dl_store_cfg_string(cfg, "path", &path);
    if (rc) return rc;
    *out = lmdb_data_exists(path);
    return 0;
}

/* Open (or share) the environment at real path `rp`.  Caller holds
** lmdb_reg_mu. */
static int lmdb_env_get(const char *rp, int create, lmdb_env **out) {
    pid_t me = getpid();
    for (lmdb_env *e = lmdb_reg; e; e = e->next) {
        if (e->pid == me && strcmp(e->path, rp) == 0) {
            e->refs++;
            *out = e;
            return 0;
        }
    }
    lmdb_env *e = calloc(1, sizeof *e);
    if (!e || !(e->path = strdup(rp))) {
        free(e);
        return dl_err_nomem();
    }
    int mrc = mdb_env_create(&e->env);
    if (mrc) {
        free(e->path);
        free(e);
        return lmdb_fail(mrc, "create env", rp);
    }
    int rc = 0;
    MDB_txn *txn = NULL;
    if ((mrc = mdb_env_set_maxdbs(e->env, 4)) ||
        (mrc = mdb_env_set_mapsize(e->env, LMDB_MAP_SIZE)) ||
        (mrc = mdb_env_open(e->env, rp, MDB_NOTLS, 0644))) {
        rc = mrc == EACCES || mrc == EROFS || mrc == ENOENT
                 ? dl_err_set(DATALITH_EIO, "cannot open lmdb store '%s': %s",
                              rp, strerror(mrc))
                 : lmdb_fail(mrc, "open", rp);
        goto fail;
    }
    int dead = 0;
    mdb_reader_check(e->env, &dead); /* clear slots of killed readers */
    mrc = mdb_txn_begin(e->env, NULL, create ? 0 : MDB_RDONLY, &txn);
    if (mrc) {
        rc = lmdb_fail(mrc, "begin", rp);
        goto fail;
    }
    unsigned fl = create ? MDB_CREATE : 0;
    if ((mrc = mdb_dbi_open(txn, "objects", fl, &e->objs)) ||
        (mrc = mdb_dbi_open(txn, "heads", fl, &e->heads))) {
        mdb_txn_abort(txn);
        rc = mrc == MDB_NOTFOUND
                 ? dl_err_set(DATALITH_ENOTFOUND, "Backend does not exist.")
                 : lmdb_fail(mrc, "open databases", rp);
        goto fail;
    }
    if ((mrc = mdb_txn_commit(txn)) != 0) {
        rc = lmdb_fail(mrc, "commit", rp);
        goto fail;
    }
    e->pid = me;
    e->refs = 1;
    e->next = lmdb_reg;
    lmdb_reg = e;
    *out = e;
    return 0;
fail:
    mdb_env_close(e->env);
    free(e->path);
    free(e);
    return rc;
}

int dl_store_lmdb_open(const edn_value *cfg, int create, dl_store **out) {
    const char *path;
    int rc = dl_store_cfg_string(cfg, "path", &path);
    if (rc) return rc;
    if (!lmdb_data_exists(path)) {
        if (!create)
            return dl_err_set(DATALITH_ENOTFOUND, "Backend does not exist.");
        rc = dl_mkdirs(path);
        if (rc) return rc;
    }
    char *rp = realpath(path, NULL);
    if (!rp)
        return dl_err_set(DATALITH_EIO, "cannot resolve store path '%s': %s",
                          path, strerror(errno));
    lmdb_store *l = calloc(1, sizeof *l);
    if (!l) {
        free(rp);
        return dl_err_nomem();
    }
    pthread_mutex_lock(&lmdb_reg_mu);
    rc = lmdb_env_get(rp, create, &l->e);
    pthread_mutex_unlock(&lmdb_reg_mu);
    if (rc) {
        free(rp);
        free(l);
        return rc;
    }
    l->base.vt = &lmdb_vtable;
    l->root = rp;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->cmu, NULL);
    l->wlock = (dl_wlock)DL_WLOCK_INIT;
    if (create) {
        /* Make the new files' directory entries durable. */
        rc = dl_fsync_dir(rp);
        if (rc) {
            lmdb_close(&l->base);
            return rc;
        }
    }
    *out = &l->base;
    return 0;
}
