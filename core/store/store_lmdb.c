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
*/
#define _GNU_SOURCE
#include "store_impl.h"

#include "util/error.h"

#include <errno.h>
#include <lmdb.h>
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
} lmdb_env;

typedef struct lmdb_pending {
    char *key;
    uint8_t *data;
    size_t len;
} lmdb_pending;

typedef struct lmdb_store {
    dl_store base;
    lmdb_env *e;
    char *root;
    pthread_mutex_t mu; /* pending */
    lmdb_pending *pend;
    size_t npend, cpend;
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

/* ---- pending puts (caller holds mu) ---- */

static lmdb_pending *lmdb_pend_find(lmdb_store *l, const char *key) {
    for (size_t i = 0; i < l->npend; i++)
        if (strcmp(l->pend[i].key, key) == 0) return &l->pend[i];
    return NULL;
}

static void lmdb_pend_clear(lmdb_store *l) {
    for (size_t i = 0; i < l->npend; i++) {
        free(l->pend[i].key);
        free(l->pend[i].data);
    }
    l->npend = 0;
}

/* Write every pending put into txn (does not clear them). */
static int lmdb_pend_write(lmdb_store *l, MDB_txn *txn) {
    for (size_t i = 0; i < l->npend; i++) {
        MDB_val k = {strlen(l->pend[i].key), l->pend[i].key};
        MDB_val v = {l->pend[i].len, l->pend[i].data};
        int mrc = mdb_put(txn, l->e->objs, &k, &v, 0);
        if (mrc) return lmdb_fail(mrc, "put", l->pend[i].key);
    }
    return 0;
}

/* ---- objects ---- */

static int lmdb_read(lmdb_store *l, MDB_dbi dbi, const char *what,
                     const char *key, uint8_t **out, size_t *len) {
    MDB_txn *txn;
    int mrc = mdb_txn_begin(l->e->env, NULL, MDB_RDONLY, &txn);
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
    lmdb_pending *p = l->npend ? lmdb_pend_find(l, key) : NULL;
    if (p) {
        uint8_t *b = malloc(p->len ? p->len : 1);
        if (!b) rc = dl_err_nomem();
        else {
            if (p->len) memcpy(b, p->data, p->len);
            *out = b;
            *len = p->len;
        }
        pthread_mutex_unlock(&l->mu);
        return rc;
    }
    pthread_mutex_unlock(&l->mu);
    return lmdb_read(l, l->e->objs, "object", key, out, len);
}

static int lmdb_put(dl_store *s, const char *key, const uint8_t *data,
                    size_t len) {
    lmdb_store *l = (lmdb_store *)s;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return dl_err_nomem();
    if (len) memcpy(copy, data, len);
    pthread_mutex_lock(&l->mu);
    lmdb_pending *p = lmdb_pend_find(l, key);
    if (p) {
        free(p->data);
        p->data = copy;
        p->len = len;
    } else {
        if (l->npend == l->cpend) {
            size_t nc = l->cpend ? l->cpend * 2 : 16;
            lmdb_pending *np = realloc(l->pend, nc * sizeof *np);
            if (!np) {
                pthread_mutex_unlock(&l->mu);
                free(copy);
                return dl_err_nomem();
            }
            l->pend = np;
            l->cpend = nc;
        }
        char *k = strdup(key);
        if (!k) {
            pthread_mutex_unlock(&l->mu);
            free(copy);
            return dl_err_nomem();
        }
        l->pend[l->npend++] = (lmdb_pending){k, copy, len};
    }
    pthread_mutex_unlock(&l->mu);
    return 0;
}

static int lmdb_del(dl_store *s, const char *key) {
    lmdb_store *l = (lmdb_store *)s;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    pthread_mutex_lock(&l->mu);
    lmdb_pending *p = lmdb_pend_find(l, key);
    if (p) {
        free(p->key);
        free(p->data);
        *p = l->pend[--l->npend];
    }
    pthread_mutex_unlock(&l->mu);
    MDB_txn *txn;
    int mrc = mdb_txn_begin(l->e->env, NULL, 0, &txn);
    if (mrc) return lmdb_fail(mrc, "begin write", key);
    MDB_val k = {strlen(key), (void *)key};
    mrc = mdb_del(txn, l->e->objs, &k, NULL);
    if (mrc && mrc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return lmdb_fail(mrc, "delete", key);
    }
    mrc = mdb_txn_commit(txn);
    return mrc ? lmdb_fail(mrc, "commit", key) : 0;
}

static int lmdb_list(dl_store *s, const char *prefix,
                     int (*cb)(void *ctx, const char *key), void *ctx) {
    lmdb_store *l = (lmdb_store *)s;
    size_t pl = prefix ? strlen(prefix) : 0;
    char **keys = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    int mrc = mdb_txn_begin(l->e->env, NULL, MDB_RDONLY, &txn);
    if (mrc) return lmdb_fail(mrc, "begin read", "list");
    mrc = mdb_cursor_open(txn, l->e->objs, &cur);
    if (mrc) {
        mdb_txn_abort(txn);
        return lmdb_fail(mrc, "cursor", "list");
    }
    MDB_val k = {pl, (void *)(prefix ? prefix : "")}, v;
    mrc = mdb_cursor_get(cur, &k, &v, pl ? MDB_SET_RANGE : MDB_FIRST);
    /* Keys are collected first so cb may call back into the store. */
    while (mrc == 0) {
        if (pl && (k.mv_size < pl || memcmp(k.mv_data, prefix, pl) != 0))
            break;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nk = realloc(keys, nc * sizeof *nk);
            if (!nk) {
                rc = dl_err_nomem();
                break;
            }
            keys = nk;
            cap = nc;
        }
        if (!(keys[n] = strndup(k.mv_data, k.mv_size))) {
            rc = dl_err_nomem();
            break;
        }
        n++;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (!rc && mrc && mrc != MDB_NOTFOUND) rc = lmdb_fail(mrc, "scan", "list");
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);

    /* Pending puts not yet in the database. */
    size_t ndb = n;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->npend && !rc; i++) {
        const char *pk = l->pend[i].key;
        if (pl && strncmp(pk, prefix, pl) != 0) continue;
        int seen = 0;
        for (size_t j = 0; j < ndb && !seen; j++) seen = !strcmp(keys[j], pk);
        if (seen) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nk = realloc(keys, nc * sizeof *nk);
            if (!nk) {
                rc = dl_err_nomem();
                break;
            }
            keys = nk;
            cap = nc;
        }
        if (!(keys[n] = strdup(pk))) rc = dl_err_nomem();
        else n++;
    }
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; i < n && !rc; i++) rc = cb(ctx, keys[i]);
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
    return rc;
}

static int lmdb_sync(dl_store *s) {
    lmdb_store *l = (lmdb_store *)s;
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    if (l->npend) {
        MDB_txn *txn;
        int mrc = mdb_txn_begin(l->e->env, NULL, 0, &txn);
        if (mrc) {
            rc = lmdb_fail(mrc, "begin write", l->root);
        } else if ((rc = lmdb_pend_write(l, txn)) != 0) {
            mdb_txn_abort(txn);
        } else if ((mrc = mdb_txn_commit(txn)) != 0) {
            rc = lmdb_fail(mrc, "commit", l->root);
        } else {
            lmdb_pend_clear(l);
        }
    }
    pthread_mutex_unlock(&l->mu);
    if (!rc) {
        int mrc = mdb_env_sync(l->e->env, 1);
        if (mrc) rc = lmdb_fail(mrc, "sync", l->root);
    }
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

/* One write transaction: pending objects, compare, head.  `data` NULL
** deletes the head instead (expected is then ignored). */
static int lmdb_head_write(lmdb_store *l, const char *branch,
                           const uint8_t *expected, size_t elen,
                           const uint8_t *data, size_t len, int del) {
    MDB_txn *txn;
    pthread_mutex_lock(&l->mu);
    int mrc = mdb_txn_begin(l->e->env, NULL, 0, &txn);
    if (mrc) {
        pthread_mutex_unlock(&l->mu);
        return lmdb_fail(mrc, "begin write", branch);
    }
    int rc = lmdb_pend_write(l, txn);
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
    } else if ((mrc = mdb_txn_commit(txn)) != 0) {
        rc = lmdb_fail(mrc, "commit", branch);
    } else {
        lmdb_pend_clear(l);
    }
    pthread_mutex_unlock(&l->mu);
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
    lmdb_pend_clear(l);
    free(l->pend);
    lmdb_env_release(l->e);
    pthread_mutex_destroy(&l->mu);
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
    lmdb_unlock_writer, lmdb_close, lmdb_destroy};

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
