/*
** edn_throughput.c — EDN parse and print throughput on a large generated
** document (a vector of maps of mixed values, ~50 MB of text).
**
** Not built by default.  Build and run from the repository root:
**
**   cc -O2 -std=c11 -Icore -Iinclude -Itests/property bench/edn_throughput.c \
**      core/value/value.c core/value/edn.c core/util/*.c \
**      -lxxhash -lm -lpthread -o /tmp/edn_throughput && /tmp/edn_throughput [MB]
*/
#define _POSIX_C_SOURCE 200809L
#include "gen_value.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    size_t target = (size_t)(argc > 1 ? atof(argv[1]) : 50) << 20;
    dl_arena a;
    dl_arena_init(&a, 0);
    gv_rng r = gv_seed(7);
    /* Build the document text: [ {map} {map} … ] with realistic entity maps. */
    dl_buf doc = DL_BUF_INIT;
    dl_buf_putc(&doc, '[');
    size_t nmaps = 0;
    while (doc.len < target) {
        edn_value kv[16], m;
        size_t n = 3 + gv_below(&r, 6);
        for (size_t i = 0; i < n; i++) {
            kv[2 * i] = edn_keyword(gv_sym(&r));
            if (gv_below(&r, 8) == 0) gv_value(&r, &a, 2, &kv[2 * i + 1]);
            else gv_scalar(&r, &a, &kv[2 * i + 1]);
        }
        n = gv_dedupe(kv, n, 2);
        if (edn_map(&a, kv, n, &m)) continue;
        if (nmaps++) dl_buf_putc(&doc, ' ');
        edn_write(&doc, &m);
        if (nmaps % 4096 == 0) dl_arena_free(&a);
    }
    dl_buf_putc(&doc, ']');
    dl_arena_free(&a);
    double mb = (double)doc.len / (1 << 20);
    printf("document: %.1f MB, %zu maps\n", mb, nmaps);

    edn_codec_opts o = EDN_CODEC_OPTS_INIT;
    o.max_bytes = doc.len + 1;
    edn_value v;
    double best_rd = 1e9, best_wr = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        dl_arena pa;
        dl_arena_init(&pa, 0);
        double t0 = now();
        if (edn_read(&pa, doc.data, doc.len, &o, &v)) {
            fprintf(stderr, "read failed: %s\n", dl_err_last()->message);
            return 1;
        }
        double t1 = now();
        dl_buf out = DL_BUF_INIT;
        if (edn_write(&out, &v)) return 1;
        double t2 = now();
        if (out.len != doc.len || memcmp(out.data, doc.data, doc.len) != 0) {
            fprintf(stderr, "printed text differs from the document\n");
            return 1;
        }
        if (t1 - t0 < best_rd) best_rd = t1 - t0;
        if (t2 - t1 < best_wr) best_wr = t2 - t1;
        dl_buf_free(&out);
        dl_arena_free(&pa);
    }
    printf("parse: %.3f s  %.1f MB/s\n", best_rd, mb / best_rd);
    printf("print: %.3f s  %.1f MB/s\n", best_wr, mb / best_wr);
    dl_buf_free(&doc);
    return 0;
}
