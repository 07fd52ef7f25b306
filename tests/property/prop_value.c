/*
** prop_value.c — properties of the EDN data model over random values from
** gen_value.h:
**   1. print → read → equal, and print(read(print(v))) == print(v);
**   2. edn_compare is a total order: antisymmetric, transitive (random
**      triples), compare == 0 exactly when edn_equal, equal ⇒ equal hash;
**   3. sorting with edn_compare yields a pairwise-ordered array;
**   4. edn_clone gives an equal value that prints identically.
** Seeds are fixed (deterministic); pass a seed as argv[1] to explore.  The
** seed and the offending values are printed on failure.
*/
#include "test.h"
#include "gen_value.h"
#include "util/error.h"

static uint64_t seed = 20240601;

static char *show(const edn_value *v) {
    dl_buf b = DL_BUF_INIT;
    if (edn_write(&b, v)) dl_buf_puts(&b, "<unprintable>");
    size_t n;
    return dl_buf_detach(&b, &n);
}

static int sgn(int c) { return c < 0 ? -1 : c > 0 ? 1 : 0; }

#define FAILV(what, ...)                                                      \
    do {                                                                      \
        fprintf(stderr, "seed %" PRIu64 ": " what "\n", seed, __VA_ARGS__);   \
    } while (0)

TEST(roundtrip) {
    dl_arena a;
    dl_arena_init(&a, 0);
    gv_rng r = gv_seed(seed);
    int bad = 0;
    for (int i = 0; i < 4000 && bad < 5; i++) {
        edn_value v, back, back2;
        if (gv_value(&r, &a, 4, &v)) { FAILV("generator failed: %s", dl_err_last()->message); bad++; continue; }
        dl_buf p1 = DL_BUF_INIT, p2 = DL_BUF_INIT;
        int rc = edn_write(&p1, &v);
        CHECK_EQ_INT(rc, 0);
        rc = rc ? rc : edn_read(&a, p1.data, p1.len, NULL, &back);
        if (rc) {
            FAILV("value %d: %s does not read back: %s", i, p1.data, dl_err_last()->message);
            bad++;
        } else {
            if (!edn_equal(&v, &back)) {
                FAILV("value %d: %s read back unequal", i, p1.data);
                bad++;
            }
            edn_write(&p2, &back);
            if (strcmp(p1.data, p2.data) != 0) {
                FAILV("value %d: print not stable:\n  %s\n  %s", i, p1.data, p2.data);
                bad++;
            }
            if (edn_clone(&a, &back, &back2) || !edn_equal(&back, &back2)) {
                FAILV("value %d: clone differs", i);
                bad++;
            }
        }
        dl_buf_free(&p1);
        dl_buf_free(&p2);
        if (i % 500 == 499) dl_arena_free(&a);
    }
    CHECK_EQ_INT(bad, 0);
    dl_arena_free(&a);
}

#define POOL 400

TEST(total_order) {
    dl_arena a;
    dl_arena_init(&a, 0);
    gv_rng r = gv_seed(seed + 1);
    edn_value *pool = malloc(POOL * sizeof *pool);
    for (int i = 0; i < POOL; i++) {
        /* shallow values collide often, which is what exercises ties */
        if (gv_value(&r, &a, i % 3, &pool[i])) pool[i] = edn_nil();
    }
    int bad = 0;
    for (int i = 0; i < POOL && bad < 5; i++) {
        for (int j = 0; j < POOL && bad < 5; j++) {
            int c1 = edn_compare(&pool[i], &pool[j]), c2 = edn_compare(&pool[j], &pool[i]);
            bool eq = edn_equal(&pool[i], &pool[j]);
            if (sgn(c1) != -sgn(c2) || c1 < -1 || c1 > 1 || (c1 == 0) != eq ||
                (eq && edn_hash(&pool[i]) != edn_hash(&pool[j]))) {
                char *x = show(&pool[i]), *y = show(&pool[j]);
                FAILV("pair %s / %s: cmp %d, reverse %d, equal %d", x, y, c1, c2, eq);
                free(x); free(y);
                bad++;
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    /* transitivity on random triples, and on triples drawn so that a<=b */
    bad = 0;
    for (int t = 0; t < 200000 && bad < 5; t++) {
        const edn_value *x = &pool[gv_below(&r, POOL)], *y = &pool[gv_below(&r, POOL)],
                        *z = &pool[gv_below(&r, POOL)];
        int xy = edn_compare(x, y), yz = edn_compare(y, z), xz = edn_compare(x, z);
        bool fail = (xy <= 0 && yz <= 0 && xz > 0) || (xy >= 0 && yz >= 0 && xz < 0) ||
                    (xy == 0 && yz == 0 && xz != 0);
        if (fail) {
            char *sx = show(x), *sy = show(y), *sz = show(z);
            FAILV("not transitive: %s ? %s ? %s (%d %d %d)", sx, sy, sz, xy, yz, xz);
            free(sx); free(sy); free(sz);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(pool);
    dl_arena_free(&a);
}

static int qcmp(const void *x, const void *y) { return edn_compare(x, y); }

TEST(sorting) {
    dl_arena a;
    dl_arena_init(&a, 0);
    gv_rng r = gv_seed(seed + 2);
    int bad = 0;
    for (int round = 0; round < 20; round++) {
        size_t n = 300;
        edn_value *arr = malloc(n * sizeof *arr);
        for (size_t i = 0; i < n; i++)
            if (gv_value(&r, &a, 2, &arr[i])) arr[i] = edn_nil();
        qsort(arr, n, sizeof *arr, qcmp);
        for (size_t i = 0; i + 1 < n && bad < 5; i++) {
            for (size_t j = i + 1; j < n && j < i + 40; j++) {
                if (edn_compare(&arr[i], &arr[j]) > 0) {
                    char *x = show(&arr[i]), *y = show(&arr[j]);
                    FAILV("sorted array out of order at %zu,%zu: %s > %s", i, j, x, y);
                    free(x); free(y);
                    bad++;
                    break;
                }
            }
        }
        free(arr);
    }
    CHECK_EQ_INT(bad, 0);
    dl_arena_free(&a);
}

/* Sets and maps built from random items are sorted and duplicate-free. */
TEST(sets_sorted_unique) {
    dl_arena a;
    dl_arena_init(&a, 0);
    gv_rng r = gv_seed(seed + 3);
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        edn_value it[8], s;
        for (int k = 0; k < 8; k++) gv_scalar(&r, &a, &it[k]);
        size_t n = gv_dedupe(it, 8, 1);
        if (edn_set(&a, it, n, &s)) { bad++; continue; }
        for (size_t k = 0; k + 1 < s.n; k++)
            if (edn_compare(&s.u.items[k], &s.u.items[k + 1]) >= 0) bad++;
        for (size_t k = 0; k < n; k++)
            if (!edn_set_contains(&s, &it[k])) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    dl_arena_free(&a);
}

int main(int argc, char **argv) {
    if (argc > 1) seed = strtoull(argv[1], NULL, 10);
    printf("seed %" PRIu64 "\n", seed);
    RUN(roundtrip);
    RUN(total_order);
    RUN(sorting);
    RUN(sets_sorted_unique);
    return test_summary();
}
