/*
** buf.h — a growable byte buffer on the C heap, for output that outlives
** an operation (printed values, encoded nodes).  Every append reports
** DATALITH_ENOMEM through the usual convention; on failure the buffer keeps
** its previous contents.
*/
#ifndef DL_BUF_H
#define DL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct dl_buf {
    char *data;   /* NUL-terminated while len < cap */
    size_t len;
    size_t cap;
    size_t limit; /* 0 = unlimited; else appends past it fail with ELIMIT */
} dl_buf;

#define DL_BUF_INIT {NULL, 0, 0, 0}

int dl_buf_reserve(dl_buf *b, size_t extra);
int dl_buf_append(dl_buf *b, const void *p, size_t n);
int dl_buf_putc(dl_buf *b, char c);
int dl_buf_puts(dl_buf *b, const char *s);
int dl_buf_printf(dl_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Take ownership of the bytes (free with free()/datalith_free); the buffer
** is reset to empty. Never returns NULL for an empty buffer. */
char *dl_buf_detach(dl_buf *b, size_t *len);

void dl_buf_free(dl_buf *b);

#endif
