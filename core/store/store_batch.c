/*
** store_batch.c — the list of buffered puts that the LMDB and PostgreSQL
** backends keep between put() and the commit that writes them (declared in
** store_impl.h).
**
** A batch is a small unordered array of owned (key, bytes) pairs, one per
** key: a second put of a key replaces the first.  Backends keep two, the
** puts still pending and those of the commit under way ("flight"), and swap
** them under their mutex; lookups are linear because a batch holds one
** transaction's new nodes, a handful to a few hundred.
*/
#include "store_impl.h"

#include "util/error.h"

#include <stdlib.h>
#include <string.h>

dl_store_pending *dl_store_batch_find(dl_store_batch *b, const char *key) {
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->it[i].key, key) == 0) return &b->it[i];
    return NULL;
}

void dl_store_batch_clear(dl_store_batch *b) {
    for (size_t i = 0; i < b->n; i++) {
        free(b->it[i].key);
        free(b->it[i].data);
    }
    b->n = 0;
    b->bytes = 0;
}

void dl_store_batch_free(dl_store_batch *b) {
    dl_store_batch_clear(b);
    free(b->it);
    b->it = NULL;
    b->cap = 0;
}

int dl_store_batch_set(dl_store_batch *b, char *key, uint8_t *data,
                       size_t len) {
    dl_store_pending *p = dl_store_batch_find(b, key);
    if (p) {
        free(key);
        free(p->data);
        b->bytes = b->bytes - p->len + len;
        p->data = data;
        p->len = len;
        return 0;
    }
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 16;
        dl_store_pending *np = realloc(b->it, nc * sizeof *np);
        if (!np) {
            free(key);
            free(data);
            return dl_err_nomem();
        }
        b->it = np;
        b->cap = nc;
    }
    b->it[b->n++] = (dl_store_pending){key, data, len};
    b->bytes += len + strlen(key);
    return 0;
}

void dl_store_batch_remove(dl_store_batch *b, const char *key) {
    dl_store_pending *p = dl_store_batch_find(b, key);
    if (p) {
        b->bytes -= p->len + strlen(p->key);
        free(p->key);
        free(p->data);
        *p = b->it[--b->n];
    }
}

void dl_store_batch_requeue(dl_store_batch *pend, dl_store_batch *flight) {
    for (size_t i = 0; i < flight->n; i++) {
        dl_store_pending *f = &flight->it[i];
        if (dl_store_batch_find(pend, f->key)) {
            free(f->key);
            free(f->data);
        } else {
            /* on out-of-memory the entry is freed and lost; the commit
            ** that failed has reported its error already */
            dl_store_batch_set(pend, f->key, f->data, f->len);
        }
    }
    flight->n = 0;
    flight->bytes = 0;
}

int dl_store_batch_copy(dl_store_batch *pend, dl_store_batch *flight,
                        const char *key, uint8_t **out, size_t *len) {
    dl_store_pending *p = dl_store_batch_find(pend, key);
    if (!p) p = dl_store_batch_find(flight, key);
    if (!p) return 0;
    uint8_t *b = malloc(p->len ? p->len : 1);
    if (!b) return dl_err_nomem();
    if (p->len) memcpy(b, p->data, p->len);
    *out = b;
    *len = p->len;
    return 1;
}
