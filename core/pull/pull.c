/*
** pull.c — parsing and evaluating pull patterns (pull.h,
** reference/datahike-semantics.md §6).
**
** The parser turns the EDN pattern into a dl_pull_spec tree once; every
** error is DATALITH_EQUERY and names the offending form.  The evaluator
** walks that tree per entity, recursing in C for nested patterns,
** recursion and component expansion (bounded by DL_PULL_MAX_DEPTH), and
** builds the result in the caller's arena.
**
** Recursion bookkeeping follows Datahike: a recursive spec re-applies the
** pattern it sits in; the chain of (spec, parent entity) frames on the C
** stack is the recursion path.  The depth of a spec is the number of its
** frames on the path (depth reached ⇒ the attribute is left out) and an
** entity already on the path is rendered {:db/id e} instead of being pulled
** again, so cycles terminate:
**
**   pull [:name {:friend ...}] 1      1 ─friend─▶ 2 ─friend─▶ 1
**     frame(friend, 1)  pull 2
**       frame(friend, 2)  target 1 is on the path ⇒ {:db/id 1}
**   ⇒ {:name "1" :friend {:name "2" :friend {:db/id 1}}}
**
** Component expansion (a forward component ref without a sub-pattern) is a
** wildcard pull of the component; an entity already being pulled further
** up (a malformed component cycle) is rendered {:db/id e}.
**
** All datom access goes through scan_open/scan_next/scan_close, one prefix
** scan of one index.
*/
#include "pull.h"

#include "db/schema.h"
#include "db/view.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

/* ---- datom access ---- */

typedef struct pull_scan {
    dl_scan *s;
} pull_scan;

/* A prefix scan over the first nf components of key in `order`, through
** the view-aware scan, so as-of, since, history and filtered snapshots pull
** what they show.  key must outlive the scan. */
static int scan_open(pull_scan *s, const dl_db *db, dl_index order,
                     const dl_datom *key, unsigned nf) {
    s->s = NULL;
    return dl_scan_open(db, order, key, nf, key, nf, false, &s->s);
}

/* 1 with *out (borrowed until the next call), 0 at the end, or an error. */
static int scan_next(pull_scan *s, dl_datom *out) {
    int rc;
    while ((rc = dl_scan_next(s->s, out)) == 1 && !out->added)
        ; /* a history view's retractions are not values */
    return rc;
}

static void scan_close(pull_scan *s) {
    if (s->s) dl_scan_close(s->s);
    s->s = NULL;
}

/* ---- helpers ---- */

static const edn_sym *sym_of(const char *full) {
    return edn_intern_full(full, strlen(full));
}

/* v printed for a message (arena copy, shortened); never NULL. */
static const char *show(dl_arena *a, const edn_value *v) {
    dl_buf b = DL_BUF_INIT;
    const char *s = "?";
    if (edn_write(&b, v) == 0) {
        size_t n = 0;
        char *p = dl_buf_detach(&b, &n);
        if (p) {
            if (n > 160) {
                memcpy(p + 150, " …", 5);
                n = 154;
            }
            char *c = dl_arena_strndup(a, p, n);
            if (c) s = c;
            free(p);
        }
    }
    dl_buf_free(&b);
    return s;
}

/* ---- parsing ---- */

typedef struct pull_parser {
    dl_arena *a;
    const dl_db *db;
    const edn_sym *db_id;
} pull_parser;

#define PERR(pp, ...) dl_err_set(DATALITH_EQUERY, "Cannot parse pull pattern: " __VA_ARGS__)

static int parse_pattern(pull_parser *pp, const edn_value *v,
                         dl_pull_pattern **out);

/* An attribute name: :ns/name, :ns/_name (reverse) or :db/id. */
static int parse_attr_name(pull_parser *pp, const edn_value *v,
                           const edn_value *in, dl_pull_spec *s) {
    if (v->type != EDN_KEYWORD)
        return PERR(pp, "expected an attribute keyword, got %s in %s",
                    show(pp->a, v), show(pp->a, in));
    const edn_sym *k = v->u.sym;
    memset(s, 0, sizeof *s);
    s->key = *v;
    s->limit = DL_PULL_DEFAULT_LIMIT;
    if (k == pp->db_id) {
        s->kind = DL_PULL_ID;
        s->attr = k;
        return 0;
    }
    if (k->name[0] == '_' && k->name_len > 1) {
        s->kind = DL_PULL_REVERSE;
        s->attr = edn_intern(k->ns, k->ns_len, k->name + 1, k->name_len - 1);
        if (!s->attr) return dl_err_nomem();
        const dl_attr *at = dl_schema_attr(pp->db->schema, s->attr);
        if (at && !at->ref)
            return PERR(pp, "reverse attribute :%s needs :%s to be of "
                        ":db.type/ref",
                        k->full, s->attr->full);
        return 0;
    }
    s->kind = DL_PULL_ATTR;
    s->attr = k;
    return 0;
}

static int parse_limit(pull_parser *pp, const edn_value *n,
                       const edn_value *in, long *out) {
    if (n->type == EDN_NIL) {
        *out = DL_PULL_UNLIMITED;
        return 0;
    }
    if (n->type != EDN_INT || n->u.i <= 0)
        return PERR(pp, "expected a positive limit or nil, got %s in %s",
                    show(pp->a, n), show(pp->a, in));
    *out = n->u.i > (int64_t)0x7fffffff ? 0x7fffffffL : (long)n->u.i;
    return 0;
}

/* `v` is the word `name` as a symbol, an unqualified keyword or a string
** (the grammar accepts all three for *, ..., limit and default). */
static bool is_word(const edn_value *v, const char *name) {
    return ((v->type == EDN_SYMBOL || v->type == EDN_KEYWORD) &&
            !v->u.sym->ns && strcmp(v->u.sym->name, name) == 0) ||
           (v->type == EDN_STRING && strcmp(v->u.s, name) == 0);
}

static bool is_option(const edn_value *o) {
    return o->type == EDN_KEYWORD && !o->u.sym->ns &&
           (!strcmp(o->u.sym->name, "as") || !strcmp(o->u.sym->name, "limit") ||
            !strcmp(o->u.sym->name, "default"));
}

/* An attribute expression, tried in the grammar's order:
**   [:a option value ...]   options :as, :limit, :default ([:a] alone too)
**   (limit :a n) / (default :a v)   also as vectors, with limit/default
**                                   as symbol, keyword or string */
static int parse_attr_expr(pull_parser *pp, const edn_value *v,
                           dl_pull_spec *s) {
    const edn_value *it = v->u.items;
    int rc;
    if (v->n == 0)
        return PERR(pp, "empty attribute expression %s", show(pp->a, v));
    bool opts_ok = it[0].type == EDN_KEYWORD && (v->n - 1) % 2 == 0;
    for (size_t i = 1; opts_ok && i < v->n; i += 2)
        opts_ok = is_option(&it[i]);
    if (opts_ok) {
        rc = parse_attr_name(pp, &it[0], v, s);
        if (rc) return rc;
        for (size_t i = 1; i + 1 < v->n; i += 2) {
            const edn_value *ov = &it[i + 1];
            const char *name = it[i].u.sym->name;
            if (name[0] == 'a') {
                s->key = *ov;
            } else if (name[0] == 'l') {
                rc = parse_limit(pp, ov, v, &s->limit);
                if (rc) return rc;
            } else {
                s->has_default = true;
                s->deflt = *ov;
            }
        }
        return 0;
    }
    if (is_word(&it[0], "limit") || is_word(&it[0], "default")) {
        bool lim = is_word(&it[0], "limit");
        if (v->n != 3)
            return PERR(pp, "expected (%s attr %s), got %s",
                        lim ? "limit" : "default", lim ? "n" : "value",
                        show(pp->a, v));
        rc = parse_attr_name(pp, &it[1], v, s);
        if (rc) return rc;
        if (lim) return parse_limit(pp, &it[2], v, &s->limit);
        s->has_default = true;
        s->deflt = it[2];
        return 0;
    }
    if (it[0].type != EDN_KEYWORD)
        return PERR(pp, "expected an attribute keyword, limit or default "
                    "first, got %s in %s",
                    show(pp->a, &it[0]), show(pp->a, v));
    for (size_t i = 1; i < v->n; i += 2)
        if (!is_option(&it[i]))
            return PERR(pp, "unknown attribute option %s in %s (expected "
                        ":as, :limit or :default)",
                        show(pp->a, &it[i]), show(pp->a, v));
    return PERR(pp, "expected [attr option value ...] with options "
                ":as, :limit, :default, got %s",
                show(pp->a, v));
}

/* One attr-spec other than a map spec or the wildcard. */
static int parse_attr_spec(pull_parser *pp, const edn_value *v,
                           dl_pull_spec *s) {
    if (v->type == EDN_KEYWORD) return parse_attr_name(pp, v, v, s);
    if (edn_is_seq(v)) return parse_attr_expr(pp, v, s);
    return PERR(pp, "expected an attribute, attribute expression, map "
                "or *, got %s",
                show(pp->a, v));
}

/* One entry k -> sv of a map spec. */
static int parse_map_entry(pull_parser *pp, const edn_value *e,
                           const edn_value *k, const edn_value *sv,
                           dl_pull_spec *s) {
    int rc = parse_attr_spec(pp, k, s);
    if (rc) return rc;
    if (sv->type != EDN_KEYWORD && is_word(sv, "...")) {
        s->recursion = DL_PULL_RECURSE_UNBOUNDED;
    } else if (sv->type == EDN_INT) {
        if (sv->u.i <= 0)
            return PERR(pp, "expected a positive recursion depth or ..., "
                        "got %s in %s",
                        show(pp->a, sv), show(pp->a, e));
        s->recursion = sv->u.i > 0x7fffffff ? 0x7fffffff : (int)sv->u.i;
    } else if (edn_is_seq(sv)) {
        dl_pull_pattern *sub;
        rc = parse_pattern(pp, sv, &sub);
        if (rc) return rc;
        s->sub = sub;
    } else {
        return PERR(pp, "expected a pattern, a recursion depth or ... as "
                    "the value of %s, got %s",
                    show(pp->a, k), show(pp->a, sv));
    }
    if (s->kind == DL_PULL_ID) { /* :db/id is the id whatever follows */
        s->sub = NULL;
        s->recursion = DL_PULL_NO_RECURSION;
    }
    return 0;
}

/* As Datahike's parser does, the wildcard counts once, plain specs come
** first in written order, then every map-spec entry; so on equal keys a
** map spec wins over a plain spec. */
static int parse_pattern(pull_parser *pp, const edn_value *v,
                         dl_pull_pattern **out) {
    if (!edn_is_seq(v))
        return PERR(pp, "expected a vector of attribute specs, got %s",
                    show(pp->a, v));
    dl_pull_pattern *p = dl_arena_calloc(pp->a, 1, sizeof *p);
    size_t cap = 0;
    for (size_t i = 0; i < v->n; i++)
        cap += v->u.items[i].type == EDN_MAP ? v->u.items[i].n : 1;
    dl_pull_spec *specs = dl_arena_calloc(pp->a, cap ? cap : 1, sizeof *specs);
    if (!p || !specs) return dl_err_nomem();
    p->specs = specs;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < v->n; i++) {
            const edn_value *e = &v->u.items[i];
            int rc;
            if (is_word(e, "*")) {
                p->wildcard = true;
            } else if (e->type != EDN_MAP) {
                if (pass == 1) continue;
                rc = parse_attr_spec(pp, e, &specs[p->n]);
                if (rc) return rc;
                p->n++;
            } else {
                if (pass == 0) continue;
                for (size_t j = 0; j < e->n; j++) {
                    rc = parse_map_entry(pp, e, &e->u.items[2 * j],
                                         &e->u.items[2 * j + 1], &specs[p->n]);
                    if (rc) return rc;
                    p->n++;
                }
            }
        }
    }
    *out = p;
    return 0;
}

int dl_pull_parse(dl_arena *a, const edn_value *pattern, const dl_db *db,
                  dl_pull_pattern **out) {
    pull_parser pp = {a, db, sym_of("db/id")};
    if (!pp.db_id) return dl_err_nomem();
    return parse_pattern(&pp, pattern, out);
}

/* ---- evaluation ---- */

/* A result map under construction: keys unique, a later put replaces. */
typedef struct pull_map {
    edn_value *kv; /* k0 v0 k1 v1 … */
    size_t n, cap; /* pairs */
} pull_map;

typedef struct pull_rec {
    const struct pull_rec *up;
    const dl_pull_spec *spec;
    uint64_t eid; /* the entity whose attribute was followed */
} pull_rec;

typedef struct pull_ctx {
    dl_arena *a;
    const dl_db *db;
    const edn_sym *db_id;
    uint64_t *stack; /* entities being pulled, outermost first */
    size_t depth, cap;
    dl_pull_pattern wildcard; /* [*] for component expansion */
} pull_ctx;

static int map_put(pull_ctx *c, pull_map *m, const edn_value *k,
                   const edn_value *v) {
    for (size_t i = 0; i < m->n; i++)
        if (edn_equal(&m->kv[2 * i], k)) {
            m->kv[2 * i + 1] = *v;
            return 0;
        }
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 8;
        edn_value *nk = dl_arena_realloc(c->a, m->kv, m->cap * 2 * sizeof *nk,
                                         nc * 2 * sizeof *nk);
        if (!nk) return dl_err_nomem();
        m->kv = nk;
        m->cap = nc;
    }
    m->kv[2 * m->n] = *k;
    m->kv[2 * m->n + 1] = *v;
    m->n++;
    return 0;
}

/* A growable vector of values in the arena. */
typedef struct pull_vec {
    edn_value *v;
    size_t n, cap;
} pull_vec;

static int vec_push(pull_ctx *c, pull_vec *x, const edn_value *v) {
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 8;
        edn_value *nv = dl_arena_realloc(c->a, x->v, x->cap * sizeof *nv,
                                         nc * sizeof *nv);
        if (!nv) return dl_err_nomem();
        x->v = nv;
        x->cap = nc;
    }
    x->v[x->n++] = *v;
    return 0;
}

static int id_map(pull_ctx *c, uint64_t eid, edn_value *out) {
    edn_value kv[2] = {edn_keyword(c->db_id), edn_int((int64_t)eid)};
    return edn_map(c->a, kv, 1, out);
}

static int pull_entity(pull_ctx *c, const dl_pull_pattern *p, uint64_t eid,
                       const pull_rec *rec, edn_value *out);

static bool on_path(const pull_rec *r, uint64_t eid) {
    for (; r; r = r->up)
        if (r->eid == eid) return true;
    return false;
}

static bool on_stack(const pull_ctx *c, uint64_t eid) {
    for (size_t i = 0; i < c->depth; i++)
        if (c->stack[i] == eid) return true;
    return false;
}

/* Render the entity `target` reached from `parent` through spec `s` of
** pattern `p` (s NULL: a wildcard attribute).  *keep is false when a
** sub-pull found nothing (the caller drops it). */
static int ref_value(pull_ctx *c, const dl_pull_pattern *p,
                     const dl_pull_spec *s, bool expand_component,
                     uint64_t parent, const pull_rec *rec, uint64_t target,
                     edn_value *out, bool *keep) {
    *keep = true;
    if (s && s->recursion != DL_PULL_NO_RECURSION) {
        pull_rec fr = {rec, s, parent};
        if (on_path(&fr, target)) return id_map(c, target, out);
        int rc = pull_entity(c, p, target, &fr, out);
        if (!rc && out->type == EDN_NIL) *keep = false;
        return rc;
    }
    if (s && s->sub) {
        int rc = pull_entity(c, s->sub, target, NULL, out);
        if (!rc && out->type == EDN_NIL) *keep = false;
        return rc;
    }
    if (expand_component) {
        if (on_stack(c, target)) return id_map(c, target, out);
        int rc = pull_entity(c, &c->wildcard, target, NULL, out);
        if (!rc && out->type == EDN_NIL) *keep = false;
        return rc;
    }
    return id_map(c, target, out);
}

/* The value of one datom's v for attribute `at` (NULL: untyped). */
static int attr_value(pull_ctx *c, const dl_pull_pattern *p,
                      const dl_pull_spec *s, const dl_attr *at, uint64_t eid,
                      const pull_rec *rec, const dl_datom *d, edn_value *out,
                      bool *keep) {
    *keep = true;
    if (at && at->ref && d->v.type == EDN_INT && d->v.u.i >= 0)
        return ref_value(c, p, s, at->component, eid, rec,
                         (uint64_t)d->v.u.i, out, keep);
    return edn_clone(c->a, &d->v, out);
}

/* Put the values of one attribute: a vector when many, else the single
** value (nothing when a sub-pull dropped it). */
static int put_result(pull_ctx *c, pull_map *m, const edn_value *key,
                      bool many, pull_vec *vals) {
    edn_value v;
    int rc;
    if (many) {
        rc = edn_vector(c->a, vals->v, vals->n, &v);
        if (rc) return rc;
        return map_put(c, m, key, &v);
    }
    if (vals->n == 0) return 0;
    return map_put(c, m, key, &vals->v[0]);
}

/* Forward attribute spec s of pattern p on entity eid. */
static int pull_attr(pull_ctx *c, const dl_pull_pattern *p,
                     const dl_pull_spec *s, uint64_t eid, const pull_rec *rec,
                     pull_map *m) {
    const dl_attr *at = dl_schema_attr(c->db->schema, s->attr);
    bool many = at && at->many;
    if (s->recursion > 0) {
        int depth = 0;
        for (const pull_rec *r = rec; r; r = r->up)
            if (r->spec == s) depth++;
        if (depth >= s->recursion) return 0;
    }
    dl_datom key, d;
    memset(&key, 0, sizeof key);
    key.e = eid;
    key.a = s->attr;
    pull_scan sc;
    pull_vec vals = {0};
    bool any = false;
    int rc = scan_open(&sc, c->db, DL_EAVT, &key, 2), more;
    while (!rc && (more = scan_next(&sc, &d)) != 0) {
        if (more < 0) { rc = more; break; }
        edn_value v;
        bool keep;
        any = true;
        rc = attr_value(c, p, s, at, eid, rec, &d, &v, &keep);
        if (!rc && keep) rc = vec_push(c, &vals, &v);
        if (!many) break;
        if (s->limit != DL_PULL_UNLIMITED && vals.n >= (size_t)s->limit) break;
    }
    scan_close(&sc);
    if (rc) return rc;
    if (!any) return s->has_default ? map_put(c, m, &s->key, &s->deflt) : 0;
    return put_result(c, m, &s->key, many, &vals);
}

/* Reverse spec: the entities whose s->attr refers to eid. */
static int pull_reverse(pull_ctx *c, const dl_pull_pattern *p,
                        const dl_pull_spec *s, uint64_t eid,
                        const pull_rec *rec, pull_map *m) {
    const dl_attr *at = dl_schema_attr(c->db->schema, s->attr);
    if (!at || !at->ref)
        return s->has_default ? map_put(c, m, &s->key, &s->deflt) : 0;
    bool single = at->component;
    if (s->recursion > 0) {
        int depth = 0;
        for (const pull_rec *r = rec; r; r = r->up)
            if (r->spec == s) depth++;
        if (depth >= s->recursion) return 0;
    }
    dl_datom key, d;
    memset(&key, 0, sizeof key);
    key.a = s->attr;
    key.v = edn_int((int64_t)eid);
    pull_scan sc;
    pull_vec vals = {0};
    bool any = false;
    int rc = scan_open(&sc, c->db, DL_AVET, &key, 2), more;
    while (!rc && (more = scan_next(&sc, &d)) != 0) {
        if (more < 0) { rc = more; break; }
        edn_value v;
        bool keep;
        uint64_t from = d.e;
        any = true;
        rc = ref_value(c, p, s, false, eid, rec, from, &v, &keep);
        if (!rc && keep) rc = vec_push(c, &vals, &v);
        if (single) break;
        if (s->limit != DL_PULL_UNLIMITED && vals.n >= (size_t)s->limit) break;
    }
    scan_close(&sc);
    if (rc) return rc;
    if (!any) return s->has_default ? map_put(c, m, &s->key, &s->deflt) : 0;
    return put_result(c, m, &s->key, !single, &vals);
}

/* Every attribute of eid (the wildcard), into m; *has set when eid has
** datoms.  Card-many values are limited to the default limit. */
static int pull_wildcard(pull_ctx *c, const dl_pull_pattern *p, uint64_t eid,
                         const pull_rec *rec, pull_map *m, bool *has) {
    dl_datom key, d;
    memset(&key, 0, sizeof key);
    key.e = eid;
    pull_scan sc;
    const edn_sym *cur = NULL;
    const dl_attr *at = NULL;
    pull_vec vals = {0};
    int rc = scan_open(&sc, c->db, DL_EAVT, &key, 1), more = 0;
    *has = false;
    for (;;) {
        if (!rc) more = scan_next(&sc, &d);
        if (!rc && more < 0) rc = more;
        if (rc) break;
        if (cur && (!more || d.a != cur)) {
            edn_value k = edn_keyword(cur);
            rc = put_result(c, m, &k, at && at->many, &vals);
            if (rc) break;
            cur = NULL;
        }
        if (!more) break;
        *has = true;
        if (!cur) {
            cur = d.a;
            at = dl_schema_attr(c->db->schema, cur);
            vals.v = NULL;
            vals.n = vals.cap = 0;
        } else if (!(at && at->many) ||
                   vals.n >= (size_t)DL_PULL_DEFAULT_LIMIT) {
            continue;
        }
        edn_value v;
        bool keep;
        rc = attr_value(c, p, NULL, at, eid, rec, &d, &v, &keep);
        if (!rc && keep) rc = vec_push(c, &vals, &v);
    }
    scan_close(&sc);
    return rc;
}

static int has_datoms(pull_ctx *c, uint64_t eid, bool *out) {
    dl_datom key, d;
    memset(&key, 0, sizeof key);
    key.e = eid;
    pull_scan sc;
    int rc = scan_open(&sc, c->db, DL_EAVT, &key, 1);
    if (!rc) {
        int more = scan_next(&sc, &d);
        if (more < 0) rc = more;
        *out = more > 0;
    }
    scan_close(&sc);
    return rc;
}

static int pull_entity(pull_ctx *c, const dl_pull_pattern *p, uint64_t eid,
                       const pull_rec *rec, edn_value *out) {
    pull_map m = {0};
    int rc = 0, has = -1; /* -1: not looked up yet */
    if (c->depth >= DL_PULL_MAX_DEPTH)
        return dl_err_set(DATALITH_ELIMIT,
                          "pull: nesting deeper than %d entities at entity "
                          "%llu",
                          DL_PULL_MAX_DEPTH, (unsigned long long)eid);
    if (c->depth == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 32;
        uint64_t *ns = dl_arena_realloc(c->a, c->stack, c->cap * sizeof *ns,
                                        nc * sizeof *ns);
        if (!ns) return dl_err_nomem();
        c->stack = ns;
        c->cap = nc;
    }
    c->stack[c->depth++] = eid;
    if (p->wildcard) {
        bool h;
        rc = pull_wildcard(c, p, eid, rec, &m, &h);
        has = h;
        if (!rc && h) {
            edn_value k = edn_keyword(c->db_id), v = edn_int((int64_t)eid);
            rc = map_put(c, &m, &k, &v);
        }
    }
    for (size_t i = 0; !rc && i < p->n; i++) {
        const dl_pull_spec *s = &p->specs[i];
        switch (s->kind) {
        case DL_PULL_ID:
            if (has < 0) {
                bool h = false;
                rc = has_datoms(c, eid, &h);
                has = h;
            }
            if (!rc && has) {
                edn_value v = edn_int((int64_t)eid);
                rc = map_put(c, &m, &s->key, &v);
            }
            break;
        case DL_PULL_ATTR: rc = pull_attr(c, p, s, eid, rec, &m); break;
        case DL_PULL_REVERSE: rc = pull_reverse(c, p, s, eid, rec, &m); break;
        }
    }
    c->depth--;
    if (rc) return rc;
    if (m.n == 0) {
        *out = edn_nil();
        return 0;
    }
    return edn_map(c->a, m.kv, m.n, out);
}

static int ctx_init(pull_ctx *c, dl_arena *a, const dl_db *db) {
    memset(c, 0, sizeof *c);
    c->a = a;
    c->db = db;
    c->db_id = sym_of("db/id");
    c->wildcard.wildcard = true;
    return c->db_id ? 0 : dl_err_nomem();
}

int dl_pull(dl_arena *a, const dl_db *db, const dl_pull_pattern *p,
            uint64_t eid, edn_value *out) {
    pull_ctx c;
    int rc = ctx_init(&c, a, db);
    if (rc) return rc;
    return pull_entity(&c, p, eid, NULL, out);
}

/* ---- entity ids ---- */

int dl_pull_resolve_eid(const dl_db *db, const edn_value *v, uint64_t *out,
                        int *found) {
    dl_arena tmp;
    dl_datom key, d;
    *found = 0;
    memset(&key, 0, sizeof key);
    if (v->type == EDN_INT && v->u.i > 0) {
        *out = (uint64_t)v->u.i;
        *found = 1;
        return 0;
    }
    dl_arena_init(&tmp, 0);
    if (v->type == EDN_KEYWORD) {
        key.a = sym_of("db/ident");
        key.v = *v;
    } else if (edn_is_seq(v)) {
        int rc = 0;
        if (v->n != 2)
            rc = dl_err_set(DATALITH_EINVAL,
                            "Lookup ref should contain 2 elements: %s",
                            show(&tmp, v));
        else if (v->u.items[0].type != EDN_KEYWORD ||
                 !dl_schema_attr(db->schema, v->u.items[0].u.sym) ||
                 !dl_schema_attr(db->schema, v->u.items[0].u.sym)->unique)
            rc = dl_err_set(DATALITH_EINVAL,
                            "Lookup ref attribute should be marked as "
                            ":db/unique: %s",
                            show(&tmp, v));
        dl_arena_free(&tmp);
        if (rc) return rc;
        if (v->u.items[1].type == EDN_NIL) return 0;
        key.a = v->u.items[0].u.sym;
        key.v = v->u.items[1];
    } else {
        int rc = dl_err_set(DATALITH_EINVAL,
                            "Expected number or lookup ref for entity id, "
                            "got %s",
                            show(&tmp, v));
        dl_arena_free(&tmp);
        return rc;
    }
    dl_arena_free(&tmp);
    if (!key.a) return dl_err_nomem();
    pull_scan sc;
    int rc = scan_open(&sc, db, DL_AVET, &key, 2);
    if (!rc) {
        int more = scan_next(&sc, &d);
        if (more < 0) rc = more;
        if (more > 0) {
            *out = d.e;
            *found = 1;
        }
    }
    scan_close(&sc);
    return rc;
}

int dl_pull_resolve_eid_strict(const dl_db *db, const edn_value *eid,
                               uint64_t *out) {
    int found = 0;
    int rc = dl_pull_resolve_eid(db, eid, out, &found);
    if (rc || found) return rc;
    dl_arena tmp;
    dl_arena_init(&tmp, 0);
    rc = dl_err_set(DATALITH_ENOTFOUND, "Nothing found for entity id %s",
                    show(&tmp, eid));
    dl_arena_free(&tmp);
    return rc;
}

/* ---- whole operations ---- */

int dl_pull_value(dl_arena *a, const dl_db *db, const edn_value *pattern,
                  const edn_value *eid, edn_value *out) {
    dl_pull_pattern *p;
    uint64_t e;
    int rc = dl_pull_parse(a, pattern, db, &p);
    if (!rc) rc = dl_pull_resolve_eid_strict(db, eid, &e);
    if (!rc) rc = dl_pull(a, db, p, e, out);
    return rc;
}

int dl_pull_many_value(dl_arena *a, const dl_db *db, const edn_value *pattern,
                       const edn_value *eids, edn_value *out) {
    dl_pull_pattern *p;
    if (!edn_is_seq(eids)) {
        dl_arena tmp;
        dl_arena_init(&tmp, 0);
        int rc = dl_err_set(DATALITH_EINVAL,
                            "pull-many: expected a vector of entity ids, "
                            "got %s",
                            show(&tmp, eids));
        dl_arena_free(&tmp);
        return rc;
    }
    int rc = dl_pull_parse(a, pattern, db, &p);
    if (rc) return rc;
    edn_value *res = dl_arena_alloc(a, (eids->n ? eids->n : 1) * sizeof *res);
    if (!res) return dl_err_nomem();
    pull_ctx c;
    rc = ctx_init(&c, a, db);
    for (size_t i = 0; !rc && i < eids->n; i++) {
        uint64_t e;
        rc = dl_pull_resolve_eid_strict(db, &eids->u.items[i], &e);
        if (!rc) rc = pull_entity(&c, p, e, NULL, &res[i]);
    }
    if (rc) return rc;
    return edn_vector(a, res, eids->n, out);
}
