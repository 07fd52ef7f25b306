/*
** prop_btree.c — the datom B+tree against a reference model (a sorted
** array of datoms), for every index order: random inserts, removals,
** seeks with steps both ways, prefix counts, snapshots taken midway that
** must not change afterwards, and trees flushed to a store and reopened
** through a tiny node cache (forcing eviction) that must scan equal to the
** model and keep accepting updates.  Deterministic seeds; a failure prints
** the seed, order and step.  DL_PROP_SEEDS=<n> runs more seeds.
*/
#include "index/btree.h"
#include "util/error.h"

#include "index_teststore.h"
#include "test.h"

static uint64_t rs;
static uint64_t rnd(void) {
    rs ^= rs >> 12;
    rs ^= rs << 25;
    rs ^= rs >> 27;
    return rs * UINT64_C(2685821657736338717);
}
static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

static unsigned cur_seed, cur_step;
static dl_index cur_order;
static int reported;

#define PCHECK(cond)                                                          \
    do {                                                                      \
        int ok_ = (cond) ? 1 : 0;                                             \
        CHECK(ok_ && #cond);                                                  \
        if (!ok_ && !reported) {                                              \
            reported = 1;                                                     \
            fprintf(stderr, "  (seed %u, order %s, step %u)\n", cur_seed,     \
                    dl_index_name(cur_order), cur_step);                      \
        }                                                                     \
    } while (0)

/* ---- the value pool and random datoms ---- */

static dl_arena pool_arena;
static edn_value pool[16];
static const edn_sym *attrs[4];

static void pool_init(void) {
    static const char *strs[] = {"a", "b", "ccc", "a longer string value"};
    edn_value items[2];
    int i, k = 0;
    dl_arena_init(&pool_arena, 0);
    for (i = 0; i < 5; i++) pool[k++] = edn_int(i * 3 - 4);
    for (i = 0; i < 4; i++) edn_string(&pool_arena, strs[i], strlen(strs[i]), &pool[k++]);
    pool[k++] = edn_keyword(edn_intern_full("k/one", 5));
    pool[k++] = edn_keyword(edn_intern_full("two", 3));
    pool[k++] = edn_nil();
    pool[k++] = edn_bool(true);
    pool[k++] = edn_float(1.5);
    items[0] = edn_int(1);
    items[1] = pool[5];
    edn_vector(&pool_arena, items, 2, &pool[k++]);
    pool[k++] = edn_int(-4); /* equal to pool[0] on purpose */
    attrs[0] = edn_intern_full("name", 4);
    attrs[1] = edn_intern_full("age", 3);
    attrs[2] = edn_intern_full("person/friend", 13);
    attrs[3] = edn_intern_full("z/x", 3);
}

static dl_datom rand_datom(void) {
    dl_datom d;
    d.e = 1 + rn(30);
    d.a = attrs[rn(4)];
    d.v = pool[rn(16)];
    d.tx = 536870913 + rn(3);
    d.added = rn(2);
    return d;
}

/* ---- the model ---- */

typedef struct model {
    dl_datom *d;
    size_t n, cap;
} model;

static size_t m_lower(const model *m, dl_index o, const dl_datom *k, unsigned nf,
                      int after) {
    size_t i;
    for (i = 0; i < m->n; i++) {
        int c = dl_datom_cmp(o, &m->d[i], k, nf);
        if (after ? c > 0 : c >= 0) break;
    }
    return i;
}

static int m_insert(model *m, dl_index o, const dl_datom *d) {
    size_t i = m_lower(m, o, d, 5, 0);
    if (i < m->n && dl_datom_cmp(o, &m->d[i], d, 5) == 0) return 0;
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->d = realloc(m->d, m->cap * sizeof *m->d);
    }
    memmove(m->d + i + 1, m->d + i, (m->n - i) * sizeof *m->d);
    m->d[i] = *d;
    m->n++;
    return 1;
}

static int m_remove(model *m, dl_index o, const dl_datom *d) {
    size_t i = m_lower(m, o, d, 5, 0);
    if (i >= m->n || dl_datom_cmp(o, &m->d[i], d, 5) != 0) return 0;
    memmove(m->d + i, m->d + i + 1, (m->n - i - 1) * sizeof *m->d);
    m->n--;
    return 1;
}

static int same(const dl_datom *x, const dl_datom *y) {
    return x->e == y->e && x->a == y->a && x->v.type == y->v.type &&
           edn_equal(&x->v, &y->v) && x->tx == y->tx && x->added == y->added;
}

/* ---- checks ---- */

static void check_scan(const bt_tree *t, const model *m) {
    bt_cursor *c;
    dl_datom d;
    size_t i = 0;
    int ok = 1;
    PCHECK(bt_tree_count(t) == m->n);
    PCHECK(bt_cursor_open(t, &c) == 0);
    for (bt_cursor_first(c); bt_cursor_valid(c); bt_cursor_next(c), i++) {
        bt_cursor_get(c, &d);
        if (i >= m->n || !same(&d, &m->d[i])) ok = 0;
    }
    PCHECK(bt_cursor_error(c) == 0);
    PCHECK(ok && i == m->n);
    /* backwards */
    ok = 1;
    i = m->n;
    for (bt_cursor_last(c); bt_cursor_valid(c); bt_cursor_prev(c)) {
        bt_cursor_get(c, &d);
        if (i == 0 || !same(&d, &m->d[--i])) ok = 0;
    }
    PCHECK(ok && i == 0);
    PCHECK(bt_cursor_error(c) == 0);
    bt_cursor_close(c);
}

static void check_seek(const bt_tree *t, const model *m, dl_index o) {
    dl_datom k = rand_datom(), d;
    unsigned nf = rn(dl_index_nkey(o) + 1), j;
    int after = rn(2);
    size_t i = m_lower(m, o, &k, nf, after), p;
    uint64_t r;
    bt_cursor *c;
    if (nf == 0) i = after ? m->n : 0;
    PCHECK(bt_rank(t, &k, nf, after, &r) == 0);
    PCHECK(r == i);
    PCHECK(bt_cursor_open(t, &c) == 0);
    PCHECK(bt_cursor_seek(c, &k, nf, after) == 0);
    PCHECK(bt_cursor_valid(c) == (i < m->n));
    /* a few steps forwards, then back past the start */
    for (j = 0, p = i; j < 5 && bt_cursor_valid(c); j++, p++) {
        bt_cursor_get(c, &d);
        PCHECK(p < m->n && same(&d, &m->d[p]));
        bt_cursor_next(c);
    }
    PCHECK(bt_cursor_valid(c) == (p < m->n));
    if (i < m->n) {
        bt_cursor_seek(c, &k, nf, after);
        for (j = 0, p = i; j < 5; j++) {
            bt_cursor_prev(c);
            if (p == 0) {
                PCHECK(!bt_cursor_valid(c));
                break;
            }
            p--;
            PCHECK(bt_cursor_valid(c));
            if (!bt_cursor_valid(c)) break;
            bt_cursor_get(c, &d);
            PCHECK(same(&d, &m->d[p]));
        }
    }
    /* the reverse seek lands on the datom just before position i */
    PCHECK(bt_cursor_seek_rev(c, &k, nf, after) == 0);
    PCHECK(bt_cursor_valid(c) == (i > 0));
    if (i > 0 && bt_cursor_valid(c)) {
        bt_cursor_get(c, &d);
        PCHECK(same(&d, &m->d[i - 1]));
    }
    PCHECK(bt_cursor_error(c) == 0);
    bt_cursor_close(c);
    if (nf) {
        uint64_t cnt;
        size_t lo = m_lower(m, o, &k, nf, 0), hi = m_lower(m, o, &k, nf, 1);
        PCHECK(bt_count_prefix(t, &k, nf, &cnt) == 0);
        PCHECK(cnt == hi - lo);
    }
}

static void random_ops(bt_tree *t, model *m, dl_index o, unsigned nops) {
    unsigned s;
    for (s = 0; s < nops; s++) {
        unsigned op = rn(10);
        int ch = -1;
        dl_datom d;
        cur_step++;
        if (op < 5) {
            d = rand_datom();
            PCHECK(bt_insert(t, &d, &ch) == 0);
            PCHECK(ch == m_insert(m, o, &d));
        } else if (op < 8) {
            d = m->n && rn(4) ? m->d[rn((unsigned)m->n)] : rand_datom();
            PCHECK(bt_remove(t, &d, &ch) == 0);
            PCHECK(ch == m_remove(m, o, &d));
        } else {
            check_seek(t, m, o);
        }
    }
}

static void run_seed(unsigned seed, dl_index o) {
    bt_env env = {NULL, NULL, 0, 0};
    ts_store *st = ts_open();
    bt_cache *cache;
    bt_tree t, snap, r;
    model m = {0}, ms = {0};
    char key[BT_KEY_MAX];
    unsigned round;

    cur_seed = seed;
    cur_order = o;
    cur_step = 0;
    rs = UINT64_C(0x9E3779B97F4A7C15) ^ ((uint64_t)seed * 7919 + o);
    if (seed % 7 != 0) { /* small nodes: deep trees, many splits and merges */
        env.leaf_max = 2 + rn(7);
        env.branch_max = 3 + rn(6);
    }
    bt_cache_new(1024 + rn(2048), &cache);
    env.store = &st->base;
    env.cache = cache;
    bt_tree_init(&t, &env, o);

    random_ops(&t, &m, o, 150 + rn(200));
    check_scan(&t, &m);
    /* a snapshot taken midway stays as it was */
    bt_tree_copy(&snap, &t);
    ms.n = ms.cap = m.n;
    ms.d = malloc((m.n + 1) * sizeof *ms.d);
    memcpy(ms.d, m.d, m.n * sizeof *m.d);
    random_ops(&t, &m, o, 200 + rn(200));
    check_scan(&t, &m);
    check_scan(&snap, &ms);

    /* flush, reopen through a tiny cache, keep going on the reopened tree */
    for (round = 0; round < 2; round++) {
        PCHECK(bt_flush(&t, key) == 0);
        PCHECK(bt_tree_open(&env, o, key, &r) == 0);
        check_scan(&r, &m);
        bt_tree_release(&t);
        t = r;
        random_ops(&t, &m, o, 100 + rn(100));
        check_scan(&t, &m);
    }
    check_scan(&snap, &ms);
    {
        bt_cache_stats cs;
        bt_cache_get_stats(cache, &cs);
        PCHECK(cs.nodes <= 1 || cs.bytes <= cs.budget);
    }
    bt_tree_release(&snap);
    bt_tree_release(&t);
    bt_cache_free(cache);
    st->base.vt->close(&st->base);
    free(m.d);
    free(ms.d);
}

TEST(btree_against_model) {
    unsigned nseeds = 25, seed, o;
    const char *env = getenv("DL_PROP_SEEDS");
    if (env && atoi(env) > 0) nseeds = (unsigned)atoi(env);
    for (seed = 1; seed <= nseeds; seed++)
        for (o = 0; o < DL_INDEX_COUNT; o++) {
            reported = 0;
            run_seed(seed, (dl_index)o);
        }
}

/* Bulk build equals inserting one by one, for sorted random input. */
TEST(build_equals_inserts) {
    unsigned seed, o, i;
    for (seed = 1; seed <= 10; seed++) {
        for (o = 0; o < DL_INDEX_COUNT; o++) {
            bt_env env = {NULL, NULL, 2 + seed % 5, 3 + seed % 4};
            model m = {0};
            bt_tree b;
            cur_seed = seed;
            cur_order = (dl_index)o;
            rs = seed * UINT64_C(1000003) + o;
            for (i = 0; i < 300; i++) {
                dl_datom d = rand_datom();
                m_insert(&m, (dl_index)o, &d);
            }
            PCHECK(bt_build(&env, (dl_index)o, m.d, m.n, &b) == 0);
            check_scan(&b, &m);
            for (i = 0; i < 20; i++) check_seek(&b, &m, (dl_index)o);
            bt_tree_release(&b);
            free(m.d);
        }
    }
}

int main(void) {
    pool_init();
    RUN(btree_against_model);
    RUN(build_equals_inserts);
    dl_arena_free(&pool_arena);
    return test_summary();
}
