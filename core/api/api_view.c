/*
** api_view.c — the public facade of views and reads (spec/api.edn: time,
** index, pull and write categories): history, as-of, since, filter,
** is-filtered, datoms / seek-datoms / rseek-datoms, index-range, entity,
** metrics, tempid, with and db-with.
**
** Every read goes through dl_scan (core/db/view.h), so each works on every
** view.  The implementations follow api_db.c's shape (the generated entry
** points in dispatch_gen.c check the arguments and forward remote-peer
** snapshots): decode value arguments into a per-call arena, call the
** engine, encode the result in the caller's format, free the arena.
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"

#include "api_util.h"
#include "impl_gen.h"

#include "db/db.h"
#include "db/schema.h"
#include "db/tx.h"
#include "db/view.h"
#include "remote/remote.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "value/value.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TO_DB(d) ((dl_db *)(void *)(d))
#define TO_H(d) ((datalith_db *)(void *)(d))

/* Shared with api_db.c (datalith_datoms delegates here). */
int api_index_datoms(datalith_db *dbh, const char *args, size_t args_len,
                     int fmt, int mode, char **out, size_t *out_len);

enum { SCAN_DATOMS = 0, SCAN_SEEK = 1, SCAN_RSEEK = 2 };

/* ---- values in and out ---- */

static edn_value kw(const char *full) { return edn_keyword_str(full); }

/* A growable vector of values in an arena. */
typedef struct vals {
    dl_arena *a;
    edn_value *items;
    size_t n, cap;
} vals;

static int vals_push(vals *v, const edn_value *x) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        edn_value *p = v->items
                           ? dl_arena_realloc(v->a, v->items, v->cap * sizeof *p,
                                              cap * sizeof *p)
                           : dl_arena_alloc(v->a, cap * sizeof *p);
        if (!p) return DATALITH_ENOMEM;
        v->items = p;
        v->cap = cap;
    }
    v->items[v->n++] = *x;
    return 0;
}

/* ---- entity ids ---- */

/* Resolve an entity: an id, a keyword ident or a lookup ref [attr value] on
** a unique attribute, in db's view.  *found 0 when nothing matches. */
static int resolve_eid(const dl_db *db, const edn_value *v, uint64_t *out,
                       int *found) {
    dl_datom key, d;
    dl_scan *s;
    int rc;
    *found = 1;
    if (v->type == EDN_INT && v->u.i >= 0) {
        *out = (uint64_t)v->u.i;
        return DATALITH_OK;
    }
    memset(&key, 0, sizeof key);
    if (v->type == EDN_KEYWORD) {
        key.a = edn_intern_full("db/ident", 8);
        if (!key.a) return dl_err_nomem();
        key.v = *v;
    } else if (edn_is_seq(v) && v->n == 2 &&
               v->u.items[0].type == EDN_KEYWORD) {
        const dl_attr *at = dl_schema_attr(db->schema, v->u.items[0].u.sym);
        if (!at || !at->unique)
            return dl_err_set(DATALITH_EINVAL,
                              "Lookup ref attribute should be marked as "
                              ":db/unique: [:%s ...]",
                              v->u.items[0].u.sym->full);
        key.a = v->u.items[0].u.sym;
        key.v = v->u.items[1];
    } else {
        return dl_err_set(DATALITH_ETYPE,
                          "Expected number or lookup ref for entity id, got "
                          "a %s",
                          edn_type_name((edn_type)v->type));
    }
    *found = 0;
    if ((rc = dl_scan_open(db, DL_AVET, &key, 2, &key, 2, false, &s)) != 0)
        return rc;
    while ((rc = dl_scan_next(s, &d)) == 1) {
        if (!d.added) continue;
        *out = d.e;
        *found = 1;
        break;
    }
    dl_scan_close(s);
    return rc < 0 ? rc : 0;
}

/* ---- datoms, seek-datoms, rseek-datoms ---- */

static const char *mode_name(int mode) {
    return mode == SCAN_SEEK ? "seek-datoms"
                             : mode == SCAN_RSEEK ? "rseek-datoms" : "datoms";
}

static int index_of(const edn_value *v, const char *op, dl_index *out) {
    static const char *names[] = {"eavt", "aevt", "avet"};
    if (v && v->type == EDN_KEYWORD && !v->u.sym->ns) {
        for (int i = 0; i < 3; i++)
            if (!strcmp(v->u.sym->name, names[i])) {
                *out = (dl_index)i;
                return DATALITH_OK;
            }
    }
    return dl_err_set(DATALITH_EINVAL,
                      "%s: :index must be one of :eavt :aevt :avet", op);
}

/* Collect a scan into a vector of datom values. */
static int scan_collect(dl_arena *a, const dl_db *db, dl_index order,
                        const dl_datom *lo, unsigned lo_nf, const dl_datom *hi,
                        unsigned hi_nf, bool reverse, edn_value *result) {
    vals acc = {a, NULL, 0, 0};
    dl_scan *s;
    dl_datom d;
    int rc = dl_scan_open(db, order, lo, lo_nf, hi, hi_nf, reverse, &s);
    if (rc) return rc;
    while ((rc = dl_scan_next(s, &d)) == 1) {
        edn_value v;
        if ((rc = dl_api_datom_value(a, &d, &v)) != 0 || (rc = vals_push(&acc, &v)) != 0)
            break;
    }
    dl_scan_close(s);
    if (rc < 0) return rc;
    return edn_vector(a, acc.items, acc.n, result);
}

int api_index_datoms(datalith_db *dbh, const char *args, size_t args_len,
                     int fmt, int mode, char **out, size_t *out_len) {
    static const char roles[3][4] = {{'e', 'a', 'v', 't'},
                                     {'a', 'e', 'v', 't'},
                                     {'a', 'v', 'e', 't'}};
    const char *op = mode_name(mode);
    dl_arena a;
    edn_value in, result;
    dl_db *db = TO_DB(dbh);
    dl_index order = DL_EAVT;
    dl_datom key;
    unsigned nf = 0;
    int rc, empty = 0;

    dl_arena_init(&a, 0);
    memset(&key, 0, sizeof key);
    rc = dl_api_read(&a, args, args_len, fmt, op, &in);
    if (rc) goto done;
    if (in.type != EDN_MAP) {
        rc = dl_err_set(DATALITH_EINVAL,
                        "%s: expected a map {:index … :components […]}", op);
        goto done;
    }
    if ((rc = index_of(edn_map_getk(&in, "index"), op, &order)) != 0) goto done;
    const edn_value *comps = edn_map_getk(&in, "components");
    if (comps && comps->type != EDN_NIL && !edn_is_seq(comps)) {
        rc = dl_err_set(DATALITH_EINVAL, "%s: :components must be a vector", op);
        goto done;
    }
    size_t ncomp = comps && comps->type != EDN_NIL ? comps->n : 0;
    if (ncomp > 4) {
        rc = dl_err_set(DATALITH_EINVAL, "%s: at most 4 components", op);
        goto done;
    }
    for (size_t i = 0; i < ncomp && !rc; i++) {
        const edn_value *c = &comps->u.items[i];
        switch (roles[order][i]) {
        case 'e': {
            int found;
            rc = resolve_eid(db, c, &key.e, &found);
            if (!rc && !found) empty = 1;
            break;
        }
        case 'a':
            if (c->type != EDN_KEYWORD) {
                rc = dl_err_set(DATALITH_ETYPE,
                                "%s: attribute component must be a keyword", op);
                break;
            }
            key.a = c->u.sym;
            if (dl_schema_flexibility(db->schema) == DL_FLEX_WRITE &&
                !dl_schema_attr(db->schema, key.a))
                rc = dl_err_set(DATALITH_ESCHEMA,
                                "Bad entity attribute :%s at nil, not defined "
                                "in current schema",
                                key.a->full);
            break;
        case 'v': {
            /* a ref attribute's value may be named by ident or lookup ref,
            ** as the entity component can */
            const dl_attr *at = key.a ? dl_schema_attr(db->schema, key.a) : NULL;
            key.v = *c;
            if (at && at->ref && c->type != EDN_INT) {
                uint64_t ve = 0;
                int found;
                rc = resolve_eid(db, c, &ve, &found);
                if (!rc && !found) empty = 1;
                key.v = edn_int((int64_t)ve);
            }
            break;
        }
        case 't':
            if (c->type != EDN_INT) {
                rc = dl_err_set(DATALITH_ETYPE,
                                "%s: transaction component must be an id", op);
                break;
            }
            key.tx = (uint64_t)c->u.i;
            break;
        }
        nf++;
    }
    if (rc) goto done;
    if (empty) {
        rc = edn_vector(&a, NULL, 0, &result);
    } else if (mode == SCAN_DATOMS) {
        rc = scan_collect(&a, db, order, &key, nf, &key, nf, false, &result);
    } else if (mode == SCAN_SEEK) {
        rc = scan_collect(&a, db, order, &key, nf, NULL, 0, false, &result);
    } else {
        rc = scan_collect(&a, db, order, NULL, 0, &key, nf, true, &result);
    }
    if (!rc) rc = dl_api_write(&result, fmt, out, out_len);
done:
    dl_arena_free(&a);
    return rc;
}

int dl_impl_seek_datoms(datalith_db *db, const char *args,
                        size_t args_len, int fmt, char **out,
                        size_t *out_len) {
    return api_index_datoms(db, args, args_len, fmt, SCAN_SEEK, out, out_len);
}

int dl_impl_rseek_datoms(datalith_db *db, const char *args,
                         size_t args_len, int fmt, char **out,
                         size_t *out_len) {
    return api_index_datoms(db, args, args_len, fmt, SCAN_RSEEK, out, out_len);
}

int dl_impl_index_range(datalith_db *dbh, const char *args,
                        size_t args_len, int fmt, char **out,
                        size_t *out_len) {
    dl_arena a;
    edn_value in, result;
    dl_db *db = TO_DB(dbh);
    dl_datom lo, hi;
    int rc;

    dl_arena_init(&a, 0);
    memset(&lo, 0, sizeof lo);
    memset(&hi, 0, sizeof hi);
    rc = dl_api_read(&a, args, args_len, fmt, "index-range", &in);
    if (rc) goto done;
    const edn_value *attr = in.type == EDN_MAP ? edn_map_getk(&in, "attrid") : NULL;
    if (!attr || attr->type != EDN_KEYWORD) {
        rc = dl_err_set(DATALITH_EINVAL,
                        "index-range: expected a map {:attrid :kw :start … "
                        ":end …}");
        goto done;
    }
    const dl_attr *at = dl_schema_attr(db->schema, attr->u.sym);
    if (!at || !at->avet) {
        rc = dl_err_set(DATALITH_EINVAL,
                        "Attribute :%s should be marked as :db/index true",
                        attr->u.sym->full);
        goto done;
    }
    const edn_value *start = edn_map_getk(&in, "start");
    const edn_value *end = edn_map_getk(&in, "end");
    lo.a = hi.a = attr->u.sym;
    unsigned lo_nf = 1, hi_nf = 1;
    if (start && start->type != EDN_NIL) {
        lo.v = *start;
        lo_nf = 2;
    }
    if (end && end->type != EDN_NIL) {
        hi.v = *end;
        hi_nf = 2;
    }
    rc = scan_collect(&a, db, DL_AVET, &lo, lo_nf, &hi, hi_nf, false, &result);
    if (!rc) rc = dl_api_write(&result, fmt, out, out_len);
done:
    dl_arena_free(&a);
    return rc;
}

/* ---- views ---- */

int dl_impl_history(datalith_db *db, datalith_db **out) {
    dl_db *v = NULL;
    int rc = dl_view_history(TO_DB(db), &v);
    if (!rc) *out = TO_H(v);
    return rc;
}

static int time_view(datalith_db *db, const char *tp, size_t tp_len, int fmt,
                     bool as_of, datalith_db **out) {
    dl_arena a;
    edn_value v;
    dl_db *view = NULL;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, tp, tp_len, fmt, as_of ? "as-of" : "since", &v);
    if (!rc)
        rc = as_of ? dl_view_as_of(TO_DB(db), &v, &view)
                   : dl_view_since(TO_DB(db), &v, &view);
    dl_arena_free(&a);
    if (!rc) *out = TO_H(view);
    return rc;
}

int dl_impl_as_of(datalith_db *db, const char *time_point,
                  size_t time_point_len, int fmt,
                  datalith_db **out) {
    return time_view(db, time_point, time_point_len, fmt, true, out);
}

int dl_impl_since(datalith_db *db, const char *time_point,
                  size_t time_point_len, int fmt,
                  datalith_db **out) {
    return time_view(db, time_point, time_point_len, fmt, false, out);
}

/* A public predicate behind a C one: the datom is encoded in `fmt`. */
typedef struct pub_filter {
    datalith_filter_fn fn;
    void *ctx;
    int fmt;
} pub_filter;

static int pub_filter_call(void *ctx, const dl_datom *d) {
    pub_filter *p = ctx;
    dl_arena a;
    edn_value v;
    char *text = NULL;
    size_t len = 0;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_api_datom_value(&a, d, &v);
    if (!rc) rc = dl_api_write(&v, p->fmt, &text, &len);
    dl_arena_free(&a);
    if (rc) return rc;
    rc = p->fn(p->ctx, text, len) != 0;
    free(text);
    return rc;
}

int dl_impl_db_filter(datalith_db *db, datalith_filter_fn pred,
                      void *pred_ctx, int fmt,
                      datalith_db **out) {
    dl_db *v = NULL;
    pub_filter *p;
    int rc;
    if (!(p = malloc(sizeof *p))) return dl_err_nomem();
    p->fn = pred;
    p->ctx = pred_ctx;
    p->fmt = fmt;
    rc = dl_view_filter(TO_DB(db), pub_filter_call, p, free, &v);
    if (!rc) *out = TO_H(v);
    return rc;
}

int dl_impl_is_filtered(datalith_db *db, int *out) {
    *out = DL_REMOTE_HANDLE(db) ? 0 : dl_view_is_filtered(TO_DB(db)) ? 1 : 0;
    return DATALITH_OK;
}

/* ---- entity ---- */

/* Reverse references (reference §7, `(:_attr e)`): for every ref attribute
** a with datoms [x a e] in the view, the key :ns/_a with the set of the
** referring entities #{{:db/id x} …}, or the single {:db/id x} when a is a
** component (a component has one owner). */
static int entity_reverse_refs(const dl_db *db, uint64_t e, vals *kv,
                               vals *run) {
    size_t n = dl_schema_count(db->schema);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const dl_attr *x = dl_schema_at(db->schema, i);
        dl_datom key, d;
        dl_scan *s = NULL;
        if (!x->ref || !x->ident) continue;
        memset(&key, 0, sizeof key);
        key.a = x->ident;
        key.v = edn_int((int64_t)e);
        run->n = 0;
        rc = dl_scan_open(db, DL_AVET, &key, 2, &key, 2, false, &s);
        while (rc == 0) {
            int more = dl_scan_next(s, &d);
            edn_value ref[2], m;
            if (more < 0) rc = more;
            if (more != 1) break;
            if (!d.added) continue;
            ref[0] = kw("db/id");
            ref[1] = edn_int((int64_t)d.e);
            if ((rc = edn_map(kv->a, ref, 1, &m)) == 0) rc = vals_push(run, &m);
        }
        dl_scan_close(s);
        if (rc == 0 && run->n) {
            char name[256];
            const edn_sym *rev;
            edn_value k, val;
            if (x->ident->name_len + 2 > sizeof name) continue;
            name[0] = '_';
            memcpy(name + 1, x->ident->name, x->ident->name_len);
            rev = edn_intern(x->ident->ns, x->ident->ns_len, name,
                             x->ident->name_len + 1);
            if (!rev) return dl_err_nomem();
            k = edn_keyword(rev);
            if (x->component)
                val = run->items[0];
            else
                rc = edn_set(kv->a, run->items, run->n, &val);
            if (rc == 0) rc = vals_push(kv, &k);
            if (rc == 0) rc = vals_push(kv, &val);
        }
    }
    run->n = 0;
    return rc;
}

int dl_impl_entity(datalith_db *dbh, const char *eid,
                   size_t eid_len, int fmt, char **out,
                   size_t *out_len) {
    dl_arena a;
    edn_value in, result = edn_nil();
    dl_db *db = TO_DB(dbh);
    uint64_t e = 0;
    int rc, found = 0;

    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, eid, eid_len, fmt, "entity", &in);
    if (!rc) rc = resolve_eid(db, &in, &e, &found);
    if (!rc && found) {
        /* {:db/id e, attr value | #{values} …}: one run per attribute in
        ** EAVT order. */
        vals kv = {&a, NULL, 0, 0}, run = {&a, NULL, 0, 0};
        const edn_sym *cur = NULL;
        const dl_attr *cur_at = NULL;
        dl_datom key, d;
        dl_scan *s = NULL;
        edn_value x = kw("db/id");
        memset(&key, 0, sizeof key);
        key.e = e;
        rc = vals_push(&kv, &x);
        x = edn_int((int64_t)e);
        if (!rc) rc = vals_push(&kv, &x);
        if (!rc) rc = dl_scan_open(db, DL_EAVT, &key, 1, &key, 1, false, &s);
        for (;;) {
            int more = rc ? 0 : dl_scan_next(s, &d);
            if (more < 0) rc = more;
            if (more == 1 && !d.added) continue;
            if (!rc && cur && (more != 1 || d.a != cur)) {
                /* close the run of `cur` */
                edn_value k = edn_keyword(cur), val;
                if (cur_at && cur_at->many)
                    rc = edn_set(&a, run.items, run.n, &val);
                else
                    val = run.items[run.n - 1];
                if (!rc) rc = vals_push(&kv, &k);
                if (!rc) rc = vals_push(&kv, &val);
                run.n = 0;
            }
            if (rc || more != 1) break;
            if (d.a != cur) {
                cur = d.a;
                cur_at = dl_schema_attr(db->schema, cur);
            }
            edn_value v;
            if (cur_at && cur_at->ref && d.v.type == EDN_INT) {
                edn_value ref[2] = {kw("db/id"), d.v};
                rc = edn_map(&a, ref, 1, &v);
            } else {
                rc = edn_clone(&a, &d.v, &v);
            }
            if (!rc) rc = vals_push(&run, &v);
        }
        dl_scan_close(s);
        if (!rc) rc = entity_reverse_refs(db, e, &kv, &run);
        if (!rc) rc = edn_map(&a, kv.items, kv.n / 2, &result);
    }
    if (!rc) rc = dl_api_write(&result, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

/* ---- metrics ---- */

typedef struct attr_count {
    const edn_sym *a;
    int64_t n;
} attr_count;

int dl_impl_metrics(datalith_db *dbh, int fmt, char **out,
                    size_t *out_len) {
    dl_arena a;
    dl_db *db = TO_DB(dbh);
    attr_count *ac = NULL;
    size_t n_ac = 0, cap_ac = 0;
    vals ents;
    dl_scan *s = NULL;
    dl_datom d;
    int64_t count = 0, avet = 0, run = 0;
    uint64_t run_e = 0;
    edn_value result;
    int rc;

    dl_arena_init(&a, 0);
    ents = (vals){&a, NULL, 0, 0};
    rc = dl_scan_open(db, DL_EAVT, NULL, 0, NULL, 0, false, &s);
    for (;;) {
        int more = rc ? 0 : dl_scan_next(s, &d);
        if (more < 0) rc = more;
        if (!rc && run && (more != 1 || d.e != run_e)) {
            edn_value k = edn_int((int64_t)run_e), v = edn_int(run);
            rc = vals_push(&ents, &k);
            if (!rc) rc = vals_push(&ents, &v);
            run = 0;
        }
        if (rc || more != 1) break;
        count++;
        run_e = d.e;
        run++;
        size_t i;
        for (i = 0; i < n_ac && ac[i].a != d.a; i++) {}
        if (i == n_ac) {
            if (n_ac == cap_ac) {
                size_t cap = cap_ac ? cap_ac * 2 : 16;
                attr_count *p = realloc(ac, cap * sizeof *p);
                if (!p) { rc = dl_err_nomem(); break; }
                ac = p;
                cap_ac = cap;
            }
            ac[n_ac].a = d.a;
            ac[n_ac++].n = 0;
        }
        ac[i].n++;
    }
    dl_scan_close(s);
    vals attrs = {&a, NULL, 0, 0};
    for (size_t i = 0; !rc && i < n_ac; i++) {
        const dl_attr *at = dl_schema_attr(db->schema, ac[i].a);
        edn_value k = edn_keyword(ac[i].a), v = edn_int(ac[i].n);
        if (at && at->avet) avet += ac[i].n;
        rc = vals_push(&attrs, &k);
        if (!rc) rc = vals_push(&attrs, &v);
    }
    free(ac);
    if (!rc) {
        edn_value kv[12];
        size_t n = 0;
        kv[n++] = kw("count");
        kv[n++] = edn_int(count);
        kv[n++] = kw("avet-count");
        kv[n++] = edn_int(avet);
        kv[n++] = kw("per-attr-counts");
        rc = edn_map(&a, attrs.items, attrs.n / 2, &kv[n++]);
        kv[n++] = kw("per-entity-counts");
        if (!rc) rc = edn_map(&a, ents.items, ents.n / 2, &kv[n++]);
        if (db->config->keep_history && !db->view && !db->filter) {
            kv[n++] = kw("temporal-count");
            kv[n++] = edn_int((int64_t)bt_tree_count(&db->idx[DL_TEAVT]));
            kv[n++] = kw("temporal-avet-count");
            kv[n++] = edn_int((int64_t)bt_tree_count(&db->idx[DL_TAVET]));
        }
        if (!rc) rc = edn_map(&a, kv, n / 2, &result);
    }
    if (!rc) rc = dl_api_write(&result, fmt, out, out_len);
    dl_arena_free(&a);
    return rc;
}

/* ---- tempid ---- */

static atomic_llong api_last_tempid = -1000000;

int dl_impl_tempid(const char *part, size_t part_len, int fmt,
                   char **out, size_t *out_len) {
    dl_arena a;
    edn_value p, r;
    int rc;
    dl_arena_init(&a, 0);
    rc = dl_api_read(&a, part, part_len, fmt, "tempid", &p);
    if (!rc && p.type != EDN_KEYWORD)
        rc = dl_err_set(DATALITH_EINVAL,
                        "tempid: the partition must be a keyword, got a %s",
                        edn_type_name((edn_type)p.type));
    if (!rc) {
        if (!strcmp(p.u.sym->full, "db.part/tx"))
            r = kw("db/current-tx");
        else
            r = edn_int((int64_t)(atomic_fetch_sub(&api_last_tempid, 1) - 1));
        rc = dl_api_write(&r, fmt, out, out_len);
    }
    dl_arena_free(&a);
    return rc;
}

/* ---- with, db-with ---- */

/* Run tx (a vector, or {:tx-data … :tx-meta …}) on db without committing. */
static int run_with(dl_db *db, const char *tx, size_t tx_len, int fmt,
                    dl_arena *a, dl_tx_report *rep) {
    edn_value in;
    const edn_value *tx_data, *tx_meta = NULL;
    int rc;
    memset(rep, 0, sizeof *rep);
    if (db->filter || db->view)
        return dl_err_set(DATALITH_ETX, "Filtered DB cannot be modified");
    if ((rc = dl_api_read(a, tx, tx_len, fmt, "tx-data", &in)) != 0) return rc;
    if ((rc = dl_api_tx_args(&in, &tx_data, &tx_meta)) != 0) return rc;
    return dl_tx_run(db, tx_data, tx_meta, dl_api_now_ms(), a, rep);
}

int dl_impl_with(datalith_db *dbh, const char *tx, size_t tx_len,
                 int fmt, char **out, size_t *out_len) {
    dl_arena a;
    dl_tx_report rep;
    edn_value report;
    int rc;
    dl_arena_init(&a, 0);
    rc = run_with(TO_DB(dbh), tx, tx_len, fmt, &a, &rep);
    if (!rc) {
        rc = dl_api_report_value(&a, TO_DB(dbh), &rep, &report);
        if (!rc) rc = dl_api_write(&report, fmt, out, out_len);
    }
    dl_tx_report_release(&rep);
    dl_arena_free(&a);
    return rc;
}

int dl_impl_db_with(datalith_db *dbh, const char *tx,
                    size_t tx_len, int fmt, datalith_db **out) {
    dl_arena a;
    dl_tx_report rep;
    int rc;
    dl_arena_init(&a, 0);
    rc = run_with(TO_DB(dbh), tx, tx_len, fmt, &a, &rep);
    if (!rc) {
        *out = TO_H(rep.db_after);
        rep.db_after = NULL; /* handed to the caller */
    }
    dl_tx_report_release(&rep);
    dl_arena_free(&a);
    return rc;
}
