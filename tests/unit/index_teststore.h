/*
** index_teststore.h — a tiny in-process dl_store for the index tests:
** objects in an array, counted puts, and hooks to damage or drop an object
** so the tests can check that corruption is reported naming the key.
** Header-only; include from one test file.
*/
#ifndef DL_INDEX_TESTSTORE_H
#define DL_INDEX_TESTSTORE_H

#include "store/store.h"

#include <stdlib.h>
#include <string.h>

typedef struct ts_store {
    dl_store base;
    size_t n, cap;
    char **keys;
    uint8_t **vals;
    size_t *lens;
    size_t puts; /* put calls */
    size_t fail_put; /* if non-zero: the put with this number fails (EIO) */
} ts_store;

static inline long ts_find(ts_store *s, const char *key) {
    size_t i;
    for (i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0) return (long)i;
    return -1;
}

static int ts_get(dl_store *b, const char *key, uint8_t **out, size_t *len) {
    ts_store *s = (ts_store *)b;
    long i = ts_find(s, key);
    if (i < 0) return DATALITH_ENOTFOUND;
    *out = malloc(s->lens[i] ? s->lens[i] : 1);
    if (!*out) return DATALITH_ENOMEM;
    memcpy(*out, s->vals[i], s->lens[i]);
    *len = s->lens[i];
    return 0;
}

static int ts_put(dl_store *b, const char *key, const uint8_t *data, size_t len) {
    ts_store *s = (ts_store *)b;
    long i = ts_find(s, key);
    s->puts++;
    if (s->fail_put && s->puts == s->fail_put) return DATALITH_EIO;
    if (i < 0) {
        if (s->n == s->cap) {
            size_t nc = s->cap ? 2 * s->cap : 64;
            s->keys = realloc(s->keys, nc * sizeof *s->keys);
            s->vals = realloc(s->vals, nc * sizeof *s->vals);
            s->lens = realloc(s->lens, nc * sizeof *s->lens);
            s->cap = nc;
        }
        i = (long)s->n++;
        s->keys[i] = malloc(strlen(key) + 1);
        memcpy(s->keys[i], key, strlen(key) + 1);
    } else {
        free(s->vals[i]);
    }
    s->vals[i] = malloc(len ? len : 1);
    memcpy(s->vals[i], data, len);
    s->lens[i] = len;
    return 0;
}

static void ts_close(dl_store *b) {
    ts_store *s = (ts_store *)b;
    size_t i;
    for (i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->vals[i]);
    }
    free(s->keys);
    free(s->vals);
    free(s->lens);
    free(s);
}

static const dl_store_vtable ts_vtable = {
    DL_STORE_VTABLE_V1, "index-test", ts_get, ts_put, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, ts_close, NULL, NULL};

static inline ts_store *ts_open(void) {
    ts_store *s = calloc(1, sizeof *s);
    s->base.vt = &ts_vtable;
    return s;
}

/* Remove object i from the store (keeps the key list dense). */
static inline void ts_drop(ts_store *s, size_t i) {
    free(s->keys[i]);
    free(s->vals[i]);
    s->n--;
    s->keys[i] = s->keys[s->n];
    s->vals[i] = s->vals[s->n];
    s->lens[i] = s->lens[s->n];
}

#endif
