/*
** gen_value.h — a deterministic random edn_value generator for property
** tests and benchmarks.  Header-only (static functions); the same seed
** always gives the same values on every platform.
**
**   gv_rng r = gv_seed(42);
**   edn_value v;
**   gv_value(&r, &arena, 3, &v);      // any type, nested up to depth 3
**   gv_scalar(&r, &arena, &v);        // a non-collection value
**
** Values cover every edn_type, and are biased towards the corners of the
** total order: numbers drawn from a small pool of equal values in different
** representations (1, 1N, 1M, 1.0M, 1.0), 2^53±1, ±0.0, ±Inf, NaN; strings
** mixing ASCII, BMP (incl. U+E000–U+FFFF), non-BMP and control characters;
** keywords and symbols with and without namespaces.  Every generated value
** is printable with edn_write and reads back (insts stay in years 0–9999).
** Collections built here never hold duplicates (sets/maps are deduplicated).
*/
#ifndef DL_GEN_VALUE_H
#define DL_GEN_VALUE_H

#include "value/value.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct gv_rng {
    uint64_t s;
} gv_rng;

static inline gv_rng gv_seed(uint64_t seed) {
    gv_rng r;
    r.s = seed ^ 0x9e3779b97f4a7c15ULL;
    return r;
}

/* splitmix64 */
static inline uint64_t gv_next(gv_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint32_t gv_below(gv_rng *r, uint32_t n) {
    return n ? (uint32_t)(gv_next(r) % n) : 0;
}

static const char *const gv_names[] = {"a", "b", "id", "name", "x-y", "k?", "v*",
                                       "é", "zz", "ident", "<>", "a.b"};
static const char *const gv_nss[] = {"db", "user", "a", "ns.sub", "\xC3\xA9t", "z"};
static const char *const gv_tags[] = {"my/tag", "foo", "datahike/Datom", "x.y/z"};

static inline const edn_sym *gv_sym(gv_rng *r) {
    const char *name = gv_names[gv_below(r, sizeof gv_names / sizeof gv_names[0])];
    if (gv_below(r, 3) == 0) return edn_intern(NULL, 0, name, strlen(name));
    const char *ns = gv_nss[gv_below(r, sizeof gv_nss / sizeof gv_nss[0])];
    return edn_intern(ns, strlen(ns), name, strlen(name));
}

static inline size_t gv_utf8(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A code point that is never a surrogate. */
static inline uint32_t gv_codepoint(gv_rng *r) {
    switch (gv_below(r, 8)) {
    case 0: return gv_below(r, 0x20);                 /* control */
    case 1: return 0xE000 + gv_below(r, 0x2000);      /* private use / specials */
    case 2: return 0x10000 + gv_below(r, 0x100000);   /* non-BMP */
    case 3: return 0x80 + gv_below(r, 0x780);         /* 2-byte */
    case 4: { uint32_t c = 0x800 + gv_below(r, 0xD000 - 0x800); return c; }
    case 5: return "\"\\\n\t\r\b\f'#:;, "[gv_below(r, 14)];
    default: return 'a' + gv_below(r, 26);
    }
}

static inline int gv_string(gv_rng *r, dl_arena *a, edn_value *out) {
    char buf[4 * 16];
    size_t n = 0, len = gv_below(r, 4) == 0 ? 0 : 1 + gv_below(r, 15);
    /* short strings from a tiny alphabet make ties and prefixes likely */
    bool tiny = gv_below(r, 2) == 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t cp = tiny ? (uint32_t)(unsigned char)"ab\xff"[gv_below(r, 3)] : gv_codepoint(r);
        if (tiny && cp == 0xff) cp = gv_below(r, 2) ? 0x1F600 : 0xFFFD;
        n += gv_utf8(cp, buf + n);
        if (tiny && i >= 3) break;
    }
    return edn_string(a, buf, n, out);
}

static inline int gv_number(gv_rng *r, dl_arena *a, edn_value *out) {
    char t[64];
    static const char *const ints[] = {"0", "1", "-1", "2", "9007199254740992",
                                       "9007199254740993", "-9007199254740993",
                                       "9223372036854775807", "-9223372036854775808",
                                       "9223372036854775808", "18446744073709551616",
                                       "-100000000000000000000000000001"};
    static const char *const decs[] = {"0", "0.0", "-0", "1", "1.0", "1.00", "-1",
                                       "2.5", "25e-1", "0.1", "1e1", "10", "-2.50",
                                       "9007199254740993", "1e400", "-1e-400",
                                       "0.1000000000000000055511151231257827"};
    static const double dbls[] = {0.0, -0.0, 1.0, -1.0, 2.5, 0.1, 10.0, 1e300,
                                  -1e-300, 9007199254740992.0, 9007199254740994.0,
                                  9223372036854775808.0, 18446744073709551616.0,
                                  5e-324, 1.7976931348623157e308};
    switch (gv_below(r, 9)) {
    case 0: case 1: {
        int64_t v = (int64_t)gv_next(r);
        if (gv_below(r, 2)) v %= 100;
        *out = edn_int(v);
        return 0;
    }
    case 2: {
        const char *s = ints[gv_below(r, sizeof ints / sizeof ints[0])];
        *out = edn_int(0);
        int64_t v;
        if (sscanf(s, "%" SCNd64, &v) == 1 && strlen(s) < 19 && gv_below(r, 2)) {
            *out = edn_int(v);
            return 0;
        }
        return edn_bigint(a, s, strlen(s), out);
    }
    case 3: {
        int n = snprintf(t, sizeof t, "%s%u%u", gv_below(r, 2) ? "-" : "",
                         (unsigned)gv_next(r), (unsigned)gv_next(r));
        return edn_bigint(a, t, (size_t)n, out);
    }
    case 4: {
        const char *s = decs[gv_below(r, sizeof decs / sizeof decs[0])];
        return edn_bigdec(a, s, strlen(s), out);
    }
    case 5: {
        int n = snprintf(t, sizeof t, "%s%u.%u", gv_below(r, 2) ? "-" : "",
                         gv_below(r, 1000), gv_below(r, 1000));
        if (gv_below(r, 3) == 0) n += snprintf(t + n, sizeof t - (size_t)n, "E%d",
                                               (int)gv_below(r, 41) - 20);
        return edn_bigdec(a, t, (size_t)n, out);
    }
    case 6:
        *out = edn_float(dbls[gv_below(r, sizeof dbls / sizeof dbls[0])]);
        return 0;
    case 7: {
        switch (gv_below(r, 4)) {
        case 0: *out = edn_float(INFINITY); break;
        case 1: *out = edn_float(-INFINITY); break;
        case 2: *out = edn_float(NAN); break;
        default: *out = edn_float((double)(int64_t)gv_below(r, 7) - 3); break;
        }
        return 0;
    }
    default: {
        uint64_t bits = gv_next(r);
        double d;
        memcpy(&d, &bits, 8);
        if (isnan(d)) d = (double)(int64_t)bits / 1e6;
        *out = edn_float(d);
        return 0;
    }
    }
}

static inline int gv_scalar(gv_rng *r, dl_arena *a, edn_value *out) {
    switch (gv_below(r, 13)) {
    case 0: *out = edn_nil(); return 0;
    case 1: *out = edn_bool(gv_below(r, 2)); return 0;
    case 2: case 3: return gv_number(r, a, out);
    case 4: case 5: return gv_string(r, a, out);
    case 6: *out = edn_char(gv_codepoint(r)); return 0;
    case 7: *out = edn_keyword(gv_sym(r)); return 0;
    case 8: *out = edn_symbol(gv_sym(r)); return 0;
    case 9: {
        uint8_t u[16];
        for (int i = 0; i < 16; i++) u[i] = (uint8_t)(gv_below(r, 3) ? gv_next(r) : 0);
        *out = edn_uuid(u);
        return 0;
    }
    case 10: {
        /* years 0000–9999: [-62167219200000, 253402300799999] ms */
        int64_t span = 253402300799999LL + 62167219200000LL + 1;
        int64_t ms = gv_below(r, 3) == 0 ? (int64_t)gv_below(r, 2000) - 1000
                                         : (int64_t)(gv_next(r) % (uint64_t)span) - 62167219200000LL;
        *out = edn_inst(ms);
        return 0;
    }
    case 11: {
        uint8_t b[12];
        size_t n = gv_below(r, 12);
        for (size_t i = 0; i < n; i++) b[i] = (uint8_t)gv_next(r);
        return edn_bytes(a, b, n, out);
    }
    default: return gv_number(r, a, out);
    }
}

static int gv_value(gv_rng *r, dl_arena *a, int depth, edn_value *out);

/* Drop later duplicates of earlier entries (width 1 or 2), returns count. */
static inline size_t gv_dedupe(edn_value *it, size_t n, size_t w) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < m && !dup; j++) dup = edn_equal(&it[i * w], &it[j * w]);
        if (dup) continue;
        if (m != i) memmove(&it[m * w], &it[i * w], w * sizeof *it);
        m++;
    }
    return m;
}

static int gv_value(gv_rng *r, dl_arena *a, int depth, edn_value *out) {
    uint32_t k = depth > 0 ? gv_below(r, 10) : 0;
    if (k < 5) return gv_scalar(r, a, out);
    edn_value it[16];
    size_t n = gv_below(r, 6);
    int rc;
    if (k == 9) {
        const char *t = gv_tags[gv_below(r, sizeof gv_tags / sizeof gv_tags[0])];
        edn_value inner;
        if ((rc = gv_value(r, a, depth - 1, &inner))) return rc;
        return edn_tagged(a, edn_intern_full(t, strlen(t)), &inner, out);
    }
    size_t w = k == 8 ? 2 : 1;
    for (size_t i = 0; i < n * w; i++)
        if ((rc = gv_value(r, a, depth - 1, &it[i]))) return rc;
    switch (k) {
    case 5: return edn_list(a, it, n, out);
    case 6: return edn_vector(a, it, n, out);
    case 7: return edn_set(a, it, gv_dedupe(it, n, 1), out);
    default: return edn_map(a, it, gv_dedupe(it, n, 2), out);
    }
}

#endif
