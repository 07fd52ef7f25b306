/*
** tx.c — Datahike's transact-tx-data in C: explode entity maps, resolve
** tempids, lookup refs, idents and upserts, apply :db/add, :db/retract,
** :db.fn/retractAttribute, :db/retractEntity, :db/cas, raw
** #datahike/Datom values and the purge ops against a working copy of the
** current indexes, and hand the final changes to dl_db_apply (or, when the
** working EAVT/AVET already hold them, to dl_db_apply_moved).  Also
** load-entities (dl_tx_load, at the end of the file): raw records with
** their entity and transaction ids remapped.
**
** Working state.  `eavt` and `avet` start as O(1) snapshots of the
** before-value's trees; every accepted change is applied to them at once,
** so later operations of the same transaction see earlier ones (as
** Datahike's db-after does).  Schema datoms are applied to a builder and the
** working schema is republished after each one, so attributes defined early
** in a transaction are usable later in it.
**
** Composite tuples (:db/tupleAttrs) are derived: every component change
** queues (e, tuple) and flush_tuples() rewrites the tuple once per entity
** after the last operation.  A direct write of a composite is accepted only
** when it equals the derived value (a no-op), which is what lets a unique
** identity composite act as an upsert key in an entity map.
**
** A schema change that enables :db/index or :db/unique on an attribute with
** datoms (allowed by :allow-index-backfill?) back-fills AVET in the same
** transaction (backfill_apply, before dl_tx_run).
**
** Error texts follow Datahike, which builds messages with (str …): strings
** print bare at the top level of a message, nil prints as nothing, and
** everything else prints as EDN.
*/
#include "tx.h"

#include "db_internal.h"

#include "util/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TX_RETRY 1 /* internal: restart the expansion (upsert rebinding) */

typedef struct tx_bind {
    edn_value key; /* a tempid: negative int or string */
    uint64_t eid;
} tx_bind;

typedef struct tx_vec {
    void *p;
    size_t n, cap;
} tx_vec;

typedef struct tx_state {
    const dl_db *before;
    dl_arena *a;
    dl_schema *schema; /* working schema (one reference) */
    bool schema_changed;
    bt_tree eavt, avet;
    uint64_t tx, max_eid;
    tx_vec data;     /* dl_datom: tx-data */
    tx_vec stack;    /* edn_value: pending entities, top = last */
    tx_vec tempids;  /* tx_bind */
    tx_vec upserted; /* tx_bind: bindings fixed by a retry */
    tx_vec touched;  /* tx_touch: composites to recompute at the end */
    tx_vec purged;   /* tx_purge: what to remove from db-after */
} tx_state;

/* A composite tuple attribute of an entity whose components changed in
** this transaction.  emit() queues one per (e, tuple) the first time a
** component datom of e is asserted or retracted; flush_tuples() recomputes
** them all once the op loop is done (Datahike's queue-tuple/flush-tuples):
**
**   [:db/add 10 :a "x"] ──emit──> touched += (10, :a+b)
**   ...end of ops... ──flush──> [10 :a+b ["x" nil]] (or a retraction)
*/
typedef struct tx_touch {
    uint64_t e;
    const edn_sym *tuple;
} tx_touch;

static struct {
    const edn_sym *add, *retract, *retract_attr, *retract_entity,
        *retract_entity2, *cas, *cas2, *call, *purge, *purge_attr,
        *purge_entity, *purge_before, *id, *ident, *current_tx, *tx_instant,
        *datom, *commit_id, *install_attr;
} K;

static pthread_once_t k_once = PTHREAD_ONCE_INIT;
static bool k_ok;

static void k_fill(void) {
#define KW(f, s)                                                             \
    if (!(K.f = edn_intern_full(s, strlen(s)))) return;
    KW(add, "db/add");
    KW(retract, "db/retract");
    KW(retract_attr, "db.fn/retractAttribute");
    KW(retract_entity, "db/retractEntity");
    KW(retract_entity2, "db.fn/retractEntity");
    KW(cas, "db/cas");
    KW(cas2, "db.fn/cas");
    KW(call, "db.fn/call");
    KW(purge, "db/purge");
    KW(purge_attr, "db.purge/attribute");
    KW(purge_entity, "db.purge/entity");
    KW(purge_before, "db.history.purge/before");
    KW(id, "db/id");
    KW(ident, "db/ident");
    KW(current_tx, "db/current-tx");
    KW(tx_instant, "db/txInstant");
    KW(datom, "datahike/Datom");
    KW(commit_id, "db/commitId");
    KW(install_attr, "db.install/attribute");
#undef KW
    k_ok = true;
}

static int k_init(void) {
    pthread_once(&k_once, k_fill);
    return k_ok ? 0 : dl_err_nomem();
}

/* ---- small helpers ---- */

static int vec_push(tx_vec *v, const void *item, size_t size) {
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 16;
        void *np = realloc(v->p, nc * size);
        if (!np) return dl_err_nomem();
        v->p = np;
        v->cap = nc;
    }
    memcpy((char *)v->p + v->n * size, item, size);
    v->n++;
    return 0;
}

/* Print like Clojure's str: a top-level string bare, nil as nothing. */
typedef struct pbuf {
    char s[512];
} pbuf;

static const char *pstr(const edn_value *v, pbuf *p) {
    dl_buf b = DL_BUF_INIT;
    p->s[0] = 0;
    if (!v || v->type == EDN_NIL) return p->s;
    if (v->type == EDN_STRING) {
        size_t n = v->n < sizeof p->s - 1 ? v->n : sizeof p->s - 1;
        memcpy(p->s, v->u.s, n);
        p->s[n] = 0;
        return p->s;
    }
    if (edn_write(&b, v) != 0 || !b.data) {
        strcpy(p->s, "<unprintable>");
    } else if (b.len < sizeof p->s) {
        memcpy(p->s, b.data, b.len + 1);
    } else {
        memcpy(p->s, b.data, sizeof p->s - 4);
        memcpy(p->s + sizeof p->s - 4, "...", 4);
    }
    dl_buf_free(&b);
    return p->s;
}

/* Print as EDN (how a value inside a collection prints under str). */
static const char *pedn(const edn_value *v, pbuf *p) {
    if (v && v->type == EDN_STRING) {
        dl_buf b = DL_BUF_INIT;
        if (edn_write(&b, v) != 0 || !b.data) {
            strcpy(p->s, "<unprintable>");
        } else {
            size_t n = b.len < sizeof p->s - 1 ? b.len : sizeof p->s - 1;
            memcpy(p->s, b.data, n);
            p->s[n] = 0;
        }
        dl_buf_free(&b);
        return p->s;
    }
    return pstr(v, p);
}

static const char *pdatom(const dl_datom *d, pbuf *p) {
    pbuf pv;
    edn_value v = d->v;
    dl_buf b = DL_BUF_INIT;
    (void)pv;
    if (dl_buf_printf(&b, "#datahike/Datom [%llu :%s ",
                      (unsigned long long)d->e, d->a->full) != 0 ||
        edn_write(&b, &v) != 0 ||
        dl_buf_printf(&b, " %llu %s]", (unsigned long long)d->tx,
                      d->added ? "true" : "false") != 0 || !b.data) {
        strcpy(p->s, "<unprintable>");
    } else {
        size_t n = b.len < sizeof p->s - 1 ? b.len : sizeof p->s - 1;
        memcpy(p->s, b.data, n);
        p->s[n] = 0;
    }
    dl_buf_free(&b);
    return p->s;
}

static bool is_tempid(const edn_value *v) {
    return (v->type == EDN_INT && v->u.i < 0) || v->type == EDN_STRING;
}

static bool is_txid(const edn_value *v) {
    if (v->type == EDN_KEYWORD) return v->u.sym == K.current_tx;
    if (v->type != EDN_STRING) return false;
    return (v->n == 10 && memcmp(v->u.s, "datomic.tx", 10) == 0) ||
           (v->n == 11 && memcmp(v->u.s, "datahike.tx", 11) == 0) ||
           (v->n == 14 && memcmp(v->u.s, ":db/current-tx", 14) == 0);
}

static tx_bind *bind_find(tx_vec *v, const edn_value *key) {
    tx_bind *b = v->p;
    for (size_t i = 0; i < v->n; i++)
        if (edn_equal(&b[i].key, key)) return &b[i];
    return NULL;
}

static void advance(tx_state *st, uint64_t eid) {
    if (eid < DL_TX0 && eid > st->max_eid) st->max_eid = eid;
}

/* Datahike's allocate-eid: bind a tempid (if it is one) and advance
** max-eid. */
static int allocate(tx_state *st, const edn_value *key, uint64_t eid) {
    if (key && is_tempid(key) && !bind_find(&st->tempids, key)) {
        tx_bind b = {*key, eid};
        int rc = edn_clone(st->a, key, &b.key);
        if (rc == 0) rc = vec_push(&st->tempids, &b, sizeof b);
        if (rc) return rc;
    }
    advance(st, eid);
    return 0;
}

static uint64_t next_eid(tx_state *st) { return st->max_eid + 1; }

static const dl_attr *attr_of(tx_state *st, const edn_sym *a) {
    return dl_schema_attr(st->schema, a);
}

/* ---- reading the working indexes ---- */

/* Collect (cloned into the arena) the current datoms with prefix key in
** order `o` of the working trees (EAVT or AVET), at most `max` (0: all). */
static int scan_tree(tx_state *st, const bt_tree *t, dl_index o,
                     const dl_datom *key, unsigned nf, size_t max,
                     tx_vec *out) {
    bt_cursor *c;
    int rc;
    if ((rc = bt_cursor_open(t, &c)) != 0) return rc;
    rc = bt_cursor_seek(c, key, nf, 0);
    while (rc == 0 && bt_cursor_valid(c)) {
        dl_datom d;
        bt_cursor_get(c, &d);
        if (dl_datom_cmp(o, &d, key, nf) != 0) break;
        if ((rc = edn_clone(st->a, &d.v, &d.v)) != 0) break;
        if ((rc = vec_push(out, &d, sizeof d)) != 0) break;
        if (max && out->n >= max) break;
        rc = bt_cursor_next(c);
    }
    if (rc == 0) rc = bt_cursor_error(c);
    bt_cursor_close(c);
    return rc < 0 ? rc : 0;
}

static int scan(tx_state *st, dl_index o, const dl_datom *key, unsigned nf,
                size_t max, tx_vec *out) {
    return scan_tree(st, o == DL_EAVT ? &st->eavt : &st->avet, o, key, nf,
                     max, out);
}

static int cur_ea(tx_state *st, uint64_t e, const edn_sym *a, tx_vec *out) {
    dl_datom k = {.e = e, .a = a};
    return scan(st, DL_EAVT, &k, a ? 2 : 1, 0, out);
}

static int cur_eav(tx_state *st, uint64_t e, const edn_sym *a,
                   const edn_value *v, dl_datom *out, bool *found) {
    dl_datom k = {.e = e, .a = a, .v = *v};
    tx_vec r = {0};
    int rc = scan(st, DL_EAVT, &k, 3, 1, &r);
    *found = rc == 0 && r.n > 0;
    if (*found) *out = *(dl_datom *)r.p;
    free(r.p);
    return rc;
}

/* The first entity holding [a v] in the working AVET, or 0. */
static int avet_first(tx_state *st, const edn_sym *a, const edn_value *v,
                      dl_datom *out, bool *found) {
    dl_datom k = {.a = a, .v = *v};
    tx_vec r = {0};
    int rc = scan(st, DL_AVET, &k, 2, 1, &r);
    *found = rc == 0 && r.n > 0;
    if (*found) *out = *(dl_datom *)r.p;
    free(r.p);
    return rc;
}

/* ---- entity ids (Datahike's entid / entid-strict) ---- */

static int entid(tx_state *st, const edn_value *v, uint64_t *out,
                 bool *found) {
    pbuf p;
    *found = false;
    if (v->type == EDN_INT && v->u.i >= 0) {
        *out = (uint64_t)v->u.i;
        *found = true;
        return 0;
    }
    if (edn_is_seq(v)) {
        const dl_attr *x;
        dl_datom d;
        int rc;
        if (v->n != 2)
            return dl_err_set(DATALITH_ETX,
                              "Lookup ref should contain 2 elements: %s",
                              pstr(v, &p));
        x = v->u.items[0].type == EDN_KEYWORD
                ? attr_of(st, v->u.items[0].u.sym)
                : NULL;
        if (!x || x->unique == DL_UNIQUE_NONE)
            return dl_err_set(DATALITH_ETX,
                              "Lookup ref attribute should be marked as "
                              ":db/unique: %s",
                              pstr(v, &p));
        if (v->u.items[1].type == EDN_NIL) return 0;
        if ((rc = avet_first(st, v->u.items[0].u.sym, &v->u.items[1], &d,
                             found)) != 0)
            return rc;
        if (*found) *out = d.e;
        return 0;
    }
    if (v->type == EDN_KEYWORD) {
        dl_datom d;
        const dl_attr *x;
        int rc = avet_first(st, K.ident, v, &d, found);
        if (rc) return rc;
        if (*found) {
            *out = d.e;
            return 0;
        }
        x = attr_of(st, v->u.sym);
        if (x && x->eid) {
            *out = x->eid;
            *found = true;
        }
        return 0;
    }
    return dl_err_set(DATALITH_ETX,
                      "Expected number or lookup ref for entity id, got %s",
                      pstr(v, &p));
}

static int entid_strict(tx_state *st, const edn_value *v, uint64_t *out) {
    bool found;
    pbuf p;
    int rc = entid(st, v, out, &found);
    if (rc) return rc;
    if (!found)
        return dl_err_set(DATALITH_ETX, "Nothing found for entity id %s",
                          pstr(v, &p));
    return 0;
}

/* ---- applying one datom to the working state ---- */

static int republish_schema(tx_state *st, const dl_datom *d) {
    dl_schema_builder *b;
    dl_schema *ns;
    int rc;
    if (!dl_schema_is_schema_attr(d->a)) return 0;
    if ((rc = dl_schema_edit(st->schema, &b)) != 0) return rc;
    rc = d->added ? dl_schema_builder_assert(b, d->e, d->a, &d->v)
                  : dl_schema_builder_retract(b, d->e, d->a, &d->v);
    if (rc) {
        dl_schema_builder_free(b);
        return rc;
    }
    if ((rc = dl_schema_builder_finish(b, &ns)) != 0) return rc;
    dl_schema_release(st->schema);
    st->schema = ns;
    st->schema_changed = true;
    return 0;
}

/* Record d in tx-data and in the working trees.  For a retraction, `old`
** is the current datom being retracted (its tx is the tree key). */
static int emit(tx_state *st, const dl_datom *d, const dl_datom *old) {
    const dl_attr *x = attr_of(st, d->a);
    bool in_avet = x && x->avet;
    dl_datom kept = *d;
    int rc;
    for (uint32_t i = 0; x && i < x->n_in_tuples; i++) {
        tx_touch t = {d->e, x->in_tuples[i].tuple}, *tt = st->touched.p;
        size_t j;
        for (j = 0; j < st->touched.n; j++)
            if (tt[j].e == t.e && tt[j].tuple == t.tuple) break;
        if (j == st->touched.n &&
            (rc = vec_push(&st->touched, &t, sizeof t)) != 0)
            return rc;
    }
    if ((rc = edn_clone(st->a, &d->v, &kept.v)) != 0) return rc;
    if ((rc = vec_push(&st->data, &kept, sizeof kept)) != 0) return rc;
    if (d->added) {
        if ((rc = bt_insert(&st->eavt, d, NULL)) != 0) return rc;
        if (in_avet && (rc = bt_insert(&st->avet, d, NULL)) != 0) return rc;
        advance(st, d->e);
    } else {
        if ((rc = bt_remove(&st->eavt, old, NULL)) != 0) return rc;
        if ((rc = bt_remove(&st->avet, old, NULL)) != 0) return rc;
    }
    return republish_schema(st, d);
}

static int retract_datom(tx_state *st, const dl_datom *old) {
    dl_datom d = *old;
    d.tx = st->tx;
    d.added = false;
    return emit(st, &d, old);
}

static int op_vec(tx_state *st, const edn_sym *op, uint64_t e,
                  const edn_sym *a, const edn_value *v, edn_value *out) {
    edn_value it[4];
    it[0] = edn_keyword(op);
    it[1] = edn_int((int64_t)e);
    it[2] = edn_keyword(a);
    it[3] = *v;
    return edn_vector(st->a, it, 4, out);
}

/* Datahike's transact-add with e and v already resolved. */
static int transact_add_tx(tx_state *st, uint64_t e, const edn_sym *a,
                           const dl_attr *x, const edn_value *v,
                           uint64_t tx) {
    dl_datom nd = {.e = e, .a = a, .v = *v, .tx = tx, .added = true};
    dl_datom old;
    bool found = false;
    int rc;
    if (x && x->many) {
        if ((rc = cur_eav(st, e, a, v, &old, &found)) != 0) return rc;
        if (found) return 0; /* redundant */
    } else {
        tx_vec r = {0};
        if ((rc = cur_ea(st, e, a, &r)) != 0) {
            free(r.p);
            return rc;
        }
        if (r.n) {
            old = *(dl_datom *)r.p;
            found = true;
        }
        free(r.p);
        if (found && edn_equal(&old.v, v)) return 0; /* redundant */
    }
    if (x && x->unique != DL_UNIQUE_NONE) {
        dl_datom u;
        bool taken;
        if ((rc = avet_first(st, a, v, &u, &taken)) != 0) return rc;
        if (taken) {
            pbuf p1, p2;
            return dl_err_set(DATALITH_ETX,
                              "Cannot add %s because of unique constraint: "
                              "(%s)",
                              pdatom(&nd, &p1), pdatom(&u, &p2));
        }
    }
    if (found && !(x && x->many)) {
        if ((rc = retract_datom(st, &old)) != 0) return rc;
    }
    return emit(st, &nd, NULL);
}

static int transact_add(tx_state *st, uint64_t e, const edn_sym *a,
                        const dl_attr *x, const edn_value *v,
                        const edn_value *at) {
    (void)at;
    return transact_add_tx(st, e, a, x, v, st->tx);
}

/* The value composite `ta` should have on entity e: the vector of its
** components' current values, nil for a missing one; *any is false when
** every slot is nil (then the tuple must not exist). */
static int tuple_value(tx_state *st, uint64_t e, const dl_attr *ta,
                       edn_value *out, bool *any) {
    edn_value *items = dl_arena_alloc(st->a, ta->n_tuple_attrs *
                                                 sizeof *items);
    int rc;
    *any = false;
    if (!items) return dl_err_nomem();
    for (uint32_t k = 0; k < ta->n_tuple_attrs; k++) {
        tx_vec r = {0};
        if ((rc = cur_ea(st, e, ta->tuple_attrs[k], &r)) != 0) {
            free(r.p);
            return rc;
        }
        items[k] = r.n ? ((dl_datom *)r.p)[0].v : edn_nil();
        if (r.n) *any = true;
        free(r.p);
    }
    return edn_vector(st->a, items, ta->n_tuple_attrs, out);
}

/* Recompute every queued composite: its value is the vector of the
** components' current values (nil for a missing one); a change is
** asserted through transact_add (implied retraction, unique check), and
** an all-nil value retracts the tuple datom. */
static int flush_tuples(tx_state *st) {
    for (size_t i = 0; i < st->touched.n; i++) {
        tx_touch t = ((tx_touch *)st->touched.p)[i];
        const dl_attr *ta = attr_of(st, t.tuple);
        edn_value tv;
        bool any = false;
        tx_vec cur = {0};
        int rc;
        if (!ta || !ta->composite || ta->n_tuple_attrs == 0) continue;
        if ((rc = tuple_value(st, t.e, ta, &tv, &any)) != 0) return rc;
        if (any) {
            edn_value at;
            if ((rc = op_vec(st, K.add, t.e, t.tuple, &tv, &at)) != 0)
                return rc;
            if ((rc = transact_add(st, t.e, t.tuple, ta, &tv, &at)) != 0)
                return rc;
            continue;
        }
        if ((rc = cur_ea(st, t.e, t.tuple, &cur)) != 0) {
            free(cur.p);
            return rc;
        }
        for (size_t k = 0; k < cur.n && rc == 0; k++)
            rc = retract_datom(st, &((dl_datom *)cur.p)[k]);
        free(cur.p);
        if (rc) return rc;
    }
    st->touched.n = 0;
    return 0;
}

/* ---- the work stack ---- */

static int push(tx_state *st, const edn_value *v) {
    return vec_push(&st->stack, v, sizeof *v);
}

/* Push items[0..n) so that items[0] is processed first. */
static int push_all(tx_state *st, const edn_value *items, size_t n) {
    for (size_t i = n; i-- > 0;) {
        int rc = push(st, &items[i]);
        if (rc) return rc;
    }
    return 0;
}

/* Push [op v] for every component value v among ds: op is
** :db.fn/retractEntity (retractEntity's cascade) or :db.purge/entity
** (Datahike's purge-components). */
static int push_components(tx_state *st, const dl_datom *ds, size_t n,
                           const edn_sym *op_sym) {
    for (size_t i = n; i-- > 0;) {
        const dl_attr *x = attr_of(st, ds[i].a);
        if (x && x->component && ds[i].v.type == EDN_INT) {
            edn_value it[2], op;
            int rc;
            it[0] = edn_keyword(op_sym);
            it[1] = ds[i].v;
            if ((rc = edn_vector(st->a, it, 2, &op)) != 0) return rc;
            if ((rc = push(st, &op)) != 0) return rc;
        }
    }
    return 0;
}

/* ---- upsert ---- */

static int retry_with(tx_state *st, const edn_value *tempid,
                      uint64_t upserted) {
    tx_bind *prev = bind_find(&st->upserted, tempid);
    tx_bind b = {*tempid, upserted};
    tx_bind *cur;
    pbuf p;
    int rc;
    if (prev)
        return dl_err_set(DATALITH_ETX,
                          "Conflicting upsert: %s resolves both to %llu and "
                          "%llu",
                          pstr(tempid, &p), (unsigned long long)upserted,
                          (unsigned long long)prev->eid);
    if ((rc = vec_push(&st->upserted, &b, sizeof b)) != 0) return rc;
    /* keep the other bindings made so far (Datahike keeps the report's
    ** tempids), with this one replaced */
    if ((cur = bind_find(&st->tempids, tempid)) != NULL) cur->eid = upserted;
    return TX_RETRY;
}

/* Datahike's upsert-eid + check-upsert-conflict for entity map m. */
static int upsert_eid(tx_state *st, const edn_value *m, const edn_value *id,
                      uint64_t *out, bool *found) {
    uint64_t acc_e = 0;
    const edn_value *acc_a = NULL, *acc_v = NULL;
    *found = false;
    for (uint32_t i = 0; i < m->n; i++) {
        const edn_value *k = &m->u.items[2 * i], *v = &m->u.items[2 * i + 1];
        const dl_attr *x;
        dl_datom d;
        bool hit;
        int rc;
        if (k->type != EDN_KEYWORD) continue;
        x = attr_of(st, k->u.sym);
        if (k->u.sym == K.ident) {
            /* :db/ident is unique identity; idents resolve through AVET or
            ** the schema */
            uint64_t ie;
            if (v->type != EDN_KEYWORD) continue;
            if ((rc = entid(st, v, &ie, &hit)) != 0) return rc;
            if (!hit) continue;
            d.e = ie;
        } else {
            if (!x || x->unique != DL_UNIQUE_IDENTITY) continue;
            if (v->type == EDN_NIL || v->type == EDN_MAP) continue;
            if ((rc = avet_first(st, k->u.sym, v, &d, &hit)) != 0) return rc;
            if (!hit) continue;
        }
        if (!acc_a) {
            acc_e = d.e;
            acc_a = k;
            acc_v = v;
        } else if (acc_e != d.e) {
            pbuf p1, p2, p3, p4;
            return dl_err_set(DATALITH_ETX,
                              "Conflicting upserts: [%s %s] resolves to "
                              "%llu, but [%s %s] resolves to %llu",
                              pedn(acc_a, &p1), pedn(acc_v, &p2),
                              (unsigned long long)acc_e, pedn(k, &p3),
                              pedn(v, &p4), (unsigned long long)d.e);
        }
    }
    if (!acc_a) return 0;
    if (id && id->type == EDN_INT && id->u.i >= 0 &&
        (uint64_t)id->u.i != acc_e) {
        pbuf p1, p2;
        return dl_err_set(DATALITH_ETX,
                          "Conflicting upsert: [%s %s] resolves to %llu, but "
                          "entity already has :db/id %lld",
                          pedn(acc_a, &p1), pedn(acc_v, &p2),
                          (unsigned long long)acc_e, (long long)id->u.i);
    }
    *out = acc_e;
    *found = true;
    return 0;
}

/* ---- entity maps ---- */

static bool reverse_name(const edn_sym *a) {
    return a->name_len > 1 && a->name[0] == '_';
}

static int flip_name(const edn_sym *a, const edn_sym **out) {
    if (reverse_name(a))
        *out = edn_intern(a->ns, a->ns_len, a->name + 1, a->name_len - 1);
    else {
        char buf[512];
        if (a->name_len + 2 > sizeof buf)
            return dl_err_set(DATALITH_ELIMIT, "attribute name too long");
        buf[0] = '_';
        memcpy(buf + 1, a->name, a->name_len);
        *out = edn_intern(a->ns, a->ns_len, buf, a->name_len + 1);
    }
    return *out ? 0 : DATALITH_ENOMEM;
}

/* m with key k set to v. */
static int assoc(dl_arena *ar, const edn_value *m, const edn_value *k,
                 const edn_value *v, edn_value *out) {
    edn_value *kv = dl_arena_alloc(ar, (2 * (size_t)m->n + 2) * sizeof *kv);
    size_t n = 0;
    if (!kv) return DATALITH_ENOMEM;
    for (uint32_t i = 0; i < m->n; i++) {
        if (edn_equal(&m->u.items[2 * i], k)) continue;
        kv[2 * n] = m->u.items[2 * i];
        kv[2 * n + 1] = m->u.items[2 * i + 1];
        n++;
    }
    kv[2 * n] = *k;
    kv[2 * n + 1] = *v;
    return edn_map(ar, kv, n + 1, out);
}

static int explode(tx_state *st, const edn_value *m, uint64_t eid) {
    tx_vec ops = {0};
    edn_value eidv = edn_int((int64_t)eid);
    int rc = 0;
    for (uint32_t i = 0; i < m->n && rc == 0; i++) {
        const edn_value *k = &m->u.items[2 * i], *vs = &m->u.items[2 * i + 1];
        const dl_attr *x;
        const edn_sym *fwd;
        bool rev = false, wrap;
        const edn_value *vals;
        size_t nv;
        pbuf p1, p2;
        if (k->type == EDN_KEYWORD && k->u.sym == K.id) continue;
        if (k->type != EDN_KEYWORD) {
            rc = dl_err_set(DATALITH_ETX,
                            "Bad entity attribute %s at %s, expected keyword "
                            "or string",
                            pstr(k, &p1), pstr(m, &p2));
            break;
        }
        if ((rc = dl_schema_resolve(st->schema, k->u.sym, m, &x, &rev)) != 0)
            break;
        fwd = k->u.sym;
        if (rev) {
            if ((rc = flip_name(k->u.sym, &fwd)) != 0) break;
        } else if (reverse_name(k->u.sym) && !dl_schema_attr(st->schema,
                                                             k->u.sym)) {
            /* schema-on-read: a reverse name of an undeclared attribute */
            if ((rc = flip_name(k->u.sym, &fwd)) != 0) break;
            x = attr_of(st, fwd);
            rev = true;
        }
        if (rev && !(x && x->ref)) {
            rc = dl_err_set(DATALITH_ETX,
                            "Bad attribute %s: reverse attribute name "
                            "requires {:db/valueType :db.type/ref} in schema",
                            pstr(k, &p1));
            break;
        }
        /* maybe-wrap-multival */
        wrap = true;
        if ((rev || (x && x->many)) &&
            (vs->type == EDN_VECTOR || vs->type == EDN_LIST ||
             vs->type == EDN_SET)) {
            wrap = false;
            if (vs->n == 2 && vs->u.items[0].type == EDN_KEYWORD) {
                const dl_attr *l = attr_of(st, vs->u.items[0].u.sym);
                if (l && l->unique == DL_UNIQUE_IDENTITY) wrap = true;
            }
        }
        vals = wrap ? vs : vs->u.items;
        nv = wrap ? 1 : vs->n;
        for (size_t j = 0; j < nv && rc == 0; j++) {
            const edn_value *v = &vals[j];
            edn_value item;
            if (x && x->ref && v->type == EDN_MAP) {
                const edn_sym *back;
                edn_value bk;
                if ((rc = flip_name(k->u.sym, &back)) != 0) break;
                bk = edn_keyword(back);
                rc = assoc(st->a, v, &bk, &eidv, &item);
            } else if (rev) {
                edn_value it[4];
                it[0] = edn_keyword(K.add);
                it[1] = *v;
                it[2] = edn_keyword(fwd);
                it[3] = eidv;
                rc = edn_vector(st->a, it, 4, &item);
            } else {
                edn_value it[4];
                it[0] = edn_keyword(K.add);
                it[1] = eidv;
                it[2] = *k;
                it[3] = *v;
                rc = edn_vector(st->a, it, 4, &item);
            }
            if (rc == 0) rc = vec_push(&ops, &item, sizeof item);
        }
    }
    if (rc == 0) rc = push_all(st, ops.p, ops.n);
    free(ops.p);
    return rc;
}

static int do_map(tx_state *st, const edn_value *m) {
    const edn_value *id = edn_map_get(m, &(edn_value){.type = EDN_KEYWORD,
                                                       .u.sym = K.id});
    edn_value idv;
    uint64_t eid, up;
    bool upf;
    pbuf p;
    int rc;

    if (id && is_txid(id)) {
        if ((rc = allocate(st, id, st->tx)) != 0) return rc;
        idv = edn_int((int64_t)st->tx);
        id = &idv;
    } else if (id && (edn_is_seq(id) || id->type == EDN_KEYWORD)) {
        if ((rc = entid_strict(st, id, &eid)) != 0) return rc;
        idv = edn_int((int64_t)eid);
        id = &idv;
    }
    if (id && id->type == EDN_NIL) id = NULL;
    if ((rc = upsert_eid(st, m, id, &up, &upf)) != 0) return rc;
    if (upf) {
        if (id && is_tempid(id)) {
            tx_bind *b = bind_find(&st->tempids, id);
            if (b && b->eid != up) return retry_with(st, id, up);
        }
        if ((rc = allocate(st, id, up)) != 0) return rc;
        eid = up;
    } else if (!id) {
        eid = next_eid(st);
        if ((rc = allocate(st, NULL, eid)) != 0) return rc;
    } else if (is_tempid(id)) {
        tx_bind *b = bind_find(&st->tempids, id);
        eid = b ? b->eid : next_eid(st);
        if ((rc = allocate(st, id, eid)) != 0) return rc;
    } else if (id->type == EDN_INT) {
        eid = (uint64_t)id->u.i;
        if ((rc = allocate(st, id, eid)) != 0) return rc;
    } else {
        return dl_err_set(DATALITH_ETX,
                          "Expected number, string or lookup ref for :db/id, "
                          "got %s",
                          pstr(id, &p));
    }
    if ((rc = dl_schema_check_entity(st->schema, m, eid)) != 0) return rc;
    return explode(st, m, eid);
}

/* ---- list forms ---- */

static int unknown_op(const edn_value *ent) {
    pbuf p;
    return dl_err_set(DATALITH_ETX,
                      "Unknown operation at %s, expected :db/add, "
                      ":db/retract, :db.fn/call, :db.fn/retractAttribute, "
                      ":db.fn/retractEntity or an ident corresponding to an "
                      "installed transaction function (e.g. {:db/ident "
                      "<keyword> :db/fn <Ifn>}, usage of :db/ident requires "
                      "{:db/unique :db.unique/identity} in schema)",
                      pstr(ent, &p));
}

static int need_attr(tx_state *st, const edn_value *a, const edn_value *ent,
                     const dl_attr **x) {
    pbuf p1, p2;
    if (!a || a->type != EDN_KEYWORD)
        return dl_err_set(DATALITH_ETX,
                          "Bad entity attribute %s at %s, expected keyword "
                          "or string",
                          pstr(a, &p1), pstr(ent, &p2));
    return dl_schema_resolve(st->schema, a->u.sym, ent, x, NULL);
}

static int do_cas(tx_state *st, const edn_value *ent) {
    const edn_value *it = ent->u.items;
    const dl_attr *x;
    edn_value ov, nv;
    uint64_t e, r;
    tx_vec cur = {0};
    bool ok = false;
    int rc;
    if (ent->n != 5) return unknown_op(ent);
    if ((rc = entid_strict(st, &it[1], &e)) != 0) return rc;
    if ((rc = need_attr(st, &it[2], ent, &x)) != 0) return rc;
    ov = it[3];
    nv = it[4];
    if (x->ref) {
        if (ov.type != EDN_NIL) {
            if ((rc = entid_strict(st, &ov, &r)) != 0) return rc;
            ov = edn_int((int64_t)r);
        }
        if (nv.type != EDN_NIL) {
            if ((rc = entid_strict(st, &nv, &r)) != 0) return rc;
            nv = edn_int((int64_t)r);
        }
    }
    if ((rc = dl_schema_check_value(st->schema, x, &nv, ent, 0)) != 0)
        return rc;
    if ((rc = cur_ea(st, e, it[2].u.sym, &cur)) != 0) goto out;
    {
        dl_datom *ds = cur.p;
        if (x->many) {
            for (size_t i = 0; i < cur.n; i++)
                if (edn_equal(&ds[i].v, &ov)) ok = true;
            if (ov.type == EDN_NIL && cur.n == 0) ok = true;
        } else {
            edn_value have = cur.n ? ds[0].v : edn_nil();
            ok = edn_equal(&have, &ov);
        }
        if (!ok) {
            pbuf p1, p2;
            dl_buf b = DL_BUF_INIT;
            if (x->many) {
                dl_buf_putc(&b, '(');
                for (size_t i = 0; i < cur.n; i++) {
                    if (i) dl_buf_putc(&b, ' ');
                    edn_write(&b, &ds[i].v);
                }
                dl_buf_putc(&b, ')');
            } else if (cur.n) {
                pbuf pv;
                dl_buf_puts(&b, pstr(&ds[0].v, &pv));
            }
            rc = dl_err_set(DATALITH_ETX,
                            ":db.fn/cas failed on datom [%llu %s %s], "
                            "expected %s",
                            (unsigned long long)e, pstr(&it[2], &p1),
                            b.data ? b.data : "", pstr(&ov, &p2));
            dl_buf_free(&b);
            goto out;
        }
    }
    {
        edn_value at;
        if ((rc = op_vec(st, K.add, e, it[2].u.sym, &nv, &at)) != 0) goto out;
        rc = transact_add(st, e, it[2].u.sym, x, &nv, &at);
    }
out:
    free(cur.p);
    return rc;
}

static int sym_cmp(const void *x, const void *y) {
    return dl_attr_cmp(*(const edn_sym *const *)x, *(const edn_sym *const *)y);
}

static int do_retract_entity(tx_state *st, const edn_value *ent) {
    uint64_t e;
    bool found;
    tx_vec eds = {0}, vds = {0};
    int rc;
    if (ent->n != 2) return unknown_op(ent);
    if ((rc = entid(st, &ent->u.items[1], &e, &found)) != 0) return rc;
    if (!found) return 0;
    if ((rc = cur_ea(st, e, NULL, &eds)) != 0) goto out;
    {
        /* refs to e, attribute by attribute in keyword order */
        size_t n = dl_schema_count(st->schema), nr = 0;
        const edn_sym **refs = malloc((n ? n : 1) * sizeof *refs);
        if (!refs) {
            rc = dl_err_nomem();
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            const dl_attr *x = dl_schema_at(st->schema, i);
            if (x->ref && x->ident) refs[nr++] = x->ident;
        }
        qsort(refs, nr, sizeof *refs, sym_cmp);
        for (size_t i = 0; i < nr && rc == 0; i++) {
            dl_datom k = {.a = refs[i], .v = edn_int((int64_t)e)};
            rc = scan(st, DL_AVET, &k, 2, 0, &vds);
        }
        free(refs);
        if (rc) goto out;
    }
    for (size_t i = 0; i < eds.n && rc == 0; i++)
        rc = retract_datom(st, &((dl_datom *)eds.p)[i]);
    for (size_t i = 0; i < vds.n && rc == 0; i++) {
        dl_datom *d = &((dl_datom *)vds.p)[i];
        if (d->e == e) continue; /* self reference: already retracted */
        rc = retract_datom(st, d);
    }
    if (rc == 0) rc = push_components(st, eds.p, eds.n, K.retract_entity2);
out:
    free(eds.p);
    free(vds.p);
    return rc;
}

static int do_purge(tx_state *st, const edn_value *ent);

static int do_list(tx_state *st, const edn_value *ent) {
    const edn_value *it = ent->u.items;
    const edn_sym *op;
    const dl_attr *x = NULL;
    edn_value e, v;
    uint64_t eid;
    bool found;
    pbuf p;
    int rc;

    if (ent->n == 0 || it[0].type != EDN_KEYWORD) return unknown_op(ent);
    op = it[0].u.sym;
    if (op == K.call)
        return dl_err_set(DATALITH_EUNSUPPORTED,
                          "Transaction functions are not supported: %s",
                          pstr(ent, &p));
    if (op != K.purge && op != K.purge_attr && op != K.purge_entity &&
        op != K.purge_before && op != K.add && op != K.retract && op != K.retract_attr &&
        op != K.retract_entity && op != K.retract_entity2 && op != K.cas &&
        op != K.cas2) {
        if ((rc = entid(st, &it[0], &eid, &found)) != 0) return rc;
        if (found)
            return dl_err_set(DATALITH_EUNSUPPORTED,
                              "Transaction functions are not supported: %s",
                              pstr(ent, &p));
        return unknown_op(ent);
    }
    if (ent->n >= 2 && is_tempid(&it[1]) && op != K.add && !is_txid(&it[1]))
        return dl_err_set(DATALITH_ETX, "Tempids are allowed in :db/add only");
    if (op == K.purge || op == K.purge_attr || op == K.purge_entity ||
        op == K.purge_before)
        return do_purge(st, ent);
    if (op == K.cas || op == K.cas2) return do_cas(st, ent);
    if (op == K.retract_entity || op == K.retract_entity2)
        return do_retract_entity(st, ent);

    if (op == K.add && ent->n != 4) return unknown_op(ent);
    if (op == K.retract && ent->n != 4 && ent->n != 3) return unknown_op(ent);
    if (op == K.retract_attr && ent->n != 3) return unknown_op(ent);
    e = it[1];
    if ((rc = need_attr(st, &it[2], ent, &x)) != 0) return rc;
    v = ent->n == 4 ? it[3] : edn_nil();

    if (op == K.add) {
        const edn_sym *a = it[2].u.sym;
        edn_value at;
        if (is_txid(&e)) {
            if ((rc = allocate(st, &e, st->tx)) != 0) return rc;
            e = edn_int((int64_t)st->tx);
        }
        if (x->ref && is_txid(&v)) {
            if ((rc = allocate(st, &v, st->tx)) != 0) return rc;
            v = edn_int((int64_t)st->tx);
        } else if (x->ref && is_tempid(&v)) {
            tx_bind *b = bind_find(&st->tempids, &v);
            uint64_t r = b ? b->eid : next_eid(st);
            if (!b && (rc = allocate(st, &v, r)) != 0) return rc;
            v = edn_int((int64_t)r);
        }
        if (is_tempid(&e)) {
            tx_bind *b = bind_find(&st->tempids, &e);
            uint64_t up = 0;
            bool upf = false;
            if (x->unique == DL_UNIQUE_IDENTITY && v.type != EDN_NIL) {
                dl_datom d;
                if ((rc = avet_first(st, a, &v, &d, &upf)) != 0) return rc;
                up = d.e;
            }
            if (upf && b && b->eid != up) return retry_with(st, &e, up);
            eid = upf ? up : b ? b->eid : next_eid(st);
            if ((rc = allocate(st, &e, eid)) != 0) return rc;
        } else {
            if ((rc = entid_strict(st, &e, &eid)) != 0) return rc;
        }
        if (x->ref && v.type != EDN_NIL) {
            uint64_t r;
            if ((rc = entid_strict(st, &v, &r)) != 0) return rc;
            v = edn_int((int64_t)r);
        }
        if (x->composite && x->n_tuple_attrs) {
            /* a direct write is accepted only as a no-op: it must equal
            ** the value the components give (this lets a unique identity
            ** composite act as an upsert key in an entity map) */
            edn_value tv;
            bool any;
            if ((rc = tuple_value(st, eid, x, &tv, &any)) != 0) return rc;
            if (any && edn_equal(&tv, &v)) return 0;
        }
        if ((rc = op_vec(st, K.add, eid, a, &v, &at)) != 0) return rc;
        if ((rc = dl_schema_check_value(st->schema, x, &v, ent, 0)) != 0)
            return rc;
        return transact_add(st, eid, a, x, &v, &at);
    }

    /* retractions: an unresolved entity is a no-op */
    if ((rc = entid(st, &e, &eid, &found)) != 0) return rc;
    if (!found) return 0;
    if (op == K.retract && ent->n == 4) {
        dl_datom old;
        if (x->ref) {
            uint64_t r;
            if ((rc = entid_strict(st, &v, &r)) != 0) return rc;
            v = edn_int((int64_t)r);
        }
        if (v.type == EDN_NIL)
            return dl_err_set(DATALITH_ETX,
                              "Cannot store nil as a value at %s",
                              pstr(ent, &p));
        if ((rc = cur_eav(st, eid, it[2].u.sym, &v, &old, &found)) != 0)
            return rc;
        return found ? retract_datom(st, &old) : 0;
    }
    {
        tx_vec ds = {0};
        if ((rc = cur_ea(st, eid, it[2].u.sym, &ds)) == 0) {
            for (size_t i = 0; i < ds.n && rc == 0; i++)
                rc = retract_datom(st, &((dl_datom *)ds.p)[i]);
            if (rc == 0) rc = push_components(st, ds.p, ds.n, K.retract_entity2);
        }
        free(ds.p);
        return rc;
    }
}

/* ---- raw datoms ----
**
** A #datahike/Datom [e a v tx added] in tx-data (Datahike's transact-tx-data
** on a datom): added, it is asserted like [:db/add e a v] but keeps its own
** tx; retracted, the current [e a v] is retracted with the datom's tx as
** the retracting transaction (no current datom: a no-op). */

static int do_datom(tx_state *st, const edn_value *ent) {
    const edn_value *p = ent->u.tagged.val, *it;
    const dl_attr *x;
    edn_value v, at;
    uint64_t e, tx;
    bool added = true;
    pbuf pb;
    int rc;
    if (!p || !edn_is_seq(p) || (p->n != 4 && p->n != 5) ||
        p->u.items[0].type != EDN_INT || p->u.items[0].u.i < 0 ||
        p->u.items[3].type != EDN_INT || p->u.items[3].u.i < 0 ||
        (p->n == 5 && p->u.items[4].type != EDN_BOOL))
        return dl_err_set(DATALITH_ETX,
                          "Bad datom %s, expected #datahike/Datom [e a v tx "
                          "added] with integer e and tx and boolean added",
                          pstr(ent, &pb));
    it = p->u.items;
    e = (uint64_t)it[0].u.i;
    tx = (uint64_t)it[3].u.i;
    if (p->n == 5) added = it[4].u.b;
    v = it[2];
    {
        edn_value op[5] = {edn_keyword(added ? K.add : K.retract), it[0],
                           it[1], it[2], it[3]};
        if ((rc = edn_vector(st->a, op, 5, &at)) != 0) return rc;
    }
    if ((rc = need_attr(st, &it[1], &at, &x)) != 0) return rc;
    if (v.type == EDN_NIL)
        return dl_err_set(DATALITH_ETX, "Cannot store nil as a value at %s",
                          pstr(&at, &pb));
    if (added) {
        if (x->ref) {
            uint64_t r;
            if ((rc = entid_strict(st, &v, &r)) != 0) return rc;
            v = edn_int((int64_t)r);
        }
        if ((rc = dl_schema_check_value(st->schema, x, &v, &at, 0)) != 0)
            return rc;
        return transact_add_tx(st, e, it[1].u.sym, x, &v, tx);
    }
    {
        dl_datom old, d;
        bool found;
        if ((rc = cur_eav(st, e, it[1].u.sym, &v, &old, &found)) != 0)
            return rc;
        if (!found) return 0;
        d = old;
        d.tx = tx;
        d.added = false;
        return emit(st, &d, &old);
    }
}

/* ---- purge ----
**
** Purge ops remove datoms physically, from the current AND the temporal
** indexes, so that not even history shows them (Datahike's
** transact-purge-datom: nothing is added to :tx-data).  While the ops run,
** the matching current datoms leave the working trees (later ops no longer
** see them) and the pattern is queued; once dl_db_apply has built db-after,
** purge_apply() removes every datom matching a queued pattern from all six
** trees of db-after:
**
**   [:db/purge e a v]          EAVT prefix [e a v]
**   [:db.purge/attribute e a]  EAVT prefix [e a]      + component entities
**   [:db.purge/entity e]       EAVT prefix [e], AVET [ref e] for every ref
**                              attribute                + component entities
**   [:db.history.purge/before t]  each history datom of a tx whose
**                              :db/txInstant is before t and that is not
**                              current (exact 5-field TEAVT key)
*/

typedef struct tx_purge {
    dl_datom key;
    unsigned nf;  /* key fields that must match */
    dl_index o;   /* DL_EAVT or DL_AVET prefix; DL_TEAVT: one exact datom */
} tx_purge;

static int purge_queue(tx_state *st, dl_index o, const dl_datom *key,
                       unsigned nf) {
    tx_purge pg = {*key, nf, o};
    int rc;
    if ((rc = edn_clone(st->a, &key->v, &pg.key.v)) != 0) return rc;
    if ((rc = vec_push(&st->purged, &pg, sizeof pg)) != 0) return rc;
    if (o == DL_EAVT || o == DL_AVET) {
        tx_vec r = {0};
        rc = scan(st, o, key, nf, 0, &r);
        for (size_t i = 0; rc == 0 && i < r.n; i++) {
            dl_datom *d = &((dl_datom *)r.p)[i];
            if ((rc = bt_remove(&st->eavt, d, NULL)) == 0)
                rc = bt_remove(&st->avet, d, NULL);
        }
        free(r.p);
    }
    return rc;
}

/* The datoms history shows for a prefix: current ones (working trees) and
** the temporal ones of `before`. */
static int history_scan(tx_state *st, dl_index o, const dl_datom *key,
                        unsigned nf, tx_vec *out) {
    int rc = scan(st, o, key, nf, 0, out);
    if (rc == 0)
        rc = scan_tree(st,
                       &st->before->idx[o == DL_EAVT ? DL_TEAVT : DL_TAVET],
                       o == DL_EAVT ? DL_TEAVT : DL_TAVET, key, nf, 0, out);
    return rc;
}

static int u64_cmp(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int purge_before(tx_state *st, int64_t ms) {
    dl_datom k = {.a = K.tx_instant};
    tx_vec txi = {0}, hist = {0}, comp = {0};
    uint64_t *txs = NULL;
    size_t ntx = 0;
    bt_cursor *c = NULL;
    int rc;
    /* the transactions whose instant is before ms */
    rc = scan_tree(st, &st->before->idx[DL_AEVT], DL_AEVT, &k, 1, 0, &txi);
    if (rc) goto out;
    txs = malloc((txi.n ? txi.n : 1) * sizeof *txs);
    if (!txs) {
        rc = dl_err_nomem();
        goto out;
    }
    for (size_t i = 0; i < txi.n; i++) {
        dl_datom *d = &((dl_datom *)txi.p)[i];
        if (d->v.type == EDN_INST && d->v.u.ms < ms) txs[ntx++] = d->e;
    }
    qsort(txs, ntx, sizeof *txs, u64_cmp);
    /* their history datoms that are not current */
    if (ntx) {
        if ((rc = bt_cursor_open(&st->before->idx[DL_TEAVT], &c)) != 0)
            goto out;
        rc = bt_cursor_first(c);
        while (rc == 0 && bt_cursor_valid(c)) {
            dl_datom d;
            bt_cursor_get(c, &d);
            if (bsearch(&d.tx, txs, ntx, sizeof *txs, u64_cmp)) {
                if ((rc = edn_clone(st->a, &d.v, &d.v)) != 0) break;
                if ((rc = vec_push(&hist, &d, sizeof d)) != 0) break;
            }
            rc = bt_cursor_next(c);
        }
        if (rc == 0) rc = bt_cursor_error(c);
        bt_cursor_close(c);
        if (rc < 0) goto out;
        rc = 0;
    }
    for (size_t i = 0; i < hist.n && rc == 0; i++) {
        dl_datom *d = &((dl_datom *)hist.p)[i], cur;
        bool found;
        if ((rc = cur_eav(st, d->e, d->a, &d->v, &cur, &found)) != 0) break;
        if (found && cur.tx == d->tx && d->added) continue; /* current */
        if ((rc = purge_queue(st, DL_TEAVT, d, 5)) != 0) break;
        rc = vec_push(&comp, d, sizeof *d);
    }
    if (rc == 0) rc = push_components(st, comp.p, comp.n, K.purge_entity);
out:
    free(txs);
    free(txi.p);
    free(hist.p);
    free(comp.p);
    return rc;
}

static int do_purge(tx_state *st, const edn_value *ent) {
    const edn_value *it = ent->u.items;
    const edn_sym *op = it[0].u.sym;
    const dl_attr *x;
    uint64_t e;
    bool found;
    pbuf p;
    int rc;
    if (!st->before->config->keep_history)
        return dl_err_set(DATALITH_ETX, "%s",
                          op == K.purge ? "Purge is only available in "
                                          "temporal databases."
                          : op == K.purge_attr
                              ? "Purge attribute is only available in "
                                "temporal databases."
                              : "Purge entity is only available in "
                                "temporal databases.");
    if (op == K.purge_before) {
        if (ent->n != 2 || it[1].type != EDN_INST)
            return dl_err_set(DATALITH_ETX,
                              "Bad %s, expected [:db.history.purge/before "
                              "#inst \"…\"]",
                              pstr(ent, &p));
        return purge_before(st, it[1].u.ms);
    }
    if ((op == K.purge && ent->n != 4) || (op == K.purge_attr && ent->n != 3) ||
        (op == K.purge_entity && ent->n != 2))
        return unknown_op(ent);
    if ((rc = entid(st, &it[1], &e, &found)) != 0) return rc;
    if (!found)
        return dl_err_set(DATALITH_ETX,
                          "Can't find entity with ID %s to be purged",
                          pstr(&it[1], &p));
    if (op == K.purge) {
        dl_datom k = {.e = e};
        if ((rc = need_attr(st, &it[2], ent, &x)) != 0) return rc;
        k.a = it[2].u.sym;
        k.v = it[3];
        if (x->ref) {
            uint64_t r;
            if ((rc = entid_strict(st, &it[3], &r)) != 0) return rc;
            k.v = edn_int((int64_t)r);
        }
        return purge_queue(st, DL_EAVT, &k, 3);
    }
    {
        dl_datom k = {.e = e};
        tx_vec hist = {0};
        unsigned nf = 1;
        if (op == K.purge_attr) {
            if ((rc = need_attr(st, &it[2], ent, &x)) != 0) return rc;
            k.a = it[2].u.sym;
            nf = 2;
        }
        rc = history_scan(st, DL_EAVT, &k, nf, &hist);
        if (rc == 0) rc = purge_queue(st, DL_EAVT, &k, nf);
        if (rc == 0 && op == K.purge_entity) {
            /* references to e, through every ref attribute */
            size_t n = dl_schema_count(st->schema);
            for (size_t i = 0; i < n && rc == 0; i++) {
                const dl_attr *r = dl_schema_at(st->schema, i);
                dl_datom rk = {.v = edn_int((int64_t)e)};
                if (!r->ref || !r->ident) continue;
                rk.a = r->ident;
                rc = purge_queue(st, DL_AVET, &rk, 2);
            }
        }
        if (rc == 0) rc = push_components(st, hist.p, hist.n, K.purge_entity);
        free(hist.p);
        return rc;
    }
}

/* Remove from every tree of db (fresh from dl_db_apply, not shared) the
** datoms the queued purges name; db->hash follows the current datoms.  The
** value then carries no log-tail record, so its commit flushes the trees. */
static int purge_apply(tx_state *st, dl_db *db) {
    tx_purge *pg = st->purged.p;
    int rc = 0;
    for (size_t i = 0; i < st->purged.n && rc == 0; i++) {
        tx_vec cur = {0}, tmp = {0};
        if (pg[i].o == DL_TEAVT) {
            rc = vec_push(&tmp, &pg[i].key, sizeof pg[i].key);
        } else {
            bool e = pg[i].o == DL_EAVT;
            rc = scan_tree(st, &db->idx[e ? DL_EAVT : DL_AVET],
                           e ? DL_EAVT : DL_AVET, &pg[i].key, pg[i].nf, 0,
                           &cur);
            if (rc == 0)
                rc = scan_tree(st, &db->idx[e ? DL_TEAVT : DL_TAVET],
                               e ? DL_TEAVT : DL_TAVET, &pg[i].key,
                               pg[i].nf, 0, &tmp);
        }
        for (size_t j = 0; rc == 0 && j < cur.n + tmp.n; j++) {
            dl_datom *d = j < cur.n ? &((dl_datom *)cur.p)[j]
                                    : &((dl_datom *)tmp.p)[j - cur.n];
            if (dl_schema_is_schema_attr(d->a) || d->a == K.ident) {
                pbuf p;
                rc = dl_err_set(DATALITH_EUNSUPPORTED,
                                "Purging schema datoms is not supported: %s",
                                pdatom(d, &p));
            }
        }
        for (size_t j = 0; rc == 0 && j < cur.n; j++) {
            dl_datom *d = &((dl_datom *)cur.p)[j];
            int changed = 0;
            rc = bt_remove(&db->idx[DL_EAVT], d, &changed);
            if (rc == 0) rc = bt_remove(&db->idx[DL_AEVT], d, NULL);
            if (rc == 0) rc = bt_remove(&db->idx[DL_AVET], d, NULL);
            if (rc == 0 && changed) db->hash -= dl_datom_hash(d);
        }
        for (size_t j = 0; rc == 0 && j < tmp.n; j++) {
            dl_datom *d = &((dl_datom *)tmp.p)[j];
            rc = bt_remove(&db->idx[DL_TEAVT], d, NULL);
            if (rc == 0) rc = bt_remove(&db->idx[DL_TAEVT], d, NULL);
            if (rc == 0) rc = bt_remove(&db->idx[DL_TAVET], d, NULL);
        }
        free(cur.p);
        free(tmp.p);
    }
    if (rc == 0 && st->purged.n) {
        free(db->txdata);
        db->txdata = NULL;
        db->txdata_len = db->txdata_n = 0;
    }
    return rc;
}

/* ---- the driver ---- */

static int run_once(tx_state *st, const edn_value *tx_data,
                    const edn_value *meta_ops, size_t n_meta,
                    int64_t instant) {
    dl_datom ti = {.e = st->tx, .a = K.tx_instant, .v = edn_inst(instant),
                   .tx = st->tx, .added = true};
    int rc;
    if ((rc = emit(st, &ti, NULL)) != 0) return rc;
    if ((rc = push_all(st, meta_ops, n_meta)) != 0) return rc;
    if ((rc = push_all(st, tx_data->u.items, tx_data->n)) != 0) return rc;
    while (st->stack.n) {
        edn_value ent = ((edn_value *)st->stack.p)[--st->stack.n];
        if (ent.type == EDN_MAP)
            rc = do_map(st, &ent);
        else if (edn_is_seq(&ent))
            rc = do_list(st, &ent);
        else if (ent.type == EDN_TAGGED && ent.u.tagged.tag == K.datom)
            rc = do_datom(st, &ent);
        else {
            pbuf p;
            rc = dl_err_set(DATALITH_ETX,
                            "Bad entity type at %s, expected map, vector, or "
                            "datom",
                            pstr(&ent, &p));
        }
        if (rc) return rc;
    }
    return flush_tuples(st);
}

static void state_reset(tx_state *st) {
    bt_tree_release(&st->eavt);
    bt_tree_release(&st->avet);
    dl_schema_release(st->schema);
    st->schema = NULL;
    st->data.n = 0;
    st->stack.n = 0;
    st->touched.n = 0;
    st->purged.n = 0;
}

static void state_start(tx_state *st) {
    bt_tree_copy(&st->eavt, &st->before->idx[DL_EAVT]);
    bt_tree_copy(&st->avet, &st->before->idx[DL_AVET]);
    dl_schema_retain(st->before->schema);
    st->schema = st->before->schema;
    st->schema_changed = false;
    st->max_eid = st->before->max_eid;
}

/* dl_schema_data callbacks over before (history) and after (current). */
typedef struct used_ctx {
    const dl_db *before, *after;
} used_ctx;

static int cb_used(void *ctx, const edn_sym *ident, bool *out) {
    used_ctx *u = ctx;
    dl_datom k = {.a = ident};
    uint64_t n = 0, m = 0;
    int rc = bt_count_prefix(&u->before->idx[DL_AEVT], &k, 1, &n);
    if (rc == 0)
        rc = bt_count_prefix(&u->before->idx[DL_TAEVT], &k, 1, &m);
    *out = n + m > 0;
    return rc;
}

static int cb_multi(void *ctx, const edn_sym *ident, uint64_t *out) {
    used_ctx *u = ctx;
    dl_datom k = {.a = ident};
    bt_cursor *c;
    uint64_t last = 0;
    bool any = false;
    int rc;
    *out = 0;
    if ((rc = bt_cursor_open(&u->after->idx[DL_AEVT], &c)) != 0) return rc;
    rc = bt_cursor_seek(c, &k, 1, 0);
    while (rc == 0 && bt_cursor_valid(c)) {
        dl_datom d;
        bt_cursor_get(c, &d);
        if (d.a != ident) break;
        if (any && d.e == last) {
            *out = d.e;
            break;
        }
        any = true;
        last = d.e;
        rc = bt_cursor_next(c);
    }
    if (rc == 0) rc = bt_cursor_error(c);
    bt_cursor_close(c);
    return rc < 0 ? rc : 0;
}

/* ---- index back-fill (schema changes under :allow-index-backfill?) ----
**
** Enabling :db/index or :db/unique on an attribute that already has datoms
** puts them into AVET: dl_db_apply only indexes the changes of the
** transaction, so the attribute's older current datoms are copied from
** AEVT (and, with history, its temporal datoms from the temporal AEVT,
** since the temporal AVET holds every AVET attribute) into the new value.
** A newly unique attribute must then hold each value on one entity only.
** The result cannot be replayed from the commit log tail (the logged
** changes do not include the back-filled entries), so its txdata is
** dropped and the commit writes index nodes, as for purges. */

/* Does the change from o (NULL: new) to n need AVET back-filled or
** duplicates checked?  *unique: the attribute has just become unique. */
static bool backfill_needed(const dl_attr *o, const dl_attr *n,
                            bool *unique) {
    *unique = o && n->unique != DL_UNIQUE_NONE &&
              o->unique == DL_UNIQUE_NONE;
    return o && n->avet && (!o->avet || *unique);
}

/* Copy the datoms of `a` in tree `from` into tree `to` (already present
** ones stay as they are); *n counts the datoms copied. */
static int backfill_tree(bt_tree *to, const bt_tree *from, const edn_sym *a,
                         uint64_t *n) {
    dl_datom k = {.a = a};
    bt_cursor *c;
    int rc, changed;
    if ((rc = bt_cursor_open(from, &c)) != 0) return rc;
    rc = bt_cursor_seek(c, &k, 1, 0);
    while (rc == 0 && bt_cursor_valid(c)) {
        dl_datom d;
        bt_cursor_get(c, &d);
        if (d.a != a) break;
        if ((rc = bt_insert(to, &d, &changed)) != 0) break;
        if (changed) (*n)++;
        rc = bt_cursor_next(c);
    }
    if (rc == 0) rc = bt_cursor_error(c);
    bt_cursor_close(c);
    return rc < 0 ? rc : 0;
}

/* Two entities holding one value of the newly unique `a` in AVET: the
** Datahike unique-constraint error, naming the later datom as the one that
** cannot be added. */
static int backfill_unique(const bt_tree *avet, const edn_sym *a) {
    dl_datom k = {.a = a}, prev = {0};
    bt_cursor *c;
    bool any = false;
    int rc;
    if ((rc = bt_cursor_open(avet, &c)) != 0) return rc;
    rc = bt_cursor_seek(c, &k, 1, 0);
    while (rc == 0 && bt_cursor_valid(c)) {
        dl_datom d;
        bt_cursor_get(c, &d);
        if (d.a != a) break;
        if (any && d.e != prev.e && dl_datom_cmp(DL_AVET, &d, &prev, 2) == 0) {
            bool later = d.tx > prev.tx || (d.tx == prev.tx && d.e > prev.e);
            pbuf p1, p2;
            rc = dl_err_set(DATALITH_ETX,
                            "Cannot add %s because of unique constraint: "
                            "(%s)",
                            pdatom(later ? &d : &prev, &p1),
                            pdatom(later ? &prev : &d, &p2));
            break;
        }
        prev = d; /* v stays valid while the cursor's tree is held */
        any = true;
        rc = bt_cursor_next(c);
    }
    if (rc == 0) rc = bt_cursor_error(c);
    bt_cursor_close(c);
    return rc < 0 ? rc : 0;
}

/* Back-fill `db` (the uncommitted value built from `before` with the new
** schema) after dl_schema_check_changes accepted the change and reported
** used attributes in `bf`. */
static int backfill_apply(const dl_db *before, dl_db *db,
                          const dl_schema_backfill *bf) {
    const dl_schema *s = db->schema;
    uint64_t copied = 0;
    int rc = 0;
    if (!bf || bf->n == 0) return 0;
    for (size_t i = 0; i < dl_schema_count(s) && rc == 0; i++) {
        const dl_attr *n = dl_schema_at(s, i), *o;
        bool unique;
        if (n->system || !n->ident || !n->eid) continue;
        o = dl_schema_attr_by_eid(before->schema, n->eid);
        if (!backfill_needed(o, n, &unique)) continue;
        rc = backfill_tree(&db->idx[DL_AVET], &db->idx[DL_AEVT], n->ident,
                           &copied);
        if (rc == 0 && db->config->keep_history)
            rc = backfill_tree(&db->idx[DL_TAVET], &db->idx[DL_TAEVT],
                               n->ident, &copied);
        if (rc == 0 && unique) rc = backfill_unique(&db->idx[DL_AVET], n->ident);
    }
    if (rc == 0 && copied) {
        free(db->txdata);
        db->txdata = NULL;
        db->txdata_len = db->txdata_n = 0;
    }
    return rc;
}

/* The end both transaction paths share, once out->db_after is built: check
** a schema change against the data (and back-fill AVET when it allows
** that), then fill the report's tx, instant and datoms (copied into `a`). */
static int tx_finish(dl_arena *a, const dl_db *before, tx_state *st,
                     int64_t instant, dl_tx_report *out) {
    int rc;
    if (st->schema_changed) {
        used_ctx u = {before, out->db_after};
        dl_schema_data sd = {&u, cb_used, cb_multi};
        dl_schema_backfill bf;
        rc = dl_schema_check_changes(before->schema, st->schema, &sd,
                                     before->config->allow_index_backfill,
                                     &bf);
        if (rc == 0) rc = backfill_apply(before, out->db_after, &bf);
        if (rc) return rc;
    }
    out->tx = st->tx;
    out->tx_instant = instant;
    out->n_datoms = st->data.n;
    out->datoms = dl_arena_alloc(a, (st->data.n ? st->data.n : 1) *
                                        sizeof(dl_datom));
    if (!out->datoms) return DATALITH_ENOMEM;
    if (st->data.n)
        memcpy(out->datoms, st->data.p, st->data.n * sizeof(dl_datom));
    return 0;
}

int dl_tx_run(const dl_db *before, const edn_value *tx_data,
              const edn_value *tx_meta, int64_t now_ms, dl_arena *a,
              dl_tx_report *out) {
    tx_state st;
    tx_vec meta = {0};
    int64_t instant;
    pbuf p;
    int rc, tries = 0;

    memset(out, 0, sizeof *out);
    if ((rc = k_init()) != 0) return rc;
    if (!tx_data || !edn_is_seq(tx_data))
        return dl_err_set(DATALITH_ETX,
                          "Bad transaction data %s, expected sequential "
                          "collection",
                          pstr(tx_data, &p));
    if (tx_meta && tx_meta->type != EDN_NIL && tx_meta->type != EDN_MAP)
        return dl_err_set(DATALITH_ETX, "Bad transaction metadata %s, "
                                        "expected a map",
                          pstr(tx_meta, &p));
    memset(&st, 0, sizeof st);
    st.before = before;
    st.a = a;
    st.tx = before->max_tx + 1;

    instant = now_ms;
    if (before->last_tx_instant != 0 && instant <= before->last_tx_instant)
        instant = before->last_tx_instant + 1;
    if (tx_meta && tx_meta->type == EDN_MAP) {
        const edn_value *u = edn_map_getk(tx_meta, "db/txInstant");
        if (u && u->type == EDN_INST) instant = u->u.ms;
        for (uint32_t i = 0; i < tx_meta->n && before->config->keep_history;
             i++) {
            const edn_value *k = &tx_meta->u.items[2 * i];
            edn_value op;
            if (edn_is_kw(k, K.tx_instant)) continue;
            if (k->type != EDN_KEYWORD) continue;
            if ((rc = op_vec(&st, K.add, st.tx, k->u.sym,
                             &tx_meta->u.items[2 * i + 1], &op)) != 0)
                goto fail;
            if ((rc = vec_push(&meta, &op, sizeof op)) != 0) goto fail;
        }
    }

    for (;;) {
        state_start(&st);
        rc = run_once(&st, tx_data, meta.p, meta.n, instant);
        if (rc != TX_RETRY) break;
        state_reset(&st);
        if (++tries > 1000) {
            rc = dl_err_set(DATALITH_ETX, "Too many upsert retries");
            goto fail;
        }
    }
    if (rc) goto fail_state;

    {
        dl_change *ch = malloc((st.data.n ? st.data.n : 1) * sizeof *ch);
        dl_datom *ds = st.data.p;
        if (!ch) {
            rc = dl_err_nomem();
            goto fail_state;
        }
        for (size_t i = 0; i < st.data.n; i++) ch[i].d = ds[i];
        if (!st.schema_changed && !st.purged.n)
            /* the working EAVT and AVET already hold the changes: hand
            ** them over instead of applying the changes a second time */
            rc = dl_db_apply_moved(before, ch, st.data.n, NULL, st.max_eid,
                                   st.tx, instant, &st.eavt, &st.avet,
                                   &out->db_after);
        else
            rc = dl_db_apply(before, ch, st.data.n,
                             st.schema_changed ? st.schema : NULL,
                             st.max_eid, st.tx, instant, &out->db_after);
        free(ch);
        if (rc) goto fail_state;
        if (st.purged.n && (rc = purge_apply(&st, out->db_after)) != 0)
            goto fail_state;
    }
    if ((rc = tx_finish(a, before, &st, instant, out)) != 0) goto fail_state;
    {
        size_t n = st.tempids.n;
        edn_value *kv = dl_arena_alloc(a, (2 * n + 2) * sizeof *kv);
        tx_bind *b = st.tempids.p;
        if (!kv) {
            rc = DATALITH_ENOMEM;
            goto fail_state;
        }
        for (size_t i = 0; i < n; i++) {
            kv[2 * i] = b[i].key;
            kv[2 * i + 1] = edn_int((int64_t)b[i].eid);
        }
        kv[2 * n] = edn_keyword(K.current_tx);
        kv[2 * n + 1] = edn_int((int64_t)st.tx);
        if ((rc = edn_map(a, kv, n + 1, &out->tempids)) != 0) goto fail_state;
    }
    {
        edn_value empty, k = edn_keyword(K.tx_instant), v = edn_inst(instant);
        const edn_value *m = tx_meta && tx_meta->type == EDN_MAP ? tx_meta
                                                                 : NULL;
        if (!m) {
            if ((rc = edn_map(a, NULL, 0, &empty)) != 0) goto fail_state;
            m = &empty;
        }
        if ((rc = assoc(a, m, &k, &v, &out->tx_meta)) != 0) goto fail_state;
    }
    state_reset(&st);
    free(st.data.p);
    free(st.stack.p);
    free(st.tempids.p);
    free(st.upserted.p);
    free(st.touched.p);
    free(st.purged.p);
    free(meta.p);
    return 0;

fail_state:
    state_reset(&st);
fail:
    if (out->db_after) dl_db_release(out->db_after);
    memset(out, 0, sizeof *out);
    free(st.data.p);
    free(st.stack.p);
    free(st.tempids.p);
    free(st.upserted.p);
    free(st.touched.p);
    free(st.purged.p);
    free(meta.p);
    return rc;
}

void dl_tx_report_release(dl_tx_report *r) {
    if (r && r->db_after) {
        dl_db_release(r->db_after);
        r->db_after = NULL;
    }
}

/* ---- load-entities ----
**
** Datahike's transact-entities-directly: raw [e a v tx added] records from
** another database (an export) are written with their ids remapped, in
** input order.  No tempids, upserts or transaction functions; no automatic
** :db/txInstant.
**
**   source tx t  ──▶ one new tx id per t (max-tx + 1, + 2 …), allocated
**                    the first time t is seen
**   source eid e ──▶ one new eid per e (max-eid + 1 …); a ref value v is
**                    mapped the same way (allocated if not seen yet)
**   [t :db/txInstant d t] (meta attributes) ──▶ on the new tx entity
**
** Card-one assertions replace the current value, card-many ones add,
** retractions remove the current [e a v].  At the end max-tx is bumped once
** more, as Datahike does (so the next transaction's id skips one). */

typedef struct id_map {
    uint64_t *k, *v; /* open addressing, key 0 = empty (k stored + 1) */
    size_t n, cap;
} id_map;

static uint64_t id_hash(uint64_t x) {
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

static bool id_get(const id_map *m, uint64_t key, uint64_t *out) {
    if (!m->cap) return false;
    for (size_t i = id_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->k[i] == 0) return false;
        if (m->k[i] == key + 1) {
            *out = m->v[i];
            return true;
        }
    }
}

static int id_put(id_map *m, uint64_t key, uint64_t val) {
    if (2 * (m->n + 1) > m->cap) {
        size_t nc = m->cap ? 2 * m->cap : 256;
        uint64_t *nk = calloc(nc, sizeof *nk), *nv = calloc(nc, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return dl_err_nomem();
        }
        for (size_t i = 0; i < m->cap; i++) {
            size_t j;
            if (!m->k[i]) continue;
            for (j = id_hash(m->k[i] - 1) & (nc - 1); nk[j];
                 j = (j + 1) & (nc - 1))
                ;
            nk[j] = m->k[i];
            nv[j] = m->v[i];
        }
        free(m->k);
        free(m->v);
        m->k = nk;
        m->v = nv;
        m->cap = nc;
    }
    for (size_t i = id_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->k[i] == 0 || m->k[i] == key + 1) {
            if (m->k[i] == 0) m->n++;
            m->k[i] = key + 1;
            m->v[i] = val;
            return 0;
        }
    }
}

static void id_free(id_map *m) {
    free(m->k);
    free(m->v);
}

static bool meta_attr(const edn_sym *a) {
    return a == K.tx_instant || a == K.commit_id;
}

/* One record: a vector [e a v tx added] (or a #datahike/Datom). */
static int load_fields(const edn_value *rec, const edn_value **f) {
    pbuf p;
    const edn_value *r = rec;
    if (r->type == EDN_TAGGED && r->u.tagged.tag == K.datom)
        r = r->u.tagged.val;
    if (!edn_is_seq(r) || r->n != 5 || r->u.items[0].type != EDN_INT ||
        r->u.items[0].u.i < 0 || r->u.items[3].type != EDN_INT ||
        r->u.items[3].u.i < 0 || r->u.items[4].type != EDN_BOOL ||
        (r->u.items[1].type != EDN_KEYWORD && r->u.items[1].type != EDN_INT))
        return dl_err_set(DATALITH_ETX,
                          "Bad entity record %s, expected [e a v tx added] "
                          "with integer e and tx, a keyword (or attribute id) "
                          "and a boolean",
                          pstr(rec, &p));
    *f = r->u.items;
    return 0;
}

static int load_one(tx_state *st, const edn_value *rec, id_map *eids,
                    id_map *tids, int64_t *instant) {
    const edn_value *f;
    const edn_sym *a;
    const dl_attr *x;
    uint64_t se, st_tx, ne, nt, nv_id;
    edn_value v;
    bool op;
    pbuf p;
    int rc;
    if ((rc = load_fields(rec, &f)) != 0) return rc;
    se = (uint64_t)f[0].u.i;
    st_tx = (uint64_t)f[3].u.i;
    op = f[4].u.b;
    v = f[2];
    if (f[1].type == EDN_INT) {
        const dl_attr *ax;
        if (!dl_schema_attribute_refs(st->schema))
            return dl_err_set(DATALITH_ETX,
                              "Configuration mismatch: import data with "
                              "attribute references can not be imported into "
                              "a database with no attribute references.");
        ax = f[1].u.i > 0 ? dl_schema_attr_by_eid(st->schema,
                                                  (uint64_t)f[1].u.i)
                          : NULL;
        if (!ax || !ax->ident)
            return dl_err_set(DATALITH_ESCHEMA,
                              "Bad entity attribute %lld at %s, no attribute "
                              "has this id",
                              (long long)f[1].u.i, pstr(rec, &p));
        a = ax->ident;
    } else {
        a = f[1].u.sym;
    }
    if (a == K.install_attr) return 0;
    if ((rc = need_attr(st, &(edn_value){.type = EDN_KEYWORD, .u.sym = a},
                        rec, &x)) != 0)
        return rc;
    if (v.type == EDN_NIL)
        return dl_err_set(DATALITH_ETX, "Cannot store nil as a value at %s",
                          pstr(rec, &p));

    if (meta_attr(a)) {
        nt = st->tx + 1; /* max-tid */
        if (!id_get(tids, st_tx, &nt)) nt = st->tx + 1;
        st->tx = st->tx + 1;
        if ((rc = id_put(tids, se, nt)) != 0) return rc;
        if ((rc = id_put(eids, se, nt)) != 0) return rc;
        ne = nt;
        if (a == K.tx_instant && v.type == EDN_INST && v.u.ms > *instant)
            *instant = v.u.ms;
    } else {
        if (!id_get(tids, st_tx, &nt)) {
            nt = ++st->tx;
            if ((rc = id_put(tids, st_tx, nt)) != 0) return rc;
        }
        if (x->ref && v.type == EDN_INT && v.u.i >= 0) {
            if (!id_get(eids, (uint64_t)v.u.i, &nv_id)) {
                nv_id = next_eid(st);
                advance(st, nv_id);
                if ((rc = id_put(eids, (uint64_t)v.u.i, nv_id)) != 0)
                    return rc;
            }
            v = edn_int((int64_t)nv_id);
        }
        if (!id_get(eids, se, &ne)) {
            ne = next_eid(st);
            advance(st, ne);
            if ((rc = id_put(eids, se, ne)) != 0) return rc;
        }
    }
    if (op) {
        if ((rc = dl_schema_check_value(st->schema, x, &v, rec,
                                        DL_CHECK_INTERNAL)) != 0)
            return rc;
        return transact_add_tx(st, ne, a, x, &v, nt);
    }
    {
        dl_datom old, d;
        bool found;
        if ((rc = cur_eav(st, ne, a, &v, &old, &found)) != 0) return rc;
        if (!found) return 0;
        d = old;
        d.tx = nt;
        d.added = false;
        return emit(st, &d, &old);
    }
}

int dl_tx_load(const dl_db *before, const edn_value *records, dl_arena *a,
               dl_tx_report *out) {
    tx_state st;
    id_map eids = {0}, tids = {0};
    int64_t instant;
    pbuf p;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = k_init()) != 0) return rc;
    if (!records || !edn_is_seq(records))
        return dl_err_set(DATALITH_ETX,
                          "Bad entity records %s, expected a sequential "
                          "collection of [e a v tx added]",
                          pstr(records, &p));
    memset(&st, 0, sizeof st);
    st.before = before;
    st.a = a;
    st.tx = before->max_tx; /* the last allocated tx id */
    instant = before->last_tx_instant;
    state_start(&st);
    for (uint32_t i = 0; i < records->n; i++) {
        if ((rc = load_one(&st, &records->u.items[i], &eids, &tids,
                           &instant)) != 0)
            goto fail;
        st.touched.n = 0; /* the records carry composite values as they are */
    }
    st.tx++; /* Datahike bumps max-tx once more at the end */
    {
        dl_change *ch = malloc((st.data.n ? st.data.n : 1) * sizeof *ch);
        dl_datom *ds = st.data.p;
        if (!ch) {
            rc = dl_err_nomem();
            goto fail;
        }
        for (size_t i = 0; i < st.data.n; i++) ch[i].d = ds[i];
        rc = dl_db_apply(before, ch, st.data.n,
                         st.schema_changed ? st.schema : NULL, st.max_eid,
                         st.tx, instant, &out->db_after);
        free(ch);
        if (rc) goto fail;
    }
    if ((rc = tx_finish(a, before, &st, instant, out)) != 0) goto fail;
    if ((rc = edn_map(a, NULL, 0, &out->tempids)) != 0) goto fail;
    if ((rc = edn_map(a, NULL, 0, &out->tx_meta)) != 0) goto fail;
    state_reset(&st);
    free(st.data.p);
    free(st.stack.p);
    free(st.touched.p);
    free(st.purged.p);
    id_free(&eids);
    id_free(&tids);
    return 0;
fail:
    state_reset(&st);
    if (out->db_after) dl_db_release(out->db_after);
    memset(out, 0, sizeof *out);
    free(st.data.p);
    free(st.stack.p);
    free(st.touched.p);
    free(st.purged.p);
    id_free(&eids);
    id_free(&tids);
    return rc;
}
