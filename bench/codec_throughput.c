/*
** codec_throughput.c — parse and print throughput of the JSON and CBOR
** codecs on a large generated input (not built by default).
**
** The input is a vector of N entity maps shaped like Datahike transaction
** data: {:db/id <int> :person/name "…" :person/age <int> :person/score
** <double> :person/tags #{:a :b} :person/born #inst :person/id #uuid}.
** Each codec prints it, then parses its own output; both are timed over
** several rounds and reported in MB/s of encoded bytes.
**
** Build and run from the repository root (after any build of the library):
**   cc -O2 -DNDEBUG -std=c11 -Iinclude -Icore bench/codec_throughput.c \
**      core/value/*.c core/util/*.c $(pkg-config --cflags --libs libxxhash) \
**      -lm -lpthread -o /tmp/codec_throughput && /tmp/codec_throughput [N]
*/
#define _POSIX_C_SOURCE 199309L
#include "util/error.h"
#include "value/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int build(dl_arena *a, size_t n, edn_value *out) {
    edn_value *ents = malloc(n * sizeof *ents);
    const char *names[] = {"Alice", "Bob", "Chloé", "Dmitri \"D\"", "Eve"};
    uint64_t x = 88172645463325252ull;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        edn_value kv[14], tags[2];
        uint8_t u[16];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        for (int k = 0; k < 16; k++) u[k] = (uint8_t)(x >> (k * 4));
        kv[0] = edn_keyword_str("db/id"), kv[1] = edn_int((int64_t)i + 1);
        kv[2] = edn_keyword_str("person/name");
        rc = edn_string(a, names[i % 5], strlen(names[i % 5]), &kv[3]);
        kv[4] = edn_keyword_str("person/age"), kv[5] = edn_int((int64_t)(x % 100));
        kv[6] = edn_keyword_str("person/score");
        kv[7] = edn_float((double)(x % 100000) / 7.0);
        tags[0] = edn_keyword_str("tag/a"), tags[1] = edn_keyword_str("tag/b");
        kv[8] = edn_keyword_str("person/tags");
        if (!rc) rc = edn_set(a, tags, 2, &kv[9]);
        kv[10] = edn_keyword_str("person/born");
        kv[11] = edn_inst(1700000000000LL + (int64_t)(x % 1000000000));
        kv[12] = edn_keyword_str("person/id"), kv[13] = edn_uuid(u);
        if (!rc) rc = edn_map(a, kv, 7, &ents[i]);
    }
    if (!rc) rc = edn_vector(a, ents, n, out);
    free(ents);
    return rc;
}

static void bench(const char *name, const edn_value *v, int rounds,
                  int (*wr)(dl_buf *, const edn_value *), int is_cbor) {
    dl_buf b = DL_BUF_INIT;
    double t0, tw = 0, tr = 0;
    for (int r = 0; r < rounds; r++) {
        b.len = 0;
        t0 = now();
        if (wr(&b, v) != 0) {
            fprintf(stderr, "%s write: %s\n", name, dl_err_last()->message);
            exit(1);
        }
        tw += now() - t0;
        dl_arena a;
        edn_value back;
        dl_arena_init(&a, 0);
        t0 = now();
        int rc = is_cbor ? cbor_read(&a, (const uint8_t *)b.data, b.len, NULL,
                                     &back)
                         : json_read(&a, b.data, b.len, NULL, &back);
        tr += now() - t0;
        if (rc != 0 || !edn_equal(&back, v)) {
            fprintf(stderr, "%s read: %s\n", name, dl_err_last()->message);
            exit(1);
        }
        dl_arena_free(&a);
    }
    double mb = (double)b.len * rounds / 1e6;
    printf("%-5s %8.1f MB encoded   print %7.1f MB/s   parse %7.1f MB/s\n",
           name, (double)b.len / 1e6, mb / tw, mb / tr);
    dl_buf_free(&b);
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 200000;
    dl_arena a;
    edn_value v;
    dl_arena_init(&a, 0);
    if (build(&a, n, &v) != 0) {
        fprintf(stderr, "build: %s\n", dl_err_last()->message);
        return 1;
    }
    printf("%zu entity maps\n", n);
    bench("json", &v, 3, json_write, 0);
    bench("cbor", &v, 3, cbor_write, 1);
    dl_arena_free(&a);
    return 0;
}
