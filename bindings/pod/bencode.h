/*
** bencode.h — the message encoding of the Babashka pod protocol.
**
** A message is one bencoded value, in practice a dictionary:
**
**   integer     i<decimal>e            i42e  i-7e
**   byte string <length>:<bytes>       4:spam
**   list        l<values>e             l4:donee
**   dictionary  d<key><value>...e      d2:op8:describee   (keys are strings)
**
**   bc_value {type 'd', n = 2 pairs}
**     items ─▶ [ "op" ][ "describe" ][ "id" ][ "1" ]
**              key     value         key     value
**
** The reader pulls bytes from a callback, so it decodes a message straight
** off standard input without knowing its length in advance.  It is hostile-
** input safe: nesting depth, string length and element counts are bounded,
** and every failure is a status with a message and the byte offset, never
** a crash.  Values are heap-allocated and freed with bc_free.
*/
#ifndef DATALITH_POD_BENCODE_H
#define DATALITH_POD_BENCODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bc_value bc_value;

struct bc_value {
    char type;        /* 'i' integer, 's' string, 'l' list, 'd' dictionary */
    int64_t i;        /* 'i' */
    char *s;          /* 's': n bytes, NUL-terminated for convenience */
    size_t n;         /* 's': byte length; 'l': items; 'd': pairs */
    bc_value *items;  /* 'l': n values; 'd': 2n values, key then value */
};

/* Limits on what the reader accepts. */
#define BC_MAX_DEPTH 32
#define BC_MAX_STRING ((size_t)64 << 20)
#define BC_MAX_ITEMS ((size_t)1 << 20)

typedef struct bc_reader {
    int (*next)(void *ctx);  /* the next byte 0..255, or -1 at the end */
    void *ctx;
    size_t offset;           /* bytes consumed so far */
    char error[160];         /* set when bc_read returns BC_EMALFORMED */
} bc_reader;

#define BC_OK 0
#define BC_EOF 1           /* the input ended cleanly before a value */
#define BC_EMALFORMED (-1) /* malformed or over a limit; see r->error */
#define BC_ENOMEM (-2)

/* Read one value.  Returns BC_OK (and *out), BC_EOF, BC_EMALFORMED or
** BC_ENOMEM; on failure nothing is left allocated. */
int bc_read(bc_reader *r, bc_value *out);

void bc_free(bc_value *v);

/* The value of key `key` in dictionary `d`, or NULL. */
const bc_value *bc_get(const bc_value *d, const char *key);

/* A string value's text if `v` is a string, else NULL. */
const char *bc_str(const bc_value *v);

/* A growable output buffer for encoding replies. */
typedef struct bc_out {
    char *data;
    size_t len, cap;
    int oom;  /* set once an append failed; the content is then incomplete */
} bc_out;

void bc_put_int(bc_out *o, int64_t i);
void bc_put_bytes(bc_out *o, const char *s, size_t n);
void bc_put_str(bc_out *o, const char *s);
void bc_put_raw(bc_out *o, const char *s, size_t n);  /* pre-encoded bytes */
#define bc_begin_list(o) bc_put_raw((o), "l", 1)
#define bc_begin_dict(o) bc_put_raw((o), "d", 1)
#define bc_end(o) bc_put_raw((o), "e", 1)

#endif
