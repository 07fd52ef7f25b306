/*
** test_btree.c — hand-checked cases for the datom B+tree (core/index):
** index orders over mixed value types, seeks and steps at the edges,
** counts, removal, snapshots, bulk build, flush/reload and corruption.
*/
#include "index/btree.h"
#include "index/node.h"
#include "store/object.h"
#include "util/error.h"

#include "index_teststore.h"
#include "test.h"

static const edn_sym *kw(const char *full) { return edn_intern_full(full, strlen(full)); }

static dl_datom D(uint64_t e, const char *a, edn_value v, uint64_t tx, bool added) {
    dl_datom d;
    d.e = e;
    d.a = kw(a);
    d.v = v;
    d.tx = tx;
    d.added = added;
    return d;
}

static dl_arena A; /* values of the test datoms */

static edn_value S(const char *s) {
    edn_value v;
    edn_string(&A, s, strlen(s), &v);
    return v;
}

static edn_value K(const char *s) { return edn_keyword(kw(s)); }

/* Read the whole tree forwards into out (up to max); returns the count or
** -1 on a cursor error. */
static long scan(const bt_tree *t, dl_datom *out, long max) {
    bt_cursor *c;
    long n = 0;
    if (bt_cursor_open(t, &c)) return -1;
    bt_cursor_first(c);
    while (bt_cursor_valid(c)) {
        if (n < max) bt_cursor_get(c, &out[n]);
        n++;
        bt_cursor_next(c);
    }
    if (bt_cursor_error(c)) n = -1;
    bt_cursor_close(c);
    return n;
}

static int same(const dl_datom *x, const dl_datom *y) {
    return x->e == y->e && x->a == y->a && x->v.type == y->v.type &&
           edn_equal(&x->v, &y->v) && x->tx == y->tx && x->added == y->added;
}

/* Scan comparing each datom with exp[] while the cursor is on it (values
** read from a cursor are only valid until it moves).  Returns the number
** of datoms, or -1 on a cursor error or a mismatch. */
static long scan_eq(const bt_tree *t, const dl_datom *exp, long nexp) {
    bt_cursor *c;
    long n = 0, bad = 0;
    dl_datom d;
    if (bt_cursor_open(t, &c)) return -1;
    for (bt_cursor_first(c); bt_cursor_valid(c); bt_cursor_next(c)) {
        bt_cursor_get(c, &d);
        if (n >= nexp || !same(&d, &exp[n])) bad = 1;
        n++;
    }
    if (bt_cursor_error(c)) n = -1;
    bt_cursor_close(c);
    return bad ? -1 : n;
}

static bt_env ENV; /* in-memory, default sizes */

static void insert_all(bt_tree *t, const dl_datom *d, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        int ch = -1;
        CHECK_EQ_INT(bt_insert(t, &d[i], &ch), 0);
        CHECK_EQ_INT(ch, 1);
    }
}

TEST(orders_mixed_values) {
    dl_datom in[10], got[16];
    bt_tree t;
    int o, i;
    /* inserted in this scrambled order */
    in[0] = D(2, "name", S("b"), 100, true);
    in[1] = D(1, "b/x", edn_int(5), 100, true);
    in[2] = D(1, "age", edn_int(30), 100, true);
    in[3] = D(1, "name", S("a"), 100, true);
    in[4] = D(1, "b/x", S("s"), 100, true);
    in[5] = D(1, "b/x", K("k"), 100, true);
    in[6] = D(1, "b/x", edn_bool(true), 100, true);
    in[7] = D(1, "b/x", edn_nil(), 100, true);
    in[8] = D(1, "b/x", edn_float(2.5), 100, true);
    in[9] = D(10, "age", edn_int(1), 100, true);
    {
        /* expected orders, written out by hand (indexes into in[]):
        ** attributes: :age < :name (no namespace) < :b/x;
        ** values: nil < keyword < boolean < number (2.5 < 5) < string */
        static const int eavt[10] = {2, 3, 7, 5, 6, 8, 1, 4, 0, 9};
        static const int aevt[10] = {2, 9, 3, 0, 7, 5, 6, 8, 1, 4};
        static const int avet[10] = {9, 2, 3, 0, 7, 5, 6, 8, 1, 4};
        const int *exp[3] = {eavt, aevt, avet};
        for (o = 0; o < 6; o++) {
            bt_tree_init(&t, &ENV, (dl_index)o);
            insert_all(&t, in, 10);
            CHECK_EQ_INT(bt_tree_count(&t), 10);
            CHECK_EQ_INT(scan(&t, got, 16), 10);
            for (i = 0; i < 10; i++) CHECK(same(&got[i], &in[exp[o % 3][i]]));
            bt_tree_release(&t);
        }
    }
}

TEST(unsigned_entity_and_tx_order) {
    dl_datom in[3], got[3];
    bt_tree t;
    in[0] = D(UINT64_C(0x8000000000000000), "a", edn_int(1), 5, true);
    in[1] = D(1, "a", edn_int(1), UINT64_C(0xFFFFFFFFFFFFFFFF), true);
    in[2] = D(1, "a", edn_int(1), 7, true);
    bt_tree_init(&t, &ENV, DL_EAVT);
    insert_all(&t, in, 3);
    CHECK_EQ_INT(scan(&t, got, 3), 3);
    CHECK(same(&got[0], &in[2]));
    CHECK(same(&got[1], &in[1]));
    CHECK(same(&got[2], &in[0]));
    bt_tree_release(&t);
}

TEST(values_are_copied) {
    dl_arena a;
    dl_datom d, got;
    edn_value items[2], vec;
    bt_tree t;
    bt_cursor *c;
    dl_arena_init(&a, 0);
    edn_string(&a, "hello", 5, &items[0]);
    items[1] = edn_int(7);
    edn_vector(&a, items, 2, &vec);
    d = D(1, "v", vec, 1, true);
    bt_tree_init(&t, &ENV, DL_AVET);
    CHECK_EQ_INT(bt_insert(&t, &d, NULL), 0);
    dl_arena_free(&a);
    bt_cursor_open(&t, &c);
    bt_cursor_first(c);
    CHECK(bt_cursor_valid(c));
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.v.type, EDN_VECTOR);
    CHECK_EQ_INT(got.v.n, 2);
    CHECK_EQ_INT(got.v.u.items[0].type, EDN_STRING);
    CHECK(memcmp(got.v.u.items[0].u.s, "hello", 6) == 0);
    CHECK_EQ_INT(got.v.u.items[1].u.i, 7);
    bt_cursor_close(c);
    bt_tree_release(&t);
}

static bt_env SMALL = {NULL, NULL, 4, 4, };

TEST(seek_next_prev_boundaries) {
    bt_tree t;
    bt_cursor *c;
    dl_datom d, key, got;
    int i, n;
    bt_tree_init(&t, &SMALL, DL_EAVT);
    for (i = 0; i < 100; i++) { /* 1..100 in the order (37 i mod 100) + 1 */
        d = D((uint64_t)((i * 37) % 100 + 1), "age", edn_int(i), 1000, true);
        CHECK_EQ_INT(bt_insert(&t, &d, NULL), 0);
    }
    CHECK_EQ_INT(bt_tree_count(&t), 100);
    CHECK(bt_tree_height(&t) >= 3);
    CHECK_EQ_INT(bt_cursor_open(&t, &c), 0);
    key = D(50, "age", edn_nil(), 0, false);
    bt_cursor_seek(c, &key, 1, 0);
    CHECK(bt_cursor_valid(c));
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.e, 50);
    bt_cursor_seek(c, &key, 1, 1);
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.e, 51);
    bt_cursor_prev(c);
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.e, 50);
    key.e = 0;
    bt_cursor_seek(c, &key, 1, 0);
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.e, 1);
    key.e = 101;
    bt_cursor_seek(c, &key, 1, 0);
    CHECK(!bt_cursor_valid(c));
    key.e = 100;
    bt_cursor_seek(c, &key, 1, 1);
    CHECK(!bt_cursor_valid(c));
    bt_cursor_seek(c, &key, 1, 0);
    CHECK(bt_cursor_valid(c));
    bt_cursor_next(c);
    CHECK(!bt_cursor_valid(c));
    bt_cursor_first(c);
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.e, 1);
    bt_cursor_prev(c);
    CHECK(!bt_cursor_valid(c));
    CHECK_EQ_INT(bt_cursor_error(c), 0);
    /* reverse seeks: last datom < 50, last <= 50, all below 0, all <= 200 */
    key.e = 50;
    bt_cursor_seek_rev(c, &key, 1, 0);
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.e, 49);
    bt_cursor_seek_rev(c, &key, 1, 1);
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.e, 50);
    key.e = 1;
    bt_cursor_seek_rev(c, &key, 1, 0);
    CHECK(!bt_cursor_valid(c));
    key.e = 200;
    bt_cursor_seek_rev(c, &key, 1, 1);
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.e, 100);
    key.e = 100;
    bt_cursor_seek(c, &key, 0, 0); /* no components: the first datom */
    bt_cursor_get(c, &got);
    CHECK_EQ_INT(got.e, 1);
    /* full sweeps both ways */
    n = 0;
    for (bt_cursor_first(c); bt_cursor_valid(c); bt_cursor_next(c)) {
        bt_cursor_get(c, &got);
        CHECK_EQ_INT(got.e, n + 1);
        n++;
    }
    CHECK_EQ_INT(n, 100);
    n = 0;
    for (bt_cursor_last(c); bt_cursor_valid(c); bt_cursor_prev(c)) {
        bt_cursor_get(c, &got);
        CHECK_EQ_INT(got.e, 100 - n);
        n++;
    }
    CHECK_EQ_INT(n, 100);
    bt_cursor_close(c);
    bt_tree_release(&t);
}

TEST(counts) {
    bt_tree t;
    dl_datom d, key;
    uint64_t n;
    int e;
    bt_tree_init(&t, &SMALL, DL_AEVT);
    for (e = 1; e <= 50; e++) { d = D(e, "a", edn_int(e), 1, true); bt_insert(&t, &d, NULL); }
    for (e = 1; e <= 30; e++) { d = D(e, "b", edn_int(e), 1, true); bt_insert(&t, &d, NULL); }
    for (e = 1; e <= 20; e++) { d = D(e, "c", edn_int(e), 1, true); bt_insert(&t, &d, NULL); }
    key = D(0, "a", edn_nil(), 0, false);
    CHECK_EQ_INT(bt_count_prefix(&t, &key, 1, &n), 0);
    CHECK_EQ_INT(n, 50);
    key.a = kw("b");
    bt_count_prefix(&t, &key, 1, &n);
    CHECK_EQ_INT(n, 30);
    bt_rank(&t, &key, 1, 0, &n);
    CHECK_EQ_INT(n, 50);
    key.e = 7;
    bt_count_prefix(&t, &key, 2, &n);
    CHECK_EQ_INT(n, 1);
    key.e = 31;
    bt_count_prefix(&t, &key, 2, &n);
    CHECK_EQ_INT(n, 0);
    key.a = kw("c");
    bt_rank(&t, &key, 1, 1, &n);
    CHECK_EQ_INT(n, 100);
    key.a = kw("d");
    bt_count_prefix(&t, &key, 1, &n);
    CHECK_EQ_INT(n, 0);
    key.a = kw("a0"); /* between :a and :b */
    bt_rank(&t, &key, 1, 0, &n);
    CHECK_EQ_INT(n, 50);
    bt_tree_release(&t);
}

TEST(remove_and_absent) {
    bt_tree t;
    dl_datom d;
    int i, ch;
    long n;
    static dl_datom got[64];
    bt_tree_init(&t, &SMALL, DL_EAVT);
    for (i = 1; i <= 60; i++) { d = D(i, "x", edn_int(i), 9, true); bt_insert(&t, &d, NULL); }
    d = D(61, "x", edn_int(61), 9, true);
    CHECK_EQ_INT(bt_remove(&t, &d, &ch), 0);
    CHECK_EQ_INT(ch, 0);
    d = D(5, "x", edn_int(5), 8, true); /* other tx: a different key */
    bt_remove(&t, &d, &ch);
    CHECK_EQ_INT(ch, 0);
    CHECK_EQ_INT(bt_tree_count(&t), 60);
    /* remove the even entities, from the top down */
    for (i = 60; i >= 2; i -= 2) {
        d = D(i, "x", edn_int(i), 9, true);
        CHECK_EQ_INT(bt_remove(&t, &d, &ch), 0);
        CHECK_EQ_INT(ch, 1);
    }
    CHECK_EQ_INT(bt_tree_count(&t), 30);
    n = scan(&t, got, 64);
    CHECK_EQ_INT(n, 30);
    for (i = 0; i < 30 && i < n; i++) CHECK_EQ_INT(got[i].e, 2 * i + 1);
    for (i = 1; i <= 59; i += 2) {
        d = D(i, "x", edn_int(i), 9, true);
        bt_remove(&t, &d, &ch);
        CHECK_EQ_INT(ch, 1);
    }
    CHECK_EQ_INT(bt_tree_count(&t), 0);
    CHECK(t.root == NULL);
    bt_tree_release(&t);
}

TEST(empty_tree) {
    bt_tree t;
    bt_cursor *c;
    dl_datom d = D(1, "x", edn_int(1), 1, true);
    uint64_t n = 9;
    int ch = 9;
    bt_tree_init(&t, &ENV, DL_AVET);
    CHECK_EQ_INT(bt_tree_count(&t), 0);
    CHECK_EQ_INT(bt_tree_height(&t), 0);
    CHECK_EQ_INT(bt_rank(&t, &d, 4, 1, &n), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(bt_remove(&t, &d, &ch), 0);
    CHECK_EQ_INT(ch, 0);
    bt_cursor_open(&t, &c);
    CHECK_EQ_INT(bt_cursor_first(c), 0);
    CHECK(!bt_cursor_valid(c));
    bt_cursor_last(c);
    CHECK(!bt_cursor_valid(c));
    bt_cursor_seek(c, &d, 2, 0);
    CHECK(!bt_cursor_valid(c));
    CHECK_EQ_INT(bt_cursor_next(c), 0);
    bt_cursor_close(c);
    bt_tree_release(&t);
}

TEST(snapshots_and_temporal) {
    bt_tree t, snap, h;
    dl_datom d, got[128];
    int i, ch;
    bt_tree_init(&t, &SMALL, DL_AEVT);
    for (i = 1; i <= 50; i++) { d = D(i, "x", edn_int(i), 1, true); bt_insert(&t, &d, NULL); }
    bt_tree_copy(&snap, &t);
    for (i = 51; i <= 100; i++) { d = D(i, "x", edn_int(i), 2, true); bt_insert(&t, &d, NULL); }
    for (i = 1; i <= 10; i++) { d = D(i, "x", edn_int(i), 1, true); bt_remove(&t, &d, NULL); }
    CHECK_EQ_INT(bt_tree_count(&t), 90);
    CHECK_EQ_INT(bt_tree_count(&snap), 50);
    CHECK_EQ_INT(scan(&snap, got, 128), 50);
    for (i = 0; i < 50; i++) CHECK_EQ_INT(got[i].e, i + 1);
    CHECK_EQ_INT(scan(&t, got, 128), 90);
    CHECK_EQ_INT(got[0].e, 11);
    bt_tree_release(&snap);
    bt_tree_release(&t);

    /* an assertion and a retraction of the same [e a v] in one tx */
    bt_tree_init(&h, &ENV, DL_TEAVT);
    d = D(1, "age", edn_int(5), 100, true);
    bt_insert(&h, &d, &ch);
    d.added = false;
    bt_insert(&h, &d, &ch);
    CHECK_EQ_INT(ch, 1);
    CHECK_EQ_INT(scan(&h, got, 4), 2);
    CHECK(!got[0].added && got[1].added); /* false < true */
    bt_tree_release(&h);
    bt_tree_init(&h, &ENV, DL_EAVT); /* current index: one per [e a v tx] */
    d.added = true;
    bt_insert(&h, &d, &ch);
    d.added = false;
    bt_insert(&h, &d, &ch);
    CHECK_EQ_INT(ch, 0);
    CHECK_EQ_INT(bt_tree_count(&h), 1);
    bt_tree_release(&h);
}

TEST(bulk_build) {
    static dl_datom in[1000], got[1000];
    bt_tree t;
    int i;
    for (i = 0; i < 1000; i++) in[i] = D(i / 3 + 1, i % 3 ? "b" : "a", edn_int(i), 7, true);
    CHECK_EQ_INT(bt_build(&SMALL, DL_EAVT, in, 1000, &t), 0);
    CHECK_EQ_INT(bt_tree_count(&t), 1000);
    CHECK_EQ_INT(scan(&t, got, 1000), 1000);
    for (i = 0; i < 1000; i++) CHECK(same(&got[i], &in[i]));
    bt_tree_release(&t);
    /* i%3==1 and i%3==2 share e and a: v ascending, fine; now break order */
    in[10] = in[11];
    CHECK_EQ_INT(bt_build(&SMALL, DL_EAVT, in, 1000, &t), DATALITH_EINVAL);
    CHECK(t.root == NULL);
    CHECK_EQ_INT(bt_build(&SMALL, DL_EAVT, in, 0, &t), 0);
    CHECK_EQ_INT(bt_tree_count(&t), 0);
}

static size_t count_nodes(const bt_node *n) {
    size_t c = 1, i;
    if (n->level)
        for (i = 0; i < n->n; i++) c += count_nodes(n->kids[i].ptr);
    return c;
}

TEST(flush_reload) {
    static dl_datom in[500];
    ts_store *st = ts_open();
    bt_cache *cache;
    bt_env env = {&st->base, NULL, 8, 4};
    bt_tree t, r;
    char key[BT_KEY_MAX], key2[BT_KEY_MAX];
    dl_datom d;
    size_t puts, nodes;
    int i;
    bt_cache_new(4096, &cache); /* a few nodes: forces eviction */
    env.cache = cache;
    for (i = 0; i < 500; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "s%04d", i);
        in[i] = D(i + 1, "name", S(buf), 536870913, true);
    }
    CHECK_EQ_INT(bt_build(&env, DL_EAVT, in, 500, &t), 0);
    /* 500 over leaves of 8: 63 leaves; branches of 4: 16, 4, 1 */
    CHECK_EQ_INT(bt_tree_height(&t), 4);
    nodes = count_nodes(t.root);
    CHECK_EQ_INT(nodes, 63 + 16 + 4 + 1);
    CHECK_EQ_INT(bt_flush(&t, key), 0);
    CHECK_EQ_INT(st->n, nodes);
    CHECK_EQ_INT(key[0], 'n');
    CHECK_EQ_INT(strlen(key), 33);
    /* a second flush writes nothing */
    puts = st->puts;
    CHECK_EQ_INT(bt_flush(&t, key2), 0);
    CHECK_STR(key2, key);
    CHECK_EQ_INT(st->puts, puts);

    CHECK_EQ_INT(bt_tree_open(&env, DL_EAVT, key, &r), 0);
    CHECK_EQ_INT(bt_tree_count(&r), 500);
    CHECK_EQ_INT(scan_eq(&r, in, 500), 500);
    {
        bt_cache_stats cs;
        bt_cache_get_stats(cache, &cs);
        CHECK(cs.evictions > 0);
        CHECK(cs.bytes <= 4096 || cs.nodes <= 1);
    }
    /* flushed nodes go to the cache: reopening under a big budget loads
    ** nothing from the store */
    {
        bt_cache *big;
        bt_env env2 = env;
        bt_tree t2, r2;
        bt_cache_stats cs;
        bt_cache_new(1 << 24, &big);
        env2.cache = big;
        bt_build(&env2, DL_EAVT, in, 500, &t2);
        CHECK_EQ_INT(bt_flush(&t2, key2), 0);
        CHECK_STR(key2, key); /* same content, same key */
        bt_tree_release(&t2);
        CHECK_EQ_INT(bt_tree_open(&env2, DL_EAVT, key2, &r2), 0);
        CHECK_EQ_INT(scan_eq(&r2, in, 500), 500);
        bt_cache_get_stats(big, &cs);
        CHECK_EQ_INT(cs.misses, 0);
        CHECK_EQ_INT(cs.nodes, nodes);
        bt_tree_release(&r2);
        bt_cache_free(big);
    }
    /* opening with the wrong order is corruption */
    {
        bt_tree w;
        CHECK_EQ_INT(bt_tree_open(&env, DL_AEVT, key, &w), DATALITH_ECORRUPT);
        CHECK_CONTAINS(dl_err_last()->message, key);
    }
    /* removing one datom of the reloaded tree (a leaf of 8 keeps 7, no
    ** rebalancing) rewrites exactly its path: 4 nodes */
    d = in[0];
    puts = st->puts;
    CHECK_EQ_INT(bt_remove(&r, &d, NULL), 0);
    CHECK_EQ_INT(bt_flush(&r, key2), 0);
    CHECK_EQ_INT(st->puts - puts, 4);
    CHECK(strcmp(key, key2) != 0);
    CHECK_EQ_INT(scan_eq(&r, in + 1, 499), 499);
    bt_tree_release(&r);
    /* the old root still reads the old contents */
    CHECK_EQ_INT(bt_tree_open(&env, DL_EAVT, key, &r), 0);
    CHECK_EQ_INT(scan_eq(&r, in, 500), 500);
    bt_tree_release(&r);
    bt_tree_release(&t);
    bt_cache_free(cache);
    st->base.vt->close(&st->base);
}

TEST(corruption_names_the_key) {
    static dl_datom in[200];
    ts_store *st = ts_open();
    bt_cache *cache;
    bt_env env = {&st->base, NULL, 8, 4};
    bt_tree t, r;
    char root[BT_KEY_MAX], victim[BT_KEY_MAX];
    size_t i, vi = 0;
    const uint8_t junk[] = {1, 0, 0, 0, 0};
    bt_cache_new(0, &cache);
    env.cache = cache;
    for (i = 0; i < 200; i++) in[i] = D(i + 1, "n", edn_int((int64_t)i), 1, true);
    bt_build(&env, DL_EAVT, in, 200, &t);
    CHECK_EQ_INT(bt_flush(&t, root), 0);
    bt_tree_release(&t);
    /* read through fresh caches: the flush left every node cached */
    bt_cache_free(cache);
    bt_cache_new(0, &cache);
    env.cache = cache;
    for (i = 0; i < st->n; i++)
        if (strcmp(st->keys[i], root) != 0) { vi = i; break; }
    snprintf(victim, sizeof victim, "%s", st->keys[vi]);

    /* 1: different (well-framed) bytes under the node's key */
    dl_obj_put(&st->base, victim, DL_OBJ_NODE, junk, sizeof junk);
    CHECK_EQ_INT(bt_tree_open(&env, DL_EAVT, root, &r), 0);
    CHECK_EQ_INT(scan(&r, in, 0), -1);
    CHECK_EQ_INT(dl_err_last()->code, DATALITH_ECORRUPT);
    CHECK_CONTAINS(dl_err_last()->message, victim);
    bt_tree_release(&r);

    bt_cache_free(cache);
    bt_cache_new(0, &cache);
    env.cache = cache;
    /* 2: a flipped byte in the stored object */
    st->vals[vi][st->lens[vi] - 1] ^= 0x55;
    CHECK_EQ_INT(bt_tree_open(&env, DL_EAVT, root, &r), 0);
    CHECK_EQ_INT(scan(&r, in, 0), -1);
    CHECK_EQ_INT(dl_err_last()->code, DATALITH_ECORRUPT);
    CHECK_CONTAINS(dl_err_last()->message, victim);
    bt_tree_release(&r);

    bt_cache_free(cache);
    bt_cache_new(0, &cache);
    env.cache = cache;
    /* 3: the node is missing */
    ts_drop(st, vi);
    CHECK_EQ_INT(bt_tree_open(&env, DL_EAVT, root, &r), 0);
    CHECK_EQ_INT(scan(&r, in, 0), -1);
    CHECK_EQ_INT(dl_err_last()->code, DATALITH_ECORRUPT);
    CHECK_CONTAINS(dl_err_last()->message, victim);
    CHECK_CONTAINS(dl_err_last()->message, "missing");
    /* a count through the damaged part fails too, an insert as well */
    {
        uint64_t n;
        dl_datom k = D(199, "n", edn_nil(), 0, false);
        int rc1 = bt_rank(&r, &k, 1, 0, &n);
        dl_datom k2 = D(2, "n", edn_nil(), 0, false);
        int rc2 = bt_rank(&r, &k2, 1, 0, &n);
        CHECK(rc1 == DATALITH_ECORRUPT || rc2 == DATALITH_ECORRUPT);
    }
    bt_tree_release(&r);

    /* 4: a root key that is not a node key */
    CHECK_EQ_INT(bt_tree_open(&env, DL_EAVT, "not-a-key", &r), DATALITH_EINVAL);
    bt_cache_free(cache);
    st->base.vt->close(&st->base);
}

/* A store that fails a write: flush reports it, nothing is marked stored
** that was not written, and a retry completes the tree. */
TEST(flush_failure_and_retry) {
    static dl_datom in[300];
    ts_store *st = ts_open();
    bt_cache *cache;
    bt_env env = {&st->base, NULL, 8, 4};
    bt_tree t, r;
    char key[BT_KEY_MAX];
    size_t i, k;
    bt_cache_new(0, &cache);
    env.cache = cache;
    for (i = 0; i < 300; i++) in[i] = D(i + 1, "n", edn_int((int64_t)i), 1, true);
    bt_build(&env, DL_EAVT, in, 300, &t);
    for (k = 1; k <= 3; k++) {
        st->fail_put = st->puts + 5 * k; /* fail somewhere in the middle */
        CHECK_EQ_INT(bt_flush(&t, key), DATALITH_EIO);
        CHECK_CONTAINS(dl_err_last()->message, "writing index node n");
        CHECK_EQ_INT(key[0], 0);
    }
    st->fail_put = 0;
    CHECK_EQ_INT(bt_flush(&t, key), 0);
    bt_tree_release(&t);
    bt_cache_free(cache);
    bt_cache_new(0, &cache); /* read everything back from the store */
    env.cache = cache;
    CHECK_EQ_INT(bt_tree_open(&env, DL_EAVT, key, &r), 0);
    CHECK_EQ_INT(scan_eq(&r, in, 300), 300);
    bt_tree_release(&r);
    bt_cache_free(cache);
    st->base.vt->close(&st->base);
}

TEST(codec_roundtrip_all_types) {
    dl_arena a;
    edn_value items[3], v[20];
    uint8_t u[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    bt_tree t;
    bt_node *dec;
    dl_buf b = DL_BUF_INIT;
    int i, nv = 0;
    dl_arena_init(&a, 0);
    v[nv++] = edn_nil();
    v[nv++] = edn_bool(false);
    v[nv++] = edn_bool(true);
    v[nv++] = edn_int(-123456789012345);
    edn_bigint(&a, "123456789012345678901234567890", 30, &v[nv++]);
    v[nv++] = edn_float(-0.5);
    edn_bigdec(&a, "3.14159", 7, &v[nv++]);
    edn_string(&a, "héllo", strlen("héllo"), &v[nv++]);
    v[nv++] = edn_char(0x1F600);
    v[nv++] = K("ns/kw");
    v[nv++] = edn_symbol(kw("sym"));
    v[nv++] = edn_uuid(u);
    v[nv++] = edn_inst(-1000);
    edn_bytes(&a, "\0\1\2", 3, &v[nv++]);
    items[0] = edn_int(1);
    items[1] = K("x");
    edn_string(&a, "z", 1, &items[2]);
    edn_list(&a, items, 3, &v[nv++]);
    edn_vector(&a, items, 3, &v[nv++]);
    edn_set(&a, items, 3, &v[nv++]);
    edn_map(&a, items, 1, &v[nv++]);
    edn_tagged(&a, kw("my/tag"), &items[2], &v[nv++]);
    bt_tree_init(&t, &ENV, DL_TAVET);
    for (i = 0; i < nv; i++) {
        dl_datom d = D((uint64_t)i * 1000, "attr/x", v[i], 536870913 + (uint64_t)(i % 3), i % 2);
        CHECK_EQ_INT(bt_insert(&t, &d, NULL), 0);
    }
    CHECK_EQ_INT(bt_tree_count(&t), nv);
    CHECK_EQ_INT(bt_node_encode(t.root, &b), 0);
    CHECK_EQ_INT(bt_node_decode((const uint8_t *)b.data, b.len, "x", &dec), 0);
    CHECK_EQ_INT(dec->n, nv);
    for (i = 0; i < nv && i < (int)dec->n; i++) {
        dl_datom x, y;
        bt_ent_to_datom(&t.root->ents[i], &x);
        bt_ent_to_datom(&dec->ents[i], &y);
        CHECK(same(&x, &y));
    }
    /* every strict prefix is truncated: an error, never a node */
    for (i = 0; i < (int)b.len; i++) {
        bt_node *p = NULL;
        CHECK_EQ_INT(bt_node_decode((const uint8_t *)b.data, (size_t)i, "x", &p),
                     DATALITH_ECORRUPT);
        CHECK(p == NULL);
    }
    bt_node_release(dec);
    dl_buf_free(&b);
    bt_tree_release(&t);
    dl_arena_free(&a);
}

/* The attribute comparator's byte-order fast path agrees with edn_compare
** on keywords, including text where UTF-8 byte order and UTF-16 order differ
** (U+FFFD sorts after U+1F600 in UTF-8 bytes, before it in UTF-16). */
TEST(attr_cmp_matches_edn_compare) {
    static const char *names[] = {
        "a", "b", "ab", "a/b", "a/c", "b/a", "ab/a", "z", "A", "_x", "a.b/c",
        "\xc3\xa9", "e\xcc\x81", "\xef\xbf\xbd", "\xf0\x9f\x98\x80",
        "x/\xef\xbf\xbd", "x/\xf0\x9f\x98\x80", "\xee\x80\x80", "x/y/z"};
    size_t i, j, n = sizeof names / sizeof *names;
    int sgn_fast, sgn_ref;
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            const edn_sym *x = kw(names[i]), *y = kw(names[j]);
            edn_value kx = edn_keyword(x), ky = edn_keyword(y);
            int f = dl_attr_cmp(x, y), r = edn_compare(&kx, &ky);
            sgn_fast = (f > 0) - (f < 0);
            sgn_ref = (r > 0) - (r < 0);
            if (sgn_fast != sgn_ref)
                fprintf(stderr, "  %s vs %s: %d / %d\n", names[i], names[j], f, r);
            CHECK_EQ_INT(sgn_fast, sgn_ref);
        }
    /* and the documented rule: no namespace first, then namespace, then name */
    CHECK(dl_attr_cmp(kw("zzz"), kw("a/a")) < 0);
    CHECK(dl_attr_cmp(kw("a/z"), kw("b/a")) < 0);
    CHECK(dl_attr_cmp(NULL, kw("a")) < 0);
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(attr_cmp_matches_edn_compare);
    RUN(orders_mixed_values);
    RUN(unsigned_entity_and_tx_order);
    RUN(values_are_copied);
    RUN(seek_next_prev_boundaries);
    RUN(counts);
    RUN(remove_and_absent);
    RUN(empty_tree);
    RUN(snapshots_and_temporal);
    RUN(bulk_build);
    RUN(flush_reload);
    RUN(corruption_names_the_key);
    RUN(flush_failure_and_retry);
    RUN(codec_roundtrip_all_types);
    dl_arena_free(&A);
    return test_summary();
}
