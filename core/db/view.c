/*
** view.c — history, as-of, since and filtered views of a database value,
** and the view-aware scan (view.h has the model and the as-of fold).
**
** A scan is a small pipeline pulled one datom at a time:
**
**   cursor(temporal twin) ─┐
**                          ├─ merge (5-key order, equal once) ─┐
**   cursor(current)  ──────┘                                   │
**                                            [as-of: fold per [e a v]]
**                                                              │
**                            tx bounds (as-of / since) ── filters ──▶ out
**
** Plain and since views read only the current tree.  Cursors are advanced
** lazily (on the call after the one that returned their datom) so a datom
** handed out stays valid, and the fold can push one datom back.
*/
#include "view.h"
#include "db_internal.h"

#include "schema.h"
#include "util/arena.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- views ---- */

void dl_view_filter_unref(dl_view_filter_link *f) {
    while (f && atomic_fetch_sub(&f->refs, 1) == 1) {
        dl_view_filter_link *next = f->next;
        if (f->free_ctx) f->free_ctx(f->ctx);
        free(f);
        f = next;
    }
}

void dl_view_release(dl_db *db) {
    if (!db) return;
    if (atomic_fetch_sub(&db->refs, 1) != 1) return;
    dl_view_filter_link *f = db->filter;
    db->filter = NULL;
    atomic_store(&db->refs, 1);
    dl_db_release(db);
    dl_view_filter_unref(f);
}

/* A new value sharing src's trees, schema, counters and view. */
static int derive(const dl_db *src, dl_db **out) {
    dl_db *db;
    int rc = dl_db_alloc(src->env, &db);
    if (rc) return rc;
    for (int i = 0; i < DL_INDEX_COUNT; i++) {
        bt_tree_release(&db->idx[i]);
        bt_tree_copy(&db->idx[i], &src->idx[i]);
    }
    db->schema = src->schema;
    dl_schema_retain(db->schema);
    db->max_eid = src->max_eid;
    db->max_tx = src->max_tx;
    db->last_tx_instant = src->last_tx_instant;
    db->hash = src->hash;
    memcpy(db->commit_key, src->commit_key, sizeof db->commit_key);
    memcpy(db->commit_id, src->commit_id, sizeof db->commit_id);
    memcpy(db->parent_key, src->parent_key, sizeof db->parent_key);
    db->view = src->view;
    db->as_of_tx = src->as_of_tx;
    db->since_tx = src->since_tx;
    db->filter = src->filter;
    if (db->filter) atomic_fetch_add(&db->filter->refs, 1);
    *out = db;
    return 0;
}

static int need_history(const dl_db *db, const char *op) {
    if (!db->config->keep_history)
        return dl_err_set(DATALITH_EUNSUPPORTED,
                          "%s is only allowed on temporal indexed databases.",
                          op);
    return 0;
}

int dl_view_tx_at(const dl_db *db, int64_t ms, uint64_t *out) {
    const edn_sym *a = edn_intern_full("db/txInstant", 12);
    bt_cursor *c = NULL;
    dl_datom key, d;
    int rc;
    if (!a) return dl_err_nomem();
    *out = DL_TX0;
    memset(&key, 0, sizeof key);
    key.a = a;
    if ((rc = bt_cursor_open(&db->idx[DL_AEVT], &c)) != 0) return rc;
    rc = bt_cursor_seek(c, &key, 1, 0);
    while (!rc && bt_cursor_valid(c)) {
        bt_cursor_get(c, &d);
        if (d.a != a) break;
        if (d.v.type == EDN_INST && d.v.u.ms <= ms && d.e > *out) *out = d.e;
        rc = bt_cursor_next(c);
    }
    if (!rc) rc = bt_cursor_error(c);
    bt_cursor_close(c);
    return rc;
}

/* A time point as a tx id: an id as given (checked against tx0 when
** `strict`), an instant through dl_view_tx_at. */
static int time_point(const dl_db *db, const edn_value *tp, const char *op,
                      bool strict, uint64_t *out) {
    if (!tp)
        return dl_err_set(DATALITH_EINVAL, "%s: NULL time point", op);
    if (tp->type == EDN_INT) {
        if (strict && tp->u.i < (int64_t)DL_TX0)
            return dl_err_set(DATALITH_EINVAL,
                              "Invalid transaction ID. Must be bigger than "
                              "%llu.",
                              (unsigned long long)DL_TX0);
        *out = tp->u.i < 0 ? 0 : (uint64_t)tp->u.i;
        return 0;
    }
    if (tp->type == EDN_INST) return dl_view_tx_at(db, tp->u.ms, out);
    return dl_err_set(DATALITH_ETYPE,
                      "%s: the time point must be a transaction id or an "
                      "#inst, got a %s",
                      op, edn_type_name((edn_type)tp->type));
}

int dl_view_history(const dl_db *db, dl_db **out) {
    int rc;
    if (!db || !out) return dl_err_set(DATALITH_EINVAL, "history: NULL argument");
    if ((rc = need_history(db, "history")) != 0) return rc;
    if ((rc = derive(db, out)) != 0) return rc;
    (*out)->view |= DL_VIEW_HISTORY;
    return 0;
}

int dl_view_as_of(const dl_db *db, const edn_value *tp, dl_db **out) {
    uint64_t t;
    int rc;
    if (!db || !out) return dl_err_set(DATALITH_EINVAL, "as-of: NULL argument");
    if ((rc = need_history(db, "as-of")) != 0) return rc;
    if ((rc = time_point(db, tp, "as-of", true, &t)) != 0) return rc;
    if ((rc = derive(db, out)) != 0) return rc;
    if (!((*out)->view & DL_VIEW_AS_OF) || t < (*out)->as_of_tx)
        (*out)->as_of_tx = t;
    (*out)->view |= DL_VIEW_AS_OF;
    return 0;
}

int dl_view_since(const dl_db *db, const edn_value *tp, dl_db **out) {
    uint64_t t;
    int rc;
    if (!db || !out) return dl_err_set(DATALITH_EINVAL, "since: NULL argument");
    if ((rc = need_history(db, "since")) != 0) return rc;
    if ((rc = time_point(db, tp, "since", false, &t)) != 0) return rc;
    if ((rc = derive(db, out)) != 0) return rc;
    if (!((*out)->view & DL_VIEW_SINCE) || t > (*out)->since_tx)
        (*out)->since_tx = t;
    (*out)->view |= DL_VIEW_SINCE;
    return 0;
}

int dl_view_filter(const dl_db *db, dl_view_pred fn, void *ctx,
                   void (*free_ctx)(void *), dl_db **out) {
    dl_view_filter_link *f;
    dl_db *v;
    int rc;
    if (!db || !fn || !out) {
        if (free_ctx) free_ctx(ctx);
        return dl_err_set(DATALITH_EINVAL, "filter: NULL argument");
    }
    if (!(f = calloc(1, sizeof *f))) {
        if (free_ctx) free_ctx(ctx);
        return dl_err_nomem();
    }
    if ((rc = derive(db, &v)) != 0) {
        if (free_ctx) free_ctx(ctx);
        free(f);
        return rc;
    }
    atomic_init(&f->refs, 1);
    f->fn = fn;
    f->ctx = ctx;
    f->free_ctx = free_ctx;
    f->next = v->filter; /* the reference derive took moves to f */
    v->filter = f;
    *out = v;
    return 0;
}

/* ---- scans ---- */

typedef struct fold_ent {
    uint64_t tx;
    bool added;
} fold_ent;

struct dl_scan {
    const dl_db *db;
    dl_index order;        /* current order, for bounds and grouping */
    dl_index sorder;       /* the order sources are merged in */
    bool reverse, fold;
    const dl_datom *lo, *hi;
    unsigned lo_nf, hi_nf;   /* as given */
    unsigned slo_nf, shi_nf; /* as the sources apply them */
    int nsrc;
    bt_cursor *c[2];
    bool is_current[2];
    bool adv[2], done[2];
    bool pushed;
    dl_datom saved;
    /* fold */
    dl_arena arena;
    dl_arena_mark mark;
    dl_datom key;
    fold_ent *ents;
    size_t n_ents, cap_ents;
};

void dl_scan_close(dl_scan *s) {
    if (!s) return;
    for (int i = 0; i < s->nsrc; i++) bt_cursor_close(s->c[i]);
    dl_arena_free(&s->arena);
    free(s->ents);
    free(s);
}

static int position(dl_scan *s, int i) {
    bt_cursor *c = s->c[i];
    if (!s->reverse)
        return s->lo && s->slo_nf ? bt_cursor_seek(c, s->lo, s->slo_nf, 0)
                                  : bt_cursor_first(c);
    return s->hi && s->shi_nf ? bt_cursor_seek_rev(c, s->hi, s->shi_nf, 1)
                              : bt_cursor_last(c);
}

int dl_scan_open(const dl_db *db, dl_index order, const dl_datom *lo,
                 unsigned lo_nf, const dl_datom *hi, unsigned hi_nf,
                 bool reverse, dl_scan **out) {
    dl_scan *s;
    int rc = 0;
    if (!db || !out || order > DL_AVET)
        return dl_err_set(DATALITH_EINVAL, "dl_scan_open: bad argument");
    if (!(s = calloc(1, sizeof *s))) return dl_err_nomem();
    s->db = db;
    s->order = order;
    s->reverse = reverse;
    s->lo = lo_nf ? lo : NULL;
    s->hi = hi_nf ? hi : NULL;
    s->lo_nf = s->slo_nf = lo_nf > 4 ? 4 : lo_nf;
    s->hi_nf = s->shi_nf = hi_nf > 4 ? 4 : hi_nf;
    dl_arena_init(&s->arena, 0);
    s->mark = dl_arena_save(&s->arena);
    bool temporal = (db->view & (DL_VIEW_HISTORY | DL_VIEW_AS_OF)) != 0;
    s->fold = (db->view & DL_VIEW_AS_OF) && !(db->view & DL_VIEW_HISTORY);
    if (s->fold) {
        /* The fold needs whole [e a v] groups: the sources stop at three
        ** components, the tx bound is applied to the folded datoms. */
        if (s->slo_nf > 3) s->slo_nf = 3;
        if (s->shi_nf > 3) s->shi_nf = 3;
    }
    if (temporal) {
        s->sorder = (dl_index)(order + DL_TEAVT);
        s->nsrc = 2;
        s->is_current[1] = true;
        rc = bt_cursor_open(&db->idx[s->sorder], &s->c[0]);
        if (!rc) rc = bt_cursor_open(&db->idx[order], &s->c[1]);
    } else {
        s->sorder = order;
        s->nsrc = 1;
        s->is_current[0] = true;
        rc = bt_cursor_open(&db->idx[order], &s->c[0]);
    }
    for (int i = 0; !rc && i < s->nsrc; i++) rc = position(s, i);
    if (rc) {
        dl_scan_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Re-aim an open forward scan at new bounds in the same order, keeping its
** cursors (no allocation): cheaper than close + open when a caller probes
** many small ranges (the query engine's index nested loop).  Returns 1 and
** changes nothing for a scan it cannot re-aim (reverse, or an as-of fold);
** the caller then closes and opens. */
int dl_scan_reseek(dl_scan *s, const dl_datom *lo, unsigned lo_nf,
                   const dl_datom *hi, unsigned hi_nf) {
    if (!s || s->reverse || s->fold) return 1;
    s->lo = lo_nf ? lo : NULL;
    s->hi = hi_nf ? hi : NULL;
    s->lo_nf = s->slo_nf = lo_nf > 4 ? 4 : lo_nf;
    s->hi_nf = s->shi_nf = hi_nf > 4 ? 4 : hi_nf;
    s->pushed = false;
    for (int i = 0; i < s->nsrc; i++) s->adv[i] = s->done[i] = false;
    for (int i = 0; i < s->nsrc; i++) {
        int rc = position(s, i);
        if (rc) return rc;
    }
    return 0;
}

/* The next datom of the merged sources within the source bounds. */
static int raw_next(dl_scan *s, dl_datom *out) {
    dl_datom h[2];
    bool have[2] = {false, false};
    int rc;
    if (s->pushed) {
        s->pushed = false;
        *out = s->saved;
        return 1;
    }
    for (int i = 0; i < s->nsrc; i++) {
        if (s->adv[i]) {
            s->adv[i] = false;
            rc = s->reverse ? bt_cursor_prev(s->c[i]) : bt_cursor_next(s->c[i]);
            if (rc) return rc;
        }
        if (s->done[i]) continue;
        if (!bt_cursor_valid(s->c[i])) {
            if ((rc = bt_cursor_error(s->c[i])) != 0) return rc;
            s->done[i] = true;
            continue;
        }
        bt_cursor_get(s->c[i], &h[i]);
        if (s->is_current[i]) h[i].added = true;
        if ((!s->reverse && s->hi &&
             dl_datom_cmp(s->order, &h[i], s->hi, s->shi_nf) > 0) ||
            (s->reverse && s->lo &&
             dl_datom_cmp(s->order, &h[i], s->lo, s->slo_nf) < 0)) {
            s->done[i] = true;
            continue;
        }
        have[i] = true;
    }
    int pick;
    if (have[0] && have[1]) {
        int c = dl_datom_cmp(s->sorder, &h[0], &h[1], 5);
        if (s->reverse) c = -c;
        pick = c <= 0 ? 0 : 1;
        if (c == 0) s->adv[1] = true;
    } else if (have[0]) {
        pick = 0;
    } else if (have[1]) {
        pick = 1;
    } else {
        return 0;
    }
    s->adv[pick] = true;
    *out = h[pick];
    return 1;
}

static int push_ent(dl_scan *s, const dl_datom *d) {
    if (s->n_ents == s->cap_ents) {
        size_t cap = s->cap_ents ? s->cap_ents * 2 : 16;
        fold_ent *e = realloc(s->ents, cap * sizeof *e);
        if (!e) return dl_err_nomem();
        s->ents = e;
        s->cap_ents = cap;
    }
    s->ents[s->n_ents].tx = d->tx;
    s->ents[s->n_ents].added = d->added;
    s->n_ents++;
    return 0;
}

/* The next [e a v] present as of s->db->as_of_tx (view.h: the fold). */
static int fold_next(dl_scan *s, dl_datom *out) {
    uint64_t t = s->db->as_of_tx;
    for (;;) {
        dl_datom d;
        int rc = raw_next(s, &d);
        if (rc <= 0) return rc;
        dl_arena_restore(&s->arena, s->mark);
        s->key = d;
        if ((rc = edn_clone(&s->arena, &d.v, &s->key.v)) != 0) return rc;
        s->n_ents = 0;
        if ((rc = push_ent(s, &d)) != 0) return rc;
        for (;;) {
            rc = raw_next(s, &d);
            if (rc < 0) return rc;
            if (rc == 0) break;
            if (dl_datom_cmp(s->order, &d, &s->key, 3) != 0) {
                s->pushed = true;
                s->saved = d;
                break;
            }
            if ((rc = push_ent(s, &d)) != 0) return rc;
        }
        /* Entries ascending by tx (the reverse scan collected them
        ** descending); per tx: only asserts ⇒ present, only retracts ⇒
        ** absent, both ⇒ unchanged. */
        bool present = false;
        uint64_t ptx = 0;
        size_t n = s->n_ents;
        for (size_t k = 0; k < n;) {
            size_t i = s->reverse ? n - 1 - k : k;
            uint64_t tx = s->ents[i].tx;
            bool has_t = false, has_f = false;
            if (tx > t) break;
            while (k < n) {
                i = s->reverse ? n - 1 - k : k;
                if (s->ents[i].tx != tx) break;
                if (s->ents[i].added) has_t = true;
                else has_f = true;
                k++;
            }
            if (has_t && !has_f) {
                present = true;
                ptx = tx;
            } else if (has_f && !has_t) {
                present = false;
            } else if (present) {
                ptx = tx;
            }
        }
        if (!present) continue;
        *out = s->key;
        out->tx = ptx;
        out->added = true;
        return 1;
    }
}

int dl_scan_next(dl_scan *s, dl_datom *out) {
    const dl_db *db = s->db;
    for (;;) {
        dl_datom d;
        int rc = s->fold ? fold_next(s, &d) : raw_next(s, &d);
        if (rc <= 0) return rc;
        if (s->fold) {
            if (s->lo && dl_datom_cmp(s->order, &d, s->lo, s->lo_nf) < 0) continue;
            if (s->hi && dl_datom_cmp(s->order, &d, s->hi, s->hi_nf) > 0) continue;
        } else if ((db->view & DL_VIEW_AS_OF) && d.tx > db->as_of_tx) {
            continue;
        }
        if ((db->view & DL_VIEW_SINCE) && d.tx <= db->since_tx) continue;
        int keep = 1;
        for (const dl_view_filter_link *f = db->filter; f && keep > 0; f = f->next)
            keep = f->fn(f->ctx, &d);
        if (keep < 0) return keep;
        if (!keep) continue;
        *out = d;
        return 1;
    }
}
