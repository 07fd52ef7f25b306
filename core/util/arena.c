/*
** arena.c — chained-block bump allocator (see arena.h).
*/
#include "arena.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

struct dl_arena_block {
    dl_arena_block *prev;
    size_t cap;  /* payload bytes */
    size_t pos;  /* bytes used */
    _Alignas(16) unsigned char data[];
};

#define DL_ARENA_DEFAULT_BLOCK (32 * 1024)

void dl_arena_init(dl_arena *a, size_t limit) {
    a->head = NULL;
    a->block_size = DL_ARENA_DEFAULT_BLOCK;
    a->used = 0;
    a->limit = limit;
}

static dl_arena_block *arena_new_block(dl_arena *a, size_t need) {
    size_t cap = need > a->block_size ? need : a->block_size;
    size_t total = sizeof(dl_arena_block) + cap;
    if (a->limit && a->used + total > a->limit) {
        dl_err_set(DATALITH_ELIMIT,
                   "memory limit of %zu bytes exceeded", a->limit);
        return NULL;
    }
    dl_arena_block *b = malloc(total);
    if (!b) {
        dl_err_nomem();
        return NULL;
    }
    b->cap = cap;
    b->pos = 0;
    b->prev = a->head;
    a->head = b;
    a->used += total;
    /* Grow blocks geometrically up to 1 MiB so big parses make few blocks. */
    if (a->block_size < (1u << 20)) a->block_size *= 2;
    return b;
}

void *dl_arena_alloc(dl_arena *a, size_t n) {
    size_t align = n >= 16 ? 16 : 8;
    if (n == 0) n = 1;
    if (n > SIZE_MAX / 2) {
        dl_err_set(DATALITH_ELIMIT, "allocation of %zu bytes refused", n);
        return NULL;
    }
    dl_arena_block *b = a->head;
    if (b) {
        size_t pos = (b->pos + align - 1) & ~(align - 1);
        if (pos + n <= b->cap) {
            b->pos = pos + n;
            return b->data + pos;
        }
    }
    b = arena_new_block(a, n);
    if (!b) return NULL;
    b->pos = n;
    return b->data;
}

void *dl_arena_calloc(dl_arena *a, size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) {
        dl_err_set(DATALITH_ELIMIT, "allocation too large");
        return NULL;
    }
    void *p = dl_arena_alloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

char *dl_arena_strndup(dl_arena *a, const char *s, size_t n) {
    char *p = dl_arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *dl_arena_realloc(dl_arena *a, void *p, size_t old, size_t n) {
    dl_arena_block *b = a->head;
    if (p && b && (unsigned char *)p + old == b->data + b->pos &&
        (size_t)((unsigned char *)p - b->data) + n <= b->cap) {
        b->pos = (size_t)((unsigned char *)p - b->data) + n;
        return p;
    }
    void *q = dl_arena_alloc(a, n);
    if (q && p && old) memcpy(q, p, old < n ? old : n);
    return q;
}

void dl_arena_free(dl_arena *a) {
    dl_arena_block *b = a->head;
    while (b) {
        dl_arena_block *prev = b->prev;
        free(b);
        b = prev;
    }
    a->head = NULL;
    a->used = 0;
    a->block_size = DL_ARENA_DEFAULT_BLOCK;
}

dl_arena_mark dl_arena_save(const dl_arena *a) {
    dl_arena_mark m = {a->head, a->head ? a->head->pos : 0, a->used};
    return m;
}

void dl_arena_restore(dl_arena *a, dl_arena_mark m) {
    while (a->head && a->head != m.head) {
        dl_arena_block *prev = a->head->prev;
        free(a->head);
        a->head = prev;
    }
    if (a->head) a->head->pos = m.pos;
    a->used = m.used;
}
