/*
** cbor.c — CBOR (RFC 8949) codec for EDN values.  The writer emits
** definite lengths and float64 doubles only; the reader also accepts
** indefinite-length strings, arrays and maps and half/single floats.
** Tags follow Datahike's CBOR (clj-cbor) where it has one, RFCs otherwise.
**
** THE MAPPING (docs/values.md, section "CBOR"):
**
**   value     CBOR                                  example (hex)
**   nil       simple 22                             f6
**   boolean   simple 20 / 21                        f4 / f5
**   int64     major 0 / 1 (shortest head)           1903e8 = 1000, 20 = -1
**   bigint    tag 2 / tag 3 bignum, always          c2 41 01 = 1N
**   double    float64                               fb 3ff199999999999a
**   bigdec    tag 4 [exponent, mantissa]            c4 82 21 19 0bb8 = 30.00M
**             mantissa an int, or a bignum when it does not fit int64
**   string    major 3 (UTF-8)                       61 61 = "a"
**   bytes     major 2                               42 0102
**   keyword   tag 39 text ":ns/name"                d8 27 62 3a61 = :a
**   symbol    tag 39 text "ns/name" (no colon)      d8 27 61 61 = a
**   uuid      tag 37 bytes(16)                      d8 25 50 …
**   inst      tag 1 integer seconds when the milliseconds are whole
**             seconds, else tag 1001 {1: seconds, -3: milliseconds 0..999}
**             (RFC 9581 extended time, exact to the millisecond)
**   vector    major 4                               83 010203 = [1 2 3]
**   list      private tag 0x44544C01 ("DTL"1) array  da 44544c01 83 …
**   set       tag 258 array                         d9 0102 82 0102
**   map       major 5, keys in EDN order            a1 6161 01 = {"a" 1}
**   char      private tag 0x44544C02, uint code point
**   tagged    tag 27 [text "ns/name", value]  (clj-cbor's tagged literal)
**
** The reader also takes tag 1 with a float (seconds, rounded to the
** millisecond) and skips the self-describe tag 55799.  Other tags, simple
** values and undefined are rejected.  Major 0/1 integers beyond int64 read
** as bigint.  Duplicate map keys or set elements are parse errors.
**
** Every error names its byte offset ("… at byte N", offset field set).
** Before anything is allocated or read, a claimed length is checked against
** the bytes that remain (a string needs n bytes, an array n items of at
** least a byte each), so a 10-byte input cannot claim a gigabyte.
*/
#include "value.h"
#include "util/error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CBOR_DEFAULT_DEPTH 512
#define CBOR_DEPTH_CAP 2048 /* also the writer's nesting limit */
#define CBOR_DEFAULT_MAX_BYTES ((size_t)256 << 20)
#define CBOR_BIGNUM_MAX_BYTES 16384 /* ~39 000 decimal digits */

#define CBOR_TAG_DATETIME_EPOCH 1
#define CBOR_TAG_BIGNUM_POS 2
#define CBOR_TAG_BIGNUM_NEG 3
#define CBOR_TAG_DECIMAL 4
#define CBOR_TAG_OBJECT 27
#define CBOR_TAG_UUID 37
#define CBOR_TAG_IDENT 39
#define CBOR_TAG_SET 258
#define CBOR_TAG_EXT_TIME 1001
#define CBOR_TAG_SELF_DESCRIBE 55799
#define CBOR_TAG_LIST 0x44544C01u
#define CBOR_TAG_CHAR 0x44544C02u

enum { CB_UINT, CB_NINT, CB_BYTES, CB_TEXT, CB_ARRAY, CB_MAP, CB_TAG, CB_SIMPLE };

/* ------------------------------------------------------------------ */
/* UTF-8 validation                                                    */
/* ------------------------------------------------------------------ */

/* Returns the offset of the first ill-formed byte, or n when s is valid. */
static size_t cbor_utf8_check(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t v, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) len = 2, v = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, v = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, v = c & 0x07, min = 0x10000;
        else return i;
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            v = (v << 6) | (s[i + k] & 0x3F);
        }
        if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return i;
        i += len;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Big numbers: decimal text <-> big-endian magnitude                  */
/* ------------------------------------------------------------------ */

/* Decimal text of the magnitude mag[0..n) (plus one when plus_one), with a
** leading '-' when neg, appended to out. */
static int cbor_mag_to_dec(const uint8_t *mag, size_t n, int plus_one, int neg,
                           dl_buf *out) {
    size_t nl = n / 4 + 2, top;
    uint32_t *limb = calloc(nl, sizeof *limb); /* little-endian base 2^32 */
    char *dig = NULL;
    size_t nd = 0;
    int rc = 0;
    if (!limb) return dl_err_nomem();
    for (size_t i = 0; i < n; i++) {
        size_t bit = (n - 1 - i) * 8;
        limb[bit / 32] |= (uint32_t)mag[i] << (bit % 32);
    }
    if (plus_one) {
        for (size_t i = 0; i < nl; i++)
            if (++limb[i] != 0) break;
    }
    dig = malloc(nl * 10 + 2);
    if (!dig) {
        free(limb);
        return dl_err_nomem();
    }
    top = nl;
    while (top > 0 && limb[top - 1] == 0) top--;
    while (top > 0) {
        uint64_t rem = 0;
        for (size_t i = top; i-- > 0;) {
            uint64_t cur = (rem << 32) | limb[i];
            limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        while (top > 0 && limb[top - 1] == 0) top--;
        for (int k = 0; k < 9; k++) {
            dig[nd++] = (char)('0' + rem % 10);
            rem /= 10;
            if (top == 0 && rem == 0) break;
        }
    }
    if (nd == 0) dig[nd++] = '0';
    if (neg && !(nd == 1 && dig[0] == '0')) rc = dl_buf_putc(out, '-');
    for (size_t i = nd; !rc && i-- > 0;) rc = dl_buf_putc(out, dig[i]);
    free(dig);
    free(limb);
    return rc;
}

/* Big-endian magnitude (minimal, empty for zero) of the decimal digits
** d[0..nd), minus one when minus_one (the value must then be >= 1).
** *out is malloc'd. */
static int cbor_dec_to_mag(const char *d, size_t nd, int minus_one,
                           uint8_t **out, size_t *out_n) {
    size_t nl = nd / 9 + 2, used = 0;
    uint32_t *limb = calloc(nl, sizeof *limb);
    uint8_t *bytes;
    if (!limb) return dl_err_nomem();
    for (size_t i = 0; i < nd;) {
        uint32_t chunk = 0, mul = 1;
        for (int k = 0; k < 9 && i < nd; k++, i++) {
            chunk = chunk * 10 + (uint32_t)(d[i] - '0');
            mul *= 10;
        }
        uint64_t carry = chunk;
        for (size_t j = 0; j < used; j++) {
            uint64_t cur = (uint64_t)limb[j] * mul + carry;
            limb[j] = (uint32_t)cur;
            carry = cur >> 32;
        }
        if (carry) limb[used++] = (uint32_t)carry;
    }
    if (minus_one) {
        for (size_t j = 0; j < used; j++)
            if (limb[j]-- != 0) break;
        while (used > 0 && limb[used - 1] == 0) used--;
    }
    bytes = malloc(used * 4 + 1);
    if (!bytes) {
        free(limb);
        return dl_err_nomem();
    }
    size_t n = 0;
    for (size_t j = used; j-- > 0;)
        for (int s = 24; s >= 0; s -= 8) {
            uint8_t byte = (uint8_t)(limb[j] >> s);
            if (n == 0 && byte == 0) continue;
            bytes[n++] = byte;
        }
    free(limb);
    *out = bytes;
    *out_n = n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

typedef struct cbor_reader {
    dl_arena *a;
    const uint8_t *start, *p, *end;
    size_t depth, max_depth;
    dl_buf stack;   /* edn_value[] of the collections being read */
    dl_buf scratch; /* chunked strings, big number text */
} cbor_reader;

static int cbor_err(const cbor_reader *r, size_t off, const char *fmt, ...)
    DL_PRINTF(3, 4);
static int cbor_err(const cbor_reader *r, size_t off, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_err_set_pos(DATALITH_EPARSE, 0, 0, (long)off, "%s at byte %zu",
                          msg, off);
}

/* A constructor's EINVAL (duplicate key or element, bad number text)
** becomes a parse error at `off`. */
static int cbor_ctor_err(const cbor_reader *r, size_t off, int rc) {
    char msg[DL_ERR_MSG_MAX];
    if (rc != DATALITH_EINVAL && rc != DATALITH_EPARSE) return rc;
    snprintf(msg, sizeof msg, "%s", dl_err_last()->message);
    return cbor_err(r, off, "%s", msg);
}

static size_t cbor_off(const cbor_reader *r, const uint8_t *p) {
    return (size_t)(p - r->start);
}

static size_t cbor_left(const cbor_reader *r) {
    return (size_t)(r->end - r->p);
}

/* Read an item head.  *indef is set for additional information 31. */
static int cbor_head(cbor_reader *r, int *major, uint64_t *val, int *indef) {
    const uint8_t *at = r->p;
    if (r->p >= r->end)
        return cbor_err(r, cbor_off(r, at), "unexpected end of input");
    unsigned ib = *r->p++, ai = ib & 31;
    *major = (int)(ib >> 5);
    *indef = 0;
    if (ai < 24) {
        *val = ai;
    } else if (ai <= 27) {
        size_t k = (size_t)1 << (ai - 24);
        if (cbor_left(r) < k)
            return cbor_err(r, cbor_off(r, at), "truncated item head "
                                                "(needs %zu more bytes)", k);
        uint64_t v = 0;
        for (size_t i = 0; i < k; i++) v = (v << 8) | r->p[i];
        r->p += k;
        *val = v;
    } else if (ai == 31) {
        *indef = 1;
        *val = 0;
    } else {
        return cbor_err(r, cbor_off(r, at), "reserved additional "
                                            "information %u", ai);
    }
    return 0;
}

static size_t cbor_stack_count(const cbor_reader *r) {
    return r->stack.len / sizeof(edn_value);
}

static edn_value *cbor_stack_at(const cbor_reader *r, size_t i) {
    if (!r->stack.data) return NULL; /* nothing pushed yet: i is 0 */
    return (edn_value *)(void *)r->stack.data + i;
}

static int cbor_item(cbor_reader *r, edn_value *out);

/* Major 2/3 payload (the head has been read). */
static int cbor_string(cbor_reader *r, size_t at, int major, uint64_t len,
                       int indef, edn_value *out) {
    const uint8_t *s;
    size_t n;
    int rc;
    if (!indef) {
        if (len > cbor_left(r))
            return cbor_err(r, at, "%s string of %llu bytes runs past the "
                                   "end of input",
                            major == CB_TEXT ? "text" : "byte",
                            (unsigned long long)len);
        s = r->p;
        n = (size_t)len;
        r->p += n;
    } else {
        r->scratch.len = 0;
        for (;;) {
            const uint8_t *ch = r->p;
            int cm, ci;
            uint64_t cl;
            if (r->p < r->end && *r->p == 0xFF) {
                r->p++;
                break;
            }
            if ((rc = cbor_head(r, &cm, &cl, &ci))) return rc;
            if (cm != major || ci)
                return cbor_err(r, cbor_off(r, ch), "indefinite-length "
                                                   "string chunk must be a "
                                                   "definite %s string",
                                major == CB_TEXT ? "text" : "byte");
            if (cl > cbor_left(r))
                return cbor_err(r, cbor_off(r, ch), "string chunk of %llu "
                                                   "bytes runs past the end "
                                                   "of input",
                                (unsigned long long)cl);
            if ((rc = dl_buf_append(&r->scratch, r->p, (size_t)cl))) return rc;
            r->p += cl;
        }
        s = (const uint8_t *)(r->scratch.data ? r->scratch.data : "");
        n = r->scratch.len;
    }
    if (major == CB_BYTES) return edn_bytes(r->a, s, n, out);
    size_t bad = cbor_utf8_check(s, n);
    if (bad != n)
        return cbor_err(r, indef ? at : cbor_off(r, r->p) - n + bad,
                        "invalid UTF-8 in text string");
    return edn_string(r->a, (const char *)s, n, out);
}

/* Elements of an array (n items, or until break when indef) onto the stack. */
static int cbor_elems(cbor_reader *r, size_t at, uint64_t n, int indef,
                      int is_map, size_t *count) {
    size_t base = cbor_stack_count(r);
    int rc;
    if (!indef) {
        uint64_t need = is_map ? 2 : 1;
        if (n > cbor_left(r) / need)
            return cbor_err(r, at, "%s of %llu %s cannot fit in the %zu "
                                   "bytes left",
                            is_map ? "map" : "array", (unsigned long long)n,
                            is_map ? "entries" : "items", cbor_left(r));
        n *= need;
        for (uint64_t i = 0; i < n; i++) {
            edn_value v;
            if ((rc = cbor_item(r, &v))) return rc;
            if ((rc = dl_buf_append(&r->stack, &v, sizeof v))) return rc;
        }
    } else {
        for (;;) {
            edn_value v;
            if (r->p >= r->end)
                return cbor_err(r, at, "indefinite-length %s is missing its "
                                       "break",
                                is_map ? "map" : "array");
            if (*r->p == 0xFF) {
                r->p++;
                break;
            }
            if ((rc = cbor_item(r, &v))) return rc;
            if ((rc = dl_buf_append(&r->stack, &v, sizeof v))) return rc;
        }
        if (is_map && (cbor_stack_count(r) - base) % 2)
            return cbor_err(r, at, "indefinite-length map has a key without "
                                   "a value");
    }
    *count = cbor_stack_count(r) - base;
    return 0;
}

static double cbor_half(uint16_t h) {
    int e = (h >> 10) & 31;
    double m = h & 1023, v;
    if (e == 0) v = ldexp(m, -24);
    else if (e == 31) v = m == 0 ? INFINITY : NAN;
    else v = ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

/* A bigint from a tag 2/3 magnitude or an out-of-range major 0/1 value. */
static int cbor_bigint(cbor_reader *r, size_t at, const uint8_t *mag, size_t n,
                       int neg, edn_value *out) {
    int rc;
    if (n > CBOR_BIGNUM_MAX_BYTES)
        return dl_err_set_pos(DATALITH_ELIMIT, 0, 0, (long)at,
                              "bignum of %zu bytes exceeds the limit of %d "
                              "bytes at byte %zu",
                              n, CBOR_BIGNUM_MAX_BYTES, at);
    r->scratch.len = 0;
    if ((rc = cbor_mag_to_dec(mag, n, neg, neg, &r->scratch))) return rc;
    rc = edn_bigint(r->a, r->scratch.data, r->scratch.len, out);
    return rc ? cbor_ctor_err(r, at, rc) : 0;
}

static int cbor_decimal(cbor_reader *r, size_t at, const edn_value *v,
                        edn_value *out) {
    char tmp[32];
    const char *m;
    size_t mn;
    int neg = 0, rc;
    if (v->type != EDN_VECTOR || v->n != 2 || v->u.items[0].type != EDN_INT ||
        (v->u.items[1].type != EDN_INT && v->u.items[1].type != EDN_BIGINT))
        return cbor_err(r, at, "tag 4 (decimal fraction) expects [exponent, "
                               "mantissa] integers");
    int64_t e = v->u.items[0].u.i;
    const edn_value *mv = &v->u.items[1];
    if (mv->type == EDN_INT) {
        uint64_t mag = mv->u.i < 0 ? (uint64_t)0 - (uint64_t)mv->u.i
                                   : (uint64_t)mv->u.i;
        neg = mv->u.i < 0;
        mn = (size_t)snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)mag);
        m = tmp;
    } else {
        m = mv->u.s;
        mn = mv->n;
        if (mn && m[0] == '-') neg = 1, m++, mn--;
        else if (mn && m[0] == '+') m++, mn--;
    }
    dl_buf t = DL_BUF_INIT;
    rc = neg ? dl_buf_putc(&t, '-') : 0;
    if (!rc) {
        if (e < 0 && e >= -1000) {
            size_t fr = (size_t)-e;
            if (mn > fr) {
                rc = dl_buf_append(&t, m, mn - fr);
                if (!rc) rc = dl_buf_putc(&t, '.');
                if (!rc) rc = dl_buf_append(&t, m + mn - fr, fr);
            } else {
                rc = dl_buf_puts(&t, "0.");
                for (size_t i = mn; !rc && i < fr; i++) rc = dl_buf_putc(&t, '0');
                if (!rc) rc = dl_buf_append(&t, m, mn);
            }
        } else {
            rc = dl_buf_append(&t, m, mn);
            if (!rc && e != 0) rc = dl_buf_printf(&t, "e%lld", (long long)e);
        }
    }
    if (!rc) rc = edn_bigdec(r->a, t.data, t.len, out);
    dl_buf_free(&t);
    return rc ? cbor_ctor_err(r, at, rc) : 0;
}

static int cbor_inst(cbor_reader *r, size_t at, uint64_t tag,
                     const edn_value *v, edn_value *out) {
    const int64_t lim = INT64_MAX / 1000;
    if (tag == CBOR_TAG_DATETIME_EPOCH) {
        if (v->type == EDN_INT) {
            if (v->u.i > lim || v->u.i < -lim)
                return cbor_err(r, at, "tag 1 epoch seconds out of range");
            *out = edn_inst(v->u.i * 1000);
            return 0;
        }
        if (v->type == EDN_FLOAT) {
            double ms = v->u.d * 1000.0;
            if (!isfinite(ms) || ms > 9.2e18 || ms < -9.2e18)
                return cbor_err(r, at, "tag 1 epoch seconds out of range");
            *out = edn_inst((int64_t)llround(ms));
            return 0;
        }
        return cbor_err(r, at, "tag 1 expects a number of epoch seconds");
    }
    /* tag 1001: {1: seconds, -3: milliseconds} */
    int64_t s = 0, ms = 0;
    int have_s = 0;
    if (v->type != EDN_MAP)
        return cbor_err(r, at, "tag 1001 expects a map");
    for (uint32_t i = 0; i < v->n; i++) {
        const edn_value *k = &v->u.items[2 * i], *x = &v->u.items[2 * i + 1];
        if (k->type == EDN_INT && k->u.i == 1 && x->type == EDN_INT) {
            s = x->u.i;
            have_s = 1;
        } else if (k->type == EDN_INT && k->u.i == -3 && x->type == EDN_INT &&
                   x->u.i >= 0 && x->u.i <= 999) {
            ms = x->u.i;
        } else {
            return cbor_err(r, at, "tag 1001 supports only keys 1 (integer "
                                   "seconds) and -3 (milliseconds 0..999)");
        }
    }
    if (!have_s) return cbor_err(r, at, "tag 1001 without key 1 (seconds)");
    if (s > lim || s < -lim - 1 || (s == -lim - 1 && ms < 192) ||
        (s == lim && ms > 807))
        return cbor_err(r, at, "tag 1001 seconds out of range");
    /* Neither s * 1000 (s >= 0) nor (s + 1) * 1000 (s < 0) overflows, and
    ** the checks above keep the sum within int64. */
    *out = edn_inst(s >= 0 ? s * 1000 + ms : (s + 1) * 1000 - (1000 - ms));
    return 0;
}

static int cbor_tagged(cbor_reader *r, size_t at, uint64_t tag,
                       edn_value *out) {
    edn_value v;
    int rc;
    if ((rc = cbor_item(r, &v))) return rc;
    switch (tag) {
    case CBOR_TAG_BIGNUM_POS:
    case CBOR_TAG_BIGNUM_NEG:
        if (v.type != EDN_BYTES)
            return cbor_err(r, at, "tag %llu (bignum) expects a byte string",
                            (unsigned long long)tag);
        return cbor_bigint(r, at, (const uint8_t *)v.u.s, v.n,
                           tag == CBOR_TAG_BIGNUM_NEG, out);
    case CBOR_TAG_DECIMAL: return cbor_decimal(r, at, &v, out);
    case CBOR_TAG_DATETIME_EPOCH:
    case CBOR_TAG_EXT_TIME: return cbor_inst(r, at, tag, &v, out);
    case CBOR_TAG_UUID:
        if (v.type != EDN_BYTES || v.n != 16)
            return cbor_err(r, at, "tag 37 (UUID) expects 16 bytes");
        *out = edn_uuid((const uint8_t *)v.u.s);
        return 0;
    case CBOR_TAG_IDENT: {
        if (v.type != EDN_STRING)
            return cbor_err(r, at, "tag 39 (identifier) expects a text "
                                   "string");
        /* Empty names are allowed: a JSON object key "" keywordizes to
        ** one, and every value that can be read must survive a write. */
        int kw = v.n > 0 && v.u.s[0] == ':';
        if (!edn_sym_name_ok(v.u.s + kw, v.n - (uint32_t)kw))
            return cbor_err(r, at, "tag 39 (identifier): invalid name \"%.*s\"",
                            (int)(v.n > 60 ? 60 : v.n), v.u.s);
        const edn_sym *sym = edn_intern_full(v.u.s + kw, v.n - (uint32_t)kw);
        if (!sym) return dl_err_last()->code;
        *out = kw ? edn_keyword(sym) : edn_symbol(sym);
        return 0;
    }
    case CBOR_TAG_SET:
        if (v.type != EDN_VECTOR)
            return cbor_err(r, at, "tag 258 (set) expects an array");
        rc = edn_set(r->a, v.u.items, v.n, out);
        return rc ? cbor_ctor_err(r, at, rc) : 0;
    case CBOR_TAG_LIST:
        if (v.type != EDN_VECTOR)
            return cbor_err(r, at, "list tag expects an array");
        return edn_list(r->a, v.u.items, v.n, out);
    case CBOR_TAG_CHAR:
        if (v.type != EDN_INT || v.u.i < 0 || v.u.i > 0x10FFFF)
            return cbor_err(r, at, "char tag expects a code point 0..0x10FFFF");
        *out = edn_char((uint32_t)v.u.i);
        return 0;
    case CBOR_TAG_OBJECT: {
        if (v.type != EDN_VECTOR || v.n != 2 ||
            v.u.items[0].type != EDN_STRING || v.u.items[0].n == 0)
            return cbor_err(r, at, "tag 27 (tagged value) expects [\"tag\", "
                                   "value]");
        const edn_sym *sym = edn_intern_full(v.u.items[0].u.s,
                                             v.u.items[0].n);
        if (!sym) return dl_err_last()->code;
        return edn_tagged(r->a, sym, &v.u.items[1], out);
    }
    case CBOR_TAG_SELF_DESCRIBE:
        *out = v;
        return 0;
    default:
        return cbor_err(r, at, "unsupported CBOR tag %llu",
                        (unsigned long long)tag);
    }
}

static int cbor_item(cbor_reader *r, edn_value *out) {
    size_t at = cbor_off(r, r->p);
    int major, indef, rc;
    uint64_t val;
    size_t count, base;

    if (++r->depth > r->max_depth)
        return dl_err_set_pos(DATALITH_ELIMIT, 0, 0, (long)at,
                              "CBOR nested deeper than %zu levels at byte %zu",
                              r->max_depth, at);
    if ((rc = cbor_head(r, &major, &val, &indef))) return rc;
    switch (major) {
    case CB_UINT:
    case CB_NINT:
        if (indef)
            return cbor_err(r, at, "integer with indefinite length");
        if (val <= (uint64_t)INT64_MAX) {
            *out = edn_int(major == CB_UINT ? (int64_t)val : -1 - (int64_t)val);
        } else {
            uint8_t mag[8];
            for (int i = 0; i < 8; i++) mag[i] = (uint8_t)(val >> (56 - 8 * i));
            if ((rc = cbor_bigint(r, at, mag, 8, major == CB_NINT, out)))
                return rc;
        }
        break;
    case CB_BYTES:
    case CB_TEXT:
        if ((rc = cbor_string(r, at, major, val, indef, out))) return rc;
        break;
    case CB_ARRAY:
    case CB_MAP:
        base = cbor_stack_count(r);
        if ((rc = cbor_elems(r, at, val, indef, major == CB_MAP, &count)))
            return rc;
        if (major == CB_ARRAY)
            rc = edn_vector(r->a, cbor_stack_at(r, base), count, out);
        else
            rc = edn_map(r->a, cbor_stack_at(r, base), count / 2, out);
        r->stack.len = base * sizeof(edn_value);
        if (rc) return cbor_ctor_err(r, at, rc);
        break;
    case CB_TAG:
        if (indef) return cbor_err(r, at, "tag with indefinite length");
        if ((rc = cbor_tagged(r, at, val, out))) return rc;
        break;
    default: { /* CB_SIMPLE */
        unsigned ai = r->start[at] & 31;
        if (indef) return cbor_err(r, at, "unexpected break");
        if (ai == 20 || ai == 21) *out = edn_bool(ai == 21);
        else if (ai == 22) *out = edn_nil();
        else if (ai == 25) *out = edn_float(cbor_half((uint16_t)val));
        else if (ai == 26) {
            uint32_t w = (uint32_t)val;
            float f;
            memcpy(&f, &w, 4);
            *out = edn_float((double)f);
        } else if (ai == 27) {
            double d;
            memcpy(&d, &val, 8);
            *out = edn_float(d);
        } else if (ai == 23) {
            return cbor_err(r, at, "undefined is not supported");
        } else {
            return cbor_err(r, at, "unsupported simple value %llu",
                            (unsigned long long)val);
        }
    }
    }
    r->depth--;
    return 0;
}

int cbor_read(dl_arena *a, const uint8_t *bytes, size_t len,
              const edn_codec_opts *opts, edn_value *out) {
    cbor_reader r;
    size_t max_bytes = opts && opts->max_bytes ? opts->max_bytes
                                               : CBOR_DEFAULT_MAX_BYTES;
    edn_value v;
    int rc;
    if (!a || (!bytes && len) || !out)
        return dl_err_set(DATALITH_EINVAL, "cbor_read: NULL argument");
    if (len > max_bytes)
        return dl_err_set(DATALITH_ELIMIT, "CBOR input of %zu bytes exceeds "
                                           "the limit of %zu bytes",
                          len, max_bytes);
    memset(&r, 0, sizeof r);
    r.a = a;
    r.start = r.p = bytes ? bytes : (const uint8_t *)"";
    r.end = r.start + len;
    r.max_depth = opts && opts->max_depth ? opts->max_depth
                                          : CBOR_DEFAULT_DEPTH;
    if (r.max_depth > CBOR_DEPTH_CAP) r.max_depth = CBOR_DEPTH_CAP;
    rc = cbor_item(&r, &v);
    if (!rc && r.p < r.end)
        rc = cbor_err(&r, cbor_off(&r, r.p), "trailing bytes after the CBOR "
                                             "item");
    dl_buf_free(&r.stack);
    dl_buf_free(&r.scratch);
    if (!rc) *out = v;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

static int cbor_put_head(dl_buf *b, int major, uint64_t v) {
    uint8_t h[9];
    size_t n;
    uint8_t mt = (uint8_t)(major << 5);
    if (v < 24) {
        h[0] = mt | (uint8_t)v;
        n = 1;
    } else if (v <= 0xFF) {
        h[0] = mt | 24, h[1] = (uint8_t)v;
        n = 2;
    } else if (v <= 0xFFFF) {
        h[0] = mt | 25, h[1] = (uint8_t)(v >> 8), h[2] = (uint8_t)v;
        n = 3;
    } else if (v <= 0xFFFFFFFFu) {
        h[0] = mt | 26;
        for (int i = 0; i < 4; i++) h[1 + i] = (uint8_t)(v >> (24 - 8 * i));
        n = 5;
    } else {
        h[0] = mt | 27;
        for (int i = 0; i < 8; i++) h[1 + i] = (uint8_t)(v >> (56 - 8 * i));
        n = 9;
    }
    return dl_buf_append(b, h, n);
}

static int cbor_put_int(dl_buf *b, int64_t i) {
    if (i >= 0) return cbor_put_head(b, CB_UINT, (uint64_t)i);
    return cbor_put_head(b, CB_NINT, ~(uint64_t)i);
}

/* Write digits d[0..nd) (no sign, no leading zeros needed) as an int when it
** fits int64, else as a tag 2/3 bignum; `force_big` always uses the tag. */
static int cbor_put_integer_text(dl_buf *b, int neg, const char *d, size_t nd,
                                 int force_big) {
    while (nd > 1 && d[0] == '0') d++, nd--;
    if (nd == 1 && d[0] == '0') neg = 0;
    if (!force_big && nd <= 19) {
        uint64_t mag = 0;
        for (size_t i = 0; i < nd; i++) mag = mag * 10 + (unsigned)(d[i] - '0');
        if (!neg && mag <= (uint64_t)INT64_MAX)
            return cbor_put_head(b, CB_UINT, mag);
        if (neg && mag <= (uint64_t)INT64_MAX + 1)
            return cbor_put_head(b, CB_NINT, mag - 1);
    }
    /* A 16 KiB magnitude has at most 39 457 digits: 3 per byte bounds it. */
    if (nd > (size_t)CBOR_BIGNUM_MAX_BYTES * 3)
        return dl_err_set(DATALITH_ELIMIT, "integer of %zu digits is too large "
                                           "for a CBOR bignum", nd);
    uint8_t *mag;
    size_t mn;
    int rc = cbor_dec_to_mag(d, nd, neg, &mag, &mn);
    if (rc) return rc;
    if (mn > CBOR_BIGNUM_MAX_BYTES) {
        free(mag);
        return dl_err_set(DATALITH_ELIMIT, "integer of %zu digits is too "
                                           "large for a CBOR bignum", nd);
    }
    rc = cbor_put_head(b, CB_TAG, neg ? CBOR_TAG_BIGNUM_NEG : CBOR_TAG_BIGNUM_POS);
    if (!rc) rc = cbor_put_head(b, CB_BYTES, mn);
    if (!rc) rc = dl_buf_append(b, mag, mn);
    free(mag);
    return rc;
}

static int cbor_put_bigint(dl_buf *b, const edn_value *v) {
    const char *s = v->u.s;
    size_t n = v->n;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) neg = s[0] == '-', s++, n--;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') n = 0;
    if (n == 0)
        return dl_err_set(DATALITH_EINVAL, "malformed bigint text \"%.*s\"",
                          (int)(v->n > 64 ? 64 : v->n), v->u.s);
    return cbor_put_integer_text(b, neg, s, n, 1);
}

/* bigdec text [-+]?digits[.digits][eE[-+]?digits] → tag 4 [exp, mantissa]. */
static int cbor_put_bigdec(dl_buf *b, const edn_value *v) {
    const char *s = v->u.s, *end = s + v->n, *ip, *fp = NULL;
    size_t in = 0, fn = 0;
    int neg = 0, rc;
    int64_t e = 0;
    if (s < end && (*s == '-' || *s == '+')) neg = *s++ == '-';
    ip = s;
    while (s < end && *s >= '0' && *s <= '9') s++, in++;
    if (s < end && *s == '.') {
        fp = ++s;
        while (s < end && *s >= '0' && *s <= '9') s++, fn++;
    }
    if (in + fn == 0) goto bad;
    if (s < end && (*s == 'e' || *s == 'E')) {
        int eneg = 0;
        s++;
        if (s < end && (*s == '-' || *s == '+')) eneg = *s++ == '-';
        if (s >= end) goto bad;
        while (s < end && *s >= '0' && *s <= '9') {
            e = e * 10 + (*s++ - '0');
            if (e > (int64_t)1 << 53)
                return dl_err_set(DATALITH_ELIMIT, "bigdec exponent too large");
        }
        if (eneg) e = -e;
    }
    if (s != end) goto bad;
    e -= (int64_t)fn;
    /* The mantissa digits are the integer digits followed by the fraction. */
    char *dig = malloc(in + fn + 1);
    if (!dig) return dl_err_nomem();
    memcpy(dig, ip, in);
    if (fn) memcpy(dig + in, fp, fn);
    rc = cbor_put_head(b, CB_TAG, CBOR_TAG_DECIMAL);
    if (!rc) rc = cbor_put_head(b, CB_ARRAY, 2);
    if (!rc) rc = cbor_put_int(b, e);
    if (!rc) rc = cbor_put_integer_text(b, neg, dig, in + fn, 0);
    free(dig);
    return rc;
bad:
    return dl_err_set(DATALITH_EINVAL, "malformed bigdec text \"%.*s\"",
                      (int)(v->n > 64 ? 64 : v->n), v->u.s);
}

static int cbor_put_text(dl_buf *b, const char *s, size_t n) {
    size_t bad = cbor_utf8_check((const unsigned char *)s, n);
    if (bad != n)
        return dl_err_set(DATALITH_EINVAL, "cannot write a string that is not "
                                           "valid UTF-8 as CBOR text (byte "
                                           "%zu)", bad);
    int rc = cbor_put_head(b, CB_TEXT, n);
    return rc ? rc : dl_buf_append(b, s, n);
}

static int cbor_write_v(dl_buf *b, const edn_value *v, size_t depth) {
    int rc;
    if (depth > CBOR_DEPTH_CAP)
        return dl_err_set(DATALITH_ELIMIT, "value nested deeper than %d "
                                           "levels cannot be written as CBOR",
                          CBOR_DEPTH_CAP);
    switch ((edn_type)v->type) {
    case EDN_NIL: return dl_buf_putc(b, (char)0xF6);
    case EDN_BOOL: return dl_buf_putc(b, (char)(v->u.b ? 0xF5 : 0xF4));
    case EDN_INT: return cbor_put_int(b, v->u.i);
    case EDN_BIGINT: return cbor_put_bigint(b, v);
    case EDN_FLOAT: {
        uint8_t h[9];
        uint64_t w;
        memcpy(&w, &v->u.d, 8);
        h[0] = 0xFB;
        for (int i = 0; i < 8; i++) h[1 + i] = (uint8_t)(w >> (56 - 8 * i));
        return dl_buf_append(b, h, 9);
    }
    case EDN_BIGDEC: return cbor_put_bigdec(b, v);
    case EDN_STRING: return cbor_put_text(b, v->u.s, v->n);
    case EDN_CHAR:
        rc = cbor_put_head(b, CB_TAG, CBOR_TAG_CHAR);
        return rc ? rc : cbor_put_head(b, CB_UINT, v->u.ch);
    case EDN_KEYWORD:
        rc = cbor_put_head(b, CB_TAG, CBOR_TAG_IDENT);
        if (!rc) rc = cbor_put_head(b, CB_TEXT, (uint64_t)v->u.sym->full_len + 1);
        if (!rc) rc = dl_buf_putc(b, ':');
        if (!rc) rc = dl_buf_append(b, v->u.sym->full, v->u.sym->full_len);
        return rc;
    case EDN_SYMBOL:
        rc = cbor_put_head(b, CB_TAG, CBOR_TAG_IDENT);
        return rc ? rc : cbor_put_text(b, v->u.sym->full, v->u.sym->full_len);
    case EDN_UUID:
        rc = cbor_put_head(b, CB_TAG, CBOR_TAG_UUID);
        if (!rc) rc = cbor_put_head(b, CB_BYTES, 16);
        return rc ? rc : dl_buf_append(b, v->u.uuid, 16);
    case EDN_INST: {
        int64_t ms = v->u.ms, s = ms / 1000, f = ms % 1000;
        if (f < 0) s -= 1, f += 1000;
        if (f == 0) {
            rc = cbor_put_head(b, CB_TAG, CBOR_TAG_DATETIME_EPOCH);
            return rc ? rc : cbor_put_int(b, s);
        }
        rc = cbor_put_head(b, CB_TAG, CBOR_TAG_EXT_TIME);
        if (!rc) rc = cbor_put_head(b, CB_MAP, 2);
        if (!rc) rc = cbor_put_int(b, 1);
        if (!rc) rc = cbor_put_int(b, s);
        if (!rc) rc = cbor_put_int(b, -3);
        if (!rc) rc = cbor_put_int(b, f);
        return rc;
    }
    case EDN_BYTES:
        rc = cbor_put_head(b, CB_BYTES, v->n);
        return rc ? rc : dl_buf_append(b, v->u.s, v->n);
    case EDN_LIST:
    case EDN_VECTOR:
    case EDN_SET:
        rc = 0;
        if (v->type == EDN_LIST) rc = cbor_put_head(b, CB_TAG, CBOR_TAG_LIST);
        if (v->type == EDN_SET) rc = cbor_put_head(b, CB_TAG, CBOR_TAG_SET);
        if (!rc) rc = cbor_put_head(b, CB_ARRAY, v->n);
        for (uint32_t i = 0; !rc && i < v->n; i++)
            rc = cbor_write_v(b, &v->u.items[i], depth + 1);
        return rc;
    case EDN_MAP:
        rc = cbor_put_head(b, CB_MAP, v->n);
        for (uint32_t i = 0; !rc && i < 2 * v->n; i++)
            rc = cbor_write_v(b, &v->u.items[i], depth + 1);
        return rc;
    case EDN_TAGGED:
        rc = cbor_put_head(b, CB_TAG, CBOR_TAG_OBJECT);
        if (!rc) rc = cbor_put_head(b, CB_ARRAY, 2);
        if (!rc) rc = cbor_put_text(b, v->u.tagged.tag->full,
                                    v->u.tagged.tag->full_len);
        if (!rc) rc = cbor_write_v(b, v->u.tagged.val, depth + 1);
        return rc;
    default:
        return dl_err_set(DATALITH_EINVAL, "cannot write a value of unknown "
                                           "type %d as CBOR", v->type);
    }
}

int cbor_write(dl_buf *b, const edn_value *v) {
    size_t mark;
    int rc;
    if (!b || !v) return dl_err_set(DATALITH_EINVAL, "cbor_write: NULL argument");
    mark = b->len;
    rc = cbor_write_v(b, v, 0);
    if (rc) {
        b->len = mark;
        if (b->data && b->len < b->cap) b->data[b->len] = 0;
    }
    return rc;
}
