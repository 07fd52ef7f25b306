/*
** store_latency.c — commit latency of the durable stores: one commit is
** 3 small objects put + sync + head_cas, as the database layer does it.
** Prints median and p99 over N commits.  Not built by default:
**
**   cc -O2 -std=c11 -I core -I include bench/store_latency.c \
**      build/<dir>/libdatalith.a -lxxhash -llmdb -lpthread -lm \
**      -o /tmp/store_latency
**   /tmp/store_latency file|lmdb DIR [N]
*/
#define _GNU_SOURCE
#include "store/object.h"
#include "store/store.h"
#include "util/error.h"
#include "value/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: store_latency file|lmdb DIR [N]\n");
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 1000;
    dl_arena a;
    dl_arena_init(&a, 0);
    edn_value kv[4], cfg;
    kv[0] = edn_keyword_str("backend");
    kv[1] = edn_keyword_str(argv[1]);
    kv[2] = edn_keyword_str("path");
    edn_string(&a, argv[2], strlen(argv[2]), &kv[3]);
    edn_map(&a, kv, 2, &cfg);
    dl_store *s;
    if (dl_store_open(&cfg, 1, &s) || s->vt->lock_writer(s)) {
        fprintf(stderr, "%s\n", dl_err_last()->message);
        return 1;
    }
    long *t = malloc((size_t)n * sizeof *t);
    char prev[64] = "", head[64];
    uint8_t node[512];
    for (size_t i = 0; i < sizeof node; i++) node[i] = (uint8_t)i;
    for (int c = 0; c < n; c++) {
        long t0 = now_ns();
        for (int i = 0; i < 3; i++) {
            char key[64];
            snprintf(key, sizeof key, "n-%d-%d", c, i);
            node[0] = (uint8_t)c;
            if (dl_obj_put(s, key, DL_OBJ_NODE, node, sizeof node)) goto fail;
        }
        if (s->vt->sync(s)) goto fail;
        snprintf(head, sizeof head, "commit %d", c);
        if (dl_head_cas(s, "db", c ? (const uint8_t *)prev : NULL,
                        strlen(prev), (const uint8_t *)head, strlen(head)))
            goto fail;
        memcpy(prev, head, sizeof prev);
        t[c] = now_ns() - t0;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_long);
    printf("%s: %d commits (3 x 512 B objects + sync + head_cas): "
           "median %.3f ms, p99 %.3f ms, max %.3f ms\n", argv[1], n,
           t[n / 2] / 1e6, t[(n * 99) / 100] / 1e6, t[n - 1] / 1e6);
    s->vt->destroy(s);
    free(t);
    dl_arena_free(&a);
    return 0;
fail:
    fprintf(stderr, "%s\n", dl_err_last()->message);
    return 1;
}
