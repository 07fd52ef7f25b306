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

/* The case's config: {:store {:backend :memory :id "conf-N"}} + :config. */
static int case_config(dl_arena *a, const edn_value *cfg, char **text) {
    char base_text[128];
    edn_value base, merged;
    snprintf(base_text, sizeof base_text,
             "{:store {:backend :memory :id \"conformance-%u\"}}", case_seq);
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

typedef struct step_ctx {
    datalith_conn *conn;
    dl_arena *a;
    const edn_value *case_cfg;
} step_ctx;

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
    } else if (!strcmp(name, "datoms")) {
        const edn_value *args = edn_map_getk(step, "args");
        arg = args ? print_value(args) : strdup("{}");
        datalith_db *db = NULL;
        rc = datalith_conn_db(cx->conn, &db);
        if (!rc) rc = datalith_datoms(db, arg, strlen(arg), DATALITH_FORMAT_EDN,
                                      &out, &out_len);
        datalith_db_release(db);
    } else if (!strcmp(name, "schema") || !strcmp(name, "reverse-schema")) {
        datalith_db *db = NULL;
        rc = datalith_conn_db(cx->conn, &db);
        if (!rc)
            rc = name[0] == 's'
                     ? datalith_schema(db, DATALITH_FORMAT_EDN, &out, &out_len)
                     : datalith_reverse_schema(db, DATALITH_FORMAT_EDN, &out,
                                               &out_len);
        datalith_db_release(db);
    } else if (!strcmp(name, "database-exists?") ||
               !strcmp(name, "create-database") ||
               !strcmp(name, "delete-database") || !strcmp(name, "connect")) {
        if (case_config(cx->a, edn_map_getk(step, "config"), &arg)) {
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
