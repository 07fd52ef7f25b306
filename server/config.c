/*
** config.c — the server's config file: one EDN map
**
**   {:port 4444 :bind "127.0.0.1" :token "secret" :dev-mode false
**    :stores [{:backend :file :path "/data/db"} …]
**    :access-control-allow-origin ["https://app.example"]
**    :max-body-bytes 10485760 :read-timeout-ms 30000 :threads 4
**    :max-connections 256 :await-max-ms 30000 :poll-ms 250
**    :head-wait true :log-requests false}
**
** Every key is checked: an unknown key or a value of the wrong type stops
** the server with a message naming the file, the key and what was given.
** Store maps are reduced to an identity string (srv_store_ident) so that a
** request's store is compared after the same normalisation.
*/
#define _GNU_SOURCE
#include "server.h"

#include "db/config.h"
#include "util/buf.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- store identity ---- */

/* "/a/./b/../c/" -> "/a/c", relative paths against the working directory. */
static char *norm_path(const char *p) {
    dl_buf b = DL_BUF_INIT;
    char cwd[4096];
    if (p[0] != '/') {
        if (!getcwd(cwd, sizeof cwd)) return NULL;
        if (dl_buf_printf(&b, "%s/%s", cwd, p)) return NULL;
    } else if (dl_buf_puts(&b, p)) {
        return NULL;
    }
    char *in = dl_buf_detach(&b, NULL);
    if (!in) return NULL;
    size_t n = strlen(in);
    char *out = malloc(n + 2);
    if (!out) {
        free(in);
        return NULL;
    }
    size_t o = 0;
    for (char *s = in; *s;) {
        while (*s == '/') s++;
        char *e = s;
        while (*e && *e != '/') e++;
        size_t len = (size_t)(e - s);
        if (len == 0) break;
        if (len == 1 && s[0] == '.') {
            /* skip */
        } else if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/') o--;
            if (o > 0) o--;
        } else {
            out[o++] = '/';
            memcpy(out + o, s, len);
            o += len;
        }
        s = e;
    }
    if (o == 0) out[o++] = '/';
    out[o] = 0;
    free(in);
    return out;
}

char *srv_store_ident(const edn_value *store) {
    dl_arena a;
    dl_config cfg;
    edn_value kv[2], m, *items;
    char *res = NULL;
    if (!store || store->type != EDN_MAP) {
        dl_err_set(DATALITH_EINVAL, "a store must be a map");
        return NULL;
    }
    dl_arena_init(&a, 0);
    kv[0] = edn_keyword_str("store");
    kv[1] = *store;
    if (edn_map(&a, kv, 1, &m) || dl_config_parse(&a, &m, &cfg)) goto out;
    /* rebuild the normalised store map without :password */
    items = dl_arena_alloc(&a, sizeof *items * 2 * (cfg.store.n ? cfg.store.n : 1));
    if (!items) goto out;
    size_t n = 0;
    for (uint32_t i = 0; i < cfg.store.n; i++) {
        const edn_value *k = &cfg.store.u.items[2 * i];
        const edn_value *v = &cfg.store.u.items[2 * i + 1];
        if (k->type == EDN_KEYWORD && strcmp(k->u.sym->full, "password") == 0)
            continue;
        items[2 * n] = *k;
        items[2 * n + 1] = *v;
        if (k->type == EDN_KEYWORD && strcmp(k->u.sym->full, "path") == 0 &&
            v->type == EDN_STRING) {
            char *np = norm_path(v->u.s);
            if (!np) {
                dl_err_nomem();
                goto out;
            }
            int rc = edn_string(&a, np, strlen(np), &items[2 * n + 1]);
            free(np);
            if (rc) goto out;
        }
        n++;
    }
    edn_value sm;
    if (edn_map(&a, items, n, &sm)) goto out;
    dl_buf b = DL_BUF_INIT;
    if (edn_write(&b, &sm)) {
        dl_buf_free(&b);
        goto out;
    }
    res = dl_buf_detach(&b, NULL);
    if (!res) dl_err_nomem();
out:
    dl_arena_free(&a);
    return res;
}

/* ---- the file ---- */

typedef struct cerr {
    const char *path;
    char *buf;
    size_t len;
} cerr;

static int fail(cerr *e, const char *fmt, ...) {
    va_list ap;
    int n = snprintf(e->buf, e->len, "%s: ", e->path);
    if (n < 0) n = 0;
    if ((size_t)n < e->len) {
        va_start(ap, fmt);
        vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The value printed as EDN, shortened, for messages. */
static const char *show(const edn_value *v, char *out, size_t n) {
    dl_buf b = DL_BUF_INIT;
    if (edn_write(&b, v) == 0 && b.data)
        snprintf(out, n, "%s%s", b.len > 60 ? "" : b.data, b.len > 60 ? "(a long value)" : "");
    else
        snprintf(out, n, "?");
    dl_buf_free(&b);
    return out;
}

static int want_int(cerr *e, const char *key, const edn_value *v, int64_t lo,
                    int64_t hi, int64_t *out) {
    char s[80];
    if (v->type != EDN_INT || v->u.i < lo || v->u.i > hi)
        return fail(e, "%s must be an integer from %lld to %lld, got %s", key,
                    (long long)lo, (long long)hi, show(v, s, sizeof s));
    *out = v->u.i;
    return 0;
}

static int want_str(cerr *e, const char *key, const edn_value *v, char **out) {
    char s[80];
    if (v->type != EDN_STRING || strlen(v->u.s) != v->n)
        return fail(e, "%s must be a string, got %s", key, show(v, s, sizeof s));
    *out = strdup(v->u.s);
    return *out ? 0 : fail(e, "out of memory");
}

static const char *const known_keys =
    ":port :bind :token :dev-mode :stores :access-control-allow-origin "
    ":max-body-bytes :read-timeout-ms :threads :max-connections "
    ":await-max-ms :poll-ms :head-wait :log-requests";

static int parse_map(cerr *e, const edn_value *m, srv_config *c) {
    char s[80];
    int64_t x;
    for (uint32_t i = 0; i < m->n; i++) {
        const edn_value *k = &m->u.items[2 * i], *v = &m->u.items[2 * i + 1];
        if (k->type != EDN_KEYWORD)
            return fail(e, "keys must be keywords, got %s", show(k, s, sizeof s));
        const char *nm = k->u.sym->full;
        if (!strcmp(nm, "port")) {
            if (want_int(e, ":port", v, 0, 65535, &x)) return -1;
            c->port = (int)x;
        } else if (!strcmp(nm, "bind")) {
            unsigned char buf[sizeof(struct in6_addr)];
            if (v->type != EDN_STRING || v->n >= sizeof c->bind ||
                (inet_pton(AF_INET, v->u.s, buf) != 1 &&
                 inet_pton(AF_INET6, v->u.s, buf) != 1))
                return fail(e, ":bind must be a numeric IPv4 or IPv6 address "
                               "string such as \"127.0.0.1\", got %s",
                            show(v, s, sizeof s));
            snprintf(c->bind, sizeof c->bind, "%s", v->u.s);
        } else if (!strcmp(nm, "token")) {
            if (want_str(e, ":token", v, &c->token)) return -1;
            c->token_len = strlen(c->token);
            if (c->token_len == 0) return fail(e, ":token must not be empty");
        } else if (!strcmp(nm, "dev-mode")) {
            if (v->type != EDN_BOOL)
                return fail(e, ":dev-mode must be true or false, got %s",
                            show(v, s, sizeof s));
            c->dev_mode = v->u.b;
        } else if (!strcmp(nm, "stores")) {
            if (v->type != EDN_VECTOR && v->type != EDN_LIST)
                return fail(e, ":stores must be a vector of store maps, got %s",
                            show(v, s, sizeof s));
            c->stores = calloc(v->n ? v->n : 1, sizeof *c->stores);
            if (!c->stores) return fail(e, "out of memory");
            for (uint32_t j = 0; j < v->n; j++) {
                const edn_value *st = &v->u.items[j];
                if (st->type != EDN_MAP)
                    return fail(e, ":stores entry %u must be a store map such as "
                                   "{:backend :file :path \"/data/db\"}, got %s",
                                j, show(st, s, sizeof s));
                if (!edn_map_getk(st, "backend"))
                    return fail(e, ":stores entry %u lacks :backend", j);
                char *id = srv_store_ident(st);
                if (!id)
                    return fail(e, ":stores entry %u: %s", j, dl_err_last()->message);
                c->stores[c->n_stores++] = id;
            }
        } else if (!strcmp(nm, "access-control-allow-origin")) {
            const edn_value *items = v;
            uint32_t n = 1;
            if (v->type == EDN_VECTOR || v->type == EDN_LIST) {
                items = v->u.items;
                n = v->n;
            } else if (v->type != EDN_STRING) {
                return fail(e, ":access-control-allow-origin must be a vector of "
                               "origin strings, got %s", show(v, s, sizeof s));
            }
            c->origins = calloc(n ? n : 1, sizeof *c->origins);
            if (!c->origins) return fail(e, "out of memory");
            for (uint32_t j = 0; j < n; j++) {
                if (want_str(e, ":access-control-allow-origin entry", &items[j],
                             &c->origins[c->n_origins]))
                    return -1;
                c->n_origins++;
            }
        } else if (!strcmp(nm, "log-requests")) {
            if (v->type != EDN_BOOL)
                return fail(e, ":log-requests must be true or false, got %s",
                            show(v, s, sizeof s));
            c->log_requests = v->u.b;
        } else if (!strcmp(nm, "head-wait")) {
            if (v->type != EDN_BOOL)
                return fail(e, ":head-wait must be true or false, got %s",
                            show(v, s, sizeof s));
            c->no_head_wait = !v->u.b;
        } else if (!strcmp(nm, "max-body-bytes")) {
            if (want_int(e, ":max-body-bytes", v, 1, (int64_t)1 << 40, &x)) return -1;
            c->max_body_bytes = (size_t)x;
        } else if (!strcmp(nm, "read-timeout-ms")) {
            if (want_int(e, ":read-timeout-ms", v, 1, 86400000, &x)) return -1;
            c->read_timeout_ms = (long)x;
        } else if (!strcmp(nm, "threads")) {
            if (want_int(e, ":threads", v, 1, 1024, &x)) return -1;
            c->threads = (int)x;
        } else if (!strcmp(nm, "max-connections")) {
            if (want_int(e, ":max-connections", v, 1, 100000, &x)) return -1;
            c->max_connections = (int)x;
        } else if (!strcmp(nm, "await-max-ms")) {
            if (want_int(e, ":await-max-ms", v, 0, 3600000, &x)) return -1;
            c->await_max_ms = (long)x;
        } else if (!strcmp(nm, "poll-ms")) {
            if (want_int(e, ":poll-ms", v, 10, 600000, &x)) return -1;
            c->poll_ms = (long)x;
        } else {
            return fail(e, "unknown key %s (known keys: %s)", show(k, s, sizeof s),
                        known_keys);
        }
    }
    return 0;
}

int srv_config_load(const char *path, srv_config *out, char *err, size_t errlen) {
    cerr e = {path, err, errlen};
    FILE *f;
    dl_buf text = DL_BUF_INIT;
    dl_arena a;
    edn_value m;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->port = 4444;
    snprintf(out->bind, sizeof out->bind, "127.0.0.1");
    out->max_body_bytes = (size_t)10 << 20;
    out->read_timeout_ms = 30000;
    out->threads = 4;
    out->max_connections = 256;
    out->await_max_ms = 30000;
    out->poll_ms = 250;

    if (!(f = fopen(path, "rb")))
        return fail(&e, "cannot open the config file: %s", strerror(errno));
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (dl_buf_append(&text, chunk, n)) {
            fclose(f);
            dl_buf_free(&text);
            return fail(&e, "out of memory");
        }
        if (text.len > ((size_t)1 << 20)) {
            fclose(f);
            dl_buf_free(&text);
            return fail(&e, "the config file is larger than 1 MiB");
        }
    }
    fclose(f);
    dl_arena_init(&a, 0);
    if (edn_read(&a, text.data ? text.data : "", text.len, NULL, &m)) {
        const datalith_error *x = dl_err_last();
        fail(&e, "not valid EDN at line %ld, column %ld: %s", x->line, x->column,
             x->message);
        goto out;
    }
    if (m.type != EDN_MAP) {
        fail(&e, "the config must be an EDN map such as {:port 4444 :token \"…\" "
                 ":stores [{:backend :file :path \"/data/db\"}]}");
        goto out;
    }
    if (parse_map(&e, &m, out)) goto out;
    if (!out->token && !out->dev_mode) {
        fail(&e, "give a :token (clients send \"Authorization: token <t>\") or "
                 "set :dev-mode true to run without authentication");
        goto out;
    }
    if (!out->stores) {
        fail(&e, ":stores is missing: list the stores the server may open, e.g. "
                 ":stores [{:backend :file :path \"/data/db\"}]");
        goto out;
    }
    rc = 0;
out:
    dl_arena_free(&a);
    dl_buf_free(&text);
    if (rc) srv_config_free(out);
    return rc;
}

void srv_config_free(srv_config *c) {
    for (size_t i = 0; i < c->n_stores; i++) free(c->stores[i]);
    for (size_t i = 0; i < c->n_origins; i++) free(c->origins[i]);
    free(c->stores);
    free(c->origins);
    free(c->token);
    c->stores = NULL;
    c->origins = NULL;
    c->token = NULL;
    c->n_stores = c->n_origins = 0;
}
