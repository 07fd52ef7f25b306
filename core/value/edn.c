/*
** edn.c — the EDN reader and the canonical EDN writer (contract in value.h,
** dialect in docs/values.md).
**
** The reader is an explicit-stack machine, so nesting depth costs arena
** memory, never C stack: 100 000 '[' is an ELIMIT error, not a crash.
**
**   frames  [ VEC@0 | MAP@5 | TAG#inst@9 ]     open forms, innermost last
**   values  [ 1 2 | :a "x" | ]                  items read so far; a frame's
**                 ^base(VEC) ^base(MAP)           items are values[base..top)
**
** A scalar (or a just-closed collection) is "emitted" to the innermost
** frame: a collection appends it, #_ drops it, ^meta swallows the meta and
** then passes the next value through, a #tag frame converts it and emits
** the result further out.  Both stacks live in the caller's arena.
**
** Positions in errors are 1-based line and column (columns count UTF-8
** characters) plus the 0-based byte offset of the offending character.
*/
#include "value.h"
#include "util/utf8.h"
#include "util/error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define EDN_DEFAULT_DEPTH 512
#define EDN_DEFAULT_BYTES ((size_t)256 << 20)
/* Radix and hex literals too big for int64 are converted digit by digit. */
#define EDN_MAX_RADIX_DIGITS 4096

/* ------------------------------------------------------------------ */
/* reader state                                                        */
/* ------------------------------------------------------------------ */

enum { F_LIST, F_VEC, F_MAP, F_SET, F_DISCARD, F_META, F_TAG };

typedef struct rd_frame {
    uint8_t kind;
    uint8_t state;       /* F_META: 0 awaiting meta, 1 awaiting target */
    size_t base;         /* first item in values[] (collections) */
    size_t off;          /* offset of the opening character */
    size_t aux, aux_len; /* F_TAG: tag text; F_MAP: #:ns prefix (len 0 = none) */
} rd_frame;

typedef struct rd {
    dl_arena *a;
    const char *s;
    size_t n, i;
    size_t max_depth;
    edn_value *vs;
    size_t vn, vcap;
    rd_frame *fs;
    size_t fn, fcap;
} rd;

static void rd_linecol(const char *s, size_t off, long *line, long *col) {
    long l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (s[i] == '\n') l++, c = 1;
        else if (((unsigned char)s[i] & 0xC0) != 0x80) c++;
    }
    *line = l;
    *col = c;
}

DL_PRINTF(4, 5)
static int rd_err(const rd *r, int code, size_t off, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    long line, col;
    if (off > r->n) off = r->n;
    rd_linecol(r->s, off, &line, &col);
    return dl_err_set_pos(code, line, col, (long)off, "%s", msg);
}

/* Re-raise the current error (from a constructor) as a parse error at off. */
static int rd_rethrow(const rd *r, size_t off) {
    const datalith_error *e = dl_err_last();
    int code = e->code == DATALITH_EINVAL ? DATALITH_EPARSE : e->code;
    if (code == DATALITH_ENOMEM) return code;
    char msg[DL_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", e->message);
    return rd_err(r, code, off, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* characters                                                          */
/* ------------------------------------------------------------------ */

static inline bool is_ws(unsigned char c) {
    return c == ' ' || c == ',' || c == '\n' || c == '\t' || c == '\r' ||
           c == '\f' || c == '\v';
}

/* Characters that end a token. */
static inline bool is_delim(unsigned char c) {
    switch (c) {
    case ' ': case ',': case '\n': case '\t': case '\r': case '\f': case '\v':
    case '"': case ';': case '(': case ')': case '[': case ']': case '{':
    case '}': case '\\': case '^': case '@': case '`': case '~':
        return true;
    default:
        return false;
    }
}

static inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode the UTF-8 character at str[i..n); its length, or 0 if malformed. */
static size_t utf8_dec(const char *str, size_t n, size_t i, uint32_t *cp) {
    return dl_utf8_decode((const unsigned char *)str + i, n - i, cp);
}

/* Skip whitespace, commas and ; comments. */
static void rd_skip(rd *r) {
    while (r->i < r->n) {
        unsigned char c = (unsigned char)r->s[r->i];
        if (is_ws(c)) {
            r->i++;
        } else if (c == ';') {
            while (r->i < r->n && r->s[r->i] != '\n') r->i++;
        } else {
            break;
        }
    }
}

static size_t rd_token_end(const rd *r, size_t i) {
    while (i < r->n && !is_delim((unsigned char)r->s[i])) i++;
    return i;
}

/* ------------------------------------------------------------------ */
/* strings and characters                                              */
/* ------------------------------------------------------------------ */

static int rd_hex4(const rd *r, size_t i, uint32_t *out) {
    if (i + 4 > r->n) return -1;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval((unsigned char)r->s[i + k]);
        if (h < 0) return -1;
        v = v * 16 + (uint32_t)h;
    }
    *out = v;
    return 0;
}

/* r->i at the opening quote. */
static int rd_string(rd *r, edn_value *out) {
    size_t start = r->i, i = start + 1, end = i;
    bool esc = false;
    while (end < r->n && r->s[end] != '"') {
        if (r->s[end] == '\\') {
            esc = true;
            end++;
        }
        end++;
    }
    if (end >= r->n)
        return rd_err(r, DATALITH_EPARSE, start, "unterminated string");
    size_t raw = end - i;
    if (raw > UINT32_MAX - 1)
        return rd_err(r, DATALITH_ELIMIT, start, "string too long");
    char *o = dl_arena_alloc(r->a, raw + 1);
    if (!o) return dl_err_last()->code;
    size_t on = 0;
    if (!esc) {
        /* validate and copy */
        size_t k = i;
        while (k < end) {
            if ((unsigned char)r->s[k] < 0x80) { k++; continue; }
            uint32_t cp;
            size_t l = utf8_dec(r->s, end, k, &cp);
            if (!l) return rd_err(r, DATALITH_EPARSE, k, "invalid UTF-8 in string");
            k += l;
        }
        memcpy(o, r->s + i, raw);
        on = raw;
    } else {
        size_t k = i;
        while (k < end) {
            unsigned char c = (unsigned char)r->s[k];
            if (c >= 0x80) {
                uint32_t cp;
                size_t l = utf8_dec(r->s, end, k, &cp);
                if (!l) return rd_err(r, DATALITH_EPARSE, k, "invalid UTF-8 in string");
                memcpy(o + on, r->s + k, l);
                on += l;
                k += l;
                continue;
            }
            if (c != '\\') {
                o[on++] = (char)c;
                k++;
                continue;
            }
            size_t eo = k; /* the backslash */
            unsigned char e = (unsigned char)r->s[k + 1];
            k += 2;
            switch (e) {
            case 't': o[on++] = '\t'; break;
            case 'r': o[on++] = '\r'; break;
            case 'n': o[on++] = '\n'; break;
            case 'b': o[on++] = '\b'; break;
            case 'f': o[on++] = '\f'; break;
            case '\\': o[on++] = '\\'; break;
            case '"': o[on++] = '"'; break;
            case '\'': o[on++] = '\''; break;
            case 'u': {
                uint32_t cp;
                if (k + 4 > end || rd_hex4(r, k, &cp) != 0)
                    return rd_err(r, DATALITH_EPARSE, eo,
                                  "invalid unicode escape: \\u needs 4 hex digits");
                k += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (k + 6 <= end && r->s[k] == '\\' && r->s[k + 1] == 'u' &&
                        rd_hex4(r, k + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        k += 6;
                    } else {
                        return rd_err(r, DATALITH_EPARSE, eo,
                                      "unpaired surrogate \\u%04X in string", cp);
                    }
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return rd_err(r, DATALITH_EPARSE, eo,
                                  "unpaired surrogate \\u%04X in string", cp);
                }
                on += dl_utf8_encode(cp, o + on);
                break;
            }
            default:
                if (is_digit(e)) {
                    uint32_t v = (uint32_t)(e - '0');
                    if (e > '7')
                        return rd_err(r, DATALITH_EPARSE, eo,
                                      "invalid digit %c in octal escape", e);
                    for (int d = 1; d < 3 && k < end && is_digit((unsigned char)r->s[k]); d++) {
                        if (r->s[k] > '7')
                            return rd_err(r, DATALITH_EPARSE, eo,
                                          "invalid digit %c in octal escape", r->s[k]);
                        v = v * 8 + (uint32_t)(r->s[k++] - '0');
                    }
                    if (v > 0377)
                        return rd_err(r, DATALITH_EPARSE, eo,
                                      "octal escape must be in range [0, 377]");
                    on += dl_utf8_encode(v, o + on);
                    break;
                }
                if (e >= 0x20 && e < 0x7F)
                    return rd_err(r, DATALITH_EPARSE, eo,
                                  "unsupported escape character \\%c", e);
                return rd_err(r, DATALITH_EPARSE, eo, "unsupported escape character");
            }
        }
    }
    o[on] = '\0';
    *out = edn_nil();
    out->type = EDN_STRING;
    out->n = (uint32_t)on;
    out->u.s = o;
    r->i = end + 1;
    return 0;
}

static const struct {
    const char *name;
    uint32_t cp;
} char_names[] = {{"newline", '\n'},  {"space", ' '},    {"tab", '\t'},
                  {"return", '\r'},   {"backspace", '\b'}, {"formfeed", '\f'}};

/* r->i at the backslash. */
static int rd_char(rd *r, edn_value *out) {
    size_t start = r->i, i = start + 1;
    if (i >= r->n)
        return rd_err(r, DATALITH_EPARSE, start, "end of input in character literal");
    uint32_t cp;
    size_t l = utf8_dec(r->s, r->n, i, &cp);
    if (!l) return rd_err(r, DATALITH_EPARSE, i, "invalid UTF-8 in character literal");
    size_t end = rd_token_end(r, i + l);
    size_t tl = end - i;
    const char *t = r->s + i;
    r->i = end;
    if (tl == l) {
        *out = edn_char(cp);
        return 0;
    }
    for (size_t k = 0; k < sizeof char_names / sizeof char_names[0]; k++) {
        if (strlen(char_names[k].name) == tl && memcmp(char_names[k].name, t, tl) == 0) {
            *out = edn_char(char_names[k].cp);
            return 0;
        }
    }
    if (t[0] == 'u' && tl == 5) {
        uint32_t v;
        if (rd_hex4(r, i + 1, &v) == 0) {
            if (v >= 0xD800 && v <= 0xDFFF)
                return rd_err(r, DATALITH_EPARSE, start,
                              "invalid character constant \\u%04X (a surrogate)", v);
            *out = edn_char(v);
            return 0;
        }
    }
    if (t[0] == 'o' && tl >= 2 && tl <= 4) {
        uint32_t v = 0;
        size_t k;
        for (k = 1; k < tl && t[k] >= '0' && t[k] <= '7'; k++) v = v * 8 + (uint32_t)(t[k] - '0');
        if (k == tl) {
            if (v > 0377)
                return rd_err(r, DATALITH_EPARSE, start,
                              "octal escape must be in range [0, 377]");
            *out = edn_char(v);
            return 0;
        }
    }
    return rd_err(r, DATALITH_EPARSE, start, "unsupported character \\%.*s",
                  (int)(tl > 40 ? 40 : tl), t);
}

/* ------------------------------------------------------------------ */
/* numbers                                                             */
/* ------------------------------------------------------------------ */

/* Convert digits in base `radix` (validated) to a bigint value. */
static int rd_radix_big(rd *r, bool neg, const char *d, size_t nd, int radix,
                        size_t off, edn_value *out) {
    if (nd > EDN_MAX_RADIX_DIGITS)
        return rd_err(r, DATALITH_ELIMIT, off, "number literal too long");
    /* decimal digits, least significant first, in base 1e9 limbs */
    size_t cap = nd + 2;
    uint32_t *limb = dl_arena_alloc(r->a, cap * sizeof *limb);
    if (!limb) return dl_err_last()->code;
    size_t nl = 0;
    for (size_t k = 0; k < nd; k++) {
        int dv = hexval((unsigned char)d[k]);
        if (dv < 0) dv = ((d[k] | 0x20) - 'a') + 10;
        uint64_t carry = (uint64_t)dv;
        for (size_t j = 0; j < nl; j++) {
            uint64_t t = (uint64_t)limb[j] * (uint64_t)radix + carry;
            limb[j] = (uint32_t)(t % 1000000000u);
            carry = t / 1000000000u;
        }
        while (carry) {
            limb[nl++] = (uint32_t)(carry % 1000000000u);
            carry /= 1000000000u;
        }
    }
    char *txt = dl_arena_alloc(r->a, nl * 9 + 3);
    if (!txt) return dl_err_last()->code;
    size_t tn = 0;
    if (neg) txt[tn++] = '-';
    if (nl == 0) txt[tn++] = '0';
    for (size_t j = nl; j-- > 0;) {
        char tmp[10];
        snprintf(tmp, sizeof tmp, j == nl - 1 ? "%u" : "%09u", limb[j]);
        size_t l = strlen(tmp);
        memcpy(txt + tn, tmp, l);
        tn += l;
    }
    int rc = edn_bigint(r->a, txt, tn, out);
    return rc ? rd_rethrow(r, off) : 0;
}

/* Integer in `radix` from digits d[0..nd); bigint on overflow or forced. */
static int rd_int_radix(rd *r, bool neg, const char *d, size_t nd, int radix,
                        bool big, size_t off, edn_value *out) {
    if (nd == 0) return rd_err(r, DATALITH_EPARSE, off, "invalid number");
    uint64_t m = 0;
    bool ovf = false;
    for (size_t k = 0; k < nd; k++) {
        unsigned char c = (unsigned char)d[k];
        int v = is_digit(c) ? c - '0'
              : (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (c | 0x20) - 'a' + 10 : 99;
        if (v >= radix)
            return rd_err(r, DATALITH_EPARSE, off, "invalid digit '%c' in base-%d number",
                          c, radix);
        if (!ovf) {
            if (m > (UINT64_MAX - (uint64_t)v) / (uint64_t)radix) ovf = true;
            else m = m * (uint64_t)radix + (uint64_t)v;
        }
    }
    if (!ovf && (neg ? m <= (uint64_t)INT64_MAX + 1 : m <= (uint64_t)INT64_MAX)) {
        int64_t v = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m)
                        : (int64_t)m;
        if (!big) {
            *out = edn_int(v);
            return 0;
        }
        char tmp[24];
        int l = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
        int rc = edn_bigint(r->a, tmp, (size_t)l, out);
        return rc ? rd_rethrow(r, off) : 0;
    }
    if (radix == 10) {
        char *txt = dl_arena_alloc(r->a, nd + 2);
        if (!txt) return dl_err_last()->code;
        txt[0] = '-';
        memcpy(txt + 1, d, nd);
        int rc = neg ? edn_bigint(r->a, txt, nd + 1, out)
                     : edn_bigint(r->a, txt + 1, nd, out);
        return rc ? rd_rethrow(r, off) : 0;
    }
    return rd_radix_big(r, neg, d, nd, radix, off, out);
}

/* r->i at a digit or a sign followed by a digit. */
static int rd_number(rd *r, edn_value *out) {
    size_t start = r->i, end = rd_token_end(r, start);
    const char *t = r->s + start;
    size_t n = end - start, k = 0;
    r->i = end;
    bool neg = false;
    if (t[0] == '+' || t[0] == '-') neg = t[k++] == '-';
    const char *b = t + k;
    size_t bn = n - k;

    /* ratio? */
    const char *slash = memchr(b, '/', bn);
    if (slash) {
        size_t a1 = (size_t)(slash - b), j;
        for (j = 0; j < a1 && is_digit((unsigned char)b[j]); j++) {}
        bool ratio = j == a1 && a1 > 0 && (size_t)(slash - b) + 1 < bn;
        for (j = a1 + 1; ratio && j < bn; j++)
            if (!is_digit((unsigned char)b[j])) ratio = false;
        if (ratio)
            return rd_err(r, DATALITH_EPARSE, start, "ratios are not supported: %.*s",
                          (int)(n > 40 ? 40 : n), t);
        return rd_err(r, DATALITH_EPARSE, start, "invalid number: %.*s",
                      (int)(n > 40 ? 40 : n), t);
    }
    /* hex */
    if (bn >= 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X')) {
        bool big = b[bn - 1] == 'N';
        return rd_int_radix(r, neg, b + 2, bn - 2 - big, 16, big, start, out);
    }
    /* radix NNrDIGITS */
    {
        size_t j = 0;
        while (j < bn && j < 3 && is_digit((unsigned char)b[j])) j++;
        if (j > 0 && j <= 2 && j < bn && (b[j] == 'r' || b[j] == 'R')) {
            int radix;
            if (j == 2) radix = (b[0] - '0') * 10 + (b[1] - '0');
            else radix = b[0] - '0';
            if (radix < 2 || radix > 36)
                return rd_err(r, DATALITH_EPARSE, start, "radix out of range: %d", radix);
            return rd_int_radix(r, neg, b + j + 1, bn - j - 1, radix, false, start, out);
        }
    }
    /* decimal integer / octal / float */
    size_t j = 0;
    while (j < bn && is_digit((unsigned char)b[j])) j++;
    size_t intd = j;
    if (j == bn || (j == bn - 1 && b[j] == 'N')) {
        bool big = j != bn;
        if (intd > 1 && b[0] == '0')  /* Clojure: leading zero means octal */
            return rd_int_radix(r, neg, b + 1, intd - 1, 8, big, start, out);
        return rd_int_radix(r, neg, b, intd, 10, big, start, out);
    }
    bool isfloat = false;
    if (j < bn && b[j] == '.') {
        isfloat = true;
        j++;
        while (j < bn && is_digit((unsigned char)b[j])) j++;
    }
    if (j < bn && (b[j] == 'e' || b[j] == 'E')) {
        isfloat = true;
        j++;
        if (j < bn && (b[j] == '+' || b[j] == '-')) j++;
        size_t ed = j;
        while (j < bn && is_digit((unsigned char)b[j])) j++;
        if (j == ed) j = bn + 1; /* no exponent digits: invalid */
    }
    bool bigdec = j == bn - 1 && b[j] == 'M';
    if (bigdec) isfloat = true;
    if (!isfloat || (j != bn && !bigdec))
        return rd_err(r, DATALITH_EPARSE, start, "invalid number: %.*s",
                      (int)(n > 40 ? 40 : n), t);
    size_t tn = bigdec ? n - 1 : n;
    if (bigdec) {
        int rc = edn_bigdec(r->a, t, tn, out);
        if (rc) return rd_err(r, DATALITH_EPARSE, start, "invalid bigdec: %.*s",
                              (int)(n > 40 ? 40 : n), t);
        return 0;
    }
    char small[64];
    char *z = tn < sizeof small ? small : dl_arena_alloc(r->a, tn + 1);
    if (!z) return dl_err_last()->code;
    memcpy(z, t, tn);
    z[tn] = '\0';
    *out = edn_float(strtod(z, NULL));
    return 0;
}

/* ------------------------------------------------------------------ */
/* symbols and keywords                                                */
/* ------------------------------------------------------------------ */

/* Validate a symbol/keyword body t[0..n) and intern it.  `what` names it
** in errors. */
static int rd_sym(rd *r, const char *t, size_t n, size_t off, const char *what,
                  const edn_sym **out) {
    if (n == 0) return rd_err(r, DATALITH_EPARSE, off, "empty %s", what);
    const char *slash = NULL;
    for (size_t k = 0; k < n;) {
        unsigned char c = (unsigned char)t[k];
        if (c >= 0x80) {
            uint32_t cp;
            size_t l = utf8_dec(t, n, k, &cp);
            if (!l) return rd_err(r, DATALITH_EPARSE, off + k, "invalid UTF-8 in %s", what);
            k += l;
            continue;
        }
        if (c < 0x21 || c == 0x7F)
            return rd_err(r, DATALITH_EPARSE, off + k, "invalid character in %s", what);
        if (c == '/') {
            if (slash && n != 1)
                return rd_err(r, DATALITH_EPARSE, off, "invalid %s %.*s (more than one '/')",
                              what, (int)(n > 60 ? 60 : n), t);
            slash = t + k;
        }
        k++;
    }
    bool dcolon = false;
    for (size_t k = 1; k + 1 < n && !dcolon; k++) dcolon = t[k] == ':' && t[k + 1] == ':';
    if (t[n - 1] == ':' || dcolon)
        return rd_err(r, DATALITH_EPARSE, off, "invalid %s %.*s", what,
                      (int)(n > 60 ? 60 : n), t);
    const edn_sym *s;
    if (n == 1 || !slash) {
        s = edn_intern(NULL, 0, t, n);
    } else {
        size_t nl = (size_t)(slash - t);
        if (nl == 0 || nl == n - 1)
            return rd_err(r, DATALITH_EPARSE, off, "invalid %s %.*s", what,
                          (int)(n > 60 ? 60 : n), t);
        if (slash[1] == ':') /* :a/:b is not a keyword (nor a/:b a symbol) */
            return rd_err(r, DATALITH_EPARSE, off, "invalid %s %.*s", what,
                          (int)(n > 60 ? 60 : n), t);
        if (is_digit((unsigned char)slash[1]) && what[0] == 's')
            return rd_err(r, DATALITH_EPARSE, off, "invalid %s %.*s", what,
                          (int)(n > 60 ? 60 : n), t);
        s = edn_intern(t, nl, slash + 1, n - nl - 1);
    }
    if (!s) return dl_err_last()->code;
    *out = s;
    return 0;
}

static int rd_keyword(rd *r, edn_value *out) {
    size_t start = r->i, end = rd_token_end(r, start + 1);
    r->i = end;
    if (end - start >= 2 && r->s[start + 1] == ':')
        return rd_err(r, DATALITH_EPARSE, start, "auto-resolved keywords are not supported");
    if (end - start == 1) return rd_err(r, DATALITH_EPARSE, start, "empty keyword");
    const edn_sym *s;
    int rc = rd_sym(r, r->s + start + 1, end - start - 1, start, "keyword", &s);
    if (rc) return rc;
    *out = edn_keyword(s);
    return 0;
}

static int rd_symbol(rd *r, edn_value *out) {
    size_t start = r->i, end = rd_token_end(r, start);
    const char *t = r->s + start;
    size_t n = end - start;
    r->i = end;
    if (n == 3 && memcmp(t, "nil", 3) == 0) { *out = edn_nil(); return 0; }
    if (n == 4 && memcmp(t, "true", 4) == 0) { *out = edn_bool(true); return 0; }
    if (n == 5 && memcmp(t, "false", 5) == 0) { *out = edn_bool(false); return 0; }
    if (n == 0) {
        unsigned char c = (unsigned char)r->s[start];
        r->i = start + 1;
        if (c >= 0x21 && c < 0x7F)
            return rd_err(r, DATALITH_EPARSE, start, "unexpected character '%c'", c);
        return rd_err(r, DATALITH_EPARSE, start, "unexpected character");
    }
    if (t[0] == ':' || t[0] == '#')
        return rd_err(r, DATALITH_EPARSE, start, "invalid symbol");
    const edn_sym *s;
    int rc = rd_sym(r, t, n, start, "symbol", &s);
    if (rc) return rc;
    *out = edn_symbol(s);
    return 0;
}

/* ------------------------------------------------------------------ */
/* #uuid #inst #bytes                                                   */
/* ------------------------------------------------------------------ */

static bool parse_uuid(const char *s, size_t n, uint8_t out[16]) {
    static const size_t dash[4] = {8, 13, 18, 23};
    if (n != 36) return false;
    size_t o = 0, di = 0;
    for (size_t k = 0; k < 36;) {
        if (di < 4 && k == dash[di]) {
            if (s[k] != '-') return false;
            di++, k++;
            continue;
        }
        int h1 = hexval((unsigned char)s[k]), h2 = k + 1 < 36 ? hexval((unsigned char)s[k + 1]) : -1;
        if (h1 < 0 || h2 < 0 || (di < 4 && k + 1 == dash[di])) return false;
        out[o++] = (uint8_t)(h1 * 16 + h2);
        k += 2;
    }
    return o == 16;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int ndigits(const char *s, size_t n, size_t at, size_t cnt, int *out) {
    if (at + cnt > n) return -1;
    int v = 0;
    for (size_t k = 0; k < cnt; k++) {
        if (!is_digit((unsigned char)s[at + k])) return -1;
        v = v * 10 + (s[at + k] - '0');
    }
    *out = v;
    return 0;
}

/* RFC 3339 subset (as Clojure's #inst):
**   yyyy[-mm[-dd[Thh[:mm[:ss[.fff…]]]]]][Z|±hh:mm]
** Returns NULL or a static message naming what is wrong. */
static const char *parse_inst(const char *s, size_t n, int64_t *ms) {
    int y, mo = 1, d = 1, h = 0, mi = 0, se = 0, frac = 0, oh = 0, om = 0, sign = 0;
    size_t k = 0;
    if (ndigits(s, n, 0, 4, &y)) return "expected a four-digit year";
    k = 4;
    if (k < n && s[k] == '-') {
        if (ndigits(s, n, k + 1, 2, &mo)) return "expected a two-digit month";
        k += 3;
        if (k < n && s[k] == '-') {
            if (ndigits(s, n, k + 1, 2, &d)) return "expected a two-digit day";
            k += 3;
            if (k < n && s[k] == 'T') {
                if (ndigits(s, n, k + 1, 2, &h)) return "expected a two-digit hour";
                k += 3;
                if (k < n && s[k] == ':') {
                    if (ndigits(s, n, k + 1, 2, &mi)) return "expected two-digit minutes";
                    k += 3;
                    if (k < n && s[k] == ':') {
                        if (ndigits(s, n, k + 1, 2, &se)) return "expected two-digit seconds";
                        k += 3;
                        if (k < n && s[k] == '.') {
                            k++;
                            size_t fd = 0;
                            while (k < n && is_digit((unsigned char)s[k])) {
                                if (fd < 3) frac = frac * 10 + (s[k] - '0');
                                fd++, k++;
                            }
                            if (fd == 0) return "expected digits after '.'";
                            for (; fd < 3; fd++) frac *= 10;
                        }
                    }
                }
            }
        }
    }
    if (k < n && (s[k] == 'Z' || s[k] == 'z')) {
        k++;
    } else if (k < n && (s[k] == '+' || s[k] == '-')) {
        sign = s[k] == '-' ? -1 : 1;
        if (ndigits(s, n, k + 1, 2, &oh) || k + 3 >= n || s[k + 3] != ':' ||
            ndigits(s, n, k + 4, 2, &om))
            return "expected a ±hh:mm offset";
        k += 6;
    }
    if (k != n) return "unexpected characters";
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12) return "month out of range";
    int dim = mdays[mo - 1] + (mo == 2 && is_leap(y));
    if (d < 1 || d > dim) return "day out of range";
    if (h > 23) return "hour out of range";
    if (mi > 59) return "minutes out of range";
    if (se > 59) return "seconds out of range";
    if (oh > 23 || om > 59) return "offset out of range";
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se;
    secs -= (int64_t)sign * (oh * 3600 + om * 60);
    *ms = secs * 1000 + frac;
    return NULL;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 with '=' padding (padding may be omitted). */
static const char *parse_b64(dl_arena *a, const char *s, size_t n, edn_value *out) {
    while (n > 0 && s[n - 1] == '=') n--;
    if (n % 4 == 1) return "bad base64 length";
    uint8_t *o = dl_arena_alloc(a, n / 4 * 3 + 3);
    if (!o) return "";
    size_t on = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t k = 0; k < n; k++) {
        int v = b64val((unsigned char)s[k]);
        if (v < 0) return "invalid base64 character";
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[on++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    *out = edn_nil();
    out->type = EDN_BYTES;
    out->n = (uint32_t)on;
    out->u.s = (const char *)o;
    return NULL;
}

static int rd_apply_tag(rd *r, const rd_frame *f, edn_value *v) {
    const char *tag = r->s + f->aux;
    size_t tl = f->aux_len;
    bool known = (tl == 4 && (memcmp(tag, "uuid", 4) == 0 || memcmp(tag, "inst", 4) == 0)) ||
                 (tl == 5 && memcmp(tag, "bytes", 5) == 0);
    if (known && v->type != EDN_STRING)
        return rd_err(r, DATALITH_EPARSE, f->off, "#%.*s expects a string, got a %s",
                      (int)tl, tag, edn_type_name((edn_type)v->type));
    if (tl == 4 && memcmp(tag, "uuid", 4) == 0) {
        uint8_t u[16];
        if (!parse_uuid(v->u.s, v->n, u))
            return rd_err(r, DATALITH_EPARSE, f->off, "invalid #uuid \"%.*s\"",
                          (int)(v->n > 60 ? 60 : v->n), v->u.s);
        *v = edn_uuid(u);
        return 0;
    }
    if (tl == 4 && memcmp(tag, "inst", 4) == 0) {
        int64_t ms;
        const char *why = parse_inst(v->u.s, v->n, &ms);
        if (why)
            return rd_err(r, DATALITH_EPARSE, f->off, "invalid #inst \"%.*s\": %s",
                          (int)(v->n > 60 ? 60 : v->n), v->u.s, why);
        *v = edn_inst(ms);
        return 0;
    }
    if (tl == 5 && memcmp(tag, "bytes", 5) == 0) {
        edn_value b;
        const char *why = parse_b64(r->a, v->u.s, v->n, &b);
        if (why) {
            if (!*why) return dl_err_last()->code;
            return rd_err(r, DATALITH_EPARSE, f->off, "invalid #bytes: %s", why);
        }
        *v = b;
        return 0;
    }
    const edn_sym *s;
    int rc = rd_sym(r, tag, tl, f->off + 1, "tag", &s);
    if (rc) return rc;
    edn_value t;
    rc = edn_tagged(r->a, s, v, &t);
    if (rc) return rd_rethrow(r, f->off);
    *v = t;
    return 0;
}

/* ------------------------------------------------------------------ */
/* the machine                                                         */
/* ------------------------------------------------------------------ */

static int rd_push_frame(rd *r, int kind, size_t off) {
    if (r->fn >= r->max_depth)
        return rd_err(r, DATALITH_ELIMIT, off, "nesting deeper than %zu", r->max_depth);
    if (r->fn == r->fcap) {
        size_t nc = r->fcap ? r->fcap * 2 : 16;
        rd_frame *nf = dl_arena_alloc(r->a, nc * sizeof *nf);
        if (!nf) return dl_err_last()->code;
        if (r->fn) memcpy(nf, r->fs, r->fn * sizeof *nf);
        r->fs = nf;
        r->fcap = nc;
    }
    rd_frame *f = &r->fs[r->fn++];
    memset(f, 0, sizeof *f);
    f->kind = (uint8_t)kind;
    f->base = r->vn;
    f->off = off;
    return 0;
}

static int rd_push_value(rd *r, const edn_value *v) {
    if (r->vn == r->vcap) {
        size_t nc = r->vcap ? r->vcap * 2 : 64;
        edn_value *nv = dl_arena_alloc(r->a, nc * sizeof *nv);
        if (!nv) return dl_err_last()->code;
        if (r->vn) memcpy(nv, r->vs, r->vn * sizeof *nv);
        r->vs = nv;
        r->vcap = nc;
    }
    r->vs[r->vn++] = *v;
    return 0;
}

static const char *frame_open(const rd_frame *f) {
    switch (f->kind) {
    case F_LIST: return "(";
    case F_VEC: return "[";
    case F_MAP: return "{";
    case F_SET: return "#{";
    case F_DISCARD: return "#_";
    case F_META: return "^";
    default: return "#tag";
    }
}

/* Apply a #:ns prefix to the keys of a namespaced map literal. */
static int rd_ns_keys(rd *r, rd_frame *f, edn_value *kv, size_t n) {
    const char *ns = r->s + f->aux;
    size_t nl = f->aux_len;
    for (size_t k = 0; k < n; k += 2) {
        edn_value *key = &kv[k];
        if (key->type != EDN_KEYWORD && key->type != EDN_SYMBOL) continue;
        const edn_sym *s = key->u.sym, *ns2 = NULL;
        if (s->name_len == 1 && s->name[0] == '/') continue; /* ns// is not EDN */
        if (!s->ns) ns2 = edn_intern(ns, nl, s->name, s->name_len);
        else if (s->ns_len == 1 && s->ns[0] == '_') ns2 = edn_intern(NULL, 0, s->name, s->name_len);
        else continue;
        if (!ns2) return dl_err_last()->code;
        key->u.sym = ns2;
    }
    return 0;
}

/* Close the innermost frame with the character at r->i. */
static int rd_close(rd *r, edn_value *out) {
    size_t off = r->i;
    char c = r->s[off];
    if (r->fn == 0)
        return rd_err(r, DATALITH_EPARSE, off, "unmatched '%c'", c);
    rd_frame *f = &r->fs[r->fn - 1];
    if (f->kind == F_DISCARD || f->kind == F_META || f->kind == F_TAG)
        return rd_err(r, DATALITH_EPARSE, off, "missing value after %s before '%c'",
                      frame_open(f), c);
    char want = f->kind == F_LIST ? ')' : f->kind == F_VEC ? ']' : '}';
    if (c != want) {
        long l, col;
        rd_linecol(r->s, f->off, &l, &col);
        return rd_err(r, DATALITH_EPARSE, off,
                      "mismatched '%c': expected '%c' to close '%s' at line %ld, column %ld",
                      c, want, frame_open(f), l, col);
    }
    edn_value *items = r->vs ? r->vs + f->base : NULL;
    size_t cnt = r->vn - f->base;
    int rc;
    switch (f->kind) {
    case F_LIST: rc = edn_list(r->a, items, cnt, out); break;
    case F_VEC: rc = edn_vector(r->a, items, cnt, out); break;
    case F_SET:
        rc = edn_set(r->a, items, cnt, out);
        if (rc) return rd_rethrow(r, f->off);
        break;
    default:
        if (cnt % 2)
            return rd_err(r, DATALITH_EPARSE, off,
                          "map literal must contain an even number of forms");
        if (f->aux_len && (rc = rd_ns_keys(r, f, items, cnt)) != 0) return rc;
        rc = edn_map(r->a, items, cnt / 2, out);
        if (rc) return rd_rethrow(r, f->off);
        break;
    }
    if (rc) return rd_rethrow(r, f->off);
    r->vn = f->base;
    r->fn--;
    r->i++;
    return 0;
}

/* '#' dispatch.  Returns 1 when a frame was pushed, 0 with *v set when a
** value was read, or an error. */
static int rd_dispatch(rd *r, edn_value *v) {
    size_t start = r->i;
    if (start + 1 >= r->n)
        return rd_err(r, DATALITH_EPARSE, start, "end of input after '#'");
    unsigned char c = (unsigned char)r->s[start + 1];
    int rc;
    if (c == '{') {
        if ((rc = rd_push_frame(r, F_SET, start))) return rc;
        r->i += 2;
        return 1;
    }
    if (c == '_') {
        if ((rc = rd_push_frame(r, F_DISCARD, start))) return rc;
        r->i += 2;
        return 1;
    }
    if (c == '#') {
        size_t end = rd_token_end(r, start + 2);
        const char *t = r->s + start + 2;
        size_t n = end - start - 2;
        r->i = end;
        if (n == 3 && memcmp(t, "Inf", 3) == 0) { *v = edn_float(INFINITY); return 0; }
        if (n == 4 && memcmp(t, "-Inf", 4) == 0) { *v = edn_float(-INFINITY); return 0; }
        if (n == 3 && memcmp(t, "NaN", 3) == 0) { *v = edn_float(NAN); return 0; }
        return rd_err(r, DATALITH_EPARSE, start, "unknown symbolic value ##%.*s",
                      (int)(n > 40 ? 40 : n), t);
    }
    if (c == ':') {
        size_t ns0 = start + 2, end = rd_token_end(r, ns0);
        if (end == ns0 || r->s[ns0] == ':')
            return rd_err(r, DATALITH_EPARSE, start,
                          end == ns0 ? "namespaced map needs a namespace"
                                     : "auto-resolved namespaced maps are not supported");
        const edn_sym *chk;
        if ((rc = rd_sym(r, r->s + ns0, end - ns0, ns0, "namespace", &chk))) return rc;
        /* the namespace must also be valid at the start of a symbol, since
        ** symbol keys get it too (#:3a{b 1} would make an unreadable 3a/b) */
        unsigned char c0 = (unsigned char)r->s[ns0];
        bool numeric = is_digit(c0) || ((c0 == '+' || c0 == '-') && end - ns0 > 1 &&
                                         is_digit((unsigned char)r->s[ns0 + 1]));
        if (numeric || c0 == '#' || memchr(r->s + ns0, '/', end - ns0))
            return rd_err(r, DATALITH_EPARSE, ns0, "invalid namespace in #:ns map");
        r->i = end;
        rd_skip(r);
        if (r->i >= r->n || r->s[r->i] != '{')
            return rd_err(r, DATALITH_EPARSE, r->i, "namespaced map must be followed by '{'");
        if ((rc = rd_push_frame(r, F_MAP, r->i))) return rc;
        r->fs[r->fn - 1].aux = ns0;
        r->fs[r->fn - 1].aux_len = end - ns0;
        r->i++;
        return 1;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) {
        size_t end = rd_token_end(r, start + 1);
        if ((rc = rd_push_frame(r, F_TAG, start))) return rc;
        r->fs[r->fn - 1].aux = start + 1;
        r->fs[r->fn - 1].aux_len = end - start - 1;
        r->i = end;
        return 1;
    }
    if (c >= 0x21 && c < 0x7F)
        return rd_err(r, DATALITH_EPARSE, start, "unsupported dispatch #%c", c);
    return rd_err(r, DATALITH_EPARSE, start, "unsupported dispatch after '#'");
}

static int rd_run(rd *r, bool all, edn_value *out) {
    edn_value result = edn_nil();
    bool have = false;
    int rc;
    for (;;) {
        rd_skip(r);
        if (r->i >= r->n) {
            if (r->fn) {
                const rd_frame *f = &r->fs[r->fn - 1];
                long l, c;
                rd_linecol(r->s, f->off, &l, &c);
                return rd_err(r, DATALITH_EPARSE, r->n,
                              "end of input: '%s' at line %ld, column %ld is not closed",
                              frame_open(f), l, c);
            }
            break;
        }
        if (!all && have && r->fn == 0)
            return rd_err(r, DATALITH_EPARSE, r->i, "unexpected content after the value");
        unsigned char c = (unsigned char)r->s[r->i];
        edn_value v;
        switch (c) {
        case '(': case '[': case '{':
            if ((rc = rd_push_frame(r, c == '(' ? F_LIST : c == '[' ? F_VEC : F_MAP, r->i)))
                return rc;
            r->i++;
            continue;
        case ')': case ']': case '}':
            if ((rc = rd_close(r, &v))) return rc;
            break;
        case '#':
            rc = rd_dispatch(r, &v);
            if (rc < 0) return rc;
            if (rc == 1) continue;
            break;
        case '^':
            if ((rc = rd_push_frame(r, F_META, r->i))) return rc;
            r->i++;
            continue;
        case '"':
            if ((rc = rd_string(r, &v))) return rc;
            break;
        case '\\':
            if ((rc = rd_char(r, &v))) return rc;
            break;
        case ':':
            if ((rc = rd_keyword(r, &v))) return rc;
            break;
        default:
            if (is_digit(c) || ((c == '+' || c == '-') && r->i + 1 < r->n &&
                                is_digit((unsigned char)r->s[r->i + 1]))) {
                if ((rc = rd_number(r, &v))) return rc;
            } else if ((rc = rd_symbol(r, &v))) {
                return rc;
            }
            break;
        }
        /* emit v */
        for (;;) {
            if (r->fn == 0) {
                if (all) {
                    if ((rc = rd_push_value(r, &v))) return rc;
                } else {
                    result = v;
                    have = true;
                }
                break;
            }
            rd_frame *f = &r->fs[r->fn - 1];
            if (f->kind == F_DISCARD) {
                r->fn--;
                break;
            }
            if (f->kind == F_META) {
                if (f->state == 0) {
                    if (v.type != EDN_MAP && v.type != EDN_KEYWORD &&
                        v.type != EDN_SYMBOL && v.type != EDN_STRING)
                        return rd_err(r, DATALITH_EPARSE, f->off,
                                      "metadata must be a map, keyword, symbol or string");
                    f->state = 1;
                    break;
                }
                r->fn--;
                continue;
            }
            if (f->kind == F_TAG) {
                if ((rc = rd_apply_tag(r, f, &v))) return rc;
                r->fn--;
                continue;
            }
            if ((rc = rd_push_value(r, &v))) return rc;
            break;
        }
    }
    if (all) return edn_vector(r->a, r->vs, r->vn, out) ? rd_rethrow(r, 0) : 0;
    if (!have) return rd_err(r, DATALITH_EPARSE, r->n, "end of input: no value");
    *out = result;
    return 0;
}

static int rd_start(dl_arena *a, const char *text, size_t len,
                    const edn_codec_opts *opts, bool all, edn_value *out) {
    rd r;
    memset(&r, 0, sizeof r);
    r.a = a;
    r.s = text;
    r.n = len;
    r.max_depth = opts && opts->max_depth ? opts->max_depth : EDN_DEFAULT_DEPTH;
    size_t max_bytes = opts && opts->max_bytes ? opts->max_bytes : EDN_DEFAULT_BYTES;
    if (len > max_bytes)
        return dl_err_set(DATALITH_ELIMIT, "input of %zu bytes exceeds the limit of %zu bytes",
                          len, max_bytes);
    if (!text && len) return dl_err_set(DATALITH_EINVAL, "NULL text");
    if (!text) r.s = "";
    return rd_run(&r, all, out);
}

int edn_read(dl_arena *a, const char *text, size_t len,
             const edn_codec_opts *opts, edn_value *out) {
    return rd_start(a, text, len, opts, false, out);
}

int edn_read_all(dl_arena *a, const char *text, size_t len,
                 const edn_codec_opts *opts, edn_value *out) {
    return rd_start(a, text, len, opts, true, out);
}

/* ------------------------------------------------------------------ */
/* writer                                                              */
/* ------------------------------------------------------------------ */

/* Shortest round-tripping double in Java's Double.toString layout:
** plain decimal for 1e-3 ≤ |d| < 1e7, else d.dddE±n; always a '.'. */
static void fmt_double(double d, char *out, size_t cap) {
    if (isnan(d)) { snprintf(out, cap, "##NaN"); return; }
    if (isinf(d)) { snprintf(out, cap, d > 0 ? "##Inf" : "##-Inf"); return; }
    if (d == 0) { snprintf(out, cap, signbit(d) ? "-0.0" : "0.0"); return; }
    char buf[48];
    /* Most doubles need 15 digits or fewer (search upward for the shortest)
    ** or exactly 16 or 17; 17 always round-trips. */
    snprintf(buf, sizeof buf, "%.14e", d);
    if (strtod(buf, NULL) == d) {
        for (int p = 1; p <= 15; p++) {
            snprintf(buf, sizeof buf, "%.*e", p - 1, d);
            if (strtod(buf, NULL) == d) break;
        }
    } else {
        snprintf(buf, sizeof buf, "%.15e", d);
        if (strtod(buf, NULL) != d) snprintf(buf, sizeof buf, "%.16e", d);
    }
    /* buf: [-]D[.DDD]e[+-]XX */
    char dig[24];
    size_t nd = 0;
    const char *p = buf;
    bool neg = *p == '-';
    if (neg) p++;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') dig[nd++] = *p;
    int e = atoi(p + 1);
    while (nd > 1 && dig[nd - 1] == '0') nd--;
    dig[nd] = '\0';
    char *o = out;
    size_t left = cap;
#define PUT(c) do { if (left > 1) { *o++ = (c); left--; } } while (0)
    if (neg) PUT('-');
    double ad = fabs(d);
    if (ad >= 1e-3 && ad < 1e7) {
        if (e >= 0) {
            for (int k = 0; k <= e; k++) PUT((size_t)k < nd ? dig[k] : '0');
            PUT('.');
            if ((size_t)e + 1 < nd)
                for (size_t k = (size_t)e + 1; k < nd; k++) PUT(dig[k]);
            else
                PUT('0');
        } else {
            PUT('0');
            PUT('.');
            for (int k = 0; k < -e - 1; k++) PUT('0');
            for (size_t k = 0; k < nd; k++) PUT(dig[k]);
        }
        *o = '\0';
    } else {
        PUT(dig[0]);
        PUT('.');
        if (nd > 1)
            for (size_t k = 1; k < nd; k++) PUT(dig[k]);
        else
            PUT('0');
        *o = '\0';
        size_t used = (size_t)(o - out);
        snprintf(o, cap - used, "E%d", e);
    }
#undef PUT
}

static int wr_hex4(dl_buf *b, uint32_t cp) {
    return dl_buf_printf(b, "\\u%04X", cp);
}

static int wr_string(dl_buf *b, const char *s, size_t n) {
    int rc = dl_buf_putc(b, '"');
    size_t run = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        unsigned char c = (unsigned char)s[k];
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\t': esc = "\\t"; break;
        case '\r': esc = "\\r"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c >= 0x20 && c != 0x7F) continue;
        }
        if (k > run) rc = dl_buf_append(b, s + run, k - run);
        if (!rc) rc = esc ? dl_buf_puts(b, esc) : wr_hex4(b, c);
        run = k + 1;
    }
    if (!rc && n > run) rc = dl_buf_append(b, s + run, n - run);
    if (!rc) rc = dl_buf_putc(b, '"');
    return rc;
}

static int wr_char(dl_buf *b, uint32_t cp) {
    for (size_t k = 0; k < sizeof char_names / sizeof char_names[0]; k++)
        if (char_names[k].cp == cp) return dl_buf_printf(b, "\\%s", char_names[k].name);
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xD800 && cp <= 0xDFFF))
        return wr_hex4(b, cp);
    if (cp > 0x10FFFF)
        return dl_err_set(DATALITH_EINVAL, "character U+%X is out of range", cp);
    char u[5];
    u[0] = '\\';
    size_t l = dl_utf8_encode(cp, u + 1);
    return dl_buf_append(b, u, l + 1);
}

static int wr_inst(dl_buf *b, int64_t ms) {
    int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rem = ms - days * 86400000; /* 0 .. 86399999 */
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    if (y < 0 || y > 9999)
        return dl_err_set(DATALITH_EINVAL, "#inst %lld ms is outside years 0000-9999",
                          (long long)ms);
    /* #inst "YYYY-MM-DDThh:mm:ss.mmm-00:00", formatted by hand: transaction
    ** reports print one or two per call and printf dominated their cost */
    {
        char t[40] = "#inst \"0000-00-00T00:00:00.000-00:00\"";
        unsigned f[7] = {(unsigned)y, mo, d, (unsigned)(rem / 3600000),
                         (unsigned)(rem / 60000 % 60),
                         (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000)};
        static const unsigned char at[7] = {10, 13, 16, 19, 22, 25, 29};
        for (int i = 0; i < 7; i++) {
            unsigned x = f[i];
            for (int k = at[i]; x; k--, x /= 10) t[k] = (char)('0' + x % 10);
        }
        return dl_buf_append(b, t, 37);
    }
}

static int wr_b64(dl_buf *b, const uint8_t *p, size_t n) {
    int rc = dl_buf_puts(b, "#bytes \"");
    if (rc) return rc;
    if ((rc = dl_buf_reserve(b, (n + 2) / 3 * 4 + 2))) return rc;
    for (size_t k = 0; k < n; k += 3) {
        uint32_t v = (uint32_t)p[k] << 16;
        if (k + 1 < n) v |= (uint32_t)p[k + 1] << 8;
        if (k + 2 < n) v |= p[k + 2];
        char q[4] = {b64chars[v >> 18], b64chars[(v >> 12) & 63],
                     k + 1 < n ? b64chars[(v >> 6) & 63] : '=',
                     k + 2 < n ? b64chars[v & 63] : '='};
        if ((rc = dl_buf_append(b, q, 4))) return rc;
    }
    return dl_buf_putc(b, '"');
}

static int wr_items(dl_buf *b, const char *open, const edn_value *it, size_t n,
                    char close) {
    int rc = dl_buf_puts(b, open);
    for (size_t k = 0; k < n && !rc; k++) {
        if (k) rc = dl_buf_putc(b, ' ');
        if (!rc) rc = edn_write(b, &it[k]);
    }
    return rc ? rc : dl_buf_putc(b, close);
}

int edn_write(dl_buf *b, const edn_value *v) {
    char tmp[64];
    switch ((edn_type)v->type) {
    case EDN_NIL: return dl_buf_puts(b, "nil");
    case EDN_BOOL: return dl_buf_puts(b, v->u.b ? "true" : "false");
    case EDN_INT: {
        uint64_t m = v->u.i < 0 ? (uint64_t)0 - (uint64_t)v->u.i : (uint64_t)v->u.i;
        char *p = tmp + sizeof tmp;
        do {
            *--p = (char)('0' + m % 10);
            m /= 10;
        } while (m);
        if (v->u.i < 0) *--p = '-';
        return dl_buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
    }
    case EDN_BIGINT: {
        int rc = dl_buf_append(b, v->u.s, v->n);
        return rc ? rc : dl_buf_putc(b, 'N');
    }
    case EDN_BIGDEC: {
        int rc = dl_buf_append(b, v->u.s, v->n);
        return rc ? rc : dl_buf_putc(b, 'M');
    }
    case EDN_FLOAT:
        fmt_double(v->u.d, tmp, sizeof tmp);
        return dl_buf_puts(b, tmp);
    case EDN_STRING: return wr_string(b, v->u.s, v->n);
    case EDN_CHAR: return wr_char(b, v->u.ch);
    case EDN_KEYWORD: {
        int rc = dl_buf_putc(b, ':');
        return rc ? rc : dl_buf_append(b, v->u.sym->full, v->u.sym->full_len);
    }
    case EDN_SYMBOL: return dl_buf_append(b, v->u.sym->full, v->u.sym->full_len);
    case EDN_UUID: {
        static const char hx[] = "0123456789abcdef";
        const uint8_t *u = v->u.uuid;
        char t[44] = "#uuid \"";
        size_t n = 7;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) t[n++] = '-';
            t[n++] = hx[u[i] >> 4];
            t[n++] = hx[u[i] & 15];
        }
        t[n++] = '"';
        return dl_buf_append(b, t, n);
    }
    case EDN_INST: return wr_inst(b, v->u.ms);
    case EDN_BYTES: return wr_b64(b, (const uint8_t *)v->u.s, v->n);
    case EDN_LIST: return wr_items(b, "(", v->u.items, v->n, ')');
    case EDN_VECTOR: return wr_items(b, "[", v->u.items, v->n, ']');
    case EDN_SET: return wr_items(b, "#{", v->u.items, v->n, '}');
    case EDN_MAP: return wr_items(b, "{", v->u.items, (size_t)v->n * 2, '}');
    case EDN_TAGGED: {
        int rc = dl_buf_putc(b, '#');
        if (!rc)
            rc = dl_buf_append(b, v->u.tagged.tag->full,
                               v->u.tagged.tag->full_len);
        if (!rc) rc = dl_buf_putc(b, ' ');
        return rc ? rc : edn_write(b, v->u.tagged.val);
    }
    default:
        return dl_err_set(DATALITH_EINVAL, "cannot print a value of type %d", v->type);
    }
}
