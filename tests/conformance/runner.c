/*
** runner.c — runs the tests/conformance corpus files through the public C API
** (format: tests/conformance/README.md).
**
**   conformance_runner FILE.edn ...
**
** Values go in and out as EDN text, exactly as a binding would send them;
** expected values are compared with edn_equal after reading both sides.
** Prints one line per failing case and a closing "N passed, N failed".
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "value/value.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass, n_fail;
static unsigned case_seq;

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = '\0';
        *len = (size_t)n;
    }
    return p;
}

static char *print_value(const edn_value *v) {
    dl_buf b = DL_BUF_INIT;
    if (edn_write(&b, v)) {
        dl_buf_free(&b);
        return strdup("<unprintable>");
    }
    return dl_buf_detach(&b, NULL);
}

/* Deep-merge `over` onto `base` (maps only), into a new map. */
static int merge_maps(dl_arena *a, const edn_value *base, const edn_value *over,
                      edn_value *out) {
    if (!over || over->type != EDN_MAP) return edn_clone(a, base, out);
    size_t cap = base->n + over->n, n = 0;
    edn_value *kv = dl_arena_alloc(a, (cap ? cap : 1) * 2 * sizeof *kv);
    if (!kv) return DATALITH_ENOMEM;
    for (size_t i = 0; i < base->n; i++) {
        const edn_value *k = &base->u.items[2 * i];
        const edn_value *bv = &base->u.items[2 * i + 1];
        const edn_value *ov = edn_map_get(over, k);
        kv[2 * n] = *k;
        if (ov && ov->type == EDN_MAP && bv->type == EDN_MAP) {
            int rc = merge_maps(a, bv, ov, &kv[2 * n + 1]);
            if (rc) return rc;
        } else {
            kv[2 * n + 1] = ov ? *ov : *bv;
        }
        n++;
    }
    for (size_t i = 0; i < over->n; i++) {
        const edn_value *k = &over->u.items[2 * i];
        if (edn_map_get(base, k)) continue;
        kv[2 * n] = *k;
        kv[2 * n + 1] = over->u.items[2 * i + 1];
        n++;
    }
    return edn_map(a, kv, n, out);
}

/* The case's config: {:store {:backend :memory :id "conf-N"}} + :config.
** $DL_CONFORMANCE_STORE, when set, replaces the memory store: a store map
** in which "{seq}" is replaced by the case number (tests/pg runs the corpus
** on PostgreSQL with {:backend :pg … :table "conf_{seq}"}). */
static int case_config(dl_arena *a, const edn_value *cfg, char **text) {
    char base_text[1024];
    edn_value base, merged;
    const char *st = getenv("DL_CONFORMANCE_STORE");
    const edn_value *cs =
        cfg && cfg->type == EDN_MAP ? edn_map_getk(cfg, "store") : NULL;
    if (cs && cs->type == EDN_MAP && edn_map_getk(cs, "backend"))
        st = NULL; /* a case that names its backend keeps the memory base */
    const char *seq = st ? strstr(st, "{seq}") : NULL;
    if (st && seq)
        snprintf(base_text, sizeof base_text, "{:store %.*s%u%s}",
                 (int)(seq - st), st, case_seq, seq + 5);
    else if (st)
        snprintf(base_text, sizeof base_text, "{:store %s}", st);
    else
        snprintf(base_text, sizeof base_text,
                 "{:store {:backend :memory :id \"conformance-%u\"}}",
                 case_seq);
    int rc = edn_read(a, base_text, strlen(base_text), NULL, &base);
    if (!rc) rc = merge_maps(a, &base, cfg, &merged);
    if (!rc) *text = print_value(&merged);
    return rc;
}

/* Whether a datom value (#datahike/Datom [e a v tx added]) is a
** :db/txInstant datom. */
static int is_instant_datom(const edn_value *d) {
    if (d->type != EDN_TAGGED || d->u.tagged.val->type != EDN_VECTOR ||
        d->u.tagged.val->n < 2)
        return 0;
    const edn_value *a = &d->u.tagged.val->u.items[1];
    return a->type == EDN_KEYWORD && !strcmp(a->u.sym->full, "db/txInstant");
}

/* A tx report's :tx-data without its :db/txInstant datoms (their values
** are wall-clock time), unless the expectation lists one itself. */
static int strip_instants(dl_arena *a, const edn_value *got,
                          const edn_value *want, edn_value *out) {
    *out = *got;
    if (got->type != EDN_VECTOR || want->type != EDN_VECTOR) return 0;
    for (size_t i = 0; i < want->n; i++)
        if (is_instant_datom(&want->u.items[i])) return 0;
    edn_value *keep = dl_arena_alloc(a, (got->n ? got->n : 1) * sizeof *keep);
    size_t n = 0;
    if (!keep) return DATALITH_ENOMEM;
    for (size_t i = 0; i < got->n; i++)
        if (!is_instant_datom(&got->u.items[i])) keep[n++] = got->u.items[i];
    return edn_vector(a, keep, n, out);
}

/* Compare `got` (EDN text from the engine) with `want`.  For maps when
** `subset` is set, only want's keys are compared. */
static int matches(dl_arena *a, const char *got_text, size_t got_len,
                   const edn_value *want, int subset, char **why) {
    edn_value got;
    if (edn_read(a, got_text, got_len, NULL, &got)) {
        *why = strdup("result did not parse as EDN");
        return 0;
    }
    if (subset && got.type == EDN_MAP && want->type == EDN_MAP) {
        for (size_t i = 0; i < want->n; i++) {
            const edn_value *k = &want->u.items[2 * i];
            const edn_value *g = edn_map_get(&got, k);
            edn_value stripped;
            if (g && k->type == EDN_KEYWORD && !strcmp(k->u.sym->full, "tx-data") &&
                strip_instants(a, g, &want->u.items[2 * i + 1], &stripped) == 0)
                g = &stripped;
            if (!g || !edn_equal(g, &want->u.items[2 * i + 1])) {
                char *ks = print_value(k), *gs = g ? print_value(g) : strdup("<absent>");
                char *ws = print_value(&want->u.items[2 * i + 1]);
                size_t n = strlen(ks) + strlen(gs) + strlen(ws) + 64;
                *why = malloc(n);
                snprintf(*why, n, "key %s: got %s, expected %s", ks, gs, ws);
                free(ks);
                free(gs);
                free(ws);
                return 0;
            }
        }
        return 1;
    }
    if (edn_equal(&got, want)) return 1;
    char *ws = print_value(want);
    size_t n = got_len + strlen(ws) + 32;
    *why = malloc(n);
    snprintf(*why, n, "got %.*s, expected %s", (int)got_len, got_text, ws);
    free(ws);
    return 0;
}

#define MAX_HELD 16

typedef struct step_ctx {
    datalith_conn *conn;
    dl_arena *a;
    const edn_value *case_cfg;
    /* snapshots held by :hold / :db-with under a name (:as) */
    const edn_sym *held_name[MAX_HELD];
    datalith_db *held[MAX_HELD];
    int n_held;
} step_ctx;

/* The predicates of [:filter {:exclude-attr :kw}] / [:filter {:exclude-e n}]:
** the datom arrives as EDN text, as a binding would see it. */
typedef struct filter_ctx {
    const edn_sym *attr; /* NULL: match on e */
    int64_t e;
} filter_ctx;

static int filter_pred(void *ctx, const char *datom, size_t len) {
    filter_ctx *f = ctx;
    dl_arena a;
    edn_value d;
    int keep = 1;
    dl_arena_init(&a, 0);
    if (edn_read(&a, datom, len, NULL, &d) == 0 && d.type == EDN_TAGGED &&
        d.u.tagged.val->type == EDN_VECTOR && d.u.tagged.val->n == 5) {
        const edn_value *it = d.u.tagged.val->u.items;
        if (f->attr) keep = !(it[1].type == EDN_KEYWORD && it[1].u.sym == f->attr);
        else keep = !(it[0].type == EDN_INT && it[0].u.i == f->e);
    }
    dl_arena_free(&a);
    return keep;
}

static void hold(step_ctx *cx, const edn_value *as, datalith_db *db) {
    for (int i = 0; i < cx->n_held; i++)
        if (cx->held_name[i] == as->u.sym) {
            datalith_db_release(cx->held[i]);
            cx->held[i] = db;
            return;
        }
    if (cx->n_held == MAX_HELD) {
        datalith_db_release(db);
        return;
    }
    cx->held_name[cx->n_held] = as->u.sym;
    cx->held[cx->n_held++] = db;
}

/* The snapshot a step reads: the held one named by :db, else the
** connection's newest, then the :view ops applied in order.  *owned says
** whether the caller must release it. */
static int step_db(step_ctx *cx, const edn_value *step, datalith_db **out,
                   int *owned) {
    const edn_value *name = edn_map_getk(step, "db");
    const edn_value *view = edn_map_getk(step, "view");
    datalith_db *db = NULL;
    int rc = 0;
    *owned = 0;
    if (name) {
        for (int i = 0; i < cx->n_held; i++)
            if (name->type == EDN_KEYWORD && cx->held_name[i] == name->u.sym)
                db = cx->held[i];
        if (!db) return dl_err_set(DATALITH_EINVAL, "runner: no snapshot held as :db");
    } else {
        if ((rc = datalith_conn_db(cx->conn, &db)) != 0) return rc;
        *owned = 1;
    }
    for (size_t i = 0; view && edn_is_seq(view) && i < view->n && !rc; i++) {
        const edn_value *v = &view->u.items[i];
        const edn_value *op = v->type == EDN_KEYWORD ? v
                              : edn_is_seq(v) && v->n ? &v->u.items[0] : NULL;
        const edn_value *arg = edn_is_seq(v) && v->n > 1 ? &v->u.items[1] : NULL;
        datalith_db *next = NULL;
        char *text = arg ? print_value(arg) : NULL;
        const char *o = op && op->type == EDN_KEYWORD ? op->u.sym->full : "";
        if (!strcmp(o, "history")) {
            rc = datalith_history(db, &next);
        } else if (!strcmp(o, "as-of") && text) {
            rc = datalith_as_of(db, text, strlen(text), DATALITH_FORMAT_EDN, &next);
        } else if (!strcmp(o, "since") && text) {
            rc = datalith_since(db, text, strlen(text), DATALITH_FORMAT_EDN, &next);
        } else if (!strcmp(o, "filter") && arg && arg->type == EDN_MAP) {
            filter_ctx *f = dl_arena_calloc(cx->a, 1, sizeof *f);
            const edn_value *ea = edn_map_getk(arg, "exclude-attr");
            const edn_value *ee = edn_map_getk(arg, "exclude-e");
            if (!f) rc = DATALITH_ENOMEM;
            else if (ea && ea->type == EDN_KEYWORD) f->attr = ea->u.sym;
            else if (ee && ee->type == EDN_INT) f->e = ee->u.i;
            else rc = dl_err_set(DATALITH_EINVAL, "runner: bad :filter");
            if (!rc)
                rc = datalith_db_filter(db, filter_pred, f, DATALITH_FORMAT_EDN,
                                        &next);
        } else {
            rc = dl_err_set(DATALITH_EINVAL, "runner: unknown :view op");
        }
        free(text);
        if (!rc) {
            if (*owned) datalith_db_release(db);
            db = next;
            *owned = 1;
        }
    }
    if (rc && *owned) datalith_db_release(db);
    if (!rc) *out = db;
    return rc;
}

/* Run one step; returns 1 if it behaved as the case says, else 0 and *why. */
static int run_step(step_ctx *cx, const edn_value *step, char **why) {
    const edn_value *op = edn_map_getk(step, "op");
    const edn_value *expect = edn_map_getk(step, "expect");
    const edn_value *error = edn_map_getk(step, "error");
    char *out = NULL, *arg = NULL;
    size_t out_len = 0;
    int rc, subset = 0, is_bool = 0, b = 0;

    if (!op || op->type != EDN_KEYWORD) {
        *why = strdup("step without :op keyword");
        return 0;
    }
    const char *name = op->u.sym->full;
    if (!strcmp(name, "transact")) {
        const edn_value *tx = edn_map_getk(step, "tx");
        if (!tx) { *why = strdup(":transact step without :tx"); return 0; }
        arg = print_value(tx);
        datalith_db *db = NULL;
        rc = datalith_transact(cx->conn, arg, strlen(arg), DATALITH_FORMAT_EDN,
                               &out, &out_len);
        (void)db;
        subset = 1;
    } else if (!strcmp(name, "load-entities")) {
        const edn_value *ents = edn_map_getk(step, "entities");
        if (!ents) {
            *why = strdup(":load-entities step without :entities");
            return 0;
        }
        arg = print_value(ents);
        rc = datalith_load_entities(cx->conn, arg, strlen(arg),
                                    DATALITH_FORMAT_EDN, &out, &out_len);
        subset = 1;
    } else if (!strcmp(name, "datoms") || !strcmp(name, "seek-datoms") ||
               !strcmp(name, "rseek-datoms") || !strcmp(name, "index-range")) {
        const edn_value *args = edn_map_getk(step, "args");
        arg = args ? print_value(args) : strdup("{}");
        datalith_db *db = NULL;
        int owned;
        size_t n = strlen(arg);
        rc = step_db(cx, step, &db, &owned);
        if (!rc) {
            if (name[0] == 'd')
                rc = datalith_datoms(db, arg, n, DATALITH_FORMAT_EDN, &out, &out_len);
            else if (name[0] == 's')
                rc = datalith_seek_datoms(db, arg, n, DATALITH_FORMAT_EDN, &out, &out_len);
            else if (name[0] == 'r')
                rc = datalith_rseek_datoms(db, arg, n, DATALITH_FORMAT_EDN, &out, &out_len);
            else
                rc = datalith_index_range(db, arg, n, DATALITH_FORMAT_EDN, &out, &out_len);
            if (owned) datalith_db_release(db);
        }
    } else if (!strcmp(name, "schema") || !strcmp(name, "reverse-schema") ||
               !strcmp(name, "metrics") || !strcmp(name, "is-filtered") ||
               !strcmp(name, "entity")) {
        datalith_db *db = NULL;
        int owned;
        rc = step_db(cx, step, &db, &owned);
        if (!rc) {
            if (!strcmp(name, "schema")) {
                rc = datalith_schema(db, DATALITH_FORMAT_EDN, &out, &out_len);
            } else if (!strcmp(name, "reverse-schema")) {
                rc = datalith_reverse_schema(db, DATALITH_FORMAT_EDN, &out, &out_len);
            } else if (!strcmp(name, "metrics")) {
                rc = datalith_metrics(db, DATALITH_FORMAT_EDN, &out, &out_len);
            } else if (!strcmp(name, "is-filtered")) {
                rc = datalith_is_filtered(db, &b);
                is_bool = 1;
            } else {
                const edn_value *eid = edn_map_getk(step, "eid");
                arg = eid ? print_value(eid) : strdup("nil");
                rc = datalith_entity(db, arg, strlen(arg), DATALITH_FORMAT_EDN,
                                     &out, &out_len);
            }
            if (owned) datalith_db_release(db);
        }
    } else if (!strcmp(name, "pull") || !strcmp(name, "pull-many")) {
        const edn_value *sel = edn_map_getk(step, "selector");
        const edn_value *ids = edn_map_getk(step, name[4] ? "eids" : "eid");
        datalith_db *db = NULL;
        int owned;
        char *sel_text = sel ? print_value(sel) : strdup("nil");
        arg = ids ? print_value(ids) : strdup("nil");
        rc = step_db(cx, step, &db, &owned);
        if (!rc) {
            rc = name[4] ? datalith_pull_many(db, sel_text, strlen(sel_text), arg,
                                              strlen(arg), DATALITH_FORMAT_EDN,
                                              &out, &out_len)
                         : datalith_pull(db, sel_text, strlen(sel_text), arg,
                                         strlen(arg), DATALITH_FORMAT_EDN, &out,
                                         &out_len);
            if (owned) datalith_db_release(db);
        }
        free(sel_text);
    } else if (!strcmp(name, "q")) {
        /* {:op :q :query [...] :inputs [...]}: the step's snapshot is the
        ** query's first database input ($); :inputs are the other :in
        ** values, in order. */
        const edn_value *query = edn_map_getk(step, "query");
        const edn_value *inputs = edn_map_getk(step, "inputs");
        datalith_db *db = NULL;
        int owned;
        char *qtext = query ? print_value(query) : strdup("nil");
        arg = inputs ? print_value(inputs) : strdup("[]");
        rc = step_db(cx, step, &db, &owned);
        if (!rc) {
            rc = datalith_q(qtext, strlen(qtext), &db, 1, arg, strlen(arg),
                            DATALITH_FORMAT_EDN, &out, &out_len);
            if (owned) datalith_db_release(db);
        }
        free(qtext);
    } else if (!strcmp(name, "hold") || !strcmp(name, "with") ||
               !strcmp(name, "db-with")) {
        const edn_value *as = edn_map_getk(step, "as");
        const edn_value *tx = edn_map_getk(step, "tx");
        datalith_db *db = NULL, *after = NULL;
        int owned;
        if (name[0] != 'w' && (!as || as->type != EDN_KEYWORD)) {
            *why = strdup(":hold / :db-with step without an :as keyword");
            return 0;
        }
        if (name[0] != 'h' && !tx) {
            *why = strdup(":with / :db-with step without :tx");
            return 0;
        }
        rc = step_db(cx, step, &db, &owned);
        if (!rc && name[0] == 'h') {
            if (owned)
                hold(cx, as, db);
            else
                rc = dl_err_set(DATALITH_EINVAL,
                                "runner: :hold of a held snapshot needs a :view");
        } else if (!rc) {
            arg = print_value(tx);
            if (name[0] == 'w') {
                rc = datalith_with(db, arg, strlen(arg), DATALITH_FORMAT_EDN,
                                   &out, &out_len);
                subset = 1;
            } else {
                rc = datalith_db_with(db, arg, strlen(arg), DATALITH_FORMAT_EDN,
                                      &after);
                if (!rc) hold(cx, as, after);
            }
            if (owned) datalith_db_release(db);
        }
    } else if (!strcmp(name, "tempid")) {
        const edn_value *part = edn_map_getk(step, "part");
        const edn_value *below = edn_map_getk(step, "below");
        arg = part ? print_value(part) : strdup("nil");
        rc = datalith_tempid(arg, strlen(arg), DATALITH_FORMAT_EDN, &out, &out_len);
        if (!rc && below) {
            edn_value got;
            int ok = edn_read(cx->a, out, out_len, NULL, &got) == 0 &&
                     got.type == EDN_INT && below->type == EDN_INT &&
                     got.u.i < below->u.i;
            if (!ok) {
                size_t n = out_len + 64;
                *why = malloc(n);
                snprintf(*why, n, "tempid %.*s is not below the bound",
                         (int)out_len, out);
                datalith_free(out);
                free(arg);
                return 0;
            }
        }
    } else if (!strcmp(name, "database-exists?") ||
               !strcmp(name, "create-database") ||
               !strcmp(name, "delete-database") || !strcmp(name, "connect")) {
        /* The case's :config, then the step's own :config over it. */
        const edn_value *scfg = edn_map_getk(step, "config");
        edn_value both;
        if (cx->case_cfg && cx->case_cfg->type == EDN_MAP && scfg &&
            scfg->type == EDN_MAP) {
            if (merge_maps(cx->a, cx->case_cfg, scfg, &both)) {
                *why = strdup("bad :config in step");
                return 0;
            }
            scfg = &both;
        } else if (!scfg) {
            scfg = cx->case_cfg;
        }
        if (case_config(cx->a, scfg, &arg)) {
            *why = strdup("bad :config in step");
            return 0;
        }
        size_t n = strlen(arg);
        if (name[0] == 'd' && name[1] == 'a') {
            rc = datalith_database_exists(arg, n, DATALITH_FORMAT_EDN, &b);
            is_bool = 1;
        } else if (name[0] == 'c' && name[1] == 'r') {
            rc = datalith_create_database(arg, n, DATALITH_FORMAT_EDN, &out,
                                          &out_len);
            subset = 1;
        } else if (name[0] == 'd') {
            rc = datalith_delete_database(arg, n, DATALITH_FORMAT_EDN);
        } else {
            datalith_conn *c = NULL;
            rc = datalith_connect(arg, n, DATALITH_FORMAT_EDN, &c);
            datalith_conn_release(c);
        }
    } else {
        size_t n = strlen(name) + 40;
        *why = malloc(n);
        snprintf(*why, n, "unknown op :%s", name);
        return 0;
    }
    free(arg);

    int ok = 1;
    if (error) {
        if (rc == DATALITH_OK) {
            *why = strdup("expected an error, the op succeeded");
            ok = 0;
        } else if (error->type == EDN_STRING &&
                   !strstr(datalith_error_last()->message, error->u.s)) {
            const char *m = datalith_error_last()->message;
            size_t n = strlen(m) + error->n + 64;
            *why = malloc(n);
            snprintf(*why, n, "error \"%s\" does not contain \"%s\"", m,
                     error->u.s);
            ok = 0;
        }
    } else if (rc != DATALITH_OK) {
        const char *m = datalith_error_last()->message;
        size_t n = strlen(m) + 64;
        *why = malloc(n);
        snprintf(*why, n, "unexpected error: %s", m);
        ok = 0;
    } else if (expect) {
        if (is_bool) {
            ok = expect->type == EDN_BOOL && expect->u.b == (b != 0);
            if (!ok) *why = strdup(b ? "got true" : "got false");
        } else {
            ok = matches(cx->a, out ? out : "nil", out ? out_len : 3, expect,
                         subset, why);
        }
    }
    datalith_free(out);
    return ok;
}

static void run_case(const char *file, const edn_value *c) {
    dl_arena a;
    step_ctx cx = {0};
    const edn_value *name = edn_map_getk(c, "name");
    const edn_value *steps = edn_map_getk(c, "steps");
    const edn_value *create = edn_map_getk(c, "create?");
    const char *cname = name && name->type == EDN_STRING ? name->u.s : "?";
    char *cfg = NULL, *why = NULL, *out = NULL;
    int ok = 1;

    case_seq++;
    dl_arena_init(&a, 0);
    cx.a = &a;
    cx.case_cfg = edn_map_getk(c, "config");
    if (!steps || !edn_is_seq(steps)) {
        why = strdup("case without :steps vector");
        ok = 0;
    }
    int do_create = !(create && create->type == EDN_BOOL && !create->u.b);
    if (ok && case_config(&a, cx.case_cfg, &cfg)) {
        why = strdup("bad :config");
        ok = 0;
    }
    if (ok && do_create) {
        size_t n = strlen(cfg);
        if (datalith_create_database(cfg, n, DATALITH_FORMAT_EDN, &out, NULL) ||
            datalith_connect(cfg, n, DATALITH_FORMAT_EDN, &cx.conn)) {
            const char *m = datalith_error_last()->message;
            why = malloc(strlen(m) + 32);
            sprintf(why, "setup failed: %s", m);
            ok = 0;
        }
        datalith_free(out);
    }
    for (size_t i = 0; ok && i < steps->n; i++) {
        if (!run_step(&cx, &steps->u.items[i], &why)) {
            size_t n = strlen(why) + 32;
            char *msg = malloc(n);
            snprintf(msg, n, "step %zu: %s", i + 1, why);
            free(why);
            why = msg;
            ok = 0;
        }
    }
    for (int i = 0; i < cx.n_held; i++) datalith_db_release(cx.held[i]);
    datalith_conn_release(cx.conn);
    if (cfg && do_create) datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
    free(cfg);
    if (ok) {
        n_pass++;
    } else {
        n_fail++;
        printf("FAIL %s: %s: %s\n", file, cname, why ? why : "?");
    }
    free(why);
    dl_arena_free(&a);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        size_t len;
        char *text = slurp(argv[i], &len);
        dl_arena a;
        edn_value suite;
        if (!text) {
            printf("FAIL %s: cannot read\n", argv[i]);
            n_fail++;
            continue;
        }
        dl_arena_init(&a, 0);
        if (edn_read(&a, text, len, NULL, &suite) || suite.type != EDN_MAP) {
            printf("FAIL %s: not an EDN map: %s\n", argv[i],
                   datalith_error_last()->message);
            n_fail++;
        } else {
            const edn_value *cases = edn_map_getk(&suite, "cases");
            if (!cases || !edn_is_seq(cases)) {
                printf("FAIL %s: no :cases vector\n", argv[i]);
                n_fail++;
            } else {
                for (size_t k = 0; k < cases->n; k++)
                    run_case(argv[i], &cases->u.items[k]);
            }
        }
        dl_arena_free(&a);
        free(text);
    }
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
