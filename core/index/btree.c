/*
** btree.c — the persistent B+tree: updates with in-place-when-owned
** copy-on-write, bulk build, rank/counts, flush/open and cursors
** (design in btree.h, node layout and encoding in node.h).
*/
#include "node.h"

#include "store/object.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

static unsigned leaf_max(const bt_env *env) {
    unsigned m = env && env->leaf_max ? env->leaf_max : BT_LEAF_MAX;
    return m < 2 ? 2 : m > BT_NODE_MAX_ENTRIES - 1 ? BT_NODE_MAX_ENTRIES - 1 : m;
}

static unsigned branch_max(const bt_env *env) {
    unsigned m = env && env->branch_max ? env->branch_max : BT_BRANCH_MAX;
    return m < 3 ? 3 : m > BT_NODE_MAX_ENTRIES - 1 ? BT_NODE_MAX_ENTRIES - 1 : m;
}

static unsigned node_max(const bt_env *env, const bt_node *n) {
    return n->level ? branch_max(env) : leaf_max(env);
}

/* ---- trees ---- */

void bt_tree_init(bt_tree *t, const bt_env *env, dl_index order) {
    t->env = env;
    t->order = order;
    t->root = NULL;
}

void bt_tree_copy(bt_tree *dst, const bt_tree *src) {
    *dst = *src;
    if (dst->root) bt_node_retain(dst->root);
}

void bt_tree_release(bt_tree *t) {
    bt_node_release(t->root);
    t->root = NULL;
}

uint64_t bt_tree_count(const bt_tree *t) { return t->root ? t->root->count : 0; }

unsigned bt_tree_height(const bt_tree *t) {
    return t->root ? t->root->level + 1u : 0;
}

/* A pinned reference to child i of p (loading a stored child). */
static int child_ref(const bt_env *env, const bt_node *p, unsigned i,
                     bt_node **out) {
    const bt_slot *s = &p->kids[i];
    int rc;
    if (s->ptr) {
        bt_node_retain(s->ptr);
        *out = s->ptr;
        return 0;
    }
    if (!env || !env->cache) {
        *out = NULL;
        return dl_err_set(DATALITH_EINVAL, "index node not in memory and no cache");
    }
    rc = bt_cache_load(env->cache, env->store, s->addr, p->level - 1, p->order,
                       out);
    if (rc) return rc;
    if ((*out)->count != s->count) {
        char key[BT_KEY_MAX];
        bt_addr_key(s->addr, key);
        bt_node_release(*out);
        *out = NULL;
        return dl_err_set(DATALITH_ECORRUPT,
                          "index node %s: holds a different datom count than "
                          "its parent records", key);
    }
    return 0;
}

static bool owned(const bt_node *n) {
    return !n->stored && atomic_load_explicit(&((bt_node *)n)->rc,
                                              memory_order_acquire) == 1;
}

/* Make *np (a reference the caller owns) exclusively owned and mutable. */
static int make_owned(const bt_env *env, bt_node **np) {
    bt_node *n = *np, *c;
    unsigned max;
    if (owned(n)) return 0;
    max = node_max(env, n);
    c = bt_node_clone(n, (n->n > max ? n->n : max) + 1);
    if (!c) return dl_err_nomem();
    bt_node_release(n);
    *np = c;
    return 0;
}

/* Make child i of the owned branch p exclusively owned. */
static int own_child(const bt_env *env, bt_node *p, unsigned i) {
    bt_slot *s = &p->kids[i];
    int rc;
    if (!s->ptr) {
        bt_node *loaded;
        if ((rc = child_ref(env, p, i, &loaded))) return rc;
        rc = make_owned(env, &loaded);
        if (rc) {
            bt_node_release(loaded);
            return rc;
        }
        s->ptr = loaded;
        s->has_addr = 0;
        return 0;
    }
    if (owned(s->ptr)) return 0;
    if ((rc = make_owned(env, &s->ptr))) return rc;
    s->has_addr = 0;
    return 0;
}

/* Index of the first entry not "before" key: before = cmp < 0 (after == 0)
** or cmp <= 0 (after == 1). */
static unsigned bound(const bt_node *n, const bt_ent *key, unsigned nf,
                      int after) {
    unsigned lo = 0, hi = n->n;
    dl_index o = (dl_index)n->order;
    while (lo < hi) {
        unsigned mid = (lo + hi) >> 1;
        int c = bt_ent_cmp(o, &n->ents[mid], key, nf);
        if (after ? c <= 0 : c < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void set_key(bt_ent *dst, const bt_ent *src) {
    bt_value_retain(&src->v);
    bt_value_release(&dst->v);
    *dst = *src;
}

static const bt_ent *last_key(const bt_node *n) { return &n->ents[n->n - 1]; }

static void recount_counts(bt_node *n) {
    uint32_t i;
    uint64_t c = 0;
    if (!n->level) {
        n->count = n->n;
        return;
    }
    for (i = 0; i < n->n; i++) c += n->kids[i].count;
    n->count = c;
}

/* Move entries (and slots) [from, n) of `n` to the empty node `r`. */
static void move_tail(bt_node *n, bt_node *r, unsigned from) {
    unsigned k = n->n - from;
    memcpy(r->ents, n->ents + from, k * sizeof *n->ents);
    if (n->level) memcpy(r->kids, n->kids + from, k * sizeof *n->kids);
    r->n = k;
    n->n = from;
    recount_counts(n);
    recount_counts(r);
}

/* ---- insert ---- */

static int ins(const bt_env *env, bt_node *n, const bt_ent *x, int *changed,
               bt_node **split) {
    unsigned max = node_max(env, n), i;
    bt_node *spare = NULL;
    int rc;

    *split = NULL;
    if (n->n + 1 > max) {
        unsigned k = n->n + 1 - (n->n + 1) / 2;
        spare = bt_node_alloc(n->level, (dl_index)n->order, (k > max ? k : max) + 1);
        if (!spare) return dl_err_nomem();
    }
    if (!n->level) {
        i = bound(n, x, 5, 0);
        if (i < n->n && bt_ent_cmp((dl_index)n->order, &n->ents[i], x, 5) == 0) {
            *changed = 0;
            bt_node_release(spare);
            return 0;
        }
        memmove(n->ents + i + 1, n->ents + i, (n->n - i) * sizeof *n->ents);
        n->ents[i] = *x;
        n->n++;
        n->count++;
        *changed = 1;
    } else {
        bt_node *child, *right;
        i = bound(n, x, 5, 0);
        if (i == n->n) i = n->n - 1;
        if ((rc = own_child(env, n, i))) {
            bt_node_release(spare);
            return rc;
        }
        child = n->kids[i].ptr;
        rc = ins(env, child, x, changed, &right);
        if (rc || !*changed) {
            bt_node_release(spare);
            return rc;
        }
        n->kids[i].count = child->count;
        set_key(&n->ents[i], last_key(child));
        if (right) {
            memmove(n->ents + i + 2, n->ents + i + 1,
                    (n->n - i - 1) * sizeof *n->ents);
            memmove(n->kids + i + 2, n->kids + i + 1,
                    (n->n - i - 1) * sizeof *n->kids);
            n->ents[i + 1] = *last_key(right);
            bt_value_retain(&n->ents[i + 1].v);
            n->kids[i + 1].ptr = right;
            n->kids[i + 1].count = right->count;
            n->kids[i + 1].has_addr = 0;
            n->n++;
        }
        n->count++;
    }
    if (n->n > max) {
        move_tail(n, spare, n->n / 2);
        *split = spare;
    } else {
        bt_node_release(spare);
    }
    return 0;
}

int bt_insert(bt_tree *t, const dl_datom *d, int *changed) {
    bt_ent x;
    bt_node *right = NULL, *newroot = NULL;
    int ch = 0, rc;

    if (changed) *changed = 0;
    if (!d->a)
        return dl_err_set(DATALITH_EINVAL, "datom without attribute");
    bt_ent_from_datom(&x, d);
    if ((rc = bt_box_value(&d->v, &x.v))) return rc;
    x.v.pad = d->added ? 1 : 0;

    if (!t->root) {
        t->root = bt_node_alloc(0, t->order, leaf_max(t->env) + 1);
        if (!t->root) {
            rc = dl_err_nomem();
            goto fail;
        }
    } else if ((rc = make_owned(t->env, &t->root))) {
        goto fail;
    }
    if (t->root->n + 1 > node_max(t->env, t->root)) {
        newroot = bt_node_alloc(t->root->level + 1u, t->order,
                                branch_max(t->env) + 1);
        if (!newroot) {
            rc = dl_err_nomem();
            goto fail;
        }
    }
    if ((rc = ins(t->env, t->root, &x, &ch, &right))) goto fail;
    if (!ch) {
        bt_value_release(&x.v);
        bt_node_release(newroot);
        return 0;
    }
    if (right) {
        bt_node *l = t->root;
        newroot->ents[0] = *last_key(l);
        newroot->ents[1] = *last_key(right);
        bt_value_retain(&newroot->ents[0].v);
        bt_value_retain(&newroot->ents[1].v);
        newroot->kids[0] = (bt_slot){l, l->count, {0}, 0};
        newroot->kids[1] = (bt_slot){right, right->count, {0}, 0};
        newroot->n = 2;
        newroot->count = l->count + right->count;
        t->root = newroot;
    } else {
        bt_node_release(newroot);
    }
    if (changed) *changed = 1;
    return 0;
fail:
    bt_value_release(&x.v);
    bt_node_release(newroot);
    return rc;
}

/* ---- remove ---- */

/* Merge or even out the owned siblings l = kids[i], r = kids[i+1] of p. */
static void rebalance(const bt_env *env, bt_node *p, unsigned i) {
    bt_node *l = p->kids[i].ptr, *r = p->kids[i + 1].ptr;
    unsigned max = node_max(env, l), total = l->n + r->n;
    if (total <= max) {
        memcpy(l->ents + l->n, r->ents, r->n * sizeof *r->ents);
        if (l->level) memcpy(l->kids + l->n, r->kids, r->n * sizeof *r->kids);
        l->n = total;
        r->n = 0;
        recount_counts(l);
        bt_node_release(r);
        bt_value_release(&p->ents[i].v);
        p->ents[i] = p->ents[i + 1];
        p->kids[i].count = l->count;
        memmove(p->ents + i + 1, p->ents + i + 2, (p->n - i - 2) * sizeof *p->ents);
        memmove(p->kids + i + 1, p->kids + i + 2, (p->n - i - 2) * sizeof *p->kids);
        p->n--;
        return;
    } else {
        unsigned target = total / 2;
        if (l->n < target) {
            unsigned k = target - l->n;
            memcpy(l->ents + l->n, r->ents, k * sizeof *r->ents);
            memmove(r->ents, r->ents + k, (r->n - k) * sizeof *r->ents);
            if (l->level) {
                memcpy(l->kids + l->n, r->kids, k * sizeof *r->kids);
                memmove(r->kids, r->kids + k, (r->n - k) * sizeof *r->kids);
            }
            l->n += k;
            r->n -= k;
        } else if (l->n > target) {
            unsigned k = l->n - target;
            memmove(r->ents + k, r->ents, r->n * sizeof *r->ents);
            memcpy(r->ents, l->ents + target, k * sizeof *l->ents);
            if (l->level) {
                memmove(r->kids + k, r->kids, r->n * sizeof *r->kids);
                memcpy(r->kids, l->kids + target, k * sizeof *l->kids);
            }
            l->n -= k;
            r->n += k;
        }
        recount_counts(l);
        recount_counts(r);
        set_key(&p->ents[i], last_key(l));
        p->kids[i].count = l->count;
        p->kids[i + 1].count = r->count;
    }
}

static int del(const bt_env *env, bt_node *n, const bt_ent *x, int *changed) {
    unsigned i;
    int rc;
    if (!n->level) {
        i = bound(n, x, 5, 0);
        if (i >= n->n || bt_ent_cmp((dl_index)n->order, &n->ents[i], x, 5) != 0) {
            *changed = 0;
            return 0;
        }
        bt_value_release(&n->ents[i].v);
        memmove(n->ents + i, n->ents + i + 1, (n->n - i - 1) * sizeof *n->ents);
        n->n--;
        n->count--;
        *changed = 1;
        return 0;
    } else {
        bt_node *child;
        i = bound(n, x, 5, 0);
        if (i == n->n) {
            *changed = 0;
            return 0;
        }
        if ((rc = own_child(env, n, i))) return rc;
        child = n->kids[i].ptr;
        if ((rc = del(env, child, x, changed)) || !*changed) return rc;
        n->count--;
        n->kids[i].count = child->count;
        if (child->n == 0) {
            bt_value_release(&n->ents[i].v);
            bt_node_release(child);
            memmove(n->ents + i, n->ents + i + 1, (n->n - i - 1) * sizeof *n->ents);
            memmove(n->kids + i, n->kids + i + 1, (n->n - i - 1) * sizeof *n->kids);
            n->n--;
            return 0;
        }
        set_key(&n->ents[i], last_key(child));
        if (child->n < node_max(env, child) / 4 + 1 && n->n > 1) {
            unsigned j = i + 1 < n->n ? i + 1 : i - 1;
            if (own_child(env, n, j) == 0)
                rebalance(env, n, i < j ? i : j);
            else
                dl_err_clear(); /* the removal stands; the node stays small */
        }
        return 0;
    }
}

int bt_remove(bt_tree *t, const dl_datom *d, int *changed) {
    bt_ent x;
    int ch = 0, rc;
    if (changed) *changed = 0;
    if (!t->root) return 0;
    bt_ent_from_datom(&x, d);
    if ((rc = make_owned(t->env, &t->root))) return rc;
    if ((rc = del(t->env, t->root, &x, &ch))) return rc;
    while (t->root && t->root->level && t->root->n <= 1) {
        bt_node *r = t->root, *only = NULL;
        if (r->n == 1 && child_ref(t->env, r, 0, &only)) {
            dl_err_clear(); /* keep the one-child root; still a valid tree */
            break;
        }
        t->root = only;
        bt_node_release(r);
    }
    if (t->root && t->root->level == 0 && t->root->n == 0) {
        bt_node_release(t->root);
        t->root = NULL;
    }
    if (changed) *changed = ch;
    return 0;
}

/* ---- counts ---- */

int bt_rank(const bt_tree *t, const dl_datom *key, unsigned nf, int after,
            uint64_t *out) {
    bt_ent k;
    bt_node *n;
    uint64_t r = 0;
    *out = 0;
    if (!t->root) return 0;
    if (nf == 0) {
        *out = after ? t->root->count : 0;
        return 0;
    }
    bt_ent_from_datom(&k, key);
    n = t->root;
    bt_node_retain(n);
    while (n->level) {
        unsigned i = bound(n, &k, nf, after), j;
        bt_node *c;
        int rc;
        for (j = 0; j < i; j++) r += n->kids[j].count;
        if (i == n->n) {
            bt_node_release(n);
            *out = r;
            return 0;
        }
        rc = child_ref(t->env, n, i, &c);
        bt_node_release(n);
        if (rc) return rc;
        n = c;
    }
    r += bound(n, &k, nf, after);
    bt_node_release(n);
    *out = r;
    return 0;
}

int bt_count_prefix(const bt_tree *t, const dl_datom *key, unsigned nf,
                    uint64_t *out) {
    uint64_t lo, hi;
    int rc;
    *out = 0;
    if ((rc = bt_rank(t, key, nf, 0, &lo))) return rc;
    if ((rc = bt_rank(t, key, nf, 1, &hi))) return rc;
    *out = hi - lo;
    return 0;
}

/* ---- bulk build ---- */

int bt_build(const bt_env *env, dl_index order, const dl_datom *d, size_t n,
             bt_tree *out) {
    size_t i, m, nn, k, per, extra, pos;
    bt_node **level = NULL, **next = NULL;
    unsigned lmax = leaf_max(env), bmax = branch_max(env), lv = 0;
    int rc = 0;

    bt_tree_init(out, env, order);
    for (i = 0; i < n; i++) {
        if (!d[i].a) return dl_err_set(DATALITH_EINVAL, "datom without attribute");
        if (i && dl_datom_cmp(order, &d[i - 1], &d[i], 5) >= 0)
            return dl_err_set(DATALITH_EINVAL,
                              "bulk build: datoms %zu and %zu are not in "
                              "strictly ascending %s order", i - 1, i,
                              dl_index_name(order));
    }
    if (n == 0) return 0;
    m = (n + lmax - 1) / lmax;
    level = calloc(m, sizeof *level);
    if (!level) return dl_err_nomem();
    per = n / m;
    extra = n % m;
    for (i = 0, pos = 0; i < m; i++) {
        size_t cnt = per + (i < extra), j;
        bt_node *leaf = bt_node_alloc(0, order, lmax + 1);
        if (!leaf) {
            rc = dl_err_nomem();
            goto fail;
        }
        level[i] = leaf;
        for (j = 0; j < cnt; j++, pos++) {
            bt_ent *x = &leaf->ents[j];
            bt_ent_from_datom(x, &d[pos]);
            if ((rc = bt_box_value(&d[pos].v, &x->v))) goto fail;
            x->v.pad = d[pos].added ? 1 : 0;
            leaf->n = (uint32_t)j + 1;
        }
        leaf->count = leaf->n;
    }
    while (m > 1) {
        nn = (m + bmax - 1) / bmax;
        next = calloc(nn, sizeof *next);
        if (!next) {
            rc = dl_err_nomem();
            goto fail;
        }
        lv++;
        per = m / nn;
        extra = m % nn;
        for (i = 0, pos = 0; i < nn; i++) {
            size_t cnt = per + (i < extra);
            bt_node *b = bt_node_alloc(lv, order, bmax + 1);
            if (!b) {
                rc = dl_err_nomem();
                for (k = pos; k < m; k++) bt_node_release(level[k]);
                free(level);
                level = next;
                m = i;
                goto fail;
            }
            for (k = 0; k < cnt; k++, pos++) {
                bt_node *c = level[pos];
                b->ents[k] = *last_key(c);
                bt_value_retain(&b->ents[k].v);
                b->kids[k] = (bt_slot){c, c->count, {0}, 0};
                b->count += c->count;
            }
            b->n = (uint32_t)cnt;
            next[i] = b;
        }
        free(level);
        level = next;
        next = NULL;
        m = nn;
    }
    out->root = level[0];
    free(level);
    return 0;
fail:
    for (k = 0; k < m; k++) bt_node_release(level[k]);
    free(level);
    return rc;
}

/* ---- persistence ---- */

static int flush_node(const bt_env *env, bt_node *n, dl_buf *buf) {
    char key[BT_KEY_MAX];
    uint32_t i;
    int rc;
    if (n->stored) return 0;
    for (i = 0; n->level && i < n->n; i++) {
        bt_slot *s = &n->kids[i];
        if (!s->ptr) continue;
        if ((rc = flush_node(env, s->ptr, buf))) return rc;
        memcpy(s->addr, s->ptr->addr, 16);
        s->has_addr = 1;
    }
    buf->len = 0;
    if ((rc = bt_node_encode(n, buf))) return rc;
    bt_addr_of((const uint8_t *)buf->data, buf->len, n->addr);
    bt_addr_key(n->addr, key);
    rc = dl_obj_put(env->store, key, DL_OBJ_NODE, (const uint8_t *)buf->data,
                    buf->len);
    if (rc) {
        dl_err_prefix("writing index node %s: ", key);
        return rc;
    }
    n->bytes = bt_node_membytes(n);
    n->stored = 1;
    bt_cache_adopt(env->cache, n);
    return 0;
}

int bt_flush(bt_tree *t, char key_out[BT_KEY_MAX]) {
    dl_buf buf = DL_BUF_INIT;
    int rc;
    key_out[0] = 0;
    if (!t->env || !t->env->store)
        return dl_err_set(DATALITH_EINVAL, "bt_flush: tree has no store");
    if (!t->root) {
        t->root = bt_node_alloc(0, t->order, leaf_max(t->env) + 1);
        if (!t->root) return dl_err_nomem();
    }
    rc = flush_node(t->env, t->root, &buf);
    dl_buf_free(&buf);
    if (rc) return rc;
    bt_addr_key(t->root->addr, key_out);
    return 0;
}

int bt_tree_open(const bt_env *env, dl_index order, const char *key,
                 bt_tree *out) {
    uint8_t addr[16];
    int rc;
    bt_tree_init(out, env, order);
    if ((rc = bt_key_addr(key, addr))) return rc;
    if (!env->cache)
        return dl_err_set(DATALITH_EINVAL, "bt_tree_open: no node cache");
    return bt_cache_load(env->cache, env->store, addr, -1, order, &out->root);
}

/* ---- cursors ---- */

struct bt_cursor {
    const bt_env *env;
    bt_node *path[BT_MAX_LEVEL + 1]; /* path[0] root … path[h-1] leaf */
    unsigned idx[BT_MAX_LEVEL + 1];
    unsigned h;
    int valid;
    int err;
};

int bt_cursor_open(const bt_tree *t, bt_cursor **out) {
    bt_cursor *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c) return dl_err_nomem();
    c->env = t->env;
    if (t->root) {
        bt_node_retain(t->root);
        c->path[0] = t->root;
        c->h = t->root->level + 1u;
    }
    *out = c;
    return 0;
}

void bt_cursor_close(bt_cursor *c) {
    unsigned l;
    if (!c) return;
    for (l = 0; l < c->h; l++) bt_node_release(c->path[l]);
    free(c);
}

static int cur_fail(bt_cursor *c, int rc) {
    c->valid = 0;
    c->err = rc;
    return rc;
}

/* Load path[l+1] = child idx[l] of path[l]. */
static int cur_down(bt_cursor *c, unsigned l) {
    bt_node *ch;
    int rc = child_ref(c->env, c->path[l], c->idx[l], &ch);
    if (rc) return cur_fail(c, rc);
    bt_node_release(c->path[l + 1]);
    c->path[l + 1] = ch;
    return 0;
}

/* Descend from level l (idx[l] set) to the leaf, taking the first (dir 0)
** or last (dir 1) entry of each node below. */
static int cur_descend(bt_cursor *c, unsigned l, int last) {
    int rc;
    for (; l + 1 < c->h; l++) {
        if ((rc = cur_down(c, l))) return rc;
        if (c->path[l + 1]->n == 0)
            return cur_fail(c, dl_err_set(DATALITH_ECORRUPT,
                                          "index: empty node below the root"));
        c->idx[l + 1] = last ? c->path[l + 1]->n - 1 : 0;
    }
    return 0;
}

static int cur_ready(bt_cursor *c) {
    c->valid = 0;
    if (c->err) return c->err;
    if (!c->h || c->path[0]->count == 0) return 1;
    return 0;
}

int bt_cursor_first(bt_cursor *c) {
    int rc = cur_ready(c);
    if (rc) return rc < 0 ? rc : 0;
    c->idx[0] = 0;
    if ((rc = cur_descend(c, 0, 0))) return rc;
    c->valid = c->path[c->h - 1]->n > 0;
    return 0;
}

int bt_cursor_last(bt_cursor *c) {
    int rc = cur_ready(c);
    if (rc) return rc < 0 ? rc : 0;
    c->idx[0] = c->path[0]->n - 1;
    if ((rc = cur_descend(c, 0, 1))) return rc;
    c->valid = c->path[c->h - 1]->n > 0;
    return 0;
}

int bt_cursor_next(bt_cursor *c) {
    unsigned leaf, l;
    int rc;
    if (!c->valid) return c->err;
    leaf = c->h - 1;
    if (++c->idx[leaf] < c->path[leaf]->n) return 0;
    for (l = leaf; l-- > 0;) {
        if (c->idx[l] + 1 < c->path[l]->n) {
            c->idx[l]++;
            if ((rc = cur_descend(c, l, 0))) return rc;
            return 0;
        }
    }
    c->valid = 0;
    return 0;
}

int bt_cursor_prev(bt_cursor *c) {
    unsigned leaf, l;
    int rc;
    if (!c->valid) return c->err;
    leaf = c->h - 1;
    if (c->idx[leaf] > 0) {
        c->idx[leaf]--;
        return 0;
    }
    for (l = leaf; l-- > 0;) {
        if (c->idx[l] > 0) {
            c->idx[l]--;
            if ((rc = cur_descend(c, l, 1))) return rc;
            return 0;
        }
    }
    c->valid = 0;
    return 0;
}

int bt_cursor_seek(bt_cursor *c, const dl_datom *key, unsigned nf, int after) {
    bt_ent k;
    unsigned l;
    int rc = cur_ready(c);
    if (rc) return rc < 0 ? rc : 0;
    if (nf == 0) return after ? 0 : bt_cursor_first(c);
    bt_ent_from_datom(&k, key);
    for (l = 0;; l++) {
        bt_node *n = c->path[l];
        unsigned i = bound(n, &k, nf, after);
        if (i == n->n) return 0; /* every datom is before key */
        c->idx[l] = i;
        if (l + 1 == c->h) break;
        if ((rc = cur_down(c, l))) return rc;
    }
    c->valid = 1;
    return 0;
}

int bt_cursor_seek_rev(bt_cursor *c, const dl_datom *key, unsigned nf,
                       int after) {
    int rc;
    if (nf == 0) {
        if (after) return bt_cursor_last(c);
        c->valid = 0;
        return c->err;
    }
    if ((rc = bt_cursor_seek(c, key, nf, after))) return rc;
    if (c->valid) return bt_cursor_prev(c);
    if (c->err) return c->err;
    return bt_cursor_last(c);
}

bool bt_cursor_valid(const bt_cursor *c) { return c->valid; }

int bt_cursor_error(const bt_cursor *c) { return c->err; }

void bt_cursor_get(const bt_cursor *c, dl_datom *out) {
    const bt_node *leaf = c->path[c->h - 1];
    bt_ent_to_datom(&leaf->ents[c->idx[c->h - 1]], out);
}
