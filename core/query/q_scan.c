/*
** q_scan.c — index choice and cursors for the query engine (q_scan.h).
*/
#include "q_scan.h"

#include "db/schema.h"

#include <string.h>

static void scan_plan(const dl_db *db, const q_bound *b, dl_index *order,
                      dl_datom *key, unsigned *nf) {
    memset(key, 0, sizeof *key);
    key->v = edn_nil();
    *nf = 0;
    *order = DL_EAVT;
    int e_ok = b->e && b->e->type == EDN_INT && b->e->u.i >= 0;
    int a_ok = b->a && b->a->type == EDN_KEYWORD;
    if (e_ok) {
        key->e = (uint64_t)b->e->u.i;
        *nf = 1;
        if (a_ok) {
            key->a = b->a->u.sym;
            *nf = 2;
            if (b->v) {
                key->v = *b->v;
                *nf = 3;
            }
        }
        return;
    }
    if (a_ok) {
        key->a = b->a->u.sym;
        const dl_attr *at = dl_schema_attr(db->schema, key->a);
        if (b->v && at && at->avet) {
            *order = DL_AVET;
            key->v = *b->v;
            *nf = 2;
        } else {
            *order = DL_AEVT;
            *nf = 1;
        }
    }
}

int q_scan_open(const dl_db *db, const q_bound *b, q_scan *s) {
    memset(s, 0, sizeof *s);
    scan_plan(db, b, &s->order, &s->key, &s->nf);
    return dl_scan_open(db, s->order, s->nf ? &s->key : NULL, s->nf,
                        s->nf ? &s->key : NULL, s->nf, false, &s->sc);
}

int q_scan_reopen(const dl_db *db, const q_bound *b, q_scan *s) {
    if (!s->sc || s->range) {
        q_scan_close(s);
        return q_scan_open(db, b, s);
    }
    dl_index order;
    dl_datom key;
    unsigned nf;
    scan_plan(db, b, &order, &key, &nf);
    if (order == s->order) {
        s->key = key;
        s->nf = nf;
        int rc = dl_scan_reseek(s->sc, nf ? &s->key : NULL, nf, nf ? &s->key : NULL, nf);
        if (rc != 1) return rc;
    }
    q_scan_close(s);
    return q_scan_open(db, b, s);
}

int q_scan_open_range(const dl_db *db, const edn_sym *a, const edn_value *lo,
                      const edn_value *hi, q_scan *s) {
    memset(s, 0, sizeof *s);
    s->range = 1;
    s->order = DL_AVET;
    s->key.a = a;
    s->key.v = lo ? *lo : edn_nil();
    s->hkey.a = a;
    s->hkey.v = hi ? *hi : edn_nil();
    s->nf = 2;
    return dl_scan_open(db, DL_AVET, &s->key, lo ? 2 : 1, &s->hkey, hi ? 2 : 1,
                        false, &s->sc);
}

int q_scan_next(q_scan *s, dl_datom *out) {
    return dl_scan_next(s->sc, out);
}

void q_scan_close(q_scan *s) {
    if (s->sc) dl_scan_close(s->sc);
    s->sc = NULL;
}

int q_count(const dl_db *db, const q_bound *b, uint64_t *out) {
    dl_index order;
    dl_datom key;
    unsigned nf;
    scan_plan(db, b, &order, &key, &nf);
    if (!nf) {
        *out = bt_tree_count(&db->idx[order]);
        return 0;
    }
    return bt_count_prefix(&db->idx[order], &key, nf, out);
}
