/*
** store_memory.c — the :memory backend: objects and heads in hash tables
** that live as long as the process.
**
** Stores are named by the config's :id (a string or a UUID) in a
** process-wide registry, so two connections with the same :id share one
** store, as Datahike's memory store does.  Each dl_store handle holds a
** reference to the shared state; destroy unregisters and empties it.
**
**   registry ──▶ mem_shared{id "x", refs 2, rwlock, objs, heads, writer}
**                     ▲                 ▲
**              handle A (writer)    handle B (reader)
**
** Reads take the rwlock shared, writes exclusive.
*/
#define _GNU_SOURCE /* rwlocks, strdup */
#include "store_impl.h"

#include "util/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

typedef struct mem_entry {
    struct mem_entry *next;
    uint8_t *data;
    size_t len;
    char key[];
} mem_entry;

typedef struct mem_table {
    mem_entry **b;
    size_t nb; /* power of two, or 0 */
    size_t n;
} mem_table;

typedef struct mem_shared {
    struct mem_shared *next; /* registry chain */
    char *id;
    int refs;                /* under mem_reg_mu */
    int registered;          /* under mem_reg_mu */
    pthread_rwlock_t lk;
    mem_table objs, heads;
    const void *writer;      /* handle holding the writer lock, or NULL */
} mem_shared;

typedef struct mem_store {
    dl_store base;
    mem_shared *sh;
} mem_store;

static pthread_mutex_t mem_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static mem_shared *mem_reg;

/* ---- hash table ---- */

static size_t mem_slot(const mem_table *t, const char *key) {
    return (size_t)XXH64(key, strlen(key), 0) & (t->nb - 1);
}

static mem_entry *mem_find(const mem_table *t, const char *key) {
    if (!t->nb) return NULL;
    for (mem_entry *e = t->b[mem_slot(t, key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

static int mem_grow(mem_table *t) {
    size_t nb = t->nb ? t->nb * 2 : 64;
    mem_entry **b = calloc(nb, sizeof *b);
    if (!b) return dl_err_nomem();
    for (size_t i = 0; i < t->nb; i++) {
        mem_entry *e = t->b[i], *nx;
        for (; e; e = nx) {
            nx = e->next;
            size_t s = (size_t)XXH64(e->key, strlen(e->key), 0) & (nb - 1);
            e->next = b[s];
            b[s] = e;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
    return 0;
}

/* Insert or replace key → copy of data. */
static int mem_set(mem_table *t, const char *key, const uint8_t *data,
                   size_t len) {
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return dl_err_nomem();
    if (len) memcpy(copy, data, len);
    mem_entry *e = mem_find(t, key);
    if (e) {
        free(e->data);
        e->data = copy;
        e->len = len;
        return 0;
    }
    if (t->n >= t->nb * 3 / 4) {
        int rc = mem_grow(t);
        if (rc) {
            free(copy);
            return rc;
        }
    }
    size_t kl = strlen(key);
    e = malloc(sizeof *e + kl + 1);
    if (!e) {
        free(copy);
        return dl_err_nomem();
    }
    memcpy(e->key, key, kl + 1);
    e->data = copy;
    e->len = len;
    size_t s = mem_slot(t, key);
    e->next = t->b[s];
    t->b[s] = e;
    t->n++;
    return 0;
}

static void mem_remove(mem_table *t, const char *key) {
    if (!t->nb) return;
    for (mem_entry **pp = &t->b[mem_slot(t, key)]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            mem_entry *e = *pp;
            *pp = e->next;
            free(e->data);
            free(e);
            t->n--;
            return;
        }
    }
}

static void mem_clear(mem_table *t) {
    for (size_t i = 0; i < t->nb; i++) {
        mem_entry *e = t->b[i], *nx;
        for (; e; e = nx) {
            nx = e->next;
            free(e->data);
            free(e);
        }
    }
    free(t->b);
    t->b = NULL;
    t->nb = t->n = 0;
}

static int mem_copy_out(const mem_entry *e, uint8_t **out, size_t *len) {
    uint8_t *c = malloc(e->len ? e->len : 1);
    if (!c) return dl_err_nomem();
    if (e->len) memcpy(c, e->data, e->len);
    *out = c;
    *len = e->len;
    return 0;
}

/* ---- vtable ---- */

static int mem_get(dl_store *s, const char *key, uint8_t **out, size_t *len) {
    mem_shared *sh = ((mem_store *)s)->sh;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    pthread_rwlock_rdlock(&sh->lk);
    mem_entry *e = mem_find(&sh->objs, key);
    rc = e ? mem_copy_out(e, out, len)
           : dl_err_set(DATALITH_ENOTFOUND, "object '%s' not found", key);
    pthread_rwlock_unlock(&sh->lk);
    return rc;
}

static int mem_put(dl_store *s, const char *key, const uint8_t *data,
                   size_t len) {
    mem_shared *sh = ((mem_store *)s)->sh;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    pthread_rwlock_wrlock(&sh->lk);
    rc = mem_set(&sh->objs, key, data, len);
    pthread_rwlock_unlock(&sh->lk);
    return rc;
}

static int mem_del(dl_store *s, const char *key) {
    mem_shared *sh = ((mem_store *)s)->sh;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    pthread_rwlock_wrlock(&sh->lk);
    mem_remove(&sh->objs, key);
    pthread_rwlock_unlock(&sh->lk);
    return 0;
}

static int mem_list(dl_store *s, const char *prefix,
                    int (*cb)(void *ctx, const char *key), void *ctx) {
    mem_shared *sh = ((mem_store *)s)->sh;
    size_t pl = prefix ? strlen(prefix) : 0;
    /* Snapshot the matching keys so cb may call back into the store. */
    pthread_rwlock_rdlock(&sh->lk);
    size_t n = 0, cap = 0;
    char **keys = NULL;
    int rc = 0;
    for (size_t i = 0; i < sh->objs.nb && !rc; i++) {
        for (mem_entry *e = sh->objs.b[i]; e && !rc; e = e->next) {
            if (pl && strncmp(e->key, prefix, pl) != 0) continue;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                char **k = realloc(keys, nc * sizeof *k);
                if (!k) {
                    rc = dl_err_nomem();
                    break;
                }
                keys = k;
                cap = nc;
            }
            if (!(keys[n] = strdup(e->key))) rc = dl_err_nomem();
            else n++;
        }
    }
    pthread_rwlock_unlock(&sh->lk);
    for (size_t i = 0; i < n && !rc; i++) rc = cb(ctx, keys[i]);
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
    return rc;
}

static int mem_sync(dl_store *s) {
    (void)s;
    return 0;
}

static int mem_head_get(dl_store *s, const char *branch, uint8_t **out,
                        size_t *len) {
    mem_shared *sh = ((mem_store *)s)->sh;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    pthread_rwlock_rdlock(&sh->lk);
    mem_entry *e = mem_find(&sh->heads, branch);
    rc = e ? mem_copy_out(e, out, len)
           : dl_err_set(DATALITH_ENOTFOUND, "head '%s' not found", branch);
    pthread_rwlock_unlock(&sh->lk);
    return rc;
}

static int mem_head_cas(dl_store *s, const char *branch,
                        const uint8_t *expected, size_t elen,
                        const uint8_t *data, size_t len) {
    mem_shared *sh = ((mem_store *)s)->sh;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    pthread_rwlock_wrlock(&sh->lk);
    mem_entry *e = mem_find(&sh->heads, branch);
    int match = expected ? (e && e->len == elen &&
                            (elen == 0 || memcmp(e->data, expected, elen) == 0))
                         : e == NULL;
    if (!match)
        rc = dl_err_set(DATALITH_ECONFLICT,
                        "head '%s' was changed by another writer", branch);
    else
        rc = mem_set(&sh->heads, branch, data, len);
    pthread_rwlock_unlock(&sh->lk);
    return rc;
}

static int mem_head_del(dl_store *s, const char *branch) {
    mem_shared *sh = ((mem_store *)s)->sh;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    pthread_rwlock_wrlock(&sh->lk);
    mem_remove(&sh->heads, branch);
    pthread_rwlock_unlock(&sh->lk);
    return 0;
}

static int mem_lock_writer(dl_store *s) {
    mem_shared *sh = ((mem_store *)s)->sh;
    int rc = 0;
    pthread_rwlock_wrlock(&sh->lk);
    if (sh->writer == NULL)
        sh->writer = s;
    else if (sh->writer != s)
        rc = dl_err_set(DATALITH_ELOCKED,
                        "database is locked by another writer (pid %ld)",
                        (long)getpid());
    pthread_rwlock_unlock(&sh->lk);
    return rc;
}

static void mem_unlock_writer(dl_store *s) {
    mem_shared *sh = ((mem_store *)s)->sh;
    pthread_rwlock_wrlock(&sh->lk);
    if (sh->writer == s) sh->writer = NULL;
    pthread_rwlock_unlock(&sh->lk);
}

static void mem_shared_free(mem_shared *sh) {
    mem_clear(&sh->objs);
    mem_clear(&sh->heads);
    pthread_rwlock_destroy(&sh->lk);
    free(sh->id);
    free(sh);
}

static void mem_unregister_locked(mem_shared *sh) {
    if (!sh->registered) return;
    for (mem_shared **pp = &mem_reg; *pp; pp = &(*pp)->next) {
        if (*pp == sh) {
            *pp = sh->next;
            break;
        }
    }
    sh->registered = 0;
}

static void mem_close(dl_store *s) {
    mem_store *m = (mem_store *)s;
    mem_unlock_writer(s);
    pthread_mutex_lock(&mem_reg_mu);
    int last = --m->sh->refs == 0;
    /* An unreferenced store stays registered: Datahike's memory stores
    ** outlive their connections until deleted. */
    int drop = last && !m->sh->registered;
    pthread_mutex_unlock(&mem_reg_mu);
    if (drop) mem_shared_free(m->sh);
    free(m);
}

static int mem_destroy(dl_store *s) {
    mem_shared *sh = ((mem_store *)s)->sh;
    pthread_mutex_lock(&mem_reg_mu);
    mem_unregister_locked(sh);
    pthread_mutex_unlock(&mem_reg_mu);
    pthread_rwlock_wrlock(&sh->lk);
    mem_clear(&sh->objs);
    mem_clear(&sh->heads);
    pthread_rwlock_unlock(&sh->lk);
    mem_close(s);
    return 0;
}

static const dl_store_vtable mem_vtable = {
    DL_STORE_VTABLE_V1, "memory", mem_get, mem_put, mem_del, mem_list,
    mem_sync, mem_head_get, mem_head_cas, mem_head_del, mem_lock_writer,
    mem_unlock_writer, mem_close, mem_destroy, NULL};

/* ---- open ---- */

/* The registry name of a config's :id: "s:<text>" or "u:<uuid hex>", so a
** string id never collides with a UUID id. */
static int mem_id(const edn_value *cfg, char **out) {
    const edn_value *v = edn_map_getk(cfg, "id");
    if (!v)
        return dl_err_set(DATALITH_EINVAL, "store config is missing :id");
    char *id;
    if (v->type == EDN_STRING) {
        id = malloc(v->n + 3);
        if (!id) return dl_err_nomem();
        memcpy(id, "s:", 2);
        memcpy(id + 2, v->u.s, v->n);
        id[v->n + 2] = 0;
    } else if (v->type == EDN_UUID) {
        id = malloc(2 + 32 + 1);
        if (!id) return dl_err_nomem();
        memcpy(id, "u:", 2);
        for (int i = 0; i < 16; i++)
            snprintf(id + 2 + 2 * i, 3, "%02x", v->u.uuid[i]);
    } else {
        return dl_err_set(DATALITH_EINVAL,
                          "store config :id must be a string or a UUID");
    }
    *out = id;
    return 0;
}

static mem_shared *mem_lookup_locked(const char *id) {
    for (mem_shared *sh = mem_reg; sh; sh = sh->next)
        if (strcmp(sh->id, id) == 0) return sh;
    return NULL;
}

int dl_store_memory_exists(const edn_value *cfg, int *out) {
    char *id;
    int rc = mem_id(cfg, &id);
    if (rc) return rc;
    pthread_mutex_lock(&mem_reg_mu);
    *out = mem_lookup_locked(id) != NULL;
    pthread_mutex_unlock(&mem_reg_mu);
    free(id);
    return 0;
}

int dl_store_memory_open(const edn_value *cfg, int create, dl_store **out) {
    char *id;
    int rc = mem_id(cfg, &id);
    if (rc) return rc;
    mem_store *m = calloc(1, sizeof *m);
    if (!m) {
        free(id);
        return dl_err_nomem();
    }
    m->base.vt = &mem_vtable;
    pthread_mutex_lock(&mem_reg_mu);
    mem_shared *sh = mem_lookup_locked(id);
    if (!sh && !create) {
        pthread_mutex_unlock(&mem_reg_mu);
        free(id);
        free(m);
        return dl_err_set(DATALITH_ENOTFOUND, "Backend does not exist.");
    }
    if (!sh) {
        sh = calloc(1, sizeof *sh);
        if (!sh || pthread_rwlock_init(&sh->lk, NULL) != 0) {
            pthread_mutex_unlock(&mem_reg_mu);
            free(sh);
            free(id);
            free(m);
            return dl_err_nomem();
        }
        sh->id = id;
        id = NULL;
        sh->registered = 1;
        sh->next = mem_reg;
        mem_reg = sh;
    }
    sh->refs++;
    pthread_mutex_unlock(&mem_reg_mu);
    free(id);
    m->sh = sh;
    *out = &m->base;
    return 0;
}
