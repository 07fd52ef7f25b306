/*
** bencode.c — a bounded, streaming bencode reader and a small writer
** (format and limits in bencode.h).
*/
#include "bencode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(bc_reader *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(r->error, sizeof r->error, "at byte %zu: ", r->offset);
    if (n > 0 && (size_t)n < sizeof r->error)
        vsnprintf(r->error + n, sizeof r->error - (size_t)n, fmt, ap);
    va_end(ap);
    return BC_EMALFORMED;
}

static int get(bc_reader *r) {
    int c = r->next(r->ctx);
    if (c >= 0) r->offset++;
    return c;
}

/* Digits up to `stop`; the first digit `first` was already read.  Accepts an
** optional leading '-' when `neg_ok`.  Rejects leading zeros ("03", "-0"). */
static int read_number(bc_reader *r, int first, char stop, int neg_ok, int64_t *out) {
    int neg = 0, c = first, digits = 0;
    uint64_t v = 0;
    if (c == '-' && neg_ok) {
        neg = 1;
        c = get(r);
    }
    int lead = c;
    for (;; c = get(r)) {
        if (c == stop && digits) break;
        if (c < '0' || c > '9') {
            if (c < 0) return fail(r, "input ended inside a number");
            return fail(r, "unexpected byte 0x%02x in a number", c);
        }
        if (digits && lead == '0') return fail(r, "a number has a leading zero");
        if (v > (UINT64_C(1) << 63) / 10) return fail(r, "a number is out of range");
        v = v * 10 + (uint64_t)(c - '0');
        digits++;
    }
    if (neg && lead == '0') return fail(r, "negative zero is not bencode");
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg) return fail(r, "a number is out of range");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return BC_OK;
}

static int read_value(bc_reader *r, int c, int depth, bc_value *out);

static int read_items(bc_reader *r, int depth, int dict, bc_value *out) {
    size_t cap = 0, n = 0;
    bc_value *items = NULL;
    int rc = BC_OK;
    for (;;) {
        int c = get(r);
        if (c == 'e') break;
        if (c < 0) {
            rc = fail(r, "input ended inside a %s", dict ? "dictionary" : "list");
            break;
        }
        if (n >= BC_MAX_ITEMS * 2) {
            rc = fail(r, "more than %zu elements", BC_MAX_ITEMS);
            break;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            bc_value *p = realloc(items, nc * sizeof *items);
            if (!p) {
                rc = BC_ENOMEM;
                break;
            }
            items = p, cap = nc;
        }
        if (dict && !(n & 1) && !(c >= '0' && c <= '9')) {
            rc = fail(r, "a dictionary key is not a byte string");
            break;
        }
        if ((rc = read_value(r, c, depth + 1, &items[n]))) break;
        n++;
    }
    if (rc == BC_OK && dict && (n & 1)) rc = fail(r, "a dictionary key has no value");
    if (rc) {
        for (size_t i = 0; i < n; i++) bc_free(&items[i]);
        free(items);
        return rc;
    }
    out->items = items;
    out->n = dict ? n / 2 : n;
    return BC_OK;
}

static int read_value(bc_reader *r, int c, int depth, bc_value *out) {
    memset(out, 0, sizeof *out);
    if (depth > BC_MAX_DEPTH) return fail(r, "nested deeper than %d", BC_MAX_DEPTH);
    if (c == 'i') {
        out->type = 'i';
        return read_number(r, get(r), 'e', 1, &out->i);
    }
    if (c == 'l' || c == 'd') {
        out->type = (char)c;
        return read_items(r, depth, c == 'd', out);
    }
    if (c >= '0' && c <= '9') {
        int64_t len;
        int rc = read_number(r, c, ':', 0, &len);
        if (rc) return rc;
        if ((uint64_t)len > BC_MAX_STRING)
            return fail(r, "a byte string of %lld bytes is over the limit", (long long)len);
        char *s = malloc((size_t)len + 1);
        if (!s) return BC_ENOMEM;
        for (int64_t k = 0; k < len; k++) {
            int b = get(r);
            if (b < 0) {
                free(s);
                return fail(r, "input ended inside a byte string");
            }
            s[k] = (char)b;
        }
        s[len] = 0;
        out->type = 's';
        out->s = s;
        out->n = (size_t)len;
        return BC_OK;
    }
    if (c < 0) return fail(r, "input ended where a value was expected");
    return fail(r, "unexpected byte 0x%02x where a value was expected", c);
}

int bc_read(bc_reader *r, bc_value *out) {
    r->error[0] = 0;
    int c = get(r);
    if (c < 0) return BC_EOF;
    return read_value(r, c, 0, out);
}

void bc_free(bc_value *v) {
    if (!v) return;
    if (v->type == 's') free(v->s);
    if (v->type == 'l' || v->type == 'd') {
        size_t n = v->type == 'd' ? v->n * 2 : v->n;
        for (size_t i = 0; i < n; i++) bc_free(&v->items[i]);
        free(v->items);
    }
    memset(v, 0, sizeof *v);
}

const bc_value *bc_get(const bc_value *d, const char *key) {
    if (!d || d->type != 'd') return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < d->n; i++) {
        const bc_value *k = &d->items[2 * i];
        if (k->type == 's' && k->n == kl && !memcmp(k->s, key, kl)) return &d->items[2 * i + 1];
    }
    return NULL;
}

const char *bc_str(const bc_value *v) {
    return v && v->type == 's' ? v->s : NULL;
}

void bc_put_raw(bc_out *o, const char *s, size_t n) {
    if (o->oom) return;
    if (o->len + n + 1 > o->cap) {
        size_t nc = o->cap ? o->cap : 256;
        while (nc < o->len + n + 1) nc *= 2;
        char *p = realloc(o->data, nc);
        if (!p) {
            o->oom = 1;
            return;
        }
        o->data = p, o->cap = nc;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
}

void bc_put_int(bc_out *o, int64_t i) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "i%llde", (long long)i);
    bc_put_raw(o, tmp, (size_t)n);
}

void bc_put_bytes(bc_out *o, const char *s, size_t n) {
    char tmp[32];
    int k = snprintf(tmp, sizeof tmp, "%zu:", n);
    bc_put_raw(o, tmp, (size_t)k);
    bc_put_raw(o, s, n);
}

void bc_put_str(bc_out *o, const char *s) {
    bc_put_bytes(o, s, strlen(s));
}
