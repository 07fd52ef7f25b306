/*
** config.c — Datahike configuration maps: defaults, validation, the
** completed (stored) form and the connect-time consistency check.  See
** config.h for the key table.  Every error message starts with Datahike's
** "Invalid Datahike configuration." and then names the key and the value.
*/
#include "config.h"

#include "../util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVALID "Invalid Datahike configuration. "

/* ---- small helpers ---- */

static const edn_sym *kw(const char *full) {
    return edn_intern_full(full, strlen(full));
}

static edn_value kwv(const char *full) {
    return edn_keyword(kw(full));
}

/* Print `v` into `buf` (truncated with "..." past the buffer). */
static const char *show(const edn_value *v, char *buf, size_t cap) {
    dl_buf b = DL_BUF_INIT;
    if (edn_write(&b, v) != 0 || !b.data) {
        snprintf(buf, cap, "<%s>", edn_type_name((edn_type)v->type));
    } else if (b.len < cap) {
        memcpy(buf, b.data, b.len + 1);
    } else {
        memcpy(buf, b.data, cap - 4);
        memcpy(buf + cap - 4, "...", 4);
    }
    dl_buf_free(&b);
    return buf;
}

static int bad(const char *key, const char *what, const edn_value *v) {
    char sv[256];
    return dl_err_set(DATALITH_EINVAL, INVALID "%s %s, got %s", key, what,
                      show(v, sv, sizeof sv));
}

static int want_bool(const char *key, const edn_value *v, bool *out) {
    if (v->type != EDN_BOOL) return bad(key, "must be a boolean", v);
    *out = v->u.b;
    return 0;
}

/* min 0: nat-int?, min 1: pos-int? */
static int want_int(const char *key, const edn_value *v, int64_t min,
                    int64_t *out) {
    if (v->type != EDN_INT || v->u.i < min)
        return bad(key, min > 0 ? "must be a positive integer"
                                : "must be a non-negative integer", v);
    *out = v->u.i;
    return 0;
}

/* A growable k/v list in the arena, for building maps. */
typedef struct kvlist {
    edn_value *kv;
    size_t n, cap; /* in pairs */
} kvlist;

static int kv_push(dl_arena *a, kvlist *l, edn_value k, edn_value v) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        edn_value *nk = dl_arena_realloc(a, l->kv, l->cap * 2 * sizeof *nk,
                                         nc * 2 * sizeof *nk);
        if (!nk) return DATALITH_ENOMEM;
        l->kv = nk;
        l->cap = nc;
    }
    l->kv[2 * l->n] = k;
    l->kv[2 * l->n + 1] = v;
    l->n++;
    return 0;
}

/* Copy map `m` replacing (or adding) key `k` with `v`. */
static int map_assoc(dl_arena *a, const edn_value *m, edn_value k,
                     edn_value v, edn_value *out) {
    kvlist l = {0};
    int rc;
    bool done = false;
    if (m && m->type == EDN_MAP) {
        for (uint32_t i = 0; i < m->n; i++) {
            edn_value mk = m->u.items[2 * i], mv = m->u.items[2 * i + 1];
            if (edn_equal(&mk, &k)) {
                mv = v;
                done = true;
            }
            if ((rc = kv_push(a, &l, mk, mv)) != 0) return rc;
        }
    }
    if (!done && (rc = kv_push(a, &l, k, v)) != 0) return rc;
    return edn_map(a, l.kv, l.n, out);
}

/* ---- the deprecated URI form ---- */

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parse the canonical 8-4-4-4-12 text form. */
static bool parse_uuid(const char *s, size_t n, uint8_t out[16]) {
    size_t j = 0;
    if (n != 36) return false;
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
            continue;
        }
        int hi = hexval((unsigned char)s[i]), lo;
        if (hi < 0 || i + 1 >= n) return false;
        lo = hexval((unsigned char)s[++i]);
        if (lo < 0) return false;
        out[j++] = (uint8_t)(hi << 4 | lo);
    }
    return j == 16;
}

/* "datahike:<backend>://<authority><path>[?id=<uuid>]" -> {:store {...}} */
static int parse_uri(dl_arena *a, const edn_value *uri, edn_value *out) {
    const char *s = uri->u.s, *end = s + uri->n, *p, *q, *auth, *path,
               *query;
    char sv[256];
    kvlist st = {0};
    edn_value str, store;
    const edn_sym *backend;
    int rc;

    if (uri->n < 9 || memcmp(s, "datahike:", 9) != 0)
        return dl_err_set(DATALITH_EINVAL,
                          INVALID "URI scheme is not datahike conform: %s",
                          show(uri, sv, sizeof sv));
    p = s + 9;
    q = memchr(p, ':', (size_t)(end - p));
    if (!q || q == p || end - q < 3 || q[1] != '/' || q[2] != '/')
        return dl_err_set(DATALITH_EINVAL,
                          INVALID "malformed URI %s, expected "
                          "datahike:<backend>://<location>",
                          show(uri, sv, sizeof sv));
    {
        char name[64];
        size_t bl = (size_t)(q - p);
        if (bl >= sizeof name)
            return dl_err_set(DATALITH_EINVAL, INVALID "malformed URI %s",
                              show(uri, sv, sizeof sv));
        memcpy(name, p, bl);
        name[bl] = 0;
        if (strcmp(name, "mem") == 0) strcpy(name, "memory");
        backend = edn_intern(NULL, 0, name, strlen(name));
        if (!backend) return DATALITH_ENOMEM;
    }
    auth = q + 3;
    query = memchr(auth, '?', (size_t)(end - auth));
    if (!query) query = end;
    path = memchr(auth, '/', (size_t)(query - auth));
    if (!path) path = query;

    if ((rc = kv_push(a, &st, kwv("backend"), edn_keyword(backend))) != 0)
        return rc;
    if (strcmp(backend->name, "memory") != 0 && path > auth) {
        if ((rc = edn_string(a, auth, (size_t)(path - auth), &str)) != 0)
            return rc;
        if ((rc = kv_push(a, &st, kwv("host"), str)) != 0) return rc;
    }
    if (strcmp(backend->name, "memory") != 0 && query > path) {
        if ((rc = edn_string(a, path, (size_t)(query - path), &str)) != 0)
            return rc;
        if ((rc = kv_push(a, &st, kwv("path"), str)) != 0) return rc;
    }
    if (strcmp(backend->name, "memory") == 0) {
        /* the id: ?id=<uuid> if given, else the name after "//" */
        const char *ids = NULL;
        size_t idn = 0;
        if (query < end && end - query > 4 && memcmp(query, "?id=", 4) == 0) {
            ids = query + 4;
            idn = (size_t)(end - ids);
        }
        if (ids) {
            uint8_t u[16];
            if (!parse_uuid(ids, idn, u))
                return dl_err_set(DATALITH_EINVAL,
                                  INVALID "bad id in URI %s, expected a UUID",
                                  show(uri, sv, sizeof sv));
            rc = kv_push(a, &st, kwv("id"), edn_uuid(u));
        } else {
            if ((rc = edn_string(a, auth, (size_t)(query - auth), &str)) != 0)
                return rc;
            rc = kv_push(a, &st, kwv("id"), str);
        }
        if (rc) return rc;
    }
    if ((rc = edn_map(a, st.kv, st.n, &store)) != 0) return rc;
    {
        edn_value kv[2] = {kwv("store"), store};
        return edn_map(a, kv, 1, out);
    }
}

/* ---- sections ---- */

static int parse_store(dl_arena *a, const edn_value *v, dl_config *c) {
    const edn_value *b;
    edn_value bk = kwv("backend");
    if (v->type != EDN_MAP) return bad(":store", "must be a map", v);
    b = edn_map_get(v, &bk);
    if (!b || b->type == EDN_NIL) {
        c->backend = kw("memory");
        return map_assoc(a, v, bk, edn_keyword(c->backend), &c->store);
    }
    if (b->type != EDN_KEYWORD)
        return bad(":store :backend", "must be a keyword", b);
    if (b->u.sym == kw("mem")) {
        c->backend = kw("memory");
        return map_assoc(a, v, bk, edn_keyword(c->backend), &c->store);
    }
    if (b->u.sym == kw("indexeddb"))
        return bad(":store :backend", "must not be :indexeddb directly "
                   "(use :tiered)", b);
    c->backend = b->u.sym;
    c->store = *v;
    return 0;
}

static int parse_index_config(const edn_value *v, dl_config *c) {
    const edn_value *x;
    int rc;
    if (v->type != EDN_MAP) return bad(":index-config", "must be a map", v);
    if ((x = edn_map_getk(v, "branching-factor")) != NULL &&
        x->type != EDN_NIL) {
        if ((rc = want_int(":index-config :branching-factor", x, 1,
                           &c->branching_factor)) != 0)
            return rc;
    }
    if ((x = edn_map_getk(v, "diff-buf-size")) != NULL && x->type != EDN_NIL) {
        if ((rc = want_int(":index-config :diff-buf-size", x, 0,
                           &c->diff_buf_size)) != 0)
            return rc;
    }
    c->index_config = *v;
    return 0;
}

static int parse_writer(dl_arena *a, const edn_value *v, dl_config *c) {
    dl_writer_config *w = &c->writer;
    const edn_value *b;
    char sv[256];
    int rc;
    if (v->type != EDN_MAP) return bad(":writer", "must be a map", v);
    b = edn_map_getk(v, "backend");
    if (b && b->type != EDN_NIL && b->type != EDN_KEYWORD)
        return bad(":writer :backend", "must be a keyword", b);
    w->backend = (b && b->type == EDN_KEYWORD) ? b->u.sym : kw("self");
    if (w->backend == kw("self")) {
        for (uint32_t i = 0; i < v->n; i++) {
            const edn_value *k = &v->u.items[2 * i], *x = &v->u.items[2 * i + 1];
            const edn_sym *ks = k->type == EDN_KEYWORD ? k->u.sym : NULL;
            if (ks == kw("backend")) continue;
            if (ks == kw("streaming?")) {
                rc = want_bool(":writer :streaming?", x, &w->streaming);
            } else if (ks == kw("transaction-queue-size")) {
                rc = want_int(":writer :transaction-queue-size", x, 1,
                              &w->transaction_queue_size);
            } else if (ks == kw("commit-queue-size")) {
                rc = want_int(":writer :commit-queue-size", x, 1,
                              &w->commit_queue_size);
            } else if (ks == kw("commit-wait-time")) {
                rc = want_int(":writer :commit-wait-time", x, 0,
                              &w->commit_wait_time);
            } else if (ks == kw("write-fn-map")) {
                rc = x->type == EDN_MAP
                         ? 0
                         : bad(":writer :write-fn-map", "must be a map", x);
            } else {
                return dl_err_set(DATALITH_EINVAL,
                                  INVALID "unknown key %s in :writer "
                                  "{:backend :self}; allowed: :backend "
                                  ":streaming? :transaction-queue-size "
                                  ":commit-queue-size :commit-wait-time "
                                  ":write-fn-map",
                                  show(k, sv, sizeof sv));
            }
            if (rc) return rc;
        }
    } else if (w->backend == kw("datahike-server")) {
        const edn_value *u = edn_map_getk(v, "url"), *t;
        if (!u || u->type != EDN_STRING)
            return bad(":writer :url", "must be a string for "
                       ":backend :datahike-server",
                       u ? u : &(edn_value){0});
        t = edn_map_getk(v, "token");
        if (t && t->type != EDN_STRING && t->type != EDN_NIL)
            return bad(":writer :token", "must be a string", t);
    } else if (w->backend != kw("kabel")) {
        return bad(":writer :backend", "must be one of :self "
                   ":datahike-server :kabel", b);
    }
    if (!b) return map_assoc(a, v, kwv("backend"), edn_keyword(w->backend),
                             &w->map);
    w->map = *v;
    return 0;
}

static int read_file(dl_arena *a, const char *path, edn_value *out) {
    FILE *f = fopen(path, "rb");
    dl_buf b = DL_BUF_INIT;
    char chunk[4096];
    size_t n;
    int rc;
    if (!f)
        return dl_err_set(DATALITH_EIO,
                          INVALID ":initial-tx file \"%s\" cannot be read: %s",
                          path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((rc = dl_buf_append(&b, chunk, n)) != 0) {
            fclose(f);
            dl_buf_free(&b);
            return rc;
        }
    }
    if (ferror(f)) {
        fclose(f);
        dl_buf_free(&b);
        return dl_err_set(DATALITH_EIO,
                          INVALID ":initial-tx file \"%s\" cannot be read",
                          path);
    }
    fclose(f);
    rc = edn_read(a, b.data ? b.data : "", b.len, NULL, out);
    dl_buf_free(&b);
    if (rc) return dl_err_prefix(INVALID ":initial-tx file \"%s\": ", path);
    return 0;
}

static int check_tx_data(const edn_value *v) {
    if (!edn_is_seq(v))
        return bad(":initial-tx", "must be a collection of entities or a "
                   "file path string", v);
    for (uint32_t i = 0; i < v->n; i++) {
        const edn_value *e = &v->u.items[i];
        if (e->type != EDN_MAP && e->type != EDN_VECTOR)
            return bad(":initial-tx", "entries must be maps or vectors", e);
    }
    return 0;
}

static int parse_initial_tx(dl_arena *a, const edn_value *v, dl_config *c) {
    int rc;
    if (v->type == EDN_BOOL) {
        /* the stored form: only a marker that one was transacted */
        c->has_initial_tx = v->u.b;
        c->initial_tx = edn_nil();
        return 0;
    }
    if (v->type == EDN_STRING) {
        edn_value data;
        if ((rc = read_file(a, v->u.s, &data)) != 0) return rc;
        if ((rc = check_tx_data(&data)) != 0) return rc;
        c->has_initial_tx = true;
        c->initial_tx = data;
        return 0;
    }
    if ((rc = check_tx_data(v)) != 0) return rc;
    c->has_initial_tx = true;
    c->initial_tx = *v;
    return 0;
}

static void set_defaults(dl_config *c) {
    memset(c, 0, sizeof *c);
    c->store = edn_nil();
    c->backend = kw("memory");
    c->schema_flexibility = DL_FLEX_WRITE;
    c->keep_history = true;
    c->name = edn_nil();
    c->initial_tx = edn_nil();
    c->branch = kw("db");
    c->index = kw("datahike.index/persistent-set");
    c->branching_factor = DL_CONFIG_DEFAULT_BRANCHING_FACTOR;
    c->diff_buf_size = 0;
    c->index_config = edn_nil();
    c->store_cache_size = DL_CONFIG_DEFAULT_STORE_CACHE_SIZE;
    c->search_cache_size = DL_CONFIG_DEFAULT_SEARCH_CACHE_SIZE;
    c->writer.backend = kw("self");
    c->writer.streaming = true;
    c->writer.transaction_queue_size = DL_CONFIG_DEFAULT_QUEUE_SIZE;
    c->writer.commit_queue_size = DL_CONFIG_DEFAULT_QUEUE_SIZE;
    c->writer.commit_wait_time = 0;
    c->writer.map = edn_nil();
    c->extra = edn_nil();
}

int dl_config_parse(dl_arena *a, const edn_value *in, dl_config *out) {
    dl_config c;
    edn_value m, nilv = edn_nil();
    kvlist extra = {0};
    char sv[256];
    int rc;

    set_defaults(&c);
    if (!in) in = &nilv;
    if (in->type == EDN_STRING) {
        if ((rc = parse_uri(a, in, &m)) != 0) return rc;
        in = &m;
    }
    if (in->type != EDN_NIL && in->type != EDN_MAP)
        return bad("configuration", "must be a map or a URI string", in);

    for (uint32_t i = 0; in->type == EDN_MAP && i < in->n; i++) {
        const edn_value *k = &in->u.items[2 * i], *v = &in->u.items[2 * i + 1];
        const edn_sym *s;
        if (k->type != EDN_KEYWORD)
            return dl_err_set(DATALITH_EINVAL,
                              INVALID "keys must be keywords, got %s",
                              show(k, sv, sizeof sv));
        if (v->type == EDN_NIL) continue; /* Datahike removes nils */
        s = k->u.sym;
        if (s == kw("store")) {
            rc = parse_store(a, v, &c);
        } else if (s == kw("schema-flexibility")) {
            if (edn_is_kw(v, kw("write"))) c.schema_flexibility = DL_FLEX_WRITE;
            else if (edn_is_kw(v, kw("read"))) c.schema_flexibility = DL_FLEX_READ;
            else return bad(":schema-flexibility", "must be :read or :write", v);
            rc = 0;
        } else if (s == kw("keep-history?")) {
            rc = want_bool(":keep-history?", v, &c.keep_history);
        } else if (s == kw("attribute-refs?")) {
            rc = want_bool(":attribute-refs?", v, &c.attribute_refs);
        } else if (s == kw("crypto-hash?")) {
            rc = want_bool(":crypto-hash?", v, &c.crypto_hash);
        } else if (s == kw("allow-unsafe-config")) {
            c.has_allow_unsafe_config = true;
            rc = want_bool(":allow-unsafe-config", v, &c.allow_unsafe_config);
        } else if (s == kw("allow-index-backfill?")) {
            rc = want_bool(":allow-index-backfill?", v,
                           &c.allow_index_backfill);
        } else if (s == kw("name")) {
            if (v->type != EDN_STRING) return bad(":name", "must be a string", v);
            c.has_name = true;
            c.name = *v;
            rc = 0;
        } else if (s == kw("initial-tx")) {
            rc = parse_initial_tx(a, v, &c);
        } else if (s == kw("branch")) {
            if (v->type != EDN_KEYWORD)
                return bad(":branch", "must be a keyword", v);
            c.branch = v->u.sym;
            rc = 0;
        } else if (s == kw("index")) {
            if (edn_is_kw(v, kw("datahike.index/persistent-set"))) {
                c.index = v->u.sym;
                rc = 0;
            } else if (edn_is_kw(v, kw("datahike.index/hitchhiker-tree"))) {
                return dl_err_set(DATALITH_EUNSUPPORTED,
                                  INVALID ":index "
                                  ":datahike.index/hitchhiker-tree is not "
                                  "supported; use "
                                  ":datahike.index/persistent-set");
            } else {
                return bad(":index", "must be :datahike.index/persistent-set",
                           v);
            }
        } else if (s == kw("index-config")) {
            rc = parse_index_config(v, &c);
        } else if (s == kw("store-cache-size")) {
            rc = want_int(":store-cache-size", v, 1, &c.store_cache_size);
        } else if (s == kw("search-cache-size")) {
            rc = want_int(":search-cache-size", v, 0, &c.search_cache_size);
        } else if (s == kw("writer")) {
            rc = parse_writer(a, v, &c);
        } else {
            rc = kv_push(a, &extra, *k, *v);
        }
        if (rc) return rc;
    }

    if (c.attribute_refs && c.schema_flexibility == DL_FLEX_READ)
        return dl_err_set(DATALITH_EINVAL,
                          "Attribute references cannot be used with "
                          "schema-flexibility ':read'.");

    /* fill the completed sub-maps */
    if (c.store.type == EDN_NIL) {
        edn_value kv[2] = {kwv("backend"), kwv("memory")};
        if ((rc = edn_map(a, kv, 1, &c.store)) != 0) return rc;
    }
    {
        edn_value base = c.index_config;
        if (base.type == EDN_NIL && (rc = edn_map(a, NULL, 0, &base)) != 0)
            return rc;
        if ((rc = map_assoc(a, &base, kwv("branching-factor"),
                            edn_int(c.branching_factor), &base)) != 0)
            return rc;
        if ((rc = map_assoc(a, &base, kwv("diff-buf-size"),
                            edn_int(c.diff_buf_size), &c.index_config)) != 0)
            return rc;
    }
    if (c.writer.map.type == EDN_NIL) {
        edn_value kv[2] = {kwv("backend"), kwv("self")};
        if ((rc = edn_map(a, kv, 1, &c.writer.map)) != 0) return rc;
    }
    if ((rc = edn_map(a, extra.kv, extra.n, &c.extra)) != 0) return rc;
    *out = c;
    return 0;
}

int dl_config_to_edn(dl_arena *a, const dl_config *c, edn_value *out) {
    kvlist l = {0};
    int rc;
#define PUT(k, v)                                                            \
    do {                                                                     \
        if ((rc = kv_push(a, &l, kwv(k), (v))) != 0) return rc;              \
    } while (0)
    PUT("store", c->store);
    PUT("schema-flexibility",
        kwv(c->schema_flexibility == DL_FLEX_READ ? "read" : "write"));
    PUT("keep-history?", edn_bool(c->keep_history));
    PUT("attribute-refs?", edn_bool(c->attribute_refs));
    PUT("crypto-hash?", edn_bool(c->crypto_hash));
    if (c->has_name) PUT("name", c->name);
    if (c->has_initial_tx) PUT("initial-tx", edn_bool(true));
    PUT("branch", edn_keyword(c->branch));
    PUT("index", edn_keyword(c->index));
    PUT("index-config", c->index_config);
    PUT("store-cache-size", edn_int(c->store_cache_size));
    PUT("search-cache-size", edn_int(c->search_cache_size));
    PUT("writer", c->writer.map);
    if (c->has_allow_unsafe_config)
        PUT("allow-unsafe-config", edn_bool(c->allow_unsafe_config));
    PUT("allow-index-backfill?", edn_bool(c->allow_index_backfill));
#undef PUT
    for (uint32_t i = 0; c->extra.type == EDN_MAP && i < c->extra.n; i++)
        if ((rc = kv_push(a, &l, c->extra.u.items[2 * i],
                          c->extra.u.items[2 * i + 1])) != 0)
            return rc;
    return edn_map(a, l.kv, l.n, out);
}

/* ---- connect ---- */

/* Extra keys that are runtime settings and never compared. */
static bool runtime_extra(const edn_value *k) {
    const char *n;
    if (k->type != EDN_KEYWORD || k->u.sym->ns) return false;
    n = k->u.sym->name;
    return strcmp(n, "value-caps") == 0 || strcmp(n, "remote-peer") == 0 ||
           strcmp(n, "online-gc") == 0 || strcmp(n, "middleware") == 0 ||
           (strncmp(n, "max-", 4) == 0 &&
            k->u.sym->name_len > 11 &&
            strcmp(n + k->u.sym->name_len - 7, "-length") == 0);
}

static int mismatch(const char *key, const edn_value *given,
                    const edn_value *stored) {
    char g[200], s[200];
    return dl_err_set(DATALITH_ECONFLICT,
                      DL_CONFIG_MISMATCH_MSG " Differing key %s: given %s, "
                      "stored %s.", key, show(given, g, sizeof g),
                      show(stored, s, sizeof s));
}

/* Compare the non-runtime extra keys of both configs (either side may
** hold a key the other lacks). */
static int compare_extra(const edn_value *g, const edn_value *s) {
    const edn_value *sides[2] = {g, s};
    for (int side = 0; side < 2; side++) {
        const edn_value *m = sides[side], *o = sides[1 - side];
        for (uint32_t i = 0; m->type == EDN_MAP && i < m->n; i++) {
            const edn_value *k = &m->u.items[2 * i];
            const edn_value *v = &m->u.items[2 * i + 1], *ov;
            edn_value nilv = edn_nil();
            char kb[128];
            if (runtime_extra(k)) continue;
            ov = o->type == EDN_MAP ? edn_map_get(o, k) : NULL;
            if (!ov) ov = &nilv;
            if (!edn_equal(v, ov)) {
                show(k, kb, sizeof kb);
                return side == 0 ? mismatch(kb, v, ov) : mismatch(kb, ov, v);
            }
        }
    }
    return 0;
}

int dl_config_check_stored(dl_arena *a, const dl_config *given,
                           const edn_value *stored, dl_config *effective) {
    dl_config st;
    const edn_value *gid, *sid;
    int rc;

    if (!stored || stored->type == EDN_NIL)
        return dl_err_set(DATALITH_ENOTFOUND, "Database does not exist.");
    if (stored->type != EDN_MAP)
        return dl_err_set(DATALITH_ECORRUPT,
                          "The stored configuration is not a map.");
    if ((rc = dl_config_parse(a, stored, &st)) != 0)
        return dl_err_prefix("The stored configuration is invalid: ");

    *effective = *given;
    /* create-time fixed settings are adopted from the store */
    effective->index = st.index;
    effective->branching_factor = st.branching_factor;
    effective->diff_buf_size = st.diff_buf_size;
    effective->index_config = st.index_config;

    gid = edn_map_getk(&given->store, "id");
    sid = edn_map_getk(&st.store, "id");
    if (gid && sid && !edn_equal(gid, sid)) {
        char g[200], s[200];
        return dl_err_set(DATALITH_ECONFLICT,
                          "Store identity mismatch: the config's store :id "
                          "%s differs from the stored database's :id %s.",
                          show(gid, g, sizeof g), show(sid, s, sizeof s));
    }
    if (!gid && sid) {
        if ((rc = map_assoc(a, &given->store, kwv("id"), *sid,
                            &effective->store)) != 0)
            return rc;
    }
    if (given->allow_unsafe_config) return 0;

    if (given->schema_flexibility != st.schema_flexibility) {
        edn_value g = kwv(given->schema_flexibility ? "read" : "write");
        edn_value s = kwv(st.schema_flexibility ? "read" : "write");
        return mismatch(":schema-flexibility", &g, &s);
    }
#define CMPB(field, key)                                                     \
    if (given->field != st.field) {                                          \
        edn_value g = edn_bool(given->field), s = edn_bool(st.field);        \
        return mismatch(key, &g, &s);                                        \
    }
    CMPB(keep_history, ":keep-history?")
    CMPB(attribute_refs, ":attribute-refs?")
    CMPB(crypto_hash, ":crypto-hash?")
#undef CMPB
    return compare_extra(&given->extra, &st.extra);
}
