/*
** value.h — the EDN data model: Datalith's in-memory values, their
** equality, hashing and the total order the indexes sort by.
**
** A value is a small tagged struct (24 bytes) passed by value or pointer.
** Scalars are held inline; strings, bytes, big numbers and collections point
** into an arena (dl_arena) owned by the operation that built them, so a
** value lives exactly as long as its arena.  Keywords and symbols are
** interned process-wide (edn_sym, never freed), so keyword equality is a
** pointer compare.
**
**   edn_value ┌──────┬────┬──────────────────────────────┐
**             │ type │ n  │ union: i / d / b / ch / ms / │
**             │  u8  │u32 │ s / sym / uuid[16] / items / │
**             └──────┴────┴ tagged{tag,val}              ┘
**
** Collections are immutable arrays:
**   list, vector : items[0..n)           in written order
**   set          : items[0..n)           sorted by edn_compare, no duplicates
**   map          : items[0..2n) = k0 v0 k1 v1 …  sorted by key, unique keys
** Keeping sets and maps sorted makes equality, hashing and canonical printing
** direct, and lookups a binary search.  Constructors sort and reject
** duplicates (DATALITH_EPARSE from readers, DATALITH_EINVAL otherwise).
**
** THE TOTAL ORDER (edn_compare), after Datahike's compare-value
** (reference/datahike-semantics.md §0), made a true total order:
**   1. nil sorts before everything.
**   2. Values of different kinds are ordered by kind rank, which follows the
**      JVM class-name order Datahike falls back to, except that all numbers
**      share one rank (so mixed numbers compare numerically and the order
**      stays transitive):
**        bytes < keyword < map < set < list/vector < symbol < tagged
**        < boolean < char < number < string < inst < uuid
**   3. Within a kind:
**      number  numerically across long, bigint, bigdec and double;
**              ties between different representations of the same number
**              (1 vs 1.0 vs 1M) break by type: long/bigint < bigdec < double.
**              Doubles follow Java's Double.compare: -0.0 < 0.0, NaN last.
**              long and bigint with equal value are EQUAL (as Clojure's =).
**      boolean false < true;  char by code point;  inst by milliseconds;
**      string  by UTF-16 code units (Java String.compareTo), so the order
**              matches Datahike's on non-BMP text;
**      keyword/symbol by namespace (absent first) then name, as strings;
**      uuid    as two signed 64-bit halves (Java UUID.compareTo);
**      bytes   element-wise as signed bytes, then shorter first;
**      list/vector shorter first, then element-wise (a list and a vector
**              with equal elements are equal, as in Clojure);
**      set, map  by count, then element-wise over their sorted items;
**      tagged  by tag symbol, then by value.
** Equality (edn_equal) is exactly edn_compare(a,b) == 0, and edn_hash is
** consistent with it (equal values hash equal).
*/
#ifndef DL_VALUE_H
#define DL_VALUE_H

#include "../util/arena.h"
#include "../util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum edn_type {
    EDN_NIL = 0,
    EDN_BOOL,
    EDN_INT,     /* int64 */
    EDN_BIGINT,  /* arbitrary precision integer, text: -?[1-9][0-9]* or 0 */
    EDN_FLOAT,   /* double, incl. ##Inf ##-Inf ##NaN */
    EDN_BIGDEC,  /* arbitrary precision decimal, text as written minus 'M' */
    EDN_STRING,  /* UTF-8 bytes s[0..n), NUL-terminated for convenience */
    EDN_CHAR,    /* Unicode code point */
    EDN_KEYWORD, /* interned sym */
    EDN_SYMBOL,  /* interned sym */
    EDN_UUID,    /* 16 bytes, big-endian */
    EDN_INST,    /* milliseconds since the Unix epoch, UTC */
    EDN_BYTES,   /* raw bytes s[0..n) */
    EDN_LIST,
    EDN_VECTOR,
    EDN_MAP,
    EDN_SET,
    EDN_TAGGED,  /* an unknown #tag value, preserved */
    EDN_TYPE_COUNT
} edn_type;

/* An interned keyword or symbol name.  Lives for the whole process. */
typedef struct edn_sym {
    const char *ns;     /* namespace or NULL */
    const char *name;   /* local name */
    const char *full;   /* "ns/name" or "name" (NUL-terminated) */
    uint32_t ns_len;
    uint32_t name_len;
    uint32_t full_len;
    uint32_t id;        /* dense id in interning order, from 1 */
    uint64_t hash;
} edn_sym;

typedef struct edn_value edn_value;

struct edn_value {
    uint8_t type;  /* edn_type */
    uint8_t flags; /* reserved, 0 */
    uint16_t pad;
    uint32_t n;    /* byte length (string, bytes, bigint, bigdec) or count */
    union {
        bool b;
        int64_t i;
        double d;
        uint32_t ch;
        int64_t ms;
        const char *s;          /* string, bytes, bigint, bigdec text */
        const edn_sym *sym;     /* keyword, symbol */
        uint8_t uuid[16];
        const edn_value *items; /* list, vector, set: n; map: 2n */
        struct {
            const edn_sym *tag;
            const edn_value *val;
        } tagged;
    } u;
};

/* ---- interning (thread-safe) ---- */

/* Intern "ns/name" parts; ns may be NULL (ns_len 0).  Returns NULL and sets
** an error only on out-of-memory. */
const edn_sym *edn_intern(const char *ns, size_t ns_len, const char *name,
                          size_t name_len);
/* Intern from a full name "ns/name" or "name" (splits at the first '/'
** unless the name is exactly "/"). */
const edn_sym *edn_intern_full(const char *full, size_t len);
/* Whether "ns/name" or "name" (n bytes) may name a keyword or symbol read
** from JSON or CBOR: neither the namespace nor the local part may start
** with ':' (such a name would print as an unreadable ::x or :a/:b). */
bool edn_sym_name_ok(const char *full, size_t n);
/* Find an already interned name ("ns/name" or "name") without creating
** it; NULL when it was never interned. */
const edn_sym *edn_intern_lookup(const char *full, size_t len);

/* ---- constructors ---- */

edn_value edn_nil(void);
edn_value edn_bool(bool b);
edn_value edn_int(int64_t i);
edn_value edn_float(double d);
edn_value edn_char(uint32_t cp);
edn_value edn_inst(int64_t ms);
edn_value edn_uuid(const uint8_t bytes[16]);
edn_value edn_keyword(const edn_sym *sym);
edn_value edn_symbol(const edn_sym *sym);
/* Convenience: intern and wrap ("ns/name" or "name"); type on failure is
** EDN_NIL and an error is set. */
edn_value edn_keyword_str(const char *full);

/* Copying constructors; return 0 or an error code. */
int edn_string(dl_arena *a, const char *s, size_t n, edn_value *out);
int edn_bytes(dl_arena *a, const void *p, size_t n, edn_value *out);
/* text is decimal digits with optional sign, no 'N'; canonicalised (no
** leading zeros, no "-0").  A value that fits int64 stays EDN_BIGINT (it
** prints with N) but compares and hashes equal to the EDN_INT. */
int edn_bigint(dl_arena *a, const char *text, size_t n, edn_value *out);
/* text is a decimal [-+]?digits[.digits][e[-+]?digits] without 'M'. */
int edn_bigdec(dl_arena *a, const char *text, size_t n, edn_value *out);

/* Collections take ownership of nothing: items are copied (shallowly) into
** the arena.  Maps take 2n items (k v k v …).  Sets and maps are sorted; a
** duplicate element or key returns DATALITH_EINVAL naming it. */
int edn_list(dl_arena *a, const edn_value *items, size_t n, edn_value *out);
int edn_vector(dl_arena *a, const edn_value *items, size_t n, edn_value *out);
int edn_set(dl_arena *a, const edn_value *items, size_t n, edn_value *out);
int edn_map(dl_arena *a, const edn_value *kvs, size_t n, edn_value *out);
int edn_tagged(dl_arena *a, const edn_sym *tag, const edn_value *val,
               edn_value *out);

/* Deep copy into another arena (interned syms are shared). */
int edn_clone(dl_arena *a, const edn_value *v, edn_value *out);

/* ---- access ---- */

/* Map lookup by key; NULL when absent or m is not a map. */
const edn_value *edn_map_get(const edn_value *m, const edn_value *key);
/* Map lookup by keyword name, e.g. edn_map_getk(m, "db/ident"). */
const edn_value *edn_map_getk(const edn_value *m, const char *kw_full);
/* Set membership. */
bool edn_set_contains(const edn_value *s, const edn_value *v);

static inline bool edn_is_seq(const edn_value *v) {
    return v->type == EDN_LIST || v->type == EDN_VECTOR;
}
static inline bool edn_is_kw(const edn_value *v, const edn_sym *s) {
    return v->type == EDN_KEYWORD && v->u.sym == s;
}

/* ---- equality, order, hash ---- */

int edn_compare(const edn_value *a, const edn_value *b); /* -1, 0, 1 */
bool edn_equal(const edn_value *a, const edn_value *b);
uint64_t edn_hash(const edn_value *v);
/* The kind rank used by rule 2 above (numbers share one rank). */
int edn_kind_rank(edn_type t);
const char *edn_type_name(edn_type t);

/* ---- codecs ---- */

typedef struct edn_codec_opts {
    unsigned version;     /* 1 */
    size_t max_depth;     /* nesting limit; 0 = default 512 */
    size_t max_bytes;     /* input size limit; 0 = default 256 MiB */
} edn_codec_opts;

#define EDN_CODEC_OPTS_INIT {1, 0, 0}

/* Readers parse exactly one value from text[0..len) into `out`, allocating
** from `a`.  Trailing whitespace and comments are allowed; anything else
** after the value is DATALITH_EPARSE.  Errors carry line/column (text) or
** the byte offset (CBOR).  opts may be NULL. */
int edn_read(dl_arena *a, const char *text, size_t len,
             const edn_codec_opts *opts, edn_value *out);
/* Read every top-level value in text into a vector (for files holding a
** sequence of forms). */
int edn_read_all(dl_arena *a, const char *text, size_t len,
                 const edn_codec_opts *opts, edn_value *out);
int json_read(dl_arena *a, const char *text, size_t len,
              const edn_codec_opts *opts, edn_value *out);
int cbor_read(dl_arena *a, const uint8_t *bytes, size_t len,
              const edn_codec_opts *opts, edn_value *out);

/* Writers append to `b`.  EDN output is canonical: one space between
** elements, ", " never used, maps/sets in sorted order, shortest
** round-tripping doubles, so equal values print identically and
** print → read → equal holds for every value. */
int edn_write(dl_buf *b, const edn_value *v);
int json_write(dl_buf *b, const edn_value *v);
int cbor_write(dl_buf *b, const edn_value *v);

/* Well-known interned keywords, filled by edn_init (called once lazily by
** edn_intern; safe from any thread). */
void edn_init(void);

#endif
