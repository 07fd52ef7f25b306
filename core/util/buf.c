/*
** buf.c — growable byte buffer (see buf.h).
*/
#include "buf.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dl_buf_reserve(dl_buf *b, size_t extra) {
    if (extra > SIZE_MAX - b->len - 1)
        return dl_err_set(DATALITH_ELIMIT, "buffer too large");
    size_t need = b->len + extra + 1;
    if (b->limit && need > b->limit + 1)
        return dl_err_set(DATALITH_ELIMIT,
                          "output exceeds the limit of %zu bytes", b->limit);
    if (need <= b->cap) return DATALITH_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) return dl_err_nomem();
    b->data = p;
    b->cap = cap;
    return DATALITH_OK;
}

int dl_buf_append(dl_buf *b, const void *p, size_t n) {
    int rc = dl_buf_reserve(b, n);
    if (rc) return rc;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return DATALITH_OK;
}

int dl_buf_putc(dl_buf *b, char c) {
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return DATALITH_OK;
    }
    return dl_buf_append(b, &c, 1);
}

int dl_buf_puts(dl_buf *b, const char *s) {
    return dl_buf_append(b, s, strlen(s));
}

int dl_buf_printf(dl_buf *b, const char *fmt, ...) {
    va_list ap;
    char tmp[128];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return dl_err_set(DATALITH_EINTERNAL, "format error");
    if ((size_t)n < sizeof tmp) return dl_buf_append(b, tmp, (size_t)n);
    int rc = dl_buf_reserve(b, (size_t)n);
    if (rc) return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return DATALITH_OK;
}

char *dl_buf_detach(dl_buf *b, size_t *len) {
    if (!b->data && dl_buf_reserve(b, 0)) return NULL;
    char *p = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void dl_buf_free(dl_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
