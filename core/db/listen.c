/*
** listen.c — transaction listeners and the per-connection watcher thread
** (see listen.h for the contract and the picture).
**
** STATE.  A connection's dl_listen_set is created by its first listen and
** lives until the connection closes and no watcher thread uses it any more
** (refcounted: the connection holds one reference, a running watcher
** another).  The listener list, the lock and the watcher thread are the
** shared dl_lset (lset.h).  Everything in it is guarded by `mu`:
**
**   listeners   singly linked; `busy` while its callback runs, `removed`
**               once unlisten found it (it is skipped from then on)
**   queue       full reports of transactions made through this connection
**               (CBOR), keyed by commit key, until the watcher reaches them
**   inflight    transactions between tx_begin and tx_end: the watcher waits
**               for them before walking, so it never builds from the record
**               a report that the transaction is about to queue
**   gen         the watcher generation: a watcher whose generation is no
**               longer current exits at its next check without touching the
**               connection (so a callback may release the connection or
**               remove the last listener from the watcher thread itself)
**
** The watcher starts with the first listener and stops (joined) when the
** last one is removed or the connection closes.
*/
#define _GNU_SOURCE
#include "listen.h"

#include "db_internal.h"
#include "lset.h"
#include "util/buf.h"
#include "util/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LISTEN_POLL_MS 50       /* poll interval without head_wait */
#define LISTEN_WAIT_MS 100      /* one head_wait / waiter call */
#define LISTEN_MAX_WALK 100000  /* commits walked back to the last seen */
#define LISTEN_MAX_QUEUE 4096   /* own reports kept for the watcher */

typedef struct listener {
    dl_lsnr b;          /* key, callback, busy/removed (lset.h) */
    /* Reports start after the commit that was newest at listen: `start`
    ** until the watcher has processed it (armed = 0), and never one whose
    ** delivery began before the listener was added (seq). */
    uint64_t seq;
    int armed;
    char start[DL_COMMIT_KEY_MAX];
} listener;

typedef struct queued {
    struct queued *next;
    char ckey[DL_COMMIT_KEY_MAX];
    uint8_t *cbor;
    size_t len;
} queued;

typedef struct dl_listen_set {
    dl_lset ls;         /* listeners, mu, cv, watcher thread (lset.h) */
    dl_conn *conn;      /* NULL once the connection closed */
    queued *q_head, *q_tail;
    size_t q_len;
    int inflight;
    char known[DL_COMMIT_KEY_MAX]; /* last commit delivered (or seen) */
    dl_listen_wait_fn waiter;
    void *waiter_ctx;
    uint64_t seq;       /* listeners added so far */
} dl_listen_set;

static pthread_mutex_t slot_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t key_counter;

/* ---- small helpers ---- */

static int encode(const edn_value *v, int fmt, dl_buf *b) {
    switch (fmt) {
    case DATALITH_FORMAT_EDN: return edn_write(b, v);
    case DATALITH_FORMAT_JSON: return json_write(b, v);
    case DATALITH_FORMAT_CBOR: return cbor_write(b, v);
    default: return dl_err_set(DATALITH_EINVAL, "unknown format %d", fmt);
    }
}

static void queue_free_all(dl_listen_set *s) {
    while (s->q_head) {
        queued *q = s->q_head;
        s->q_head = q->next;
        free(q->cbor);
        free(q);
    }
    s->q_tail = NULL;
    s->q_len = 0;
}

static void set_unref_locked(dl_listen_set *s, int *free_it) {
    *free_it = --s->ls.refs == 0;
}

static void set_free(dl_listen_set *s) {
    dl_lset_destroy(&s->ls);
    queue_free_all(s);
    free(s);
}

static dl_listen_set *set_get(dl_conn *c, int create) {
    dl_listen_set **slot = dl_conn_listen_slot(c), *s;
    pthread_mutex_lock(&slot_mu);
    s = *slot;
    if (!s && create && (s = calloc(1, sizeof *s)) != NULL) {
        dl_lset_init(&s->ls);
        s->conn = c;
        *slot = s;
    }
    pthread_mutex_unlock(&slot_mu);
    return s;
}

static int on_watcher(const dl_listen_set *s) {
    return s->ls.have_thread && pthread_equal(pthread_self(), s->ls.thread);
}

/* ---- reports of commits made elsewhere ---- */

static edn_value kw(const char *full) { return edn_keyword_str(full); }

static int db_value(dl_arena *a, const dl_commit_meta *m, edn_value *out) {
    static const uint8_t zero[16];
    edn_value kv[6], map;
    size_t n = 0;
    kv[n++] = kw("max-eid");
    kv[n++] = edn_int((int64_t)m->max_eid);
    kv[n++] = kw("max-tx");
    kv[n++] = edn_int((int64_t)m->max_tx);
    if (memcmp(m->id, zero, 16) != 0) {
        kv[n++] = kw("commit-id");
        kv[n++] = edn_uuid(m->id);
    }
    int rc = edn_map(a, kv, n / 2, &map);
    if (rc) return rc;
    const edn_sym *tag = edn_intern_full("datahike/DB", 11);
    if (!tag) return dl_err_nomem();
    return edn_tagged(a, tag, &map, out);
}

static int datom_value(dl_arena *a, uint64_t e, const edn_sym *attr,
                       const edn_value *v, uint64_t tx, int added,
                       edn_value *out) {
    edn_value items[5], vec;
    int rc;
    items[0] = edn_int((int64_t)e);
    items[1] = edn_keyword(attr);
    if ((rc = edn_clone(a, v, &items[2])) != 0) return rc;
    items[3] = edn_int((int64_t)tx);
    items[4] = edn_bool(added);
    if ((rc = edn_vector(a, items, 5, &vec)) != 0) return rc;
    const edn_sym *tag = edn_intern_full("datahike/Datom", 14);
    if (!tag) return dl_err_nomem();
    return edn_tagged(a, tag, &vec, out);
}

/* A growable array of datom values in arena a. */
typedef struct vals {
    edn_value *v;
    size_t n, cap;
} vals;

static int vals_push(vals *x, const edn_value *v) {
    if (x->n == x->cap) {
        size_t nc = x->cap ? 2 * x->cap : 16;
        edn_value *p = realloc(x->v, nc * sizeof *p);
        if (!p) return dl_err_nomem();
        x->v = p;
        x->cap = nc;
    }
    x->v[x->n++] = *v;
    return 0;
}

/* tx-data of a logged commit: its :tx-data vector of [e :a v tx added]. */
static int txdata_from_log(dl_arena *a, const dl_commit_meta *m, vals *out) {
    edn_value v;
    int rc = cbor_read(a, m->txdata, m->txdata_len, NULL, &v);
    if (rc || v.type != EDN_VECTOR)
        return dl_err_set(DATALITH_ECORRUPT, "listen: a commit's :tx-data is not a vector");
    for (uint32_t i = 0; i < v.n; i++) {
        const edn_value *f = &v.u.items[i];
        edn_value d;
        if (f->type != EDN_VECTOR || f->n != 5 || f->u.items[0].type != EDN_INT ||
            f->u.items[1].type != EDN_KEYWORD || f->u.items[3].type != EDN_INT ||
            f->u.items[4].type != EDN_BOOL)
            return dl_err_set(DATALITH_ECORRUPT, "listen: a commit's :tx-data entry is malformed");
        if ((rc = datom_value(a, (uint64_t)f->u.items[0].u.i, f->u.items[1].u.sym,
                              &f->u.items[2], (uint64_t)f->u.items[3].u.i,
                              f->u.items[4].u.b, &d)) != 0 ||
            (rc = vals_push(out, &d)) != 0)
            return rc;
    }
    return 0;
}

/* tx-data of a commit that flushed its nodes: the difference of the two
** snapshots' EAVT indexes (datoms only in `after` are assertions; datoms
** only in `before` are retractions by after's transaction), in EAVT order. */
static int txdata_from_diff(dl_arena *a, const dl_db *before, const dl_db *after,
                            vals *out) {
    bt_cursor *x = NULL, *y = NULL;
    int rc = bt_cursor_open(&before->idx[DL_EAVT], &x);
    if (!rc) rc = bt_cursor_open(&after->idx[DL_EAVT], &y);
    if (!rc) rc = bt_cursor_first(x);
    if (!rc) rc = bt_cursor_first(y);
    while (!rc && (bt_cursor_valid(x) || bt_cursor_valid(y))) {
        dl_datom dx, dy;
        edn_value d;
        int c;
        if (bt_cursor_valid(x)) bt_cursor_get(x, &dx);
        if (bt_cursor_valid(y)) bt_cursor_get(y, &dy);
        if (!bt_cursor_valid(x)) c = 1;
        else if (!bt_cursor_valid(y)) c = -1;
        else c = dl_datom_cmp(DL_EAVT, &dx, &dy, 3);
        if (c == 0) {
            bt_cursor_next(x);
            bt_cursor_next(y);
        } else if (c < 0) {
            rc = datom_value(a, dx.e, dx.a, &dx.v, after->max_tx, 0, &d);
            if (!rc) rc = vals_push(out, &d);
            bt_cursor_next(x);
        } else {
            rc = datom_value(a, dy.e, dy.a, &dy.v, dy.tx, 1, &d);
            if (!rc) rc = vals_push(out, &d);
            bt_cursor_next(y);
        }
        if (!rc) rc = bt_cursor_error(x);
        if (!rc) rc = bt_cursor_error(y);
    }
    bt_cursor_close(x);
    bt_cursor_close(y);
    return rc;
}

/* The report of commit `key` (meta m) over its parent (meta pm) as CBOR. */
static int build_report(dl_conn *c, const char *key, const dl_commit_meta *m,
                        const dl_commit_meta *pm, dl_buf *out) {
    dl_arena a;
    vals tx = {0};
    edn_value kv[10], rep, tmp[2];
    int rc;
    dl_arena_init(&a, 0);
    if (m->txdata) {
        rc = txdata_from_log(&a, m, &tx);
    } else {
        dl_db *b = NULL, *f = NULL;
        rc = dl_conn_load_commit(c, m->parent, &b);
        if (!rc) rc = dl_conn_load_commit(c, key, &f);
        if (!rc) rc = txdata_from_diff(&a, b, f, &tx);
        dl_db_release(b);
        dl_db_release(f);
    }
    kv[0] = kw("db-before");
    if (!rc) rc = db_value(&a, pm, &kv[1]);
    kv[2] = kw("db-after");
    if (!rc) rc = db_value(&a, m, &kv[3]);
    kv[4] = kw("tx-data");
    if (!rc) rc = edn_vector(&a, tx.v, tx.n, &kv[5]);
    kv[6] = kw("tempids");
    tmp[0] = kw("db/current-tx");
    tmp[1] = edn_int((int64_t)m->max_tx);
    if (!rc) rc = edn_map(&a, tmp, 1, &kv[7]);
    kv[8] = kw("tx-meta");
    tmp[0] = kw("db/txInstant");
    tmp[1] = edn_inst(m->tx_instant);
    if (!rc) rc = edn_map(&a, tmp, 1, &kv[9]);
    if (!rc) rc = edn_map(&a, kv, 5, &rep);
    if (!rc) rc = cbor_write(out, &rep);
    free(tx.v);
    dl_arena_free(&a);
    return rc;
}

/* ---- delivery ---- */

/* Listeners waiting for commit `key` (NULL: any) to pass start now. */
static void arm(dl_listen_set *s, const char *key) {
    for (listener *l = (listener *)s->ls.head; l; l = (listener *)l->b.next)
        if (!l->armed && (!key || strcmp(l->start, key) == 0)) l->armed = 1;
}

/* Call every listener with the report (CBOR) or with an error status.
** Called and returns with s->ls.mu held; returns non-zero if this watcher
** must exit (its generation ended meanwhile). */
static int deliver(dl_listen_set *s, unsigned gen, int status, const uint8_t *cbor,
                   size_t len) {
    char *enc[3] = {NULL, NULL, NULL};
    size_t enc_len[3] = {0, 0, 0};
    uint64_t upto = s->seq;
    listener *l = (listener *)s->ls.head;
    int stop = 0;
#define SKIPPED(x) ((x)->b.removed || !(x)->armed || (x)->seq > upto)
    while (l && SKIPPED(l)) l = (listener *)l->b.next;
    while (l && !stop) {
        int fmt = l->b.fmt, rc = 0;
        dl_lset_enter(&s->ls, &l->b);
        if (!status && !enc[fmt]) {
            dl_arena a;
            edn_value v;
            dl_buf b = DL_BUF_INIT;
            dl_arena_init(&a, 0);
            rc = cbor_read(&a, cbor, len, NULL, &v);
            if (!rc) rc = encode(&v, fmt, &b);
            dl_arena_free(&a);
            if (!rc) enc[fmt] = dl_buf_detach(&b, &enc_len[fmt]);
            else dl_buf_free(&b);
            if (!rc && !enc[fmt]) rc = dl_err_nomem();
        }
        if (status) {
            l->b.fn(l->b.ctx, status, NULL, 0);
        } else if (rc) {
            l->b.fn(l->b.ctx, rc, NULL, 0);
        } else {
            l->b.fn(l->b.ctx, 0, enc[fmt], enc_len[fmt]);
        }
        l = (listener *)dl_lset_leave(&s->ls, &l->b);
        stop = s->ls.gen != gen;
        while (l && SKIPPED(l)) l = (listener *)l->b.next;
    }
#undef SKIPPED
    for (int i = 0; i < 3; i++) free(enc[i]);
    return stop || s->ls.gen != gen;
}

/* Take our own queued report for commit `key` (under mu). */
static queued *queue_take(dl_listen_set *s, const char *key) {
    for (queued **pp = &s->q_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
        queued *q = *pp;
        if (strcmp(q->ckey, key) != 0) continue;
        *pp = q->next;
        if (s->q_tail == q) s->q_tail = prev;
        s->q_len--;
        return q;
    }
    return NULL;
}

/* ---- the watcher ---- */

/* Wait for the head to move (called without mu). */
static void wait_change(dl_listen_set *s, dl_conn *c, const char *known,
                        dl_listen_wait_fn waiter, void *wctx, unsigned gen) {
    int rc = DATALITH_EUNSUPPORTED;
    if (waiter) rc = waiter(wctx, c, known, LISTEN_WAIT_MS);
    else if (!dl_conn_is_memory(c)) rc = dl_conn_wait_head(c, known, LISTEN_WAIT_MS);
    pthread_mutex_lock(&s->ls.mu);
    /* no wait function (or it failed): sleep until signalled or the poll
    ** interval passes; memory connections only learn of commits through
    ** tx_end's signal */
    if (rc != 0 && s->ls.gen == gen && !s->q_head)
        dl_lset_timed_wait(&s->ls, rc == DATALITH_EUNSUPPORTED ? LISTEN_POLL_MS : 1000);
    pthread_mutex_unlock(&s->ls.mu);
}

/* Deliver the memory connection's queued reports in order (under mu). */
static int drain_memory(dl_listen_set *s, unsigned gen) {
    while (s->q_head && s->ls.gen == gen) {
        queued *q = s->q_head;
        s->q_head = q->next;
        if (!s->q_head) s->q_tail = NULL;
        s->q_len--;
        snprintf(s->known, sizeof s->known, "%s", q->ckey);
        int stop = deliver(s, gen, 0, q->cbor, q->len);
        if (!stop) arm(s, q->ckey);
        free(q->cbor);
        free(q);
        if (stop) return 1;
    }
    return s->ls.gen != gen;
}

/* Deliver every commit after s->known up to `head` (entered and left with
** mu held; mu is dropped while reading the store). */
static int catch_up(dl_listen_set *s, dl_conn *c, unsigned gen, const char *head) {
    char (*keys)[DL_COMMIT_KEY_MAX] = NULL;
    size_t n = 0, cap = 0;
    char known[DL_COMMIT_KEY_MAX], k[DL_COMMIT_KEY_MAX];
    dl_commit_meta pm, m;
    int rc = 0, found = 0, stop = 0;
    memset(&pm, 0, sizeof pm);
    /* our own transactions in flight queue their reports first */
    while (s->inflight > 0 && s->ls.gen == gen) pthread_cond_wait(&s->ls.cv, &s->ls.mu);
    if (s->ls.gen != gen) return 1;
    memcpy(known, s->known, sizeof known);
    pthread_mutex_unlock(&s->ls.mu);
    /* newest first: head, its parent, ... back to `known` */
    snprintf(k, sizeof k, "%s", head);
    while (k[0] && n < LISTEN_MAX_WALK) {
        if (strcmp(k, known) == 0) {
            found = 1;
            break;
        }
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            void *p = realloc(keys, nc * sizeof *keys);
            if (!p) {
                rc = dl_err_nomem();
                break;
            }
            keys = p;
            cap = nc;
        }
        memcpy(keys[n++], k, sizeof k);
        if ((rc = dl_commit_meta_read(c, k, &m)) != 0) break;
        memcpy(k, m.parent, sizeof k);
        free(m.txdata);
    }
    /* not found (the branch was reset, or too far back): only the newest */
    int reset = !rc && !found;
    if (reset && n > 1) n = 1;
    if (!rc && n && (rc = dl_commit_meta_read(c, keys[n - 1], &m)) == 0) {
        free(m.txdata);
        if (m.parent[0]) rc = dl_commit_meta_read(c, m.parent, &pm);
    }
    pthread_mutex_lock(&s->ls.mu);
    for (size_t i = n; !rc && !stop && i-- > 0;) {
        queued *q = queue_take(s, keys[i]);
        dl_buf b = DL_BUF_INIT;
        int skip = 0;
        pthread_mutex_unlock(&s->ls.mu);
        rc = dl_commit_meta_read(c, keys[i], &m);
        if (!rc && !q) {
            /* a commit that changed nothing (a writer flushing its log
            ** tail on close) is no transaction */
            skip = pm.max_tx == m.max_tx && pm.hash == m.hash && m.parent[0];
            if (!skip) rc = build_report(c, keys[i], &m, &pm, &b);
        }
        free(pm.txdata);
        pm = m;
        pm.txdata = NULL;
        free(m.txdata);
        pthread_mutex_lock(&s->ls.mu);
        if (s->ls.gen != gen) stop = 1;
        if (!rc && !stop) {
            snprintf(s->known, sizeof s->known, "%s", keys[i]);
            if (q) stop = deliver(s, gen, 0, q->cbor, q->len);
            else if (!skip) stop = deliver(s, gen, 0, (const uint8_t *)b.data, b.len);
            if (!stop) arm(s, keys[i]);
        }
        if (q) {
            free(q->cbor);
            free(q);
        }
        dl_buf_free(&b);
    }
    free(pm.txdata);
    free(keys);
    if (reset && !stop && s->ls.gen == gen) arm(s, NULL); /* their start is gone */
    if (rc && !stop && s->ls.gen == gen) {
        /* tell the listeners (the thread's last error says what failed),
        ** then go on from the head */
        snprintf(s->known, sizeof s->known, "%s", head);
        arm(s, NULL);
        stop = deliver(s, gen, rc, NULL, 0);
    }
    return stop || s->ls.gen != gen;
}

static void *watch_main(void *p) {
    dl_lset_arg *wa = p;
    dl_listen_set *s = (dl_listen_set *)wa->s;
    unsigned gen = wa->gen;
    int free_it = 0, reported = 0;
    free(wa);
    pthread_mutex_lock(&s->ls.mu);
    while (s->ls.gen == gen) {
        dl_conn *c = s->conn;
        char known[DL_COMMIT_KEY_MAX], head[DL_COMMIT_KEY_MAX];
        dl_listen_wait_fn waiter = s->waiter;
        void *wctx = s->waiter_ctx;
        if (dl_conn_is_memory(c)) {
            if (drain_memory(s, gen)) break;
            pthread_cond_wait(&s->ls.cv, &s->ls.mu);
            continue;
        }
        memcpy(known, s->known, sizeof known);
        pthread_mutex_unlock(&s->ls.mu);
        wait_change(s, c, known, waiter, wctx, gen);
        pthread_mutex_lock(&s->ls.mu);
        if (s->ls.gen != gen) break;
        pthread_mutex_unlock(&s->ls.mu);
        int rc = dl_conn_head_now(c, head);
        pthread_mutex_lock(&s->ls.mu);
        if (s->ls.gen != gen) break;
        if (rc) {
            /* e.g. the database was deleted: say so once */
            if (!reported && deliver(s, gen, rc, NULL, 0)) break;
            reported = 1;
            dl_lset_timed_wait(&s->ls, 500);
            continue;
        }
        reported = 0;
        if (strcmp(head, s->known) == 0) {
            /* nothing new: reports queued for commits that are not on the
            ** branch any more (or never were) are dropped */
            if (s->inflight == 0) queue_free_all(s);
            continue;
        }
        if (catch_up(s, c, gen, head)) break;
    }
    set_unref_locked(s, &free_it);
    pthread_mutex_unlock(&s->ls.mu);
    if (free_it) set_free(s);
    return NULL;
}

/* End the watcher's generation; join it unless we are on it (under mu,
** which is dropped while joining). */
static void stop_watcher(dl_listen_set *s) { dl_lset_stop(&s->ls, NULL, NULL); }

/* ---- the contract ---- */

int dl_listen_add(dl_conn *c, const edn_value *key, int fmt, dl_listen_fn fn,
                  void *ctx, dl_arena *a, edn_value *key_out) {
    dl_listen_set *s;
    listener *l;
    edn_value k;
    char head[DL_COMMIT_KEY_MAX];
    int rc;
    if (!c || !fn || !key_out)
        return dl_err_set(DATALITH_EINVAL, "listen: NULL connection or callback");
    if (fmt != DATALITH_FORMAT_EDN && fmt != DATALITH_FORMAT_JSON &&
        fmt != DATALITH_FORMAT_CBOR)
        return dl_err_set(DATALITH_EINVAL, "listen: unknown format %d", fmt);
    if (key && key->type != EDN_NIL) {
        k = *key;
    } else {
        char name[64];
        snprintf(name, sizeof name, "datalith.listener/%llu",
                 (unsigned long long)atomic_fetch_add(&key_counter, 1) + 1);
        k = edn_keyword_str(name);
        if (k.type != EDN_KEYWORD) return dl_err_nomem();
    }
    if ((rc = edn_clone(a, &k, key_out)) != 0) return rc;
    if (!(l = calloc(1, sizeof *l)) || !(l->b.key = dl_lset_key_text(&k))) {
        free(l);
        return dl_err_nomem();
    }
    l->b.fmt = fmt;
    l->b.fn = fn;
    l->b.ctx = ctx;
    if (!(s = set_get(c, 1))) {
        free(l->b.key);
        free(l);
        return dl_err_nomem();
    }
    pthread_mutex_lock(&s->ls.mu);
    if (dl_lset_find(&s->ls, l->b.key)) {
        pthread_mutex_unlock(&s->ls.mu);
        rc = dl_err_set(DATALITH_EEXISTS, "listen: key %s is already listening", l->b.key);
        free(l->b.key);
        free(l);
        return rc;
    }
    /* deliveries start after the commit that is newest now (read under mu,
    ** so the watcher's `known` cannot pass it unseen) */
    rc = dl_conn_head_now(c, head);
    if (!rc && !s->ls.have_thread) {
        memcpy(s->known, head, sizeof head);
        queue_free_all(s);
        rc = dl_lset_start(&s->ls, watch_main);
    }
    if (rc) {
        pthread_mutex_unlock(&s->ls.mu);
        free(l->b.key);
        free(l);
        return rc;
    }
    l->seq = ++s->seq;
    l->armed = strcmp(s->known, head) == 0;
    memcpy(l->start, head, sizeof head);
    /* appended: listeners are called in the order they were added */
    dl_lset_append(&s->ls, &l->b);
    pthread_mutex_unlock(&s->ls.mu);
    return 0;
}

int dl_listen_remove(dl_conn *c, const edn_value *key) {
    dl_listen_set *s;
    dl_lsnr *l = NULL;
    char *kt;
    if (!c || !key) return dl_err_set(DATALITH_EINVAL, "unlisten: NULL argument");
    if (!(kt = dl_lset_key_text(key))) return dl_err_nomem();
    s = set_get(c, 0);
    if (s) {
        pthread_mutex_lock(&s->ls.mu);
        l = dl_lset_find(&s->ls, kt);
    }
    if (!l) {
        if (s) pthread_mutex_unlock(&s->ls.mu);
        int rc = dl_err_set(DATALITH_ENOTFOUND, "unlisten: no listener with key %s", kt);
        free(kt);
        return rc;
    }
    free(kt);
    if (!dl_lset_remove(&s->ls, l, on_watcher(s))) {
        stop_watcher(s);
        queue_free_all(s);
    }
    pthread_mutex_unlock(&s->ls.mu);
    return 0;
}

int dl_listen_tx_begin(dl_conn *c) {
    dl_listen_set *s = c ? set_get(c, 0) : NULL;
    int tok = 0;
    if (!s) return 0;
    pthread_mutex_lock(&s->ls.mu);
    if (s->ls.have_thread) {
        s->inflight++;
        tok = 1;
    }
    pthread_mutex_unlock(&s->ls.mu);
    return tok;
}

void dl_listen_tx_end(dl_conn *c, int token, const dl_db *after,
                      const edn_value *report) {
    dl_listen_set *s = c ? set_get(c, 0) : NULL;
    queued *q = NULL;
    if (!s) return;
    if (token && after && report && after->commit_key[0] &&
        (q = calloc(1, sizeof *q)) != NULL) {
        dl_buf b = DL_BUF_INIT;
        if (cbor_write(&b, report) == 0 && (q->cbor = (uint8_t *)dl_buf_detach(&b, &q->len))) {
            snprintf(q->ckey, sizeof q->ckey, "%s", after->commit_key);
        } else {
            dl_buf_free(&b);
            free(q);
            q = NULL; /* the watcher builds the report from the record */
        }
    }
    pthread_mutex_lock(&s->ls.mu);
    if (token) s->inflight--;
    if (q && s->ls.have_thread) {
        if (s->q_len >= LISTEN_MAX_QUEUE) { /* drop the oldest */
            queued *o = s->q_head;
            s->q_head = o->next;
            if (!s->q_head) s->q_tail = NULL;
            s->q_len--;
            free(o->cbor);
            free(o);
        }
        if (s->q_tail) s->q_tail->next = q;
        else s->q_head = q;
        s->q_tail = q;
        s->q_len++;
        q = NULL;
    }
    pthread_cond_broadcast(&s->ls.cv);
    pthread_mutex_unlock(&s->ls.mu);
    if (q) {
        free(q->cbor);
        free(q);
    }
}

void dl_listen_set_waiter(dl_conn *c, dl_listen_wait_fn fn, void *ctx) {
    dl_listen_set *s = c ? set_get(c, 1) : NULL;
    if (!s) return;
    pthread_mutex_lock(&s->ls.mu);
    s->waiter = fn;
    s->waiter_ctx = ctx;
    pthread_mutex_unlock(&s->ls.mu);
}

void dl_listen_conn_closing(dl_conn *c) {
    dl_listen_set **slot = dl_conn_listen_slot(c), *s;
    int free_it = 0;
    pthread_mutex_lock(&slot_mu);
    s = *slot;
    *slot = NULL;
    pthread_mutex_unlock(&slot_mu);
    if (!s) return;
    pthread_mutex_lock(&s->ls.mu);
    stop_watcher(s);
    s->conn = NULL;
    set_unref_locked(s, &free_it);
    pthread_mutex_unlock(&s->ls.mu);
    if (free_it) set_free(s);
}

/* ---- reports for a remote listener (the server's /await-commit) ---- */

int dl_listen_reports(dl_conn *c, const uint8_t known[16], const char *head,
                      size_t max, dl_arena *a, edn_value *out, int *more) {
    char (*keys)[DL_COMMIT_KEY_MAX] = NULL;
    size_t n = 0, cap = 0, nrep = 0;
    char k[DL_COMMIT_KEY_MAX];
    dl_commit_meta m, pm;
    vals reps = {0};
    int rc = 0, found = 0;
    *more = 0;
    memset(&pm, 0, sizeof pm);
    if (dl_conn_is_memory(c))
        return dl_err_set(DATALITH_EUNSUPPORTED, "reports of past commits need a "
                          "durable store (a memory database keeps no commit records)");
    snprintf(k, sizeof k, "%s", head);
    while (k[0] && n < LISTEN_MAX_WALK) {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            void *p = realloc(keys, nc * sizeof *keys);
            if (!p) {
                rc = dl_err_nomem();
                break;
            }
            keys = p;
            cap = nc;
        }
        if ((rc = dl_commit_meta_read(c, k, &m)) != 0) break;
        free(m.txdata);
        if (memcmp(m.id, known, 16) == 0) {
            found = 1;
            break;
        }
        memcpy(keys[n++], k, sizeof k);
        memcpy(k, m.parent, sizeof k);
    }
    if (!rc && !found && n > 1) n = 1; /* reset: only the newest */
    if (!rc && n && (rc = dl_commit_meta_read(c, keys[n - 1], &m)) == 0) {
        free(m.txdata);
        if (m.parent[0]) rc = dl_commit_meta_read(c, m.parent, &pm);
    }
    for (size_t i = n; !rc && i-- > 0;) {
        dl_buf b = DL_BUF_INIT;
        edn_value rep;
        if (nrep == max) {
            *more = 1;
            break;
        }
        rc = dl_commit_meta_read(c, keys[i], &m);
        if (!rc && !(pm.max_tx == m.max_tx && pm.hash == m.hash && m.parent[0])) {
            rc = build_report(c, keys[i], &m, &pm, &b);
            if (!rc) rc = cbor_read(a, (const uint8_t *)b.data, b.len, NULL, &rep);
            if (!rc) rc = vals_push(&reps, &rep);
            if (!rc) nrep++;
        }
        dl_buf_free(&b);
        free(pm.txdata);
        pm = m;
        pm.txdata = NULL;
        free(m.txdata);
    }
    free(pm.txdata);
    free(keys);
    if (!rc) rc = edn_vector(a, reps.v, reps.n, out);
    free(reps.v);
    return rc;
}
