/*
** node.c — node memory, value boxes, entry comparison and the node codec
** (layouts described in node.h and btree.h).
*/
#include "node.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ------------------------------------------------------------------ */
/* value boxes                                                         */
/* ------------------------------------------------------------------ */

typedef struct bt_box {
    _Atomic uint32_t rc;
    uint32_t pad;
    uint64_t size; /* payload bytes */
} bt_box;

static bool boxed_type(unsigned t) {
    switch (t) {
    case EDN_STRING: case EDN_BYTES: case EDN_BIGINT: case EDN_BIGDEC:
    case EDN_LIST: case EDN_VECTOR: case EDN_MAP: case EDN_SET:
    case EDN_TAGGED:
        return true;
    default:
        return false;
    }
}

static const void *primary(const edn_value *v) {
    switch (v->type) {
    case EDN_LIST: case EDN_VECTOR: case EDN_MAP: case EDN_SET:
        return v->u.items;
    case EDN_TAGGED:
        return v->u.tagged.val;
    default:
        return v->u.s;
    }
}

#define AL8(x) (((x) + 7u) & ~(size_t)7u)

static size_t nitems(const edn_value *v) {
    return v->type == EDN_MAP ? 2 * (size_t)v->n : (size_t)v->n;
}

static size_t vsize(const edn_value *v) {
    size_t s, i, k;
    switch (v->type) {
    case EDN_LIST: case EDN_VECTOR: case EDN_MAP: case EDN_SET:
        k = nitems(v);
        s = k * sizeof(edn_value);
        for (i = 0; i < k; i++)
            if (boxed_type(v->u.items[i].type)) s += vsize(&v->u.items[i]);
        return s;
    case EDN_TAGGED:
        s = sizeof(edn_value);
        if (boxed_type(v->u.tagged.val->type)) s += vsize(v->u.tagged.val);
        return s;
    default:
        return AL8((size_t)v->n + 1);
    }
}

static char *vcopy(const edn_value *src, edn_value *dst, char *mem) {
    size_t i, k;
    *dst = *src;
    switch (src->type) {
    case EDN_LIST: case EDN_VECTOR: case EDN_MAP: case EDN_SET: {
        edn_value *items = (edn_value *)(void *)mem;
        k = nitems(src);
        mem += k * sizeof(edn_value);
        for (i = 0; i < k; i++) {
            items[i] = src->u.items[i];
            if (boxed_type(items[i].type))
                mem = vcopy(&src->u.items[i], &items[i], mem);
        }
        dst->u.items = items;
        return mem;
    }
    case EDN_TAGGED: {
        edn_value *val = (edn_value *)(void *)mem;
        mem += sizeof(edn_value);
        *val = *src->u.tagged.val;
        if (boxed_type(val->type)) mem = vcopy(src->u.tagged.val, val, mem);
        dst->u.tagged.tag = src->u.tagged.tag;
        dst->u.tagged.val = val;
        return mem;
    }
    default:
        if (src->n) memcpy(mem, src->u.s, src->n);
        mem[src->n] = 0;
        dst->u.s = mem;
        return mem + AL8((size_t)src->n + 1);
    }
}

int bt_box_value(const edn_value *src, edn_value *dst) {
    size_t sz;
    bt_box *b;
    if (!boxed_type(src->type)) {
        *dst = *src;
        dst->pad = 0;
        return 0;
    }
    sz = vsize(src);
    b = malloc(sizeof *b + sz);
    if (!b) return dl_err_nomem();
    atomic_init(&b->rc, 1);
    b->pad = 0;
    b->size = sz;
    vcopy(src, dst, (char *)(b + 1));
    dst->pad = 0;
    dst->flags = 0;
    return 0;
}

static bt_box *box_of(const edn_value *v) {
    return (bt_box *)(uintptr_t)primary(v) - 1;
}

void bt_value_retain(const edn_value *v) {
    if (boxed_type(v->type))
        atomic_fetch_add_explicit(&box_of(v)->rc, 1, memory_order_relaxed);
}

void bt_value_release(const edn_value *v) {
    if (boxed_type(v->type)) {
        bt_box *b = box_of(v);
        if (atomic_fetch_sub_explicit(&b->rc, 1, memory_order_acq_rel) == 1)
            free(b);
    }
}

size_t bt_value_boxed_size(const edn_value *v) {
    return boxed_type(v->type) ? sizeof(bt_box) + box_of(v)->size : 0;
}

/* ------------------------------------------------------------------ */
/* nodes                                                               */
/* ------------------------------------------------------------------ */

bt_node *bt_node_alloc(unsigned level, dl_index order, unsigned cap) {
    bt_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    if (cap == 0) cap = 1;
    n->ents = malloc(cap * sizeof *n->ents);
    if (level) n->kids = calloc(cap, sizeof *n->kids);
    if (!n->ents || (level && !n->kids)) {
        free(n->ents);
        free(n->kids);
        free(n);
        return NULL;
    }
    atomic_init(&n->rc, 1);
    n->level = (uint8_t)level;
    n->order = (uint8_t)order;
    n->cap = cap;
    n->bytes = sizeof *n + cap * sizeof *n->ents +
               (level ? cap * sizeof *n->kids : 0);
    return n;
}

void bt_node_release(bt_node *n) {
    uint32_t i;
    if (!n) return;
    if (atomic_fetch_sub_explicit(&n->rc, 1, memory_order_acq_rel) != 1)
        return;
    for (i = 0; i < n->n; i++) {
        bt_value_release(&n->ents[i].v);
        if (n->level) bt_node_release(n->kids[i].ptr);
    }
    free(n->ents);
    free(n->kids);
    free(n);
}

bt_node *bt_node_clone(const bt_node *n, unsigned cap) {
    bt_node *c;
    uint32_t i;
    if (cap < n->n) cap = n->n;
    c = bt_node_alloc(n->level, (dl_index)n->order, cap);
    if (!c) return NULL;
    memcpy(c->ents, n->ents, n->n * sizeof *n->ents);
    for (i = 0; i < n->n; i++) bt_value_retain(&n->ents[i].v);
    if (n->level) {
        memcpy(c->kids, n->kids, n->n * sizeof *n->kids);
        for (i = 0; i < n->n; i++)
            if (c->kids[i].ptr) bt_node_retain(c->kids[i].ptr);
    }
    c->n = n->n;
    c->count = n->count;
    c->bytes = n->bytes - n->cap * sizeof *n->ents -
               (n->level ? n->cap * sizeof *n->kids : 0) +
               cap * sizeof *c->ents + (c->level ? cap * sizeof *c->kids : 0);
    return c;
}

size_t bt_node_membytes(const bt_node *n) {
    uint32_t i;
    size_t bytes = sizeof *n + n->cap * sizeof *n->ents +
                   (n->level ? n->cap * sizeof *n->kids : 0);
    for (i = 0; i < n->n; i++) bytes += bt_value_boxed_size(&n->ents[i].v);
    return bytes;
}

void bt_node_recount(bt_node *n) {
    uint32_t i;
    uint64_t cnt = 0;
    for (i = 0; i < n->n; i++) cnt += n->level ? n->kids[i].count : 1;
    n->count = cnt;
    n->bytes = bt_node_membytes(n);
}

/* ------------------------------------------------------------------ */
/* entries                                                             */
/* ------------------------------------------------------------------ */

static inline int vcmp(const edn_value *x, const edn_value *y) {
    edn_value a, b;
    if (x->type == EDN_INT && y->type == EDN_INT)
        return (x->u.i > y->u.i) - (x->u.i < y->u.i);
    if (x->type == EDN_KEYWORD && y->type == EDN_KEYWORD && x->u.sym == y->u.sym)
        return 0;
    if ((x->pad | y->pad) == 0) return edn_compare(x, y);
    a = *x;
    b = *y;
    a.pad = b.pad = 0;
    return edn_compare(&a, &b);
}

int bt_ent_cmp(dl_index o, const bt_ent *x, const bt_ent *y, unsigned nf) {
    int c;
    unsigned nk = o >= DL_TEAVT ? 5 : 4;
    if (nf > nk) nf = nk;
    if (nf == 0) return 0;
    switch ((unsigned)o % 3) {
    case 0: /* e a v */
        if ((c = dl_u64_cmp(x->e, y->e)) || nf == 1) return c;
        if ((c = dl_attr_cmp(x->a, y->a)) || nf == 2) return c;
        if ((c = vcmp(&x->v, &y->v)) || nf == 3) return c;
        break;
    case 1: /* a e v */
        if ((c = dl_attr_cmp(x->a, y->a)) || nf == 1) return c;
        if ((c = dl_u64_cmp(x->e, y->e)) || nf == 2) return c;
        if ((c = vcmp(&x->v, &y->v)) || nf == 3) return c;
        break;
    default: /* a v e */
        if ((c = dl_attr_cmp(x->a, y->a)) || nf == 1) return c;
        if ((c = vcmp(&x->v, &y->v)) || nf == 2) return c;
        if ((c = dl_u64_cmp(x->e, y->e)) || nf == 3) return c;
        break;
    }
    if ((c = dl_u64_cmp(x->tx, y->tx)) || nf == 4) return c;
    return (int)(x->v.pad & 1) - (int)(y->v.pad & 1);
}

void bt_ent_from_datom(bt_ent *x, const dl_datom *d) {
    x->e = d->e;
    x->tx = d->tx;
    x->a = d->a;
    x->v = d->v;
    x->v.pad = d->added ? 1 : 0;
}

void bt_ent_to_datom(const bt_ent *x, dl_datom *d) {
    d->e = x->e;
    d->tx = x->tx;
    d->a = x->a;
    d->v = x->v;
    d->v.pad = 0;
    d->added = x->v.pad & 1;
}

/* ------------------------------------------------------------------ */
/* codec: writing                                                      */
/* ------------------------------------------------------------------ */

/* Varints and tag bytes are written straight into the buffer after one
** capacity check (this loop dominates encoding). */
static int put_varint(dl_buf *b, uint64_t x) {
    uint8_t *p;
    int rc;
    if (b->cap - b->len < 12 && (rc = dl_buf_reserve(b, 11))) return rc;
    p = (uint8_t *)b->data + b->len;
    while (x >= 0x80) {
        *p++ = (uint8_t)(x | 0x80);
        x >>= 7;
    }
    *p++ = (uint8_t)x;
    b->len = (size_t)(p - (uint8_t *)b->data);
    b->data[b->len] = 0;
    return 0;
}

static int put_byte(dl_buf *b, uint8_t c) {
    int rc;
    if (b->cap - b->len < 2 && (rc = dl_buf_reserve(b, 1))) return rc;
    b->data[b->len++] = (char)c;
    b->data[b->len] = 0;
    return 0;
}

static uint64_t zz(uint64_t delta) {
    int64_t s = (int64_t)delta;
    return ((uint64_t)s << 1) ^ (uint64_t)(s >> 63);
}

static uint64_t unzz(uint64_t z) { return (z >> 1) ^ (uint64_t)-(int64_t)(z & 1); }

typedef struct symtab {
    const edn_sym **keys; /* open addressing, capacity cap (power of 2) */
    uint32_t *idx;
    size_t cap, n;
    const edn_sym **list; /* in first-seen order */
} symtab;

static size_t sym_slot(const symtab *t, const edn_sym *s) {
    size_t h = (size_t)((uintptr_t)s * 0x9E3779B97F4A7C15ull >> 17) & (t->cap - 1);
    while (t->keys[h] && t->keys[h] != s) h = (h + 1) & (t->cap - 1);
    return h;
}

static void sym_add(symtab *t, const edn_sym *s) {
    size_t h = sym_slot(t, s);
    if (!t->keys[h]) {
        t->keys[h] = s;
        t->idx[h] = (uint32_t)t->n;
        t->list[t->n++] = s;
    }
}

static size_t value_syms(const edn_value *v) {
    size_t i, k, c = 0;
    switch (v->type) {
    case EDN_KEYWORD: case EDN_SYMBOL: return 1;
    case EDN_TAGGED: return 1 + value_syms(v->u.tagged.val);
    case EDN_LIST: case EDN_VECTOR: case EDN_MAP: case EDN_SET:
        k = nitems(v);
        for (i = 0; i < k; i++) c += value_syms(&v->u.items[i]);
        return c;
    default: return 0;
    }
}

static void value_collect(symtab *t, const edn_value *v) {
    size_t i, k;
    switch (v->type) {
    case EDN_KEYWORD: case EDN_SYMBOL: sym_add(t, v->u.sym); break;
    case EDN_TAGGED:
        sym_add(t, v->u.tagged.tag);
        value_collect(t, v->u.tagged.val);
        break;
    case EDN_LIST: case EDN_VECTOR: case EDN_MAP: case EDN_SET:
        k = nitems(v);
        for (i = 0; i < k; i++) value_collect(t, &v->u.items[i]);
        break;
    default: break;
    }
}

static int put_value(dl_buf *b, const symtab *t, const edn_value *v,
                     unsigned added) {
    uint8_t tag;
    int rc;
    size_t i, k;
    uint64_t bits;
    switch (v->type) {
    case EDN_NIL: tag = 0; break;
    case EDN_BOOL: tag = v->u.b ? 2 : 1; break;
    case EDN_INT: tag = 3; break;
    case EDN_BIGINT: tag = 4; break;
    case EDN_FLOAT: tag = 5; break;
    case EDN_BIGDEC: tag = 6; break;
    case EDN_STRING: tag = 7; break;
    case EDN_CHAR: tag = 8; break;
    case EDN_KEYWORD: tag = 9; break;
    case EDN_SYMBOL: tag = 10; break;
    case EDN_UUID: tag = 11; break;
    case EDN_INST: tag = 12; break;
    case EDN_BYTES: tag = 13; break;
    case EDN_LIST: tag = 14; break;
    case EDN_VECTOR: tag = 15; break;
    case EDN_MAP: tag = 16; break;
    case EDN_SET: tag = 17; break;
    case EDN_TAGGED: tag = 18; break;
    default: return dl_err_set(DATALITH_EINTERNAL, "index node: bad value type %u",
                               (unsigned)v->type);
    }
    tag |= (uint8_t)(added << 7);
    if ((rc = put_byte(b, tag))) return rc;
    switch (v->type) {
    case EDN_INT: return put_varint(b, zz((uint64_t)v->u.i));
    case EDN_INST: return put_varint(b, zz((uint64_t)v->u.ms));
    case EDN_CHAR: return put_varint(b, v->u.ch);
    case EDN_FLOAT: {
        uint8_t le[8];
        memcpy(&bits, &v->u.d, 8);
        for (i = 0; i < 8; i++) le[i] = (uint8_t)(bits >> (8 * i));
        return dl_buf_append(b, le, 8);
    }
    case EDN_UUID: return dl_buf_append(b, v->u.uuid, 16);
    case EDN_KEYWORD: case EDN_SYMBOL:
        return put_varint(b, t->idx[sym_slot(t, v->u.sym)]);
    case EDN_BIGINT: case EDN_BIGDEC: case EDN_STRING: case EDN_BYTES:
        if ((rc = put_varint(b, v->n))) return rc;
        return dl_buf_append(b, v->u.s, v->n);
    case EDN_LIST: case EDN_VECTOR: case EDN_MAP: case EDN_SET:
        if ((rc = put_varint(b, v->n))) return rc;
        k = nitems(v);
        for (i = 0; i < k; i++)
            if ((rc = put_value(b, t, &v->u.items[i], 0))) return rc;
        return 0;
    case EDN_TAGGED:
        if ((rc = put_varint(b, t->idx[sym_slot(t, v->u.tagged.tag)])))
            return rc;
        return put_value(b, t, v->u.tagged.val, 0);
    default: return 0;
    }
}

int bt_node_encode(const bt_node *n, dl_buf *out) {
    symtab t = {0};
    size_t occ = 0, i;
    uint64_t pe = 0, pt = 0;
    uint8_t hdr[3];
    int rc;
    for (i = 0; i < n->n; i++) occ += 1 + value_syms(&n->ents[i].v);
    t.cap = 16;
    while (t.cap < 2 * occ) t.cap <<= 1;
    t.keys = calloc(t.cap, sizeof *t.keys);
    t.idx = malloc(t.cap * sizeof *t.idx);
    t.list = malloc((occ + 1) * sizeof *t.list);
    if (!t.keys || !t.idx || !t.list) {
        rc = dl_err_nomem();
        goto done;
    }
    for (i = 0; i < n->n; i++) {
        sym_add(&t, n->ents[i].a);
        value_collect(&t, &n->ents[i].v);
    }
    hdr[0] = BT_FORMAT_VERSION;
    hdr[1] = n->order;
    hdr[2] = n->level;
    if ((rc = dl_buf_append(out, hdr, 3))) goto done;
    if ((rc = put_varint(out, n->n))) goto done;
    if ((rc = put_varint(out, t.n))) goto done;
    for (i = 0; i < t.n; i++) {
        if ((rc = put_varint(out, t.list[i]->full_len))) goto done;
        if ((rc = dl_buf_append(out, t.list[i]->full, t.list[i]->full_len)))
            goto done;
    }
    for (i = 0; i < n->n; i++) {
        const bt_ent *x = &n->ents[i];
        if ((rc = put_varint(out, zz(x->e - pe)))) goto done;
        if ((rc = put_varint(out, t.idx[sym_slot(&t, x->a)]))) goto done;
        if ((rc = put_value(out, &t, &x->v, x->v.pad & 1))) goto done;
        if ((rc = put_varint(out, zz(x->tx - pt)))) goto done;
        pe = x->e;
        pt = x->tx;
    }
    if (n->level) {
        for (i = 0; i < n->n; i++) {
            if ((rc = put_varint(out, n->kids[i].count))) goto done;
            if ((rc = dl_buf_append(out, n->kids[i].addr, 16))) goto done;
        }
    }
done:
    free(t.keys);
    free(t.idx);
    free(t.list);
    return rc;
}

/* ------------------------------------------------------------------ */
/* codec: reading                                                      */
/* ------------------------------------------------------------------ */

typedef struct rd {
    const uint8_t *p, *start, *end;
    const char *name;
    dl_arena *arena;
    const edn_sym **syms;
    size_t nsyms;
} rd;

static int bad(rd *r, const char *what) {
    return dl_err_set(DATALITH_ECORRUPT, "index node %s: %s at byte %ld",
                      r->name ? r->name : "(unnamed)", what,
                      (long)(r->p - r->start));
}

static int get_varint(rd *r, uint64_t *out) {
    uint64_t x = 0;
    unsigned shift = 0;
    for (;;) {
        uint8_t c;
        if (r->p >= r->end) return bad(r, "truncated varint");
        c = *r->p++;
        if (shift == 63 && c > 1) return bad(r, "varint overflow");
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) break;
        shift += 7;
        if (shift > 63) return bad(r, "varint too long");
    }
    *out = x;
    return 0;
}

static int get_len(rd *r, size_t *out) {
    uint64_t x;
    int rc = get_varint(r, &x);
    if (rc) return rc;
    if (x > (uint64_t)(r->end - r->p)) return bad(r, "length past end");
    *out = (size_t)x;
    return 0;
}

static int get_sym(rd *r, const edn_sym **out) {
    uint64_t i;
    int rc = get_varint(r, &i);
    if (rc) return rc;
    if (i >= r->nsyms) return bad(r, "symbol index out of range");
    *out = r->syms[i];
    return 0;
}

static int get_value(rd *r, edn_value *v, unsigned depth, unsigned *added) {
    uint8_t tag;
    uint64_t x;
    size_t len, i, k;
    int rc = 0;
    const char *what = NULL;
    if (depth > BT_MAX_DEPTH_VALUE) return bad(r, "value nested too deeply");
    if (r->p >= r->end) return bad(r, "truncated value");
    tag = *r->p++;
    if (added) {
        *added = tag >> 7;
        tag &= 0x7f;
    }
    memset(v, 0, sizeof *v);
    switch (tag) {
    case 0: *v = edn_nil(); return 0;
    case 1: *v = edn_bool(false); return 0;
    case 2: *v = edn_bool(true); return 0;
    case 3: case 12:
        if ((rc = get_varint(r, &x))) return rc;
        *v = tag == 3 ? edn_int((int64_t)unzz(x)) : edn_inst((int64_t)unzz(x));
        return 0;
    case 5: {
        uint64_t bits = 0;
        double d;
        if (r->end - r->p < 8) return bad(r, "truncated double");
        for (i = 0; i < 8; i++) bits |= (uint64_t)r->p[i] << (8 * i);
        r->p += 8;
        memcpy(&d, &bits, 8);
        *v = edn_float(d);
        return 0;
    }
    case 8:
        if ((rc = get_varint(r, &x))) return rc;
        if (x > 0x10FFFF) return bad(r, "char out of range");
        *v = edn_char((uint32_t)x);
        return 0;
    case 9: case 10: {
        const edn_sym *s;
        if ((rc = get_sym(r, &s))) return rc;
        *v = tag == 9 ? edn_keyword(s) : edn_symbol(s);
        return 0;
    }
    case 11:
        if (r->end - r->p < 16) return bad(r, "truncated uuid");
        *v = edn_uuid(r->p);
        r->p += 16;
        return 0;
    case 4: case 6: case 7: case 13:
        if ((rc = get_len(r, &len))) return rc;
        if (len > UINT32_MAX) return bad(r, "value too long");
        switch (tag) {
        case 4:
            rc = edn_bigint(r->arena, (const char *)r->p, len, v);
            what = "bad bigint";
            break;
        case 6:
            rc = edn_bigdec(r->arena, (const char *)r->p, len, v);
            what = "bad bigdec";
            break;
        case 7:
            rc = edn_string(r->arena, (const char *)r->p, len, v);
            what = "bad string";
            break;
        default:
            rc = edn_bytes(r->arena, r->p, len, v);
            what = "bad bytes";
            break;
        }
        if (rc) {
            if (rc == DATALITH_ENOMEM) return rc;
            return bad(r, what);
        }
        r->p += len;
        return 0;
    case 14: case 15: case 16: case 17: {
        edn_value *items;
        if ((rc = get_varint(r, &x))) return rc;
        k = tag == 16 ? 2 * x : x;
        if (x > (uint64_t)(r->end - r->p) || k > (size_t)(r->end - r->p))
            return bad(r, "collection count past end");
        items = k ? dl_arena_alloc(r->arena, k * sizeof *items) : NULL;
        if (k && !items) return DATALITH_ENOMEM;
        for (i = 0; i < k; i++)
            if ((rc = get_value(r, &items[i], depth + 1, NULL))) return rc;
        switch (tag) {
        case 14: rc = edn_list(r->arena, items, k, v); break;
        case 15: rc = edn_vector(r->arena, items, k, v); break;
        case 16: rc = edn_map(r->arena, items, x, v); break;
        default: rc = edn_set(r->arena, items, k, v); break;
        }
        if (rc) {
            if (rc == DATALITH_ENOMEM || rc == DATALITH_ELIMIT) return rc;
            return bad(r, tag == 16 ? "map with duplicate keys"
                                    : "set with duplicate elements");
        }
        return 0;
    }
    case 18: {
        const edn_sym *s;
        edn_value inner;
        if ((rc = get_sym(r, &s))) return rc;
        if ((rc = get_value(r, &inner, depth + 1, NULL))) return rc;
        rc = edn_tagged(r->arena, s, &inner, v);
        if (rc) return rc == DATALITH_ENOMEM ? rc : bad(r, "bad tagged value");
        return 0;
    }
    default:
        return bad(r, "unknown value tag");
    }
}

int bt_node_decode(const uint8_t *p, size_t len, const char *name,
                   bt_node **out) {
    rd r;
    dl_arena arena;
    uint64_t n, ns, x, pe = 0, pt = 0, total = 0;
    bt_node *node = NULL;
    size_t i, slen;
    int rc = 0;
    unsigned level, order;

    *out = NULL;
    memset(&r, 0, sizeof r);
    r.p = r.start = p;
    r.end = p + len;
    r.name = name;
    dl_arena_init(&arena, 0);
    r.arena = &arena;
    if (len < 3) {
        rc = bad(&r, "truncated header");
        goto fail;
    }
    if (p[0] != BT_FORMAT_VERSION) {
        rc = bad(&r, "unknown format version");
        goto fail;
    }
    order = p[1];
    level = p[2];
    r.p += 3;
    if (order >= DL_INDEX_COUNT) {
        rc = bad(&r, "bad index order");
        goto fail;
    }
    if (level > BT_MAX_LEVEL) {
        rc = bad(&r, "bad level");
        goto fail;
    }
    if ((rc = get_varint(&r, &n))) goto fail;
    if (n > BT_NODE_MAX_ENTRIES || n > (uint64_t)(r.end - r.p) ||
        (level && n == 0)) {
        rc = bad(&r, "bad entry count");
        goto fail;
    }
    if ((rc = get_varint(&r, &ns))) goto fail;
    if (ns > (uint64_t)(r.end - r.p)) {
        rc = bad(&r, "bad symbol count");
        goto fail;
    }
    r.syms = malloc((ns ? ns : 1) * sizeof *r.syms);
    if (!r.syms) {
        rc = dl_err_nomem();
        goto fail;
    }
    for (i = 0; i < ns; i++) {
        if ((rc = get_len(&r, &slen))) goto fail;
        if (slen == 0 || slen > 65535) {
            rc = bad(&r, "bad symbol length");
            goto fail;
        }
        r.syms[i] = edn_intern_full((const char *)r.p, slen);
        if (!r.syms[i]) {
            rc = DATALITH_ENOMEM;
            goto fail;
        }
        r.p += slen;
        r.nsyms = i + 1;
    }
    node = bt_node_alloc(level, (dl_index)order, (unsigned)n);
    if (!node) {
        rc = dl_err_nomem();
        goto fail;
    }
    for (i = 0; i < n; i++) {
        bt_ent *e = &node->ents[i];
        edn_value v;
        unsigned added = 0;
        if ((rc = get_varint(&r, &x))) goto fail;
        e->e = pe + unzz(x);
        if ((rc = get_sym(&r, &e->a))) goto fail;
        if ((rc = get_value(&r, &v, 0, &added))) goto fail;
        if ((rc = get_varint(&r, &x))) goto fail;
        e->tx = pt + unzz(x);
        pe = e->e;
        pt = e->tx;
        if ((rc = bt_box_value(&v, &e->v))) goto fail;
        e->v.pad = (uint16_t)added;
        node->n = (uint32_t)i + 1;
        if (i && bt_ent_cmp((dl_index)order, &node->ents[i - 1], e, 5) >= 0) {
            rc = bad(&r, "entries out of order or duplicate");
            goto fail;
        }
        dl_arena_free(&arena);
    }
    if (level) {
        for (i = 0; i < n; i++) {
            bt_slot *s = &node->kids[i];
            if ((rc = get_varint(&r, &x))) goto fail;
            if (x == 0 || x > (UINT64_MAX >> 2) - total) {
                rc = bad(&r, "bad child count");
                goto fail;
            }
            total += x;
            if (r.end - r.p < 16) {
                rc = bad(&r, "truncated child address");
                goto fail;
            }
            s->ptr = NULL;
            s->count = x;
            memcpy(s->addr, r.p, 16);
            s->has_addr = 1;
            r.p += 16;
        }
    }
    if (r.p != r.end) {
        rc = bad(&r, "trailing bytes");
        goto fail;
    }
    bt_node_recount(node);
    free(r.syms);
    dl_arena_free(&arena);
    *out = node;
    return 0;
fail:
    if (rc == DATALITH_ENOMEM) dl_err_nomem();
    free(r.syms);
    dl_arena_free(&arena);
    bt_node_release(node);
    return rc;
}

void bt_addr_of(const uint8_t *p, size_t len, uint8_t addr[16]) {
    XXH128_hash_t h = XXH3_128bits(p, len);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    memcpy(addr, c.digest, 16);
}

void bt_addr_key(const uint8_t addr[16], char key[BT_KEY_MAX]) {
    static const char hex[] = "0123456789abcdef";
    int i;
    key[0] = 'n';
    for (i = 0; i < 16; i++) {
        key[1 + 2 * i] = hex[addr[i] >> 4];
        key[2 + 2 * i] = hex[addr[i] & 15];
    }
    key[33] = 0;
}

int bt_key_addr(const char *key, uint8_t addr[16]) {
    int i;
    if (!key || key[0] != 'n' || strlen(key) != 33)
        return dl_err_set(DATALITH_EINVAL, "not an index node key: \"%s\"",
                          key ? key : "(null)");
    for (i = 0; i < 32; i++) {
        char c = key[1 + i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return dl_err_set(DATALITH_EINVAL, "not an index node key: \"%s\"",
                              key);
        if (i & 1) addr[i / 2] |= (uint8_t)d;
        else addr[i / 2] = (uint8_t)(d << 4);
    }
    return 0;
}
