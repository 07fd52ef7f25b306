/*
** schema.c — attribute definitions and Datahike's schema rules.  See
** schema.h for the structure, the value-type table and the error texts.
**
** Construction is copy-on-write: a builder holds a private, malloc'd copy
** of the attribute array and applies schema datoms to it; finishing copies
** every variable-length part (docs, tuple arrays) into the new schema's own
** arena, builds the two hash indexes and derives the per-attribute flags,
** so a published dl_schema owns all its memory and never changes.
*/
#include "schema.h"

#include "../util/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dl_schema {
    atomic_int refs;
    dl_schema_flex flex;
    bool attr_refs;
    size_t n;
    dl_attr *attrs;
    uint32_t icap, ecap; /* power-of-two table sizes */
    uint32_t *by_ident;  /* index + 1, 0 = empty */
    uint32_t *by_eid;
    dl_arena arena;
};

struct dl_schema_builder {
    dl_schema_flex flex;
    bool attr_refs;
    size_t n, cap;
    dl_attr *attrs; /* malloc'd; pointer fields point into `arena` or base */
    const dl_schema *base;
    dl_arena arena;
};

/* ---- interned names ---- */

static struct {
    const edn_sym *ident, *value_type, *cardinality, *unique, *index,
        *component, *no_history, *doc, *tuple_type, *tuple_types,
        *tuple_attrs, *install_attr, *id;
    const edn_sym *card_one, *card_many, *uniq_identity, *uniq_value;
    const edn_sym *part_db, *part_tx, *part_user;
    const edn_sym *attr_tuples;
    const edn_sym *vt[DL_VT_COUNT];
    bool ok;
} K;

static pthread_once_t k_once = PTHREAD_ONCE_INIT;

static const edn_sym *I(const char *full) {
    return edn_intern_full(full, strlen(full));
}

static const char *const vt_names[DL_VT_COUNT] = {
    [DL_VT_NONE] = NULL,
    [DL_VT_BIGDEC] = "db.type/bigdec",
    [DL_VT_BIGINT] = "db.type/bigint",
    [DL_VT_BOOLEAN] = "db.type/boolean",
    [DL_VT_BYTES] = "db.type/bytes",
    [DL_VT_DOUBLE] = "db.type/double",
    [DL_VT_FLOAT] = "db.type/float",
    [DL_VT_INSTANT] = "db.type/instant",
    [DL_VT_KEYWORD] = "db.type/keyword",
    [DL_VT_LONG] = "db.type/long",
    [DL_VT_NUMBER] = "db.type/number",
    [DL_VT_REF] = "db.type/ref",
    [DL_VT_STRING] = "db.type/string",
    [DL_VT_SYMBOL] = "db.type/symbol",
    [DL_VT_UUID] = "db.type/uuid",
    [DL_VT_TUPLE] = "db.type/tuple",
    [DL_VT_VALUE] = "db.type/value",
    [DL_VT_CARDINALITY] = "db.type/cardinality",
    [DL_VT_UNIQUE] = "db.type/unique",
    [DL_VT_INSTALL] = "db.type.install/attribute",
};

/* What Datahike's s/describe prints for each type's spec. */
static const char *const vt_describe[DL_VT_COUNT] = {
    [DL_VT_NONE] = "any?",
    [DL_VT_BIGDEC] = "decimal?",
    [DL_VT_BIGINT] = "integer?",
    [DL_VT_BOOLEAN] = "boolean?",
    [DL_VT_BYTES] = "bytes?",
    [DL_VT_DOUBLE] = "double?",
    [DL_VT_FLOAT] = "float?",
    [DL_VT_INSTANT] = "inst?",
    [DL_VT_KEYWORD] = "keyword?",
    [DL_VT_LONG] = "long?",
    [DL_VT_NUMBER] = "number?",
    [DL_VT_REF] = ":db.type/id",
    [DL_VT_STRING] = "string?",
    [DL_VT_SYMBOL] = "symbol?",
    [DL_VT_UUID] = "uuid?",
    [DL_VT_TUPLE] = "vector?",
    [DL_VT_VALUE] =
        "#{:db.type/bigdec :db.type/bigint :db.type/boolean :db.type/bytes "
        ":db.type/cardinality :db.type/double :db.type/float "
        ":db.type/instant :db.type/keyword :db.type/long :db.type/number "
        ":db.type/ref :db.type/string :db.type/symbol :db.type/tuple "
        ":db.type/unique :db.type/uuid :db.type/value "
        ":db.type.install/attribute}",
    [DL_VT_CARDINALITY] = "#{:db.cardinality/many :db.cardinality/one}",
    [DL_VT_UNIQUE] = "#{:db.unique/identity :db.unique/value}",
    [DL_VT_INSTALL] = "#{:db.part/db :db.part/tx :db.part/user}",
};

static void k_init(void) {
    K.ident = I("db/ident");
    K.value_type = I("db/valueType");
    K.cardinality = I("db/cardinality");
    K.unique = I("db/unique");
    K.index = I("db/index");
    K.component = I("db/isComponent");
    K.no_history = I("db/noHistory");
    K.doc = I("db/doc");
    K.tuple_type = I("db/tupleType");
    K.tuple_types = I("db/tupleTypes");
    K.tuple_attrs = I("db/tupleAttrs");
    K.install_attr = I("db.install/_attribute");
    K.id = I("db/id");
    K.card_one = I("db.cardinality/one");
    K.card_many = I("db.cardinality/many");
    K.uniq_identity = I("db.unique/identity");
    K.uniq_value = I("db.unique/value");
    K.part_db = I("db.part/db");
    K.part_tx = I("db.part/tx");
    K.part_user = I("db.part/user");
    K.attr_tuples = I("db/attrTuples");
    K.ok = K.ident && K.attr_tuples;
    for (int t = 1; t < DL_VT_COUNT; t++) {
        K.vt[t] = I(vt_names[t]);
        if (!K.vt[t]) K.ok = false;
    }
}

static int k_ready(void) {
    pthread_once(&k_once, k_init);
    return K.ok ? 0 : dl_err_nomem();
}

/* ---- system attributes (§0 ids) ---- */

typedef struct sysdef {
    const char *ident;
    uint32_t eid;
    uint8_t vtype;
    uint8_t unique;
    bool many, index, no_history;
    bool enum_only; /* an ident, not an attribute */
} sysdef;

static const sysdef SYS[] = {
    {"db/ident", 1, DL_VT_KEYWORD, DL_UNIQUE_IDENTITY, 0, 0, 0, 0},
    {"db/valueType", 2, DL_VT_VALUE, 0, 0, 0, 0, 0},
    {"db/cardinality", 3, DL_VT_CARDINALITY, 0, 0, 0, 0, 0},
    {"db/doc", 4, DL_VT_STRING, 0, 0, 0, 0, 0},
    {"db/index", 5, DL_VT_BOOLEAN, 0, 0, 0, 0, 0},
    {"db/unique", 6, DL_VT_UNIQUE, 0, 0, 0, 0, 0},
    {"db/noHistory", 7, DL_VT_BOOLEAN, 0, 0, 0, 0, 0},
    {"db.install/attribute", 8, DL_VT_INSTALL, 0, 0, 0, 0, 0},
    {"db/txInstant", 9, DL_VT_INSTANT, 0, 0, 1, 1, 0},
    {"db.cardinality/many", 10, 0, 0, 0, 0, 0, 1},
    {"db.cardinality/one", 11, 0, 0, 0, 0, 0, 1},
    {"db.part/sys", 12, 0, 0, 0, 0, 0, 1},
    {"db.part/tx", 13, 0, 0, 0, 0, 0, 1},
    {"db.part/user", 14, 0, 0, 0, 0, 0, 1},
    {"db.type/bigdec", 15, 0, 0, 0, 0, 0, 1},
    {"db.type/bigint", 16, 0, 0, 0, 0, 0, 1},
    {"db.type/boolean", 17, 0, 0, 0, 0, 0, 1},
    {"db.type/double", 18, 0, 0, 0, 0, 0, 1},
    {"db.type/cardinality", 19, 0, 0, 0, 0, 0, 1},
    {"db.type/float", 20, 0, 0, 0, 0, 0, 1},
    {"db.type/number", 21, 0, 0, 0, 0, 0, 1},
    {"db.type/instant", 22, 0, 0, 0, 0, 0, 1},
    {"db.type/keyword", 23, 0, 0, 0, 0, 0, 1},
    {"db.type/long", 24, 0, 0, 0, 0, 0, 1},
    {"db.type/ref", 25, 0, 0, 0, 0, 0, 1},
    {"db.type/string", 26, 0, 0, 0, 0, 0, 1},
    {"db.type/symbol", 27, 0, 0, 0, 0, 0, 1},
    {"db.type/unique", 28, 0, 0, 0, 0, 0, 1},
    {"db.type/uuid", 29, 0, 0, 0, 0, 0, 1},
    {"db.type/valueType", 30, 0, 0, 0, 0, 0, 1},
    {"db.type.install/attribute", 31, 0, 0, 0, 0, 0, 1},
    {"db.unique/identity", 32, 0, 0, 0, 0, 0, 1},
    {"db.unique/value", 33, 0, 0, 0, 0, 0, 1},
    {"db/isComponent", 34, DL_VT_BOOLEAN, 0, 0, 0, 0, 0},
    {"db/tupleType", 35, DL_VT_VALUE, 0, 0, 0, 0, 0},
    {"db/tupleTypes", 36, DL_VT_TUPLE, 0, 0, 0, 0, 0},
    {"db/tupleAttrs", 37, DL_VT_TUPLE, 0, 0, 0, 0, 0},
    {"db.type/tuple", 38, 0, 0, 0, 0, 0, 1},
    {"db.valid/from", 39, DL_VT_INSTANT, 0, 0, 1, 0, 0},
    {"db.valid/to", 40, DL_VT_INSTANT, 0, 0, 1, 0, 0},
    {"db/maxLength", 53, DL_VT_LONG, 0, 0, 0, 0, 0},
    {"db.attr/preds", 54, DL_VT_SYMBOL, 0, 1, 0, 0, 0},
    /* implicit attributes without a system id */
    {"db/ensure", 0, DL_VT_KEYWORD, 0, 0, 0, 0, 0},
    {"db.entity/attrs", 0, DL_VT_KEYWORD, 0, 1, 0, 0, 0},
    {"db.entity/preds", 0, DL_VT_SYMBOL, 0, 1, 0, 0, 0},
};
#define NSYS (sizeof SYS / sizeof SYS[0])

uint64_t dl_schema_system_eid(const edn_sym *ident) {
    if (!ident) return 0;
    for (size_t i = 0; i < NSYS; i++)
        if (strcmp(SYS[i].ident, ident->full) == 0) return SYS[i].eid;
    return 0;
}

const edn_sym *dl_schema_system_ident(uint64_t eid) {
    if (eid == 0) return NULL;
    for (size_t i = 0; i < NSYS; i++)
        if (SYS[i].eid == eid) return I(SYS[i].ident);
    return NULL;
}

bool dl_schema_is_schema_attr(const edn_sym *a) {
    if (k_ready() != 0 || !a) return false;
    return a == K.ident || a == K.value_type || a == K.cardinality ||
           a == K.unique || a == K.index || a == K.component ||
           a == K.no_history || a == K.doc || a == K.tuple_type ||
           a == K.tuple_types || a == K.tuple_attrs;
}

bool dl_schema_is_reserved(const edn_sym *ident) {
    const char *ns;
    if (!ident || !ident->ns) return false;
    ns = ident->ns;
    return ident->ns_len >= 2 && ns[0] == 'd' && ns[1] == 'b' &&
           (ident->ns_len == 2 || ns[2] == '.');
}

/* ---- value types ---- */

dl_vtype dl_vtype_of(const edn_sym *kw) {
    if (k_ready() != 0 || !kw) return DL_VT_NONE;
    for (int t = 1; t < DL_VT_COUNT; t++)
        if (K.vt[t] == kw) return (dl_vtype)t;
    return DL_VT_NONE;
}

const edn_sym *dl_vtype_ident(dl_vtype t) {
    if (k_ready() != 0 || t <= DL_VT_NONE || t >= DL_VT_COUNT) return NULL;
    return K.vt[t];
}

bool dl_vtype_conforms(dl_vtype t, const edn_value *v) {
    switch (t) {
    case DL_VT_NONE: return v->type != EDN_NIL;
    case DL_VT_BIGDEC: return v->type == EDN_BIGDEC;
    case DL_VT_BIGINT: return v->type == EDN_INT || v->type == EDN_BIGINT;
    case DL_VT_BOOLEAN: return v->type == EDN_BOOL;
    case DL_VT_BYTES: return v->type == EDN_BYTES;
    case DL_VT_DOUBLE:
    case DL_VT_FLOAT: return v->type == EDN_FLOAT;
    case DL_VT_INSTANT: return v->type == EDN_INST;
    case DL_VT_KEYWORD: return v->type == EDN_KEYWORD;
    case DL_VT_LONG: return v->type == EDN_INT;
    case DL_VT_NUMBER:
        return v->type == EDN_INT || v->type == EDN_BIGINT ||
               v->type == EDN_FLOAT || v->type == EDN_BIGDEC;
    case DL_VT_REF: return v->type == EDN_INT || v->type == EDN_STRING;
    case DL_VT_STRING: return v->type == EDN_STRING;
    case DL_VT_SYMBOL: return v->type == EDN_SYMBOL;
    case DL_VT_UUID: return v->type == EDN_UUID;
    case DL_VT_TUPLE: return v->type == EDN_VECTOR;
    case DL_VT_VALUE:
        return v->type == EDN_KEYWORD && dl_vtype_of(v->u.sym) != DL_VT_NONE;
    case DL_VT_CARDINALITY:
        return v->type == EDN_KEYWORD && k_ready() == 0 &&
               (v->u.sym == K.card_one || v->u.sym == K.card_many);
    case DL_VT_UNIQUE:
        return v->type == EDN_KEYWORD && k_ready() == 0 &&
               (v->u.sym == K.uniq_identity || v->u.sym == K.uniq_value);
    case DL_VT_INSTALL:
        return v->type == EDN_KEYWORD && k_ready() == 0 &&
               (v->u.sym == K.part_db || v->u.sym == K.part_tx ||
                v->u.sym == K.part_user);
    default: return false;
    }
}

/* ---- printing for messages ---- */

typedef struct pbuf {
    char s[400];
} pbuf;

static const char *pr(const edn_value *v, pbuf *p) {
    dl_buf b = DL_BUF_INIT;
    if (!v) {
        strcpy(p->s, "nil");
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

static const char *sym_str(const edn_sym *s, pbuf *p) {
    if (!s) {
        strcpy(p->s, "nil");
    } else {
        size_t n = s->full_len < sizeof p->s - 2 ? s->full_len
                                                 : sizeof p->s - 2;
        p->s[0] = ':';
        memcpy(p->s + 1, s->full, n);
        p->s[n + 1] = 0;
    }
    return p->s;
}

static int bad_value(const edn_value *v, const edn_value *at, dl_vtype t) {
    pbuf pv, pa;
    return dl_err_set(DATALITH_ESCHEMA,
                      "Bad entity value %s at %s, value does not match schema "
                      "definition. Must be conform to: %s",
                      pr(v, &pv), pr(at, &pa), vt_describe[t]);
}

/* ---- the schema object ---- */

static uint32_t pow2_at_least(size_t n) {
    uint32_t c = 8;
    while (c < n * 2) c <<= 1;
    return c;
}

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

static uint64_t ident_hash(const edn_sym *s) {
    return mix((uint64_t)(uintptr_t)s);
}

const dl_attr *dl_schema_attr(const dl_schema *s, const edn_sym *ident) {
    uint32_t mask = s->icap - 1, i = (uint32_t)ident_hash(ident) & mask;
    for (;;) {
        uint32_t slot = s->by_ident[i];
        if (slot == 0) return NULL;
        if (s->attrs[slot - 1].ident == ident) return &s->attrs[slot - 1];
        i = (i + 1) & mask;
    }
}

const dl_attr *dl_schema_attr_by_eid(const dl_schema *s, uint64_t eid) {
    uint32_t mask = s->ecap - 1, i = (uint32_t)mix(eid) & mask;
    if (eid == 0) return NULL;
    for (;;) {
        uint32_t slot = s->by_eid[i];
        if (slot == 0) return NULL;
        if (s->attrs[slot - 1].eid == eid) return &s->attrs[slot - 1];
        i = (i + 1) & mask;
    }
}

size_t dl_schema_count(const dl_schema *s) { return s->n; }
const dl_attr *dl_schema_at(const dl_schema *s, size_t i) {
    return i < s->n ? &s->attrs[i] : NULL;
}
dl_schema_flex dl_schema_flexibility(const dl_schema *s) { return s->flex; }
bool dl_schema_attribute_refs(const dl_schema *s) { return s->attr_refs; }

void dl_schema_retain(dl_schema *s) {
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

static void schema_free(dl_schema *s) {
    free(s->attrs);
    free(s->by_ident);
    free(s->by_eid);
    dl_arena_free(&s->arena);
    free(s);
}

void dl_schema_release(dl_schema *s) {
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        schema_free(s);
}

static void derive(dl_attr *x) {
    x->ref = x->vtype == DL_VT_REF;
    x->composite = (x->present & DL_P_TUPLEATTRS) != 0;
    x->avet = x->index || x->unique != DL_UNIQUE_NONE || x->ref;
}

static void sys_attr(const sysdef *d, bool attr_refs, dl_attr *x) {
    memset(x, 0, sizeof *x);
    x->ident = I(d->ident);
    x->eid = attr_refs ? d->eid : 0;
    x->system = true;
    x->doc = edn_nil();
    x->present = DL_P_IDENT;
    if (d->enum_only) return;
    x->present |= DL_P_VALUETYPE | DL_P_CARDINALITY;
    x->vtype = d->vtype;
    x->many = d->many;
    x->unique = d->unique;
    if (d->unique) x->present |= DL_P_UNIQUE;
    x->index = d->index;
    x->no_history = d->no_history;
    derive(x);
    /* :db/txInstant is in AVET only under :attribute-refs? (§3) */
    if (!attr_refs && strcmp(d->ident, "db/txInstant") == 0) x->avet = false;
}

/* Copy the variable-length parts of `x` into `a`. */
static int clone_attr(dl_arena *a, dl_attr *x) {
    int rc;
    if (x->present & DL_P_DOC) {
        if ((rc = edn_clone(a, &x->doc, &x->doc)) != 0) return rc;
    }
    if (x->n_tuple_types) {
        uint8_t *t = dl_arena_alloc(a, x->n_tuple_types);
        if (!t) return DATALITH_ENOMEM;
        memcpy(t, x->tuple_types, x->n_tuple_types);
        x->tuple_types = t;
    }
    if (x->n_tuple_attrs) {
        const edn_sym **t =
            dl_arena_alloc(a, x->n_tuple_attrs * sizeof *t);
        if (!t) return DATALITH_ENOMEM;
        memcpy(t, x->tuple_attrs, x->n_tuple_attrs * sizeof *t);
        x->tuple_attrs = t;
    }
    x->n_in_tuples = 0;
    x->in_tuples = NULL;
    return 0;
}

/* Build a published schema from `attrs[0..n)` (copied). */
static int publish(dl_schema_flex flex, bool attr_refs, const dl_attr *attrs,
                   size_t n, dl_schema **out) {
    dl_schema *s = calloc(1, sizeof *s);
    int rc = 0;
    if (!s) return dl_err_nomem();
    atomic_init(&s->refs, 1);
    s->flex = flex;
    s->attr_refs = attr_refs;
    dl_arena_init(&s->arena, 0);
    s->n = n;
    s->icap = pow2_at_least(n);
    s->ecap = pow2_at_least(n);
    s->attrs = malloc((n ? n : 1) * sizeof *s->attrs);
    s->by_ident = calloc(s->icap, sizeof *s->by_ident);
    s->by_eid = calloc(s->ecap, sizeof *s->by_eid);
    if (!s->attrs || !s->by_ident || !s->by_eid) {
        schema_free(s);
        return dl_err_nomem();
    }
    if (n) memcpy(s->attrs, attrs, n * sizeof *attrs);
    for (size_t i = 0; i < n; i++) {
        dl_attr *x = &s->attrs[i];
        if ((rc = clone_attr(&s->arena, x)) != 0) goto fail;
        derive(x);
        if (x->system && !attr_refs &&
            strcmp(x->ident->full, "db/txInstant") == 0)
            x->avet = false;
        if (x->ident) {
            uint32_t j = (uint32_t)ident_hash(x->ident) & (s->icap - 1);
            while (s->by_ident[j]) j = (j + 1) & (s->icap - 1);
            s->by_ident[j] = (uint32_t)i + 1;
        }
        if (x->eid) {
            uint32_t j = (uint32_t)mix(x->eid) & (s->ecap - 1);
            while (s->by_eid[j]) j = (j + 1) & (s->ecap - 1);
            s->by_eid[j] = (uint32_t)i + 1;
        }
    }
    /* composite participation: count, then fill */
    {
        uint32_t *cnt = calloc(n ? n : 1, sizeof *cnt);
        if (!cnt) {
            rc = dl_err_nomem();
            goto fail;
        }
        for (int pass = 0; pass < 2 && rc == 0; pass++) {
            for (size_t i = 0; i < n; i++) {
                const dl_attr *t = &s->attrs[i];
                if (!t->composite || !t->ident) continue;
                for (uint32_t k = 0; k < t->n_tuple_attrs; k++) {
                    const dl_attr *c = dl_schema_attr(s, t->tuple_attrs[k]);
                    size_t ci;
                    if (!c) continue;
                    ci = (size_t)(c - s->attrs);
                    if (pass == 0) {
                        cnt[ci]++;
                    } else {
                        dl_tuple_slot *sl =
                            (dl_tuple_slot *)s->attrs[ci].in_tuples;
                        sl[s->attrs[ci].n_in_tuples].tuple = t->ident;
                        sl[s->attrs[ci].n_in_tuples].pos = k;
                        s->attrs[ci].n_in_tuples++;
                    }
                }
            }
            if (pass == 0) {
                for (size_t i = 0; i < n; i++) {
                    if (!cnt[i]) continue;
                    s->attrs[i].in_tuples =
                        dl_arena_alloc(&s->arena, cnt[i] * sizeof(dl_tuple_slot));
                    if (!s->attrs[i].in_tuples) {
                        rc = DATALITH_ENOMEM;
                        break;
                    }
                }
            }
        }
        free(cnt);
        if (rc) goto fail;
    }
    *out = s;
    return 0;
fail:
    schema_free(s);
    return rc;
}

int dl_schema_new(dl_schema_flex flex, bool attribute_refs,
                  dl_schema **out) {
    dl_attr tmp[NSYS];
    size_t n = 0;
    int rc;
    if ((rc = k_ready()) != 0) return rc;
    for (size_t i = 0; i < NSYS; i++) {
        /* plain ident entities exist only as datoms under attribute refs */
        if (SYS[i].enum_only && !attribute_refs) continue;
        sys_attr(&SYS[i], attribute_refs, &tmp[n]);
        if (!tmp[n].ident) return dl_err_nomem();
        n++;
    }
    return publish(flex, attribute_refs, tmp, n, out);
}

/* ---- resolution ---- */

static const dl_attr READ_DEFAULT = {.vtype = DL_VT_NONE};

int dl_schema_resolve(const dl_schema *s, const edn_sym *a,
                      const edn_value *at, const dl_attr **out,
                      bool *is_reverse) {
    const dl_attr *x = dl_schema_attr(s, a);
    pbuf pa, pb;
    if (is_reverse) *is_reverse = false;
    if (!x && is_reverse && a->name_len > 1 && a->name[0] == '_') {
        const edn_sym *fwd = edn_intern(a->ns, a->ns_len, a->name + 1,
                                        a->name_len - 1);
        if (!fwd) return DATALITH_ENOMEM;
        if ((x = dl_schema_attr(s, fwd)) != NULL) *is_reverse = true;
    }
    if (x) {
        *out = x;
        return 0;
    }
    if (s->flex == DL_FLEX_READ) {
        *out = &READ_DEFAULT;
        return 0;
    }
    *out = NULL;
    return dl_err_set(DATALITH_ESCHEMA,
                      "Bad entity attribute %s at %s, not defined in current "
                      "schema",
                      sym_str(a, &pa), pr(at, &pb));
}

/* ---- value checks ---- */

static int check_tuple(const dl_attr *attr, const edn_value *v,
                       const edn_value *at, unsigned flags) {
    pbuf pa, pb;
    if (attr->composite && !(flags & DL_CHECK_INTERNAL))
        return dl_err_set(DATALITH_ESCHEMA,
                          "Can\xE2\x80\x99t modify tuple attrs directly: %s",
                          pr(at, &pa));
    if (v->type != EDN_VECTOR) return bad_value(v, at, DL_VT_TUPLE);
    if (attr->present & DL_P_TUPLETYPE) {
        if (v->n > 8)
            return dl_err_set(DATALITH_ESCHEMA,
                              "Cannot store more than 8 values for "
                              "homogeneous tuple: %s", pr(at, &pa));
        for (uint32_t i = 1; i < v->n; i++)
            if (v->u.items[i].type != v->u.items[0].type)
                return dl_err_set(DATALITH_ESCHEMA,
                                  "Cannot store homogeneous tuple with values "
                                  "of different type: %s", pr(at, &pa));
        {
            edn_value nilv = edn_nil();
            const edn_value *first = v->n ? &v->u.items[0] : &nilv;
            if (!dl_vtype_conforms((dl_vtype)attr->tuple_type, first) ||
                first->type == EDN_NIL)
                return dl_err_set(DATALITH_ESCHEMA,
                                  "Cannot store homogeneous tuple. Values are "
                                  "of wrong type: %s", pr(at, &pa));
        }
    } else if (attr->present & DL_P_TUPLETYPES) {
        if (v->n != attr->n_tuple_types)
            return dl_err_set(DATALITH_ESCHEMA,
                              "Cannot store heterogeneous tuple: expecting %u "
                              "values, got %u",
                              (unsigned)attr->n_tuple_types, (unsigned)v->n);
        for (uint32_t i = 0; i < v->n; i++) {
            if (!dl_vtype_conforms((dl_vtype)attr->tuple_types[i],
                                   &v->u.items[i])) {
                /* print the declared types as a vector */
                char types[400];
                size_t len = 0;
                types[len++] = '[';
                for (uint32_t k = 0; k < attr->n_tuple_types; k++) {
                    const char *nm = vt_names[attr->tuple_types[k]];
                    int w = snprintf(types + len, sizeof types - len, "%s:%s",
                                     k ? " " : "", nm ? nm : "nil");
                    if (w < 0 || (size_t)w >= sizeof types - len) break;
                    len += (size_t)w;
                }
                if (len < sizeof types - 1) types[len++] = ']';
                types[len] = 0;
                return dl_err_set(DATALITH_ESCHEMA,
                                  "Cannot store heterogeneous tuple: there is "
                                  "a mismatch between values %s and their "
                                  "types %s", pr(v, &pb), types);
            }
        }
    }
    return 0;
}

int dl_schema_check_value(const dl_schema *s, const dl_attr *attr,
                          const edn_value *v, const edn_value *at,
                          unsigned flags) {
    pbuf pa;
    if (v->type == EDN_NIL)
        return dl_err_set(DATALITH_ETX, "Cannot store nil as a value at %s",
                          pr(at, &pa));
    if (attr->vtype == DL_VT_TUPLE &&
        (attr->present & (DL_P_TUPLETYPE | DL_P_TUPLETYPES | DL_P_TUPLEATTRS)))
        return check_tuple(attr, v, at, flags);
    if (s->flex == DL_FLEX_READ || attr->vtype == DL_VT_NONE) return 0;
    if (!dl_vtype_conforms((dl_vtype)attr->vtype, v))
        return bad_value(v, at, (dl_vtype)attr->vtype);
    return 0;
}

/* ---- parsing definition values ---- */

/* The system attribute record that types the values of schema key `a`. */
static dl_vtype key_vtype(const edn_sym *a) {
    if (a == K.ident) return DL_VT_KEYWORD;
    if (a == K.value_type || a == K.tuple_type) return DL_VT_VALUE;
    if (a == K.cardinality) return DL_VT_CARDINALITY;
    if (a == K.unique) return DL_VT_UNIQUE;
    if (a == K.index || a == K.component || a == K.no_history)
        return DL_VT_BOOLEAN;
    if (a == K.doc) return DL_VT_STRING;
    if (a == K.tuple_types || a == K.tuple_attrs) return DL_VT_TUPLE;
    return DL_VT_NONE;
}

/* Build "[:db/add e a v]" for messages about a schema datom. */
static int datom_at(dl_arena *a, uint64_t e, const edn_sym *attr,
                    const edn_value *v, edn_value *out) {
    edn_value items[4];
    items[0] = edn_keyword_str("db/add");
    items[1] = edn_int((int64_t)e);
    items[2] = edn_keyword(attr);
    items[3] = *v;
    return edn_vector(a, items, 4, out);
}

/* Set key `a` of definition `x` from `v`; `a` is a schema attribute. */
static int set_key(dl_arena *ar, dl_attr *x, uint64_t e, const edn_sym *a,
                   const edn_value *v) {
    dl_vtype kt = key_vtype(a);
    int rc;
    if (!dl_vtype_conforms(kt, v)) {
        edn_value at;
        if ((rc = datom_at(ar, e, a, v, &at)) != 0) return rc;
        return bad_value(v, &at, kt);
    }
    if (a == K.value_type) {
        x->vtype = (uint8_t)dl_vtype_of(v->u.sym);
        x->present |= DL_P_VALUETYPE;
    } else if (a == K.cardinality) {
        x->many = v->u.sym == K.card_many;
        x->present |= DL_P_CARDINALITY;
    } else if (a == K.unique) {
        x->unique = v->u.sym == K.uniq_identity ? DL_UNIQUE_IDENTITY
                                                : DL_UNIQUE_VALUE;
        x->present |= DL_P_UNIQUE;
    } else if (a == K.index) {
        x->index = v->u.b;
        x->present |= DL_P_INDEX;
    } else if (a == K.component) {
        x->component = v->u.b;
        x->present |= DL_P_COMPONENT;
    } else if (a == K.no_history) {
        x->no_history = v->u.b;
        x->present |= DL_P_NOHISTORY;
    } else if (a == K.doc) {
        if ((rc = edn_clone(ar, v, &x->doc)) != 0) return rc;
        x->present |= DL_P_DOC;
    } else if (a == K.tuple_type) {
        x->tuple_type = (uint8_t)dl_vtype_of(v->u.sym);
        x->present |= DL_P_TUPLETYPE;
    } else if (a == K.tuple_types || a == K.tuple_attrs) {
        bool types = a == K.tuple_types;
        for (uint32_t i = 0; i < v->n; i++) {
            const edn_value *it = &v->u.items[i];
            if (it->type != EDN_KEYWORD ||
                (types && dl_vtype_of(it->u.sym) == DL_VT_NONE)) {
                edn_value at;
                if ((rc = datom_at(ar, e, a, v, &at)) != 0) return rc;
                return bad_value(v, &at, types ? DL_VT_VALUE : DL_VT_KEYWORD);
            }
        }
        if (types) {
            uint8_t *t = dl_arena_alloc(ar, v->n ? v->n : 1);
            if (!t) return DATALITH_ENOMEM;
            for (uint32_t i = 0; i < v->n; i++)
                t[i] = (uint8_t)dl_vtype_of(v->u.items[i].u.sym);
            x->tuple_types = t;
            x->n_tuple_types = v->n;
            x->present |= DL_P_TUPLETYPES;
        } else {
            const edn_sym **t = dl_arena_alloc(ar, (v->n ? v->n : 1) *
                                                       sizeof *t);
            if (!t) return DATALITH_ENOMEM;
            for (uint32_t i = 0; i < v->n; i++) t[i] = v->u.items[i].u.sym;
            x->tuple_attrs = t;
            x->n_tuple_attrs = v->n;
            x->present |= DL_P_TUPLEATTRS;
        }
    }
    return 0;
}

static void clear_key(dl_attr *x, const edn_sym *a) {
    if (a == K.value_type) {
        x->vtype = DL_VT_NONE;
        x->present &= ~DL_P_VALUETYPE;
    } else if (a == K.cardinality) {
        x->many = false;
        x->present &= ~DL_P_CARDINALITY;
    } else if (a == K.unique) {
        x->unique = DL_UNIQUE_NONE;
        x->present &= ~DL_P_UNIQUE;
    } else if (a == K.index) {
        x->index = false;
        x->present &= ~DL_P_INDEX;
    } else if (a == K.component) {
        x->component = false;
        x->present &= ~DL_P_COMPONENT;
    } else if (a == K.no_history) {
        x->no_history = false;
        x->present &= ~DL_P_NOHISTORY;
    } else if (a == K.doc) {
        x->doc = edn_nil();
        x->present &= ~DL_P_DOC;
    } else if (a == K.tuple_type) {
        x->tuple_type = 0;
        x->present &= ~DL_P_TUPLETYPE;
    } else if (a == K.tuple_types) {
        x->tuple_types = NULL;
        x->n_tuple_types = 0;
        x->present &= ~DL_P_TUPLETYPES;
    } else if (a == K.tuple_attrs) {
        x->tuple_attrs = NULL;
        x->n_tuple_attrs = 0;
        x->present &= ~DL_P_TUPLEATTRS;
    }
}

/* ---- the builder ---- */

int dl_schema_edit(const dl_schema *base, dl_schema_builder **out) {
    dl_schema_builder *b;
    int rc;
    if ((rc = k_ready()) != 0) return rc;
    b = calloc(1, sizeof *b);
    if (!b) return dl_err_nomem();
    b->flex = base->flex;
    b->attr_refs = base->attr_refs;
    b->base = base;
    b->cap = base->n + 8;
    b->attrs = malloc(b->cap * sizeof *b->attrs);
    if (!b->attrs) {
        free(b);
        return dl_err_nomem();
    }
    memcpy(b->attrs, base->attrs, base->n * sizeof *b->attrs);
    b->n = base->n;
    dl_arena_init(&b->arena, 0);
    *out = b;
    return 0;
}

void dl_schema_builder_free(dl_schema_builder *b) {
    if (!b) return;
    free(b->attrs);
    dl_arena_free(&b->arena);
    free(b);
}

static dl_attr *b_by_eid(dl_schema_builder *b, uint64_t e) {
    for (size_t i = 0; i < b->n; i++)
        if (b->attrs[i].eid == e && !b->attrs[i].system) return &b->attrs[i];
    return NULL;
}

static dl_attr *b_by_ident(dl_schema_builder *b, const edn_sym *id) {
    for (size_t i = 0; i < b->n; i++)
        if (b->attrs[i].ident == id) return &b->attrs[i];
    return NULL;
}

static void b_remove(dl_schema_builder *b, dl_attr *x) {
    size_t i = (size_t)(x - b->attrs);
    memmove(&b->attrs[i], &b->attrs[i + 1], (b->n - i - 1) * sizeof *x);
    b->n--;
}

static int b_system_guard(dl_schema_builder *b, uint64_t e) {
    if (b->attr_refs && e < DL_SCHEMA_UE0 && dl_schema_system_ident(e))
        return dl_err_set(DATALITH_ESCHEMA,
                          "System schema entity cannot be changed");
    return 0;
}

int dl_schema_builder_assert(dl_schema_builder *b, uint64_t e,
                             const edn_sym *a, const edn_value *v) {
    dl_attr *x;
    pbuf pv;
    int rc;
    if (!dl_schema_is_schema_attr(a)) return 0;
    if ((rc = b_system_guard(b, e)) != 0) return rc;
    x = b_by_eid(b, e);
    if (a == K.ident) {
        dl_attr *owner;
        if (v->type != EDN_KEYWORD) {
            edn_value at;
            if ((rc = datom_at(&b->arena, e, a, v, &at)) != 0) return rc;
            return bad_value(v, &at, DL_VT_KEYWORD);
        }
        owner = b_by_ident(b, v->u.sym);
        if (owner && owner == x) return 0;
        if (owner)
            return dl_err_set(DATALITH_ESCHEMA,
                              "Schema with attribute %s already exists",
                              sym_str(v->u.sym, &pv));
    }
    if (!x) {
        if (b->n == b->cap) {
            size_t nc = b->cap * 2;
            dl_attr *na = realloc(b->attrs, nc * sizeof *na);
            if (!na) return dl_err_nomem();
            b->attrs = na;
            b->cap = nc;
        }
        x = &b->attrs[b->n++];
        memset(x, 0, sizeof *x);
        x->eid = e;
        x->doc = edn_nil();
    }
    if (a == K.ident) {
        x->ident = v->u.sym;
        x->present |= DL_P_IDENT;
        return 0;
    }
    if ((rc = set_key(&b->arena, x, e, a, v)) != 0) {
        if (x->present == 0) b_remove(b, x);
        return rc;
    }
    return 0;
}

int dl_schema_builder_retract(dl_schema_builder *b, uint64_t e,
                              const edn_sym *a, const edn_value *v) {
    dl_attr *x;
    pbuf pv;
    int rc;
    if (!dl_schema_is_schema_attr(a)) return 0;
    if ((rc = b_system_guard(b, e)) != 0) return rc;
    if (a == K.ident) {
        x = v->type == EDN_KEYWORD ? b_by_ident(b, v->u.sym) : NULL;
        if (!x || x->system)
            return dl_err_set(DATALITH_ESCHEMA,
                              "Schema with attribute %s does not exist",
                              pr(v, &pv));
        x->ident = NULL;
        x->present &= ~DL_P_IDENT;
    } else {
        x = b_by_eid(b, e);
        if (!x)
            return dl_err_set(DATALITH_ESCHEMA,
                              "Schema with entity id %llu does not exist",
                              (unsigned long long)e);
        clear_key(x, a);
    }
    if (x->present == 0) b_remove(b, x);
    return 0;
}

int dl_schema_builder_finish(dl_schema_builder *b, dl_schema **out) {
    int rc = publish(b->flex, b->attr_refs, b->attrs, b->n, out);
    dl_schema_builder_free(b);
    return rc;
}

/* ---- validating an entity map (check-schema-update) ---- */

/* Keys whose presence makes a map a schema entity. */
static bool schema_key(const edn_sym *k) {
    return dl_schema_is_schema_attr(k) || k == K.install_attr;
}

static bool any_schema_key(const edn_value *m) {
    for (uint32_t i = 0; i < m->n; i++) {
        const edn_value *k = &m->u.items[2 * i];
        if (k->type == EDN_KEYWORD && schema_key(k->u.sym)) return true;
    }
    return false;
}

static const edn_value *mget(const edn_value *m, const edn_sym *k) {
    edn_value key = edn_keyword(k);
    const edn_value *v = edn_map_get(m, &key);
    return v && v->type != EDN_NIL ? v : NULL;
}

/* Parse the well-formed schema keys of an entity map into `x` (on top of
** whatever `x` already holds); malformed values are left to the per-datom
** value check and only mark presence. */
static int overlay(dl_arena *ar, dl_attr *x, uint64_t e, const edn_value *m) {
    for (uint32_t i = 0; i < m->n; i++) {
        const edn_value *k = &m->u.items[2 * i], *v = &m->u.items[2 * i + 1];
        if (k->type != EDN_KEYWORD || v->type == EDN_NIL) continue;
        if (k->u.sym == K.ident) {
            if (v->type == EDN_KEYWORD) x->ident = v->u.sym;
            x->present |= DL_P_IDENT;
        } else if (dl_schema_is_schema_attr(k->u.sym)) {
            int rc = set_key(ar, x, e, k->u.sym, v);
            if (rc == DATALITH_ENOMEM) return rc;
            if (rc) dl_err_clear();
        }
    }
    return 0;
}

static int spec_error(const dl_attr *x, const char *what) {
    pbuf p;
    return dl_err_set(DATALITH_ESCHEMA, "Bad attribute specification for %s: %s",
                      sym_str(x->ident, &p), what);
}

/* Definition rules that hold for every complete definition. */
static int check_definition(const dl_attr *x) {
    uint32_t tkeys = x->present & (DL_P_TUPLETYPE | DL_P_TUPLETYPES |
                                   DL_P_TUPLEATTRS);
    if (x->component && x->vtype != DL_VT_REF &&
        (x->present & DL_P_VALUETYPE))
        return spec_error(x, "{:db/isComponent true} should also have "
                             "{:db/valueType :db.type/ref}");
    if (x->vtype == DL_VT_TUPLE && (x->present & DL_P_VALUETYPE)) {
        if (tkeys == 0)
            return spec_error(x, "{:db/valueType :db.type/tuple} should also "
                                 "have :db/tupleAttrs, :db/tupleTypes or "
                                 ":db/tupleType");
        if (tkeys & (tkeys - 1))
            return spec_error(x, "only one of :db/tupleAttrs, :db/tupleTypes "
                                 "and :db/tupleType may be given");
    } else if (tkeys && (x->present & DL_P_VALUETYPE)) {
        return spec_error(x, ":db/tupleAttrs, :db/tupleTypes and "
                             ":db/tupleType require {:db/valueType "
                             ":db.type/tuple}");
    }
    if ((x->present & DL_P_TUPLETYPE) &&
        (x->tuple_type == DL_VT_TUPLE || x->tuple_type >= DL_VT_VALUE))
        return spec_error(x, "{:db/tupleType ...} must be a scalar value "
                             "type");
    if (x->present & DL_P_TUPLETYPES) {
        if (x->n_tuple_types < 2 || x->n_tuple_types > 8)
            return spec_error(x, "{:db/tupleTypes [...]} must hold 2 to 8 "
                                 "value types");
        for (uint32_t i = 0; i < x->n_tuple_types; i++)
            if (x->tuple_types[i] == DL_VT_TUPLE ||
                x->tuple_types[i] >= DL_VT_VALUE)
                return spec_error(x, "{:db/tupleTypes [...]} must hold "
                                     "scalar value types");
    }
    if (x->present & DL_P_TUPLEATTRS) {
        if (x->n_tuple_attrs < 2 || x->n_tuple_attrs > 8)
            return spec_error(x, "{:db/tupleAttrs [...]} must hold 2 to 8 "
                                 "attribute idents");
        for (uint32_t i = 0; i < x->n_tuple_attrs; i++)
            if (x->tuple_attrs[i] == x->ident)
                return spec_error(x, "{:db/tupleAttrs [...]} must not name "
                                     "the tuple attribute itself");
    }
    return 0;
}

static bool same_syms(const dl_attr *a, const dl_attr *b) {
    if (a->n_tuple_attrs != b->n_tuple_attrs) return false;
    for (uint32_t i = 0; i < a->n_tuple_attrs; i++)
        if (a->tuple_attrs[i] != b->tuple_attrs[i]) return false;
    return true;
}

static bool same_types(const dl_attr *a, const dl_attr *b) {
    return a->n_tuple_types == b->n_tuple_types &&
           (a->n_tuple_types == 0 ||
            memcmp(a->tuple_types, b->tuple_types, a->n_tuple_types) == 0);
}

/* Has key `bit` a different value (or presence) in a and b? */
static bool changed(const dl_attr *a, const dl_attr *b, uint32_t bit) {
    if ((a->present & bit) != (b->present & bit)) return true;
    if (!(a->present & bit)) return false;
    switch (bit) {
    case DL_P_IDENT: return a->ident != b->ident;
    case DL_P_VALUETYPE: return a->vtype != b->vtype;
    case DL_P_CARDINALITY: return a->many != b->many;
    case DL_P_UNIQUE: return a->unique != b->unique;
    case DL_P_INDEX: return a->index != b->index;
    case DL_P_COMPONENT: return a->component != b->component;
    case DL_P_NOHISTORY: return a->no_history != b->no_history;
    case DL_P_DOC: return !edn_equal(&a->doc, &b->doc);
    case DL_P_TUPLETYPE: return a->tuple_type != b->tuple_type;
    case DL_P_TUPLETYPES: return !same_types(a, b);
    case DL_P_TUPLEATTRS: return !same_syms(a, b);
    default: return false;
    }
}

int dl_schema_check_entity(const dl_schema *s, const edn_value *entity,
                           uint64_t eid) {
    const dl_attr *old;
    const edn_value *id;
    dl_attr x;
    dl_arena ar;
    int rc = 0;

    if ((rc = k_ready()) != 0) return rc;
    if (entity->type != EDN_MAP || !any_schema_key(entity)) return 0;
    if ((id = mget(entity, K.ident)) != NULL) {
        bool reserved = false;
        if (id->type == EDN_KEYWORD) {
            reserved = dl_schema_is_reserved(id->u.sym);
        } else if (id->type == EDN_STRING) {
            const char *sl = memchr(id->u.s, '/', id->n);
            reserved = sl && sl - id->u.s >= 2 && id->u.s[0] == 'd' &&
                       id->u.s[1] == 'b' &&
                       (sl - id->u.s == 2 || id->u.s[2] == '.');
        }
        if (reserved)
            return dl_err_set(DATALITH_ESCHEMA,
                              "Using namespace 'db' for attribute "
                              "identifiers is not allowed");
    }
    old = dl_schema_attr_by_eid(s, eid);
    if (old && (old->system || !old->ident)) old = NULL;

    dl_arena_init(&ar, 0);
    if (old) {
        /* An update of an existing definition: Datahike's
        ** find-invalid-schema-updates, with the keys governed by the
        ** end-of-transaction rules (valueType, tuple definitions, enabling
        ** :db/index) deferred to dl_schema_check_changes. */
        x = *old;
        if ((rc = overlay(&ar, &x, eid, entity)) != 0) goto out;
        for (uint32_t i = 0; i < entity->n; i++) {
            const edn_value *k = &entity->u.items[2 * i];
            const edn_value *v = &entity->u.items[2 * i + 1];
            const edn_sym *ks;
            bool invalid = false;
            if (k->type != EDN_KEYWORD || v->type == EDN_NIL) continue;
            ks = k->u.sym;
            if (ks == K.id || ks == K.ident || ks == K.doc ||
                ks == K.no_history || ks == K.component ||
                ks == K.value_type || ks == K.tuple_type ||
                ks == K.tuple_types || ks == K.tuple_attrs)
                continue;
            if (ks == K.cardinality) {
                invalid = changed(old, &x, DL_P_CARDINALITY) && x.many &&
                          old->unique != DL_UNIQUE_NONE;
            } else if (ks == K.unique) {
                invalid = changed(old, &x, DL_P_UNIQUE) &&
                          old->unique == DL_UNIQUE_NONE && x.many;
            } else if (ks == K.index) {
                invalid = changed(old, &x, DL_P_INDEX) && !x.index;
            } else {
                /* any other key on a schema entity is not an update
                ** Datahike supports */
                invalid = true;
            }
            if (invalid) {
                rc = dl_err_set(DATALITH_ESCHEMA,
                                "Update not supported for these schema "
                                "attributes");
                goto out;
            }
        }
        rc = check_definition(&x);
        goto out;
    }

    memset(&x, 0, sizeof x);
    x.doc = edn_nil();
    x.eid = eid;
    if ((rc = overlay(&ar, &x, eid, entity)) != 0) goto out;
    if (s->flex == DL_FLEX_WRITE &&
        (x.present & (DL_P_VALUETYPE | DL_P_CARDINALITY)) &&
        (x.present & (DL_P_IDENT | DL_P_VALUETYPE | DL_P_CARDINALITY)) !=
            (DL_P_IDENT | DL_P_VALUETYPE | DL_P_CARDINALITY)) {
        rc = dl_err_set(DATALITH_ESCHEMA,
                        "Incomplete schema transaction attributes, expected "
                        ":db/ident, :db/valueType, :db/cardinality");
        goto out;
    }
    rc = check_definition(&x);
out:
    dl_arena_free(&ar);
    return rc;
}

/* ---- the change rules ---- */

#define DEFINING                                                             \
    (DL_P_VALUETYPE | DL_P_CARDINALITY | DL_P_UNIQUE | DL_P_INDEX |          \
     DL_P_NOHISTORY | DL_P_TUPLEATTRS | DL_P_TUPLETYPE | DL_P_TUPLETYPES |   \
     DL_P_COMPONENT)

static bool attr_same(const dl_attr *a, const dl_attr *b) {
    static const uint32_t bits[] = {
        DL_P_IDENT, DL_P_VALUETYPE, DL_P_CARDINALITY, DL_P_UNIQUE,
        DL_P_INDEX, DL_P_COMPONENT, DL_P_NOHISTORY, DL_P_DOC,
        DL_P_TUPLETYPE, DL_P_TUPLETYPES, DL_P_TUPLEATTRS};
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (changed(a, b, bits[i])) return false;
    return true;
}

static int assess(const dl_schema *after, const dl_attr *old,
                  const dl_attr *nw, const dl_schema_data *data,
                  bool allow_backfill, dl_schema_backfill *bf) {
    static const dl_attr EMPTY = {.vtype = 0};
    const dl_attr *o = old ? old : &EMPTY, *n = nw ? nw : &EMPTY;
    const edn_sym *ident = nw ? nw->ident : old->ident;
    bool transition = old != NULL, invalid = false;
    bool need_unused = false, backfillable = true;
    pbuf pi, pj;
    int rc;

    if (after->flex == DL_FLEX_WRITE && nw && (n->present & DEFINING) &&
        (n->present & (DL_P_VALUETYPE | DL_P_CARDINALITY)) !=
            (DL_P_VALUETYPE | DL_P_CARDINALITY))
        invalid = true;
    if (transition && changed(o, n, DL_P_CARDINALITY) &&
        (n->present & DL_P_CARDINALITY) && n->many &&
        n->unique != DL_UNIQUE_NONE)
        invalid = true;
    if (transition && nw && n->unique != DL_UNIQUE_NONE &&
        o->unique == DL_UNIQUE_NONE && (n->present & DL_P_CARDINALITY) &&
        n->many)
        invalid = true;
    if (invalid)
        return dl_err_set(DATALITH_ESCHEMA,
                          "Invalid schema state for %s after transaction",
                          sym_str(ident, &pi));

    if (transition && !nw) {
        need_unused = true;
        backfillable = false;
    }
    if (transition && nw) {
        if ((o->present & DL_P_VALUETYPE) && changed(o, n, DL_P_VALUETYPE)) {
            need_unused = true;
            backfillable = false;
        }
        if (((o->present & DL_P_TUPLEATTRS) &&
             changed(o, n, DL_P_TUPLEATTRS)) ||
            ((o->present & DL_P_TUPLETYPE) && changed(o, n, DL_P_TUPLETYPE)) ||
            ((o->present & DL_P_TUPLETYPES) &&
             changed(o, n, DL_P_TUPLETYPES))) {
            need_unused = true;
            backfillable = false;
        }
        if (changed(o, n, DL_P_INDEX) && n->index) need_unused = true;
        if (n->unique != DL_UNIQUE_NONE && o->unique == DL_UNIQUE_NONE)
            need_unused = true;
    }
    if (need_unused) {
        bool used = false;
        if (!data || !data->attr_used)
            return dl_err_set(DATALITH_EINTERNAL,
                              "schema change check without data callbacks");
        if ((rc = data->attr_used(data->ctx, old->ident, &used)) != 0)
            return rc;
        if (used) {
            if (backfillable && allow_backfill) {
                if (bf) {
                    if (bf->n < sizeof bf->idents / sizeof bf->idents[0])
                        bf->idents[bf->n] = ident;
                    bf->n++;
                }
            } else {
                return dl_err_set(DATALITH_ESCHEMA,
                                  "Schema change on %s requires the attribute "
                                  "to be unused, but it has existing (or "
                                  "history) datoms. Migrate the data to a new "
                                  "attribute instead.",
                                  sym_str(ident, &pi));
            }
        }
    }
    if (nw && changed(o, n, DL_P_CARDINALITY) && o->many &&
        (n->present & DL_P_CARDINALITY) && !n->many) {
        uint64_t e = 0;
        if (!data || !data->multi_valued_entity)
            return dl_err_set(DATALITH_EINTERNAL,
                              "schema change check without data callbacks");
        if ((rc = data->multi_valued_entity(data->ctx, ident, &e)) != 0)
            return rc;
        if (e)
            return dl_err_set(DATALITH_ESCHEMA,
                              "Cannot narrow %s to :db.cardinality/one: "
                              "entity %llu holds more than one value.",
                              sym_str(ident, &pi), (unsigned long long)e);
    }
    if (nw && (n->present & DL_P_TUPLEATTRS) &&
        changed(o, n, DL_P_TUPLEATTRS)) {
        for (uint32_t i = 0; i < n->n_tuple_attrs; i++) {
            const dl_attr *c = dl_schema_attr(after, n->tuple_attrs[i]);
            if (!c) continue;
            if (c->many)
                return dl_err_set(DATALITH_ESCHEMA,
                                  ":db/tupleAttrs of %s references %s, which "
                                  "must not have :db.cardinality/many.",
                                  sym_str(ident, &pi),
                                  sym_str(n->tuple_attrs[i], &pj));
            if (c->vtype == DL_VT_TUPLE)
                return dl_err_set(DATALITH_ESCHEMA,
                                  ":db/tupleAttrs of %s references %s, which "
                                  "is itself a tuple attribute.",
                                  sym_str(ident, &pi),
                                  sym_str(n->tuple_attrs[i], &pj));
        }
    }
    return 0;
}

static const dl_attr *user_def(const dl_schema *s, uint64_t eid) {
    const dl_attr *x = dl_schema_attr_by_eid(s, eid);
    return x && !x->system && x->ident ? x : NULL;
}

int dl_schema_check_changes(const dl_schema *before, const dl_schema *after,
                            const dl_schema_data *data,
                            bool allow_index_backfill,
                            dl_schema_backfill *backfill) {
    int rc;
    if (backfill) backfill->n = 0;
    if (before == after) return 0;
    /* definitions are paired by their entity, so a rename is a change of
    ** :db/ident (always allowed), not a removal plus a new definition */
    for (size_t i = 0; i < after->n; i++) {
        const dl_attr *n = &after->attrs[i], *o;
        if (n->system || !n->ident || !n->eid) continue;
        o = user_def(before, n->eid);
        if (o && attr_same(o, n)) continue;
        if ((rc = assess(after, o, n, data, allow_index_backfill,
                         backfill)) != 0)
            return rc;
    }
    for (size_t i = 0; i < before->n; i++) {
        const dl_attr *o = &before->attrs[i];
        if (o->system || !o->ident || !o->eid) continue;
        if (user_def(after, o->eid)) continue;
        if ((rc = assess(after, o, NULL, data, allow_index_backfill,
                         backfill)) != 0)
            return rc;
    }
    return 0;
}

/* ---- views ---- */

typedef struct kvl {
    edn_value *kv;
    size_t n, cap;
} kvl;

static int push(dl_arena *a, kvl *l, edn_value k, edn_value v) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        edn_value *nk = dl_arena_realloc(a, l->kv, l->cap * 2 * sizeof *nk,
                                         nc * 2 * sizeof *nk);
        if (!nk) return DATALITH_ENOMEM;
        l->kv = nk;
        l->cap = nc;
    }
    l->kv[2 * l->n] = k;
    l->kv[2 * l->n + 1] = v;
    l->n++;
    return 0;
}

static int attr_entry(dl_arena *a, const dl_attr *x, edn_value *out) {
    kvl l = {0};
    int rc;
#define P(k, v)                                                              \
    do {                                                                     \
        if ((rc = push(a, &l, edn_keyword(k), (v))) != 0) return rc;         \
    } while (0)
    P(K.ident, edn_keyword(x->ident));
    P(K.id, edn_int((int64_t)x->eid));
    if (x->present & DL_P_VALUETYPE && x->vtype)
        P(K.value_type, edn_keyword(K.vt[x->vtype]));
    if (x->present & DL_P_CARDINALITY)
        P(K.cardinality, edn_keyword(x->many ? K.card_many : K.card_one));
    if (x->present & DL_P_UNIQUE)
        P(K.unique, edn_keyword(x->unique == DL_UNIQUE_IDENTITY
                                    ? K.uniq_identity
                                    : K.uniq_value));
    if (x->present & DL_P_INDEX) P(K.index, edn_bool(x->index));
    if (x->present & DL_P_COMPONENT) P(K.component, edn_bool(x->component));
    if (x->present & DL_P_NOHISTORY) P(K.no_history, edn_bool(x->no_history));
    if (x->present & DL_P_DOC) P(K.doc, x->doc);
    if (x->present & DL_P_TUPLETYPE && x->tuple_type)
        P(K.tuple_type, edn_keyword(K.vt[x->tuple_type]));
    if (x->present & DL_P_TUPLETYPES) {
        edn_value *it = dl_arena_alloc(a, (x->n_tuple_types + 1) * sizeof *it);
        edn_value vec;
        if (!it) return DATALITH_ENOMEM;
        for (uint32_t i = 0; i < x->n_tuple_types; i++)
            it[i] = edn_keyword(K.vt[x->tuple_types[i]]);
        if ((rc = edn_vector(a, it, x->n_tuple_types, &vec)) != 0) return rc;
        P(K.tuple_types, vec);
    }
    if (x->present & DL_P_TUPLEATTRS) {
        edn_value *it = dl_arena_alloc(a, (x->n_tuple_attrs + 1) * sizeof *it);
        edn_value vec;
        if (!it) return DATALITH_ENOMEM;
        for (uint32_t i = 0; i < x->n_tuple_attrs; i++)
            it[i] = edn_keyword(x->tuple_attrs[i]);
        if ((rc = edn_vector(a, it, x->n_tuple_attrs, &vec)) != 0) return rc;
        P(K.tuple_attrs, vec);
    }
#undef P
    return edn_map(a, l.kv, l.n, out);
}

int dl_schema_to_edn(dl_arena *a, const dl_schema *s, edn_value *out) {
    kvl l = {0};
    int rc;
    if ((rc = k_ready()) != 0) return rc;
    for (size_t i = 0; i < s->n; i++) {
        const dl_attr *x = &s->attrs[i];
        edn_value e;
        if (x->system || !x->ident) continue;
        if ((rc = attr_entry(a, x, &e)) != 0) return rc;
        if ((rc = push(a, &l, edn_keyword(x->ident), e)) != 0) return rc;
    }
    return edn_map(a, l.kv, l.n, out);
}

/* reverse-schema properties, in a fixed order */
enum { RP_IDENT, RP_UNIQUE, RP_IDENTITY, RP_VALUE, RP_INDEX, RP_MANY, RP_REF,
       RP_TUPLE, RP_COMPONENT, RP_NOHISTORY, RP_COUNT };

static const char *const rp_names[RP_COUNT] = {
    "db/ident", "db/unique", "db.unique/identity", "db.unique/value",
    "db/index", "db.cardinality/many", "db.type/ref", "db.type/tuple",
    "db/isComponent", "db/noHistory"};

int dl_schema_reverse_to_edn(dl_arena *a, const dl_schema *s,
                             edn_value *out) {
    size_t cap = s->n + 1;
    edn_value *sets[RP_COUNT];
    size_t cnt[RP_COUNT] = {0};
    kvl l = {0}, tuples = {0};
    int rc;
    if ((rc = k_ready()) != 0) return rc;
    for (int p = 0; p < RP_COUNT; p++) {
        sets[p] = dl_arena_alloc(a, cap * sizeof(edn_value));
        if (!sets[p]) return DATALITH_ENOMEM;
    }
#define ADD(p, sym) (sets[p][cnt[p]++] = edn_keyword(sym))
    /* the implicit {:db/ident {:db/unique :db.unique/identity}} */
    ADD(RP_IDENT, K.ident);
    ADD(RP_UNIQUE, K.ident);
    ADD(RP_IDENTITY, K.ident);
    ADD(RP_INDEX, K.ident);
    for (size_t i = 0; i < s->n; i++) {
        const dl_attr *x = &s->attrs[i];
        bool indexed = false;
        if (x->system || !x->ident) continue;
        ADD(RP_IDENT, x->ident);
        if (x->unique != DL_UNIQUE_NONE) {
            ADD(RP_UNIQUE, x->ident);
            ADD(x->unique == DL_UNIQUE_IDENTITY ? RP_IDENTITY : RP_VALUE,
                x->ident);
            indexed = true;
        }
        if (x->many) ADD(RP_MANY, x->ident);
        if (x->vtype == DL_VT_REF) {
            ADD(RP_REF, x->ident);
            indexed = true;
        }
        if (x->vtype == DL_VT_TUPLE) ADD(RP_TUPLE, x->ident);
        if (x->index) indexed = true;
        if (indexed) ADD(RP_INDEX, x->ident);
        if (x->component) ADD(RP_COMPONENT, x->ident);
        if (x->no_history) ADD(RP_NOHISTORY, x->ident);
        /* :db/attrTuples {component {tuple pos}} */
        if (x->n_in_tuples) {
            edn_value *kv = dl_arena_alloc(a, 2 * x->n_in_tuples *
                                                  sizeof(edn_value));
            edn_value m;
            if (!kv) return DATALITH_ENOMEM;
            for (uint32_t k = 0; k < x->n_in_tuples; k++) {
                kv[2 * k] = edn_keyword(x->in_tuples[k].tuple);
                kv[2 * k + 1] = edn_int(x->in_tuples[k].pos);
            }
            if ((rc = edn_map(a, kv, x->n_in_tuples, &m)) != 0) return rc;
            if ((rc = push(a, &tuples, edn_keyword(x->ident), m)) != 0)
                return rc;
        }
    }
#undef ADD
    for (int p = 0; p < RP_COUNT; p++) {
        edn_value set;
        size_t w = 0;
        if (!cnt[p]) continue;
        /* drop duplicates (an attribute is added once per property, but
        ** :db/ident may be both implicit and user-visible) */
        for (size_t r = 0; r < cnt[p]; r++) {
            bool dup = false;
            for (size_t q = 0; q < w; q++)
                if (sets[p][q].u.sym == sets[p][r].u.sym) dup = true;
            if (!dup) sets[p][w++] = sets[p][r];
        }
        if ((rc = edn_set(a, sets[p], w, &set)) != 0) return rc;
        if ((rc = push(a, &l, edn_keyword_str(rp_names[p]), set)) != 0)
            return rc;
    }
    {
        edn_value m;
        if ((rc = edn_map(a, tuples.kv, tuples.n, &m)) != 0) return rc;
        if ((rc = push(a, &l, edn_keyword(K.attr_tuples), m)) != 0) return rc;
    }
    return edn_map(a, l.kv, l.n, out);
}
