/*
** test_index_cache.c — the node cache under concurrent readers: several
** threads scan, seek and count one stored tree through a cache far smaller
** than the tree (so nodes are evicted while cursors pin them and the same
** node is loaded by two threads at once), while a writer thread updates its
** own copy of the same tree.  Every reader must see exactly the stored
** contents; the cache must end within its byte budget.
*/
#include "index/btree.h"
#include "util/error.h"

#include "index_teststore.h"
#include "test.h"

#include <pthread.h>

#define N 3000
#define READERS 4

static dl_datom in[N];
static dl_arena A;
static bt_env env;
static bt_tree shared_tree;
static char root_key[BT_KEY_MAX];
static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;

/* The test store is not thread-safe: wrap it. */
static dl_store_vtable locked_vt;
static int locked_get(dl_store *s, const char *k, uint8_t **o, size_t *l) {
    int rc;
    pthread_mutex_lock(&store_mu);
    rc = ts_vtable.get(s, k, o, l);
    pthread_mutex_unlock(&store_mu);
    return rc;
}
static int locked_put(dl_store *s, const char *k, const uint8_t *d, size_t l) {
    int rc;
    pthread_mutex_lock(&store_mu);
    rc = ts_vtable.put(s, k, d, l);
    pthread_mutex_unlock(&store_mu);
    return rc;
}

static int same(const dl_datom *x, const dl_datom *y) {
    return x->e == y->e && x->a == y->a && edn_equal(&x->v, &y->v) &&
           x->tx == y->tx && x->added == y->added;
}

static void *reader(void *arg) {
    long id = (long)arg, bad = 0, round;
    bt_tree own;
    const bt_tree *t = &shared_tree;
    if (id % 2) { /* half the readers open their own tree from the key */
        if (bt_tree_open(&env, DL_AVET, root_key, &own)) return (void *)1;
        t = &own;
    }
    for (round = 0; round < 3; round++) {
        bt_cursor *c;
        dl_datom d;
        size_t i = 0;
        uint64_t cnt;
        if (bt_cursor_open(t, &c)) return (void *)1;
        for (bt_cursor_first(c); bt_cursor_valid(c); bt_cursor_next(c), i++) {
            bt_cursor_get(c, &d);
            if (i >= N || !same(&d, &in[i])) bad++;
        }
        if (i != N || bt_cursor_error(c)) bad++;
        /* seeks at random-ish points, then a step back */
        for (i = (size_t)id * 7; i < N; i += 97) {
            bt_cursor_seek(c, &in[i], 4, 0);
            if (!bt_cursor_valid(c)) { bad++; continue; }
            bt_cursor_get(c, &d);
            if (!same(&d, &in[i])) bad++;
            bt_cursor_prev(c);
            if (i > 0) {
                bt_cursor_get(c, &d);
                if (!bt_cursor_valid(c) || !same(&d, &in[i - 1])) bad++;
            }
            if (bt_rank(t, &in[i], 4, 0, &cnt) || cnt != i) bad++;
        }
        bt_cursor_close(c);
    }
    if (t == &own) bt_tree_release(&own);
    return (void *)bad;
}

static void *writer(void *arg) {
    bt_tree w;
    long bad = 0, i;
    bt_tree_copy(&w, (const bt_tree *)arg);
    for (i = 0; i < N; i += 3) {
        int ch;
        if (bt_remove(&w, &in[i], &ch) || !ch) bad++;
    }
    if (bt_tree_count(&w) != N - (N + 2) / 3) bad++;
    bt_tree_release(&w);
    return (void *)bad;
}

TEST(concurrent_readers_tiny_cache) {
    ts_store *st = ts_open();
    bt_cache *cache;
    bt_tree built, writer_base;
    pthread_t th[READERS + 1];
    long i;
    void *res;
    locked_vt = ts_vtable;
    locked_vt.get = locked_get;
    locked_vt.put = locked_put;
    st->base.vt = &locked_vt;
    CHECK_EQ_INT(bt_cache_new(8192, &cache), 0);
    env = (bt_env){&st->base, cache, 8, 4};
    for (i = 0; i < N; i++) {
        char buf[32];
        edn_value v;
        snprintf(buf, sizeof buf, "value-%05ld", i);
        edn_string(&A, buf, strlen(buf), &v);
        in[i] = (dl_datom){(uint64_t)(N - i), edn_intern_full("name", 4), v,
                           536870913 + (uint64_t)i % 5, true};
    }
    /* AVET: by value, which ascends with i */
    CHECK_EQ_INT(bt_build(&env, DL_AVET, in, N, &built), 0);
    CHECK_EQ_INT(bt_flush(&built, root_key), 0);
    bt_tree_release(&built);
    CHECK_EQ_INT(bt_tree_open(&env, DL_AVET, root_key, &shared_tree), 0);
    bt_tree_copy(&writer_base, &shared_tree);
    for (i = 0; i < READERS; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, reader, (void *)i), 0);
    CHECK_EQ_INT(pthread_create(&th[READERS], NULL, writer, &writer_base), 0);
    for (i = 0; i <= READERS; i++) {
        pthread_join(th[i], &res);
        CHECK_EQ_INT((long)res, 0);
    }
    {
        bt_cache_stats cs;
        bt_cache_get_stats(cache, &cs);
        CHECK(cs.evictions > 0);
        CHECK(cs.bytes <= cs.budget || cs.nodes <= 1);
    }
    CHECK_EQ_INT(bt_tree_count(&shared_tree), N);
    bt_tree_release(&writer_base);
    bt_tree_release(&shared_tree);
    bt_cache_free(cache);
    st->base.vt = &ts_vtable;
    ts_close(&st->base);
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(concurrent_readers_tiny_cache);
    dl_arena_free(&A);
    return test_summary();
}
