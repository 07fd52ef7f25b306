/*
** json.c — JSON codec for EDN values, using Datahike's tagged-literal
** conventions (the "application/json" format of Datahike's HTTP server), so
** that every value survives write → read exactly.
**
** THE MAPPING (docs/values.md, section "JSON"):
**
**   nil        null                 string   "…" (RFC 8259 escapes)
**   boolean    true / false         int64    123   (JSON integer)
**   double     1.5  1.0  1e300      ##Inf    ["!double","Infinity"]
**              (always '.' or 'e')  ##-Inf / ##NaN  "-Infinity" / "NaN"
**   keyword    ["!kw","ns/name"]    symbol   ["!sym","ns/name"]
**   set        ["!set",[…]]         list     ["!list",[…]]
**   uuid       ["!uuid","8-4-4-4-12 hex"]
**   inst       ["!date","<epoch milliseconds as a decimal string>"]
**   bigint     ["!bigint","123"]    bigdec   ["!bigdec","1.50"]
**   char       ["!char","x"]        bytes    ["!bytes","<base64, padded>"]
**   tagged     ["!tag","ns/name",value]
**   vector     [a, b, …], or ["!vector",[…]] when its first element is a
**              string starting with '!' (which would read back as a tag)
**   map        {"ns/name": v, …} when every key is a keyword (object keys
**              are always keywordized on read), else ["!map",[k1,v1,k2,v2,…]]
**
** A JSON array whose first element is a string "!x" is a tag form:
**
**     [ "!set" , [ e1, e2, … ] ]        payload array is read raw: its own
**        │        └── payload            first element is never a tag
**        └── tag
**
** Any other "!ns/name" with exactly one payload value reads as an unknown
** tagged value (Datahike's ["!datahike/Datom",[e a v tx added]] becomes
** EDN_TAGGED datahike/Datom).  Integers beyond int64 read as bigint;
** numbers with a fraction or exponent read as double.
**
** The reader is recursive descent with an explicit depth limit (default
** 512, hard cap JSON_DEPTH_CAP) so hostile nesting ends in DATALITH_ELIMIT,
** never a stack overflow.  Collection elements are gathered on one shared
** scratch stack and copied into the arena once their count is known.
*/
#include "value.h"
#include "util/utf8.h"
#include "util/error.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_DEFAULT_DEPTH 512
#define JSON_DEPTH_CAP 2048 /* also the writer's nesting limit */
#define JSON_DEFAULT_MAX_BYTES ((size_t)256 << 20)

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Base64 (RFC 4648, standard alphabet, padded)                        */
/* ------------------------------------------------------------------ */

static const char json_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int json_b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

typedef struct json_reader {
    dl_arena *a;
    const char *start, *p, *end;
    size_t depth, max_depth;
    dl_buf stack;   /* edn_value[]: elements of the collections being read */
    dl_buf scratch; /* decoded text of an escaped string */
} json_reader;

/* Record DATALITH_EPARSE at `at` with a 1-based line and a column counted
** in code points. */
static int json_err_at(json_reader *r, const char *at, const char *fmt, ...)
    DL_PRINTF(3, 4);
static int json_err_at(json_reader *r, const char *at, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    long line = 1, col = 1;
    if (at > r->end) at = r->end;
    for (const char *q = r->start; q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)*q & 0xC0) != 0x80) {
            col++;
        }
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_err_set_pos(DATALITH_EPARSE, line, col, (long)(at - r->start),
                          "%s", msg);
}

/* Turn a constructor's DATALITH_EINVAL (e.g. a duplicate set element) into
** a parse error at `at`, keeping its message; other codes pass through. */
static int json_ctor_err(json_reader *r, const char *at, int rc) {
    char msg[DL_ERR_MSG_MAX];
    if (rc != DATALITH_EINVAL && rc != DATALITH_EPARSE) return rc;
    snprintf(msg, sizeof msg, "%s", dl_err_last()->message);
    return json_err_at(r, at, "%s", msg);
}

static void json_skip_ws(json_reader *r) {
    while (r->p < r->end &&
           (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static size_t json_stack_count(const json_reader *r) {
    return r->stack.len / sizeof(edn_value);
}

static edn_value *json_stack_at(const json_reader *r, size_t i) {
    if (!r->stack.data) return NULL; /* nothing pushed yet: i is 0 */
    return (edn_value *)(void *)r->stack.data + i;
}

static int json_push(json_reader *r, const edn_value *v) {
    return dl_buf_append(&r->stack, v, sizeof *v);
}

static void json_pop_to(json_reader *r, size_t base) {
    r->stack.len = base * sizeof(edn_value);
}

static int json_parse_value(json_reader *r, edn_value *out);

static int json_hex4(const char *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* Parse a string starting at the opening quote.  On success *s / *n point
** at the decoded UTF-8: into the input itself when it has no escapes, else
** into r->scratch (valid until the next string is parsed). */
static int json_parse_string_raw(json_reader *r, const char **s, size_t *n) {
    const char *open = r->p;
    const char *q = ++r->p;
    /* Fast path: no escapes. */
    while (q < r->end && *q != '"' && *q != '\\') {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20)
            return json_err_at(r, q, "control character U+%04X in string "
                                     "(must be escaped)", c);
        if (c < 0x80) {
            q++;
        } else {
            uint32_t cp;
            size_t k = dl_utf8_decode((const unsigned char *)q,
                                        (size_t)(r->end - q), &cp);
            if (!k) return json_err_at(r, q, "invalid UTF-8 in string");
            q += k;
        }
    }
    if (q >= r->end) return json_err_at(r, open, "unterminated string");
    if (*q == '"') {
        *s = r->p;
        *n = (size_t)(q - r->p);
        r->p = q + 1;
        return 0;
    }
    /* Slow path: decode escapes into scratch. */
    r->scratch.len = 0;
    int rc = dl_buf_append(&r->scratch, r->p, (size_t)(q - r->p));
    if (rc) return rc;
    while (q < r->end && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c == '\\') {
            const char *esc = q;
            if (q + 1 >= r->end) break;
            char e = q[1], ch;
            q += 2;
            switch (e) {
            case '"': ch = '"'; break;
            case '\\': ch = '\\'; break;
            case '/': ch = '/'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': {
                uint32_t cp, lo;
                char u8[4];
                if (r->end - q < 4 || json_hex4(q, &cp))
                    return json_err_at(r, esc, "invalid \\u escape "
                                               "(expected 4 hex digits)");
                q += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return json_err_at(r, esc, "lone low surrogate \\u%04X "
                                               "in string", cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (r->end - q < 6 || q[0] != '\\' || q[1] != 'u' ||
                        json_hex4(q + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return json_err_at(r, esc,
                                           "lone high surrogate \\u%04X in "
                                           "string", cp);
                    q += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                rc = dl_buf_append(&r->scratch, u8, dl_utf8_encode(cp, u8));
                if (rc) return rc;
                continue;
            }
            default:
                return json_err_at(r, esc, "invalid escape '\\%c' in string",
                                   (e >= 0x20 && e < 0x7F) ? e : '?');
            }
            rc = dl_buf_putc(&r->scratch, ch);
            if (rc) return rc;
        } else if (c < 0x20) {
            return json_err_at(r, q, "control character U+%04X in string "
                                     "(must be escaped)", c);
        } else {
            const char *run = q;
            while (q < r->end && *q != '"' && *q != '\\' &&
                   (unsigned char)*q >= 0x20) {
                if ((unsigned char)*q < 0x80) {
                    q++;
                } else {
                    uint32_t cp;
                    size_t k = dl_utf8_decode((const unsigned char *)q,
                                                (size_t)(r->end - q), &cp);
                    if (!k) return json_err_at(r, q, "invalid UTF-8 in string");
                    q += k;
                }
            }
            rc = dl_buf_append(&r->scratch, run, (size_t)(q - run));
            if (rc) return rc;
        }
    }
    if (q >= r->end) return json_err_at(r, open, "unterminated string");
    r->p = q + 1;
    *s = r->scratch.data ? r->scratch.data : "";
    *n = r->scratch.len;
    return 0;
}

static int json_parse_string(json_reader *r, edn_value *out) {
    const char *s;
    size_t n;
    int rc = json_parse_string_raw(r, &s, &n);
    if (rc) return rc;
    return edn_string(r->a, s, n, out);
}

/* Replace '.' by the C library's current decimal point (strtod is
** locale-dependent; JSON is not). */
static double json_strtod(const char *s, size_t n, char *buf) {
    const char *dp = localeconv()->decimal_point;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (dp && dp[0] && dp[0] != '.' && !dp[1]) {
        char *dot = strchr(buf, '.');
        if (dot) *dot = dp[0];
    }
    return strtod(buf, NULL);
}

static int json_parse_number(json_reader *r, edn_value *out) {
    const char *s = r->p, *q = r->p;
    int is_float = 0;
    if (q < r->end && *q == '-') q++;
    if (q >= r->end || *q < '0' || *q > '9')
        return json_err_at(r, s, "invalid number: expected a digit");
    if (*q == '0') {
        q++;
        if (q < r->end && *q >= '0' && *q <= '9')
            return json_err_at(r, s, "invalid number: leading zero");
    } else {
        while (q < r->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < r->end && *q == '.') {
        is_float = 1;
        q++;
        if (q >= r->end || *q < '0' || *q > '9')
            return json_err_at(r, q, "invalid number: expected a digit "
                                     "after '.'");
        while (q < r->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < r->end && (*q == 'e' || *q == 'E')) {
        is_float = 1;
        q++;
        if (q < r->end && (*q == '+' || *q == '-')) q++;
        if (q >= r->end || *q < '0' || *q > '9')
            return json_err_at(r, q, "invalid number: expected a digit in "
                                     "the exponent");
        while (q < r->end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - s);
    r->p = q;
    if (is_float) {
        char small[64];
        char *buf = small;
        if (n >= sizeof small) {
            buf = dl_arena_alloc(r->a, n + 1);
            if (!buf) return dl_err_last()->code;
        }
        *out = edn_float(json_strtod(s, n, buf));
        return 0;
    }
    /* Integer: int64 when it fits, else bigint. */
    const char *d = s + (*s == '-');
    uint64_t mag = 0;
    int over = 0;
    for (const char *c = d; c < q; c++) {
        unsigned dig = (unsigned)(*c - '0');
        if (mag > (UINT64_MAX - dig) / 10) {
            over = 1;
            break;
        }
        mag = mag * 10 + dig;
    }
    if (!over) {
        if (*s == '-') {
            if (mag <= (uint64_t)INT64_MAX + 1) {
                *out = edn_int(mag == (uint64_t)INT64_MAX + 1
                                   ? INT64_MIN
                                   : -(int64_t)mag);
                return 0;
            }
        } else if (mag <= (uint64_t)INT64_MAX) {
            *out = edn_int((int64_t)mag);
            return 0;
        }
    }
    return edn_bigint(r->a, s, n, out);
}

static int json_expect(json_reader *r, char c, const char *what) {
    json_skip_ws(r);
    if (r->p >= r->end || *r->p != c) {
        if (r->p >= r->end)
            return json_err_at(r, r->p, "unexpected end of input: %s", what);
        return json_err_at(r, r->p, "%s", what);
    }
    r->p++;
    return 0;
}

/* After the last element of a tag form: skip whitespace, require ']'. */
static int json_close_tag(json_reader *r, const char *tag) {
    json_skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return 0;
    }
    if (r->p >= r->end)
        return json_err_at(r, r->p, "unexpected end of input in [\"!%s\", …]",
                           tag);
    return json_err_at(r, r->p, "expected ']' to close [\"!%s\", …]", tag);
}

/* Read ", <string>" inside a tag form. */
static int json_tag_string(json_reader *r, const char *tag, const char **s,
                           size_t *n) {
    int rc = json_expect(r, ',', "expected ',' after tag");
    if (rc) return rc;
    json_skip_ws(r);
    if (r->p >= r->end || *r->p != '"')
        return json_err_at(r, r->p, "[\"!%s\", …] expects a string", tag);
    return json_parse_string_raw(r, s, n);
}

/* Read the elements of a raw array (the payload of !set/!list/!vector/!map)
** onto the stack; *count gets their number. */
static int json_raw_array(json_reader *r, const char *tag, size_t *count) {
    int rc = json_expect(r, ',', "expected ',' after tag");
    if (rc) return rc;
    json_skip_ws(r);
    if (r->p >= r->end || *r->p != '[')
        return json_err_at(r, r->p, "[\"!%s\", …] expects an array", tag);
    if (++r->depth > r->max_depth)
        return dl_err_set_pos(DATALITH_ELIMIT, 0, 0, (long)(r->p - r->start),
                              "JSON nested deeper than %zu levels",
                              r->max_depth);
    r->p++;
    size_t base = json_stack_count(r);
    json_skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
    } else {
        for (;;) {
            edn_value v;
            rc = json_parse_value(r, &v);
            if (rc) return rc;
            rc = json_push(r, &v);
            if (rc) return rc;
            json_skip_ws(r);
            if (r->p < r->end && *r->p == ',') {
                r->p++;
                continue;
            }
            if (r->p < r->end && *r->p == ']') {
                r->p++;
                break;
            }
            if (r->p >= r->end)
                return json_err_at(r, r->p, "unexpected end of input in "
                                            "array");
            return json_err_at(r, r->p, "expected ',' or ']' in array");
        }
    }
    r->depth--;
    *count = json_stack_count(r) - base;
    return 0;
}

static int json_parse_uuid(const char *s, size_t n, uint8_t out[16]) {
    static const int dash[] = {8, 13, 18, 23};
    if (n != 36) return -1;
    for (int i = 0; i < 4; i++)
        if (s[dash[i]] != '-') return -1;
    int k = 0;
    for (size_t i = 0; i < 36; i++) {
        if (s[i] == '-') continue;
        uint32_t hv;
        char h[4] = {'0', '0', s[i], s[i + 1]};
        if (json_hex4(h, &hv)) return -1;
        out[k++] = (uint8_t)hv;
        i++;
    }
    return k == 16 ? 0 : -1;
}

static int json_parse_i64(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    int neg = 0;
    uint64_t mag = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i >= n || n - i > 19) return -1;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        mag = mag * 10 + (unsigned)(s[i] - '0');
    }
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1) return -1;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX) return -1;
        *out = (int64_t)mag;
    }
    return 0;
}

/* A tag form: r->p is just after the tag string's closing quote; `open` is
** the '[' and `tag`/`tn` the text after '!'.  Consumes through ']'. */
static int json_parse_tagged(json_reader *r, const char *open,
                             const char *tag0, size_t tn, edn_value *out) {
    char tag[64];
    const char *s;
    size_t n, count, base = json_stack_count(r);
    int rc;

#define TAG_IS(lit) (tn == sizeof(lit) - 1 && memcmp(tag, lit, tn) == 0)
    /* Copy the name: tag0 may live in scratch, reused by the next string. */
    snprintf(tag, sizeof tag, "%.*s", (int)(tn < 60 ? tn : 60), tag0);
    if (TAG_IS("kw") || TAG_IS("sym")) {
        int kw = TAG_IS("kw");
        /* An empty name is allowed, as for object keys (""). */
        if ((rc = json_tag_string(r, tag, &s, &n))) return rc;
        /* A name may not start with ':' (in the namespace or the local
        ** part): it would print as an unreadable ::x. */
        if (!edn_sym_name_ok(s, n))
            return json_err_at(r, open, "invalid %s name \"%.*s\"",
                               kw ? "keyword" : "symbol",
                               (int)(n > 60 ? 60 : n), s);
        const edn_sym *sym = edn_intern_full(s, n);
        if (!sym) return dl_err_last()->code;
        *out = kw ? edn_keyword(sym) : edn_symbol(sym);
    } else if (TAG_IS("set") || TAG_IS("list") || TAG_IS("vector") ||
               TAG_IS("map")) {
        if ((rc = json_raw_array(r, tag, &count))) return rc;
        edn_value *items = json_stack_at(r, base);
        if (TAG_IS("set")) rc = edn_set(r->a, items, count, out);
        else if (TAG_IS("list")) rc = edn_list(r->a, items, count, out);
        else if (TAG_IS("vector")) rc = edn_vector(r->a, items, count, out);
        else if (count % 2)
            return json_err_at(r, open, "[\"!map\", …] needs an even number "
                                        "of keys and values, got %zu", count);
        else rc = edn_map(r->a, items, count / 2, out);
        json_pop_to(r, base);
        if (rc) return json_ctor_err(r, open, rc);
    } else if (TAG_IS("uuid")) {
        uint8_t u[16];
        if ((rc = json_tag_string(r, tag, &s, &n))) return rc;
        if (json_parse_uuid(s, n, u))
            return json_err_at(r, open, "invalid UUID in [\"!uuid\", …]");
        *out = edn_uuid(u);
    } else if (TAG_IS("date")) {
        int64_t ms;
        rc = json_expect(r, ',', "expected ',' after tag");
        if (rc) return rc;
        json_skip_ws(r);
        if (r->p < r->end && *r->p == '"') {
            if ((rc = json_parse_string_raw(r, &s, &n))) return rc;
        } else {
            /* Also accept a bare integer of milliseconds. */
            s = r->p;
            while (r->p < r->end && (*r->p == '-' || (*r->p >= '0' && *r->p <= '9')))
                r->p++;
            n = (size_t)(r->p - s);
        }
        if (json_parse_i64(s, n, &ms))
            return json_err_at(r, open, "[\"!date\", …] expects epoch "
                                        "milliseconds as a decimal string");
        *out = edn_inst(ms);
    } else if (TAG_IS("bigint") || TAG_IS("bigdec")) {
        if ((rc = json_tag_string(r, tag, &s, &n))) return rc;
        rc = TAG_IS("bigint") ? edn_bigint(r->a, s, n, out)
                              : edn_bigdec(r->a, s, n, out);
        if (rc) return json_ctor_err(r, open, rc);
    } else if (TAG_IS("double")) {
        if ((rc = json_tag_string(r, tag, &s, &n))) return rc;
        if (n == 8 && !memcmp(s, "Infinity", 8)) *out = edn_float(INFINITY);
        else if (n == 9 && !memcmp(s, "-Infinity", 9))
            *out = edn_float(-INFINITY);
        else if (n == 3 && !memcmp(s, "NaN", 3)) *out = edn_float(NAN);
        else
            return json_err_at(r, open, "[\"!double\", …] expects "
                                        "\"Infinity\", \"-Infinity\" or \"NaN\"");
    } else if (TAG_IS("char")) {
        uint32_t cp;
        if ((rc = json_tag_string(r, tag, &s, &n))) return rc;
        if (n == 0 || dl_utf8_decode((const unsigned char *)s, n, &cp) != n)
            return json_err_at(r, open, "[\"!char\", …] expects a string of "
                                        "exactly one character");
        *out = edn_char(cp);
    } else if (TAG_IS("bytes")) {
        if ((rc = json_tag_string(r, tag, &s, &n))) return rc;
        if (n % 4)
            return json_err_at(r, open, "invalid base64 in [\"!bytes\", …]: "
                                        "length %zu is not a multiple of 4", n);
        uint8_t *buf = dl_arena_alloc(r->a, n / 4 * 3 + 1);
        if (!buf) return dl_err_last()->code;
        size_t k = 0;
        for (size_t i = 0; i < n; i += 4) {
            int v[4];
            for (int j = 0; j < 4; j++) {
                unsigned char c = (unsigned char)s[i + j];
                v[j] = json_b64_val(c);
                if (v[j] < 0 &&
                    !(c == '=' && i + 4 == n && (j == 3 || (j == 2 && s[i + 3] == '='))))
                    return json_err_at(r, open, "invalid base64 in "
                                                "[\"!bytes\", …] at character %zu",
                                       i + j);
            }
            buf[k++] = (uint8_t)((v[0] << 2) | (v[1] >> 4));
            if (v[2] >= 0) buf[k++] = (uint8_t)(((v[1] & 15) << 4) | (v[2] >> 2));
            if (v[3] >= 0) buf[k++] = (uint8_t)(((v[2] & 3) << 6) | v[3]);
        }
        rc = edn_bytes(r->a, buf, k, out);
        if (rc) return rc;
    } else {
        /* ["!tag","ns/name",v] or any other ["!ns/name", v]. */
        int explicit_tag = TAG_IS("tag");
        const edn_sym *sym;
        edn_value v;
        if (explicit_tag) {
            if ((rc = json_tag_string(r, tag, &s, &n))) return rc;
            if (n == 0)
                return json_err_at(r, open, "[\"!tag\", …] with an empty tag");
            sym = edn_intern_full(s, n);
        } else {
            if (tn == 0)
                return json_err_at(r, open, "empty tag \"!\"");
            sym = edn_intern_full(tag0, tn);
        }
        if (!sym) return dl_err_last()->code;
        rc = json_expect(r, ',', explicit_tag
                                     ? "expected ',' after the tag name"
                                     : "expected ',' after tag");
        if (rc) return rc;
        if ((rc = json_parse_value(r, &v))) return rc;
        json_skip_ws(r);
        if (r->p < r->end && *r->p == ',')
            return json_err_at(r, open, "tagged value [\"!%s\", …] takes "
                                        "exactly one value", tag);
        if ((rc = json_close_tag(r, tag))) return rc;
        rc = edn_tagged(r->a, sym, &v, out);
        return rc;
    }
#undef TAG_IS
    return json_close_tag(r, tag);
}

static int json_depth_err(json_reader *r) {
    return dl_err_set_pos(DATALITH_ELIMIT, 0, 0, (long)(r->p - r->start),
                          "JSON nested deeper than %zu levels", r->max_depth);
}

static int json_parse_array(json_reader *r, edn_value *out) {
    const char *open = r->p;
    size_t base = json_stack_count(r);
    int rc;
    if (++r->depth > r->max_depth) return json_depth_err(r);
    r->p++;
    json_skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        r->depth--;
        return edn_vector(r->a, NULL, 0, out);
    }
    /* A first element "!…" makes a tag form. */
    if (r->p < r->end && *r->p == '"') {
        const char *s;
        size_t n;
        if ((rc = json_parse_string_raw(r, &s, &n))) return rc;
        if (n > 0 && s[0] == '!') {
            rc = json_parse_tagged(r, open, s + 1, n - 1, out);
            if (rc) return rc;
            r->depth--;
            return 0;
        }
        edn_value v;
        if ((rc = edn_string(r->a, s, n, &v))) return rc;
        if ((rc = json_push(r, &v))) return rc;
        goto after_elem;
    }
    for (;;) {
        edn_value v;
        if ((rc = json_parse_value(r, &v))) return rc;
        if ((rc = json_push(r, &v))) return rc;
    after_elem:
        json_skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            break;
        }
        if (r->p >= r->end)
            return json_err_at(r, r->p, "unexpected end of input in array");
        return json_err_at(r, r->p, "expected ',' or ']' in array");
    }
    rc = edn_vector(r->a, json_stack_at(r, base), json_stack_count(r) - base,
                    out);
    json_pop_to(r, base);
    r->depth--;
    return rc;
}

static int json_parse_object(json_reader *r, edn_value *out) {
    const char *open = r->p;
    size_t base = json_stack_count(r);
    int rc;
    if (++r->depth > r->max_depth) return json_depth_err(r);
    r->p++;
    json_skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
    } else {
        for (;;) {
            const char *s;
            size_t n;
            edn_value kv[2];
            json_skip_ws(r);
            if (r->p >= r->end)
                return json_err_at(r, r->p, "unexpected end of input in "
                                            "object");
            if (*r->p != '"')
                return json_err_at(r, r->p, "expected a string key in object");
            const char *key_at = r->p;
            if ((rc = json_parse_string_raw(r, &s, &n))) return rc;
            /* Keys are keywordized; a key written ":name" names the same
            ** keyword as "name" (Datahike's ':'-prefix convention). */
            if (n > 1 && s[0] == ':') s++, n--;
            if (!edn_sym_name_ok(s, n))
                return json_err_at(r, key_at, "invalid keyword name \"%.*s\" "
                                   "in object key", (int)(n > 60 ? 60 : n), s);
            const edn_sym *sym = edn_intern_full(s, n);
            if (!sym) return dl_err_last()->code;
            kv[0] = edn_keyword(sym);
            json_skip_ws(r);
            if (r->p >= r->end || *r->p != ':')
                return json_err_at(r, r->p, "expected ':' after object key");
            r->p++;
            if ((rc = json_parse_value(r, &kv[1]))) return rc;
            if ((rc = dl_buf_append(&r->stack, kv, sizeof kv))) return rc;
            json_skip_ws(r);
            if (r->p < r->end && *r->p == ',') {
                r->p++;
                continue;
            }
            if (r->p < r->end && *r->p == '}') {
                r->p++;
                break;
            }
            if (r->p >= r->end)
                return json_err_at(r, r->p, "unexpected end of input in "
                                            "object");
            return json_err_at(r, r->p, "expected ',' or '}' in object");
        }
    }
    size_t cnt = json_stack_count(r) - base;
    rc = edn_map(r->a, json_stack_at(r, base), cnt / 2, out);
    json_pop_to(r, base);
    r->depth--;
    if (rc) return json_ctor_err(r, open, rc);
    return 0;
}

static int json_literal(json_reader *r, const char *lit, size_t n) {
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
        return json_err_at(r, r->p, "invalid literal (expected %s)", lit);
    r->p += n;
    return 0;
}

static int json_parse_value(json_reader *r, edn_value *out) {
    int rc;
    json_skip_ws(r);
    if (r->p >= r->end)
        return json_err_at(r, r->p, "unexpected end of input: expected a "
                                    "value");
    switch (*r->p) {
    case '{': return json_parse_object(r, out);
    case '[': return json_parse_array(r, out);
    case '"': return json_parse_string(r, out);
    case 't':
        if ((rc = json_literal(r, "true", 4))) return rc;
        *out = edn_bool(true);
        return 0;
    case 'f':
        if ((rc = json_literal(r, "false", 5))) return rc;
        *out = edn_bool(false);
        return 0;
    case 'n':
        if ((rc = json_literal(r, "null", 4))) return rc;
        *out = edn_nil();
        return 0;
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
            return json_parse_number(r, out);
        {
            unsigned char c = (unsigned char)*r->p;
            if (c >= 0x21 && c < 0x7F)
                return json_err_at(r, r->p, "unexpected character '%c'",
                                   (char)c);
            return json_err_at(r, r->p, "unexpected byte 0x%02X", c);
        }
    }
}

int json_read(dl_arena *a, const char *text, size_t len,
              const edn_codec_opts *opts, edn_value *out) {
    json_reader r;
    size_t max_bytes = opts && opts->max_bytes ? opts->max_bytes
                                               : JSON_DEFAULT_MAX_BYTES;
    edn_value v;
    int rc;

    if (!a || (!text && len) || !out)
        return dl_err_set(DATALITH_EINVAL, "json_read: NULL argument");
    if (len > max_bytes)
        return dl_err_set(DATALITH_ELIMIT, "JSON input of %zu bytes exceeds "
                                           "the limit of %zu bytes",
                          len, max_bytes);
    memset(&r, 0, sizeof r);
    r.a = a;
    r.start = r.p = text ? text : "";
    r.end = r.start + len;
    r.max_depth = opts && opts->max_depth ? opts->max_depth
                                          : JSON_DEFAULT_DEPTH;
    if (r.max_depth > JSON_DEPTH_CAP) r.max_depth = JSON_DEPTH_CAP;
    /* A UTF-8 byte order mark is ignored (RFC 8259 §8.1 allows it). */
    if (len >= 3 && !memcmp(r.p, "\xEF\xBB\xBF", 3)) r.p += 3;
    rc = json_parse_value(&r, &v);
    if (!rc) {
        json_skip_ws(&r);
        if (r.p < r.end)
            rc = json_err_at(&r, r.p, "trailing characters after the JSON "
                                      "value");
    }
    dl_buf_free(&r.stack);
    dl_buf_free(&r.scratch);
    if (!rc) *out = v;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

static int json_write_str(dl_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    int rc = dl_buf_putc(b, '"');
    size_t i = 0, run = 0;
    while (!rc && i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            uint32_t cp;
            size_t k = dl_utf8_decode((const unsigned char *)s + i, n - i,
                                        &cp);
            if (!k)
                return dl_err_set(DATALITH_EINVAL, "cannot write a string "
                                                   "that is not valid UTF-8 "
                                                   "as JSON (byte %zu)", i);
            i += k;
            continue;
        }
        rc = dl_buf_append(b, s + run, i - run);
        if (rc) break;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t en = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0';
            esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            en = 6;
        }
        rc = dl_buf_append(b, esc, en);
        run = ++i;
    }
    if (!rc) rc = dl_buf_append(b, s + run, n - run);
    if (!rc) rc = dl_buf_putc(b, '"');
    return rc;
}

/* Shortest decimal digits that read back as d (finite, non-zero |d|):
** writes the digits to dig (no dot) and returns their count; *exp10 is the
** decimal exponent of the first digit. */
static int json_shortest(double d, char *dig, int *exp10) {
    char buf[40], tmp[40];
    int lo = 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(buf, sizeof buf, "%.*e", mid - 1, d);
        if (json_strtod(buf, strlen(buf), tmp) == d) hi = mid;
        else lo = mid + 1;
    }
    snprintf(buf, sizeof buf, "%.*e", lo - 1, d);
    int n = 0;
    const char *p = buf;
    if (*p == '-') p++;
    for (; *p && *p != 'e' && *p != 'E'; p++)
        if (*p >= '0' && *p <= '9') dig[n++] = *p;
    *exp10 = (*p) ? atoi(p + 1) : 0;
    while (n > 1 && dig[n - 1] == '0') n--;
    return n;
}

/* Format a finite double as JSON: always with '.' or an exponent. */
static int json_write_double(dl_buf *b, double d) {
    char out[48], dig[24];
    int n = 0, e, k;
    if (d == 0) return dl_buf_puts(b, signbit(d) ? "-0.0" : "0.0");
    if (d < 0) out[n++] = '-';
    k = json_shortest(d, dig, &e);
    if (e >= -5 && e < 17) {
        if (e < 0) {
            out[n++] = '0';
            out[n++] = '.';
            for (int i = 0; i < -e - 1; i++) out[n++] = '0';
            for (int i = 0; i < k; i++) out[n++] = dig[i];
        } else {
            for (int i = 0; i <= e; i++) out[n++] = i < k ? dig[i] : '0';
            out[n++] = '.';
            if (k > e + 1)
                for (int i = e + 1; i < k; i++) out[n++] = dig[i];
            else
                out[n++] = '0';
        }
        return dl_buf_append(b, out, (size_t)n);
    }
    out[n++] = dig[0];
    if (k > 1) {
        out[n++] = '.';
        for (int i = 1; i < k; i++) out[n++] = dig[i];
    }
    n += snprintf(out + n, sizeof out - (size_t)n, "e%d", e);
    return dl_buf_append(b, out, (size_t)n);
}

/* ["!tag","text"] */
static int json_write_tag_str(dl_buf *b, const char *tag, const char *s,
                              size_t n) {
    int rc = dl_buf_puts(b, "[\"!");
    if (!rc) rc = dl_buf_puts(b, tag);
    if (!rc) rc = dl_buf_puts(b, "\",");
    if (!rc) rc = json_write_str(b, s, n);
    if (!rc) rc = dl_buf_putc(b, ']');
    return rc;
}

static int json_write_v(dl_buf *b, const edn_value *v, size_t depth);

static int json_write_items(dl_buf *b, const edn_value *items, size_t n,
                            size_t depth) {
    int rc = dl_buf_putc(b, '[');
    for (size_t i = 0; !rc && i < n; i++) {
        if (i) rc = dl_buf_putc(b, ',');
        if (!rc) rc = json_write_v(b, &items[i], depth);
    }
    if (!rc) rc = dl_buf_putc(b, ']');
    return rc;
}

static int json_write_coll(dl_buf *b, const char *tag, const edn_value *items,
                           size_t n, size_t depth) {
    int rc = dl_buf_puts(b, "[\"!");
    if (!rc) rc = dl_buf_puts(b, tag);
    if (!rc) rc = dl_buf_puts(b, "\",");
    if (!rc) rc = json_write_items(b, items, n, depth);
    if (!rc) rc = dl_buf_putc(b, ']');
    return rc;
}

static int json_write_v(dl_buf *b, const edn_value *v, size_t depth) {
    char tmp[64];
    int rc;
    if (depth > JSON_DEPTH_CAP)
        return dl_err_set(DATALITH_ELIMIT, "value nested deeper than %d "
                                           "levels cannot be written as JSON",
                          JSON_DEPTH_CAP);
    switch ((edn_type)v->type) {
    case EDN_NIL: return dl_buf_puts(b, "null");
    case EDN_BOOL: return dl_buf_puts(b, v->u.b ? "true" : "false");
    case EDN_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        return dl_buf_puts(b, tmp);
    case EDN_FLOAT:
        if (isnan(v->u.d)) return dl_buf_puts(b, "[\"!double\",\"NaN\"]");
        if (isinf(v->u.d))
            return dl_buf_puts(b, v->u.d > 0 ? "[\"!double\",\"Infinity\"]"
                                             : "[\"!double\",\"-Infinity\"]");
        return json_write_double(b, v->u.d);
    case EDN_BIGINT: return json_write_tag_str(b, "bigint", v->u.s, v->n);
    case EDN_BIGDEC: return json_write_tag_str(b, "bigdec", v->u.s, v->n);
    case EDN_STRING: return json_write_str(b, v->u.s, v->n);
    case EDN_CHAR: {
        if (v->u.ch > 0x10FFFF || (v->u.ch >= 0xD800 && v->u.ch <= 0xDFFF))
            return dl_err_set(DATALITH_EINVAL, "cannot write character "
                                               "U+%04X as JSON",
                              (unsigned)v->u.ch);
        size_t k = dl_utf8_encode(v->u.ch, tmp);
        return json_write_tag_str(b, "char", tmp, k);
    }
    case EDN_KEYWORD:
        return json_write_tag_str(b, "kw", v->u.sym->full, v->u.sym->full_len);
    case EDN_SYMBOL:
        return json_write_tag_str(b, "sym", v->u.sym->full,
                                  v->u.sym->full_len);
    case EDN_UUID: {
        static const char hex[] = "0123456789abcdef";
        int k = 0;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10) tmp[k++] = '-';
            tmp[k++] = hex[v->u.uuid[i] >> 4];
            tmp[k++] = hex[v->u.uuid[i] & 15];
        }
        return json_write_tag_str(b, "uuid", tmp, (size_t)k);
    }
    case EDN_INST: {
        int k = snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.ms);
        return json_write_tag_str(b, "date", tmp, (size_t)k);
    }
    case EDN_BYTES: {
        const unsigned char *s = (const unsigned char *)v->u.s;
        size_t n = v->n;
        rc = dl_buf_puts(b, "[\"!bytes\",\"");
        if (!rc) rc = dl_buf_reserve(b, (n + 2) / 3 * 4 + 3);
        for (size_t i = 0; !rc && i < n; i += 3) {
            char q[4];
            uint32_t w = (uint32_t)s[i] << 16;
            if (i + 1 < n) w |= (uint32_t)s[i + 1] << 8;
            if (i + 2 < n) w |= s[i + 2];
            q[0] = json_b64[(w >> 18) & 63];
            q[1] = json_b64[(w >> 12) & 63];
            q[2] = i + 1 < n ? json_b64[(w >> 6) & 63] : '=';
            q[3] = i + 2 < n ? json_b64[w & 63] : '=';
            rc = dl_buf_append(b, q, 4);
        }
        if (!rc) rc = dl_buf_puts(b, "\"]");
        return rc;
    }
    case EDN_LIST: return json_write_coll(b, "list", v->u.items, v->n, depth + 1);
    case EDN_SET: return json_write_coll(b, "set", v->u.items, v->n, depth + 1);
    case EDN_VECTOR:
        if (v->n > 0 && v->u.items[0].type == EDN_STRING &&
            v->u.items[0].n > 0 && v->u.items[0].u.s[0] == '!')
            return json_write_coll(b, "vector", v->u.items, v->n, depth + 1);
        return json_write_items(b, v->u.items, v->n, depth + 1);
    case EDN_MAP: {
        size_t n = v->n;
        const edn_value *kv = v->u.items;
        for (size_t i = 0; i < n; i++)
            if (kv[2 * i].type != EDN_KEYWORD)
                return json_write_coll(b, "map", kv, 2 * n, depth + 1);
        rc = dl_buf_putc(b, '{');
        for (size_t i = 0; !rc && i < n; i++) {
            if (i) rc = dl_buf_putc(b, ',');
            if (!rc)
                rc = json_write_str(b, kv[2 * i].u.sym->full,
                                    kv[2 * i].u.sym->full_len);
            if (!rc) rc = dl_buf_putc(b, ':');
            if (!rc) rc = json_write_v(b, &kv[2 * i + 1], depth + 1);
        }
        if (!rc) rc = dl_buf_putc(b, '}');
        return rc;
    }
    case EDN_TAGGED:
        rc = dl_buf_puts(b, "[\"!tag\",");
        if (!rc)
            rc = json_write_str(b, v->u.tagged.tag->full,
                                v->u.tagged.tag->full_len);
        if (!rc) rc = dl_buf_putc(b, ',');
        if (!rc) rc = json_write_v(b, v->u.tagged.val, depth + 1);
        if (!rc) rc = dl_buf_putc(b, ']');
        return rc;
    default:
        return dl_err_set(DATALITH_EINVAL, "cannot write a value of unknown "
                                           "type %d as JSON", v->type);
    }
}

int json_write(dl_buf *b, const edn_value *v) {
    size_t mark;
    int rc;
    if (!b || !v) return dl_err_set(DATALITH_EINVAL, "json_write: NULL argument");
    mark = b->len;
    rc = json_write_v(b, v, 0);
    if (rc) {
        /* Leave the buffer as it was. */
        b->len = mark;
        if (b->data && b->len < b->cap) b->data[b->len] = 0;
    }
    return rc;
}
