/*
** test_store.c — the same battery on every store backend (memory, file and,
** when built, LMDB): objects, heads, existence, destroy, key validation,
** concurrent readers during writes and the single-writer lock (in-process
** and across a fork); plus config errors.
*/
#define _GNU_SOURCE
#include "test.h"

#include "store/object.h"
#include "store/store.h"
#include "util/error.h"
#include "value/value.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static dl_arena arena;
static const char *backend; /* "memory" | "file" | "lmdb" */
static char cfg_text[700];
static int cfg_serial;

static const char *msg(void) { return dl_err_last()->message; }

/* A tiny reader for the config literals below ({} [] :kw "str" 42
** #uuid "…"), built with the value constructors, so this test does not
** depend on the EDN reader. */
static edn_value mini_read(const char **pp) {
    const char *p = *pp;
    edn_value v = edn_nil(), items[16];
    size_t n = 0;
    while (*p == ' ') p++;
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int map = *p == '{';
        p++;
        for (;;) {
            while (*p == ' ') p++;
            if (*p == close || !*p) break;
            items[n++] = mini_read(&p);
        }
        if (*p) p++;
        if (map) edn_map(&arena, items, n / 2, &v);
        else edn_vector(&arena, items, n, &v);
    } else if (*p == ':') {
        const char *st = ++p;
        while (*p && *p != ' ' && *p != '}' && *p != ']') p++;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(p - st), st);
        v = edn_keyword_str(name);
    } else if (*p == '"') {
        const char *st = ++p;
        while (*p && *p != '"') p++;
        edn_string(&arena, st, (size_t)(p - st), &v);
        if (*p) p++;
    } else if (strncmp(p, "#uuid", 5) == 0) {
        p += 5;
        edn_value t = mini_read(&p);
        uint8_t u[16];
        const char *h = t.u.s;
        for (int i = 0; i < 16; i++) {
            while (*h == '-') h++;
            unsigned b;
            sscanf(h, "%2x", &b);
            u[i] = (uint8_t)b;
            h += 2;
        }
        v = edn_uuid(u);
    } else {
        v = edn_int(strtol(p, (char **)&p, 10));
    }
    *pp = p;
    return v;
}

static edn_value parse(const char *text) { return mini_read(&text); }

/* A fresh, not yet existing store config for the current backend. */
static edn_value fresh_cfg(void) {
    cfg_serial++;
    if (strcmp(backend, "memory") == 0) {
        snprintf(cfg_text, sizeof cfg_text,
                 "{:backend :memory :id \"test-%d-%d\"}", (int)getpid(),
                 cfg_serial);
    } else if (strcmp(backend, "pg") == 0) {
        /* tests/pg: $DL_TEST_PG_STORE is a store map without :table. */
        const char *m = getenv("DL_TEST_PG_STORE");
        int n = m ? (int)(strrchr(m, '}') ? strrchr(m, '}') - m : 0) : 0;
        snprintf(cfg_text, sizeof cfg_text, "%.*s :table \"t%d_%d\"}", n,
                 m ? m : "{", (int)getpid(), cfg_serial);
    } else {
        char dir[600];
        snprintf(dir, sizeof dir, "%s", test_tmpdir(backend));
        if (!mkdtemp(dir)) perror("mkdtemp");
        /* A subdirectory that does not exist yet. */
        snprintf(cfg_text, sizeof cfg_text,
                 "{:backend :%s :path \"%s/db%d\"}", backend, dir, cfg_serial);
    }
    return parse(cfg_text);
}

static dl_store *open_new(edn_value *cfg) {
    *cfg = fresh_cfg();
    dl_store *s = NULL;
    int rc = dl_store_open(cfg, 1, &s);
    if (rc) fprintf(stderr, "[%s] open failed: %s\n", backend, msg());
    CHECK_EQ_INT(rc, 0);
    return s;
}

static int get_str(dl_store *s, const char *key, char *out, size_t cap) {
    uint8_t *p;
    size_t n;
    int rc = s->vt->get(s, key, &p, &n);
    if (rc) return rc;
    if (n >= cap) n = cap - 1;
    memcpy(out, p, n);
    out[n] = 0;
    free(p);
    return 0;
}

static int put_str(dl_store *s, const char *key, const char *v) {
    return s->vt->put(s, key, (const uint8_t *)v, strlen(v));
}

/* ---- list helper ---- */

typedef struct list_ctx {
    char keys[32][64];
    int n;
    int stop_after;
} list_ctx;

static int list_cb(void *vctx, const char *key) {
    list_ctx *c = vctx;
    if (c->n < 32) snprintf(c->keys[c->n], 64, "%s", key);
    c->n++;
    if (c->stop_after && c->n == c->stop_after) return 42;
    return 0;
}

static int list_has(const list_ctx *c, const char *key) {
    for (int i = 0; i < c->n && i < 32; i++)
        if (strcmp(c->keys[i], key) == 0) return 1;
    return 0;
}

/* ---- the battery ---- */

TEST(put_get_del_list) {
    edn_value cfg;
    dl_store *s = open_new(&cfg);
    if (!s) return;
    CHECK_EQ_INT(put_str(s, "n-1", "one"), 0);
    CHECK_EQ_INT(put_str(s, "n-2", "two"), 0);
    CHECK_EQ_INT(put_str(s, "c-1", "commit"), 0);
    CHECK_EQ_INT(s->vt->put(s, "empty", (const uint8_t *)"", 0), 0);
    CHECK_EQ_INT(s->vt->sync(s), 0);
    char b[64];
    CHECK_EQ_INT(get_str(s, "n-1", b, sizeof b), 0);
    CHECK_STR(b, "one");
    CHECK_EQ_INT(get_str(s, "n-2", b, sizeof b), 0);
    CHECK_STR(b, "two");
    CHECK_EQ_INT(get_str(s, "c-1", b, sizeof b), 0);
    CHECK_STR(b, "commit");
    CHECK_EQ_INT(get_str(s, "empty", b, sizeof b), 0);
    CHECK_STR(b, "");

    list_ctx c = {0};
    CHECK_EQ_INT(s->vt->list(s, "n-", list_cb, &c), 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK(list_has(&c, "n-1") && list_has(&c, "n-2"));
    memset(&c, 0, sizeof c);
    CHECK_EQ_INT(s->vt->list(s, "", list_cb, &c), 0);
    CHECK_EQ_INT(c.n, 4);
    CHECK(list_has(&c, "c-1") && list_has(&c, "empty"));
    memset(&c, 0, sizeof c);
    c.stop_after = 1;
    CHECK_EQ_INT(s->vt->list(s, NULL, list_cb, &c), 42);
    CHECK_EQ_INT(c.n, 1);

    CHECK_EQ_INT(s->vt->del(s, "n-1"), 0);
    CHECK_EQ_INT(get_str(s, "n-1", b, sizeof b), DATALITH_ENOTFOUND);
    CHECK_EQ_INT(s->vt->del(s, "n-1"), 0); /* missing is fine */
    memset(&c, 0, sizeof c);
    CHECK_EQ_INT(s->vt->list(s, "n-", list_cb, &c), 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK(list_has(&c, "n-2"));
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

TEST(idempotent_reput_and_missing) {
    edn_value cfg;
    dl_store *s = open_new(&cfg);
    if (!s) return;
    CHECK_EQ_INT(put_str(s, "k", "same bytes"), 0);
    CHECK_EQ_INT(s->vt->sync(s), 0);
    CHECK_EQ_INT(put_str(s, "k", "same bytes"), 0);
    CHECK_EQ_INT(s->vt->sync(s), 0);
    char b[64];
    CHECK_EQ_INT(get_str(s, "k", b, sizeof b), 0);
    CHECK_STR(b, "same bytes");
    list_ctx c = {0};
    CHECK_EQ_INT(s->vt->list(s, "k", list_cb, &c), 0);
    CHECK_EQ_INT(c.n, 1);

    uint8_t *p = NULL;
    size_t n;
    CHECK_EQ_INT(s->vt->get(s, "n-0001a3", &p, &n), DATALITH_ENOTFOUND);
    CHECK_STR(msg(), "object 'n-0001a3' not found");
    CHECK_EQ_INT(dl_obj_get(s, "n-0001a3", DL_OBJ_NODE, &p, &n),
                 DATALITH_ENOTFOUND);
    CHECK_CONTAINS(msg(), "'n-0001a3'");
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

TEST(heads_cas) {
    edn_value cfg;
    dl_store *s = open_new(&cfg);
    if (!s) return;
    const dl_store_vtable *vt = s->vt;
    uint8_t *p = NULL;
    size_t n;
    CHECK_EQ_INT(vt->head_get(s, "db", &p, &n), DATALITH_ENOTFOUND);
    CHECK_STR(msg(), "head 'db' not found");
    /* create-only */
    CHECK_EQ_INT(vt->head_cas(s, "db", NULL, 0, (const uint8_t *)"c1", 2), 0);
    CHECK_EQ_INT(vt->head_cas(s, "db", NULL, 0, (const uint8_t *)"cX", 2),
                 DATALITH_ECONFLICT);
    CHECK_CONTAINS(msg(), "head 'db'");
    /* wrong expectation: conflict, nothing written */
    CHECK_EQ_INT(vt->head_cas(s, "db", (const uint8_t *)"c0", 2,
                              (const uint8_t *)"c2", 2),
                 DATALITH_ECONFLICT);
    CHECK_EQ_INT(vt->head_cas(s, "db", (const uint8_t *)"c", 1,
                              (const uint8_t *)"c2", 2),
                 DATALITH_ECONFLICT);
    CHECK_EQ_INT(vt->head_get(s, "db", &p, &n), 0);
    CHECK(n == 2 && memcmp(p, "c1", 2) == 0);
    free(p);
    /* success */
    CHECK_EQ_INT(vt->head_cas(s, "db", (const uint8_t *)"c1", 2,
                              (const uint8_t *)"commit-2", 8), 0);
    CHECK_EQ_INT(vt->head_get(s, "db", &p, &n), 0);
    CHECK(n == 8 && memcmp(p, "commit-2", 8) == 0);
    free(p);
    /* branches are independent */
    CHECK_EQ_INT(vt->head_get(s, "other", &p, &n), DATALITH_ENOTFOUND);
    CHECK_EQ_INT(vt->head_cas(s, "other", NULL, 0, (const uint8_t *)"o", 1),
                 0);
    /* framed heads through object.h */
    CHECK_EQ_INT(dl_head_cas(s, "framed", NULL, 0, (const uint8_t *)"h1", 2),
                 0);
    CHECK_EQ_INT(dl_head_cas(s, "framed", (const uint8_t *)"h0", 2,
                             (const uint8_t *)"h2", 2),
                 DATALITH_ECONFLICT);
    CHECK_EQ_INT(dl_head_cas(s, "framed", (const uint8_t *)"h1", 2,
                             (const uint8_t *)"h2", 2), 0);
    CHECK_EQ_INT(dl_head_get(s, "framed", &p, &n), 0);
    CHECK(n == 2 && memcmp(p, "h2", 2) == 0);
    free(p);
    /* delete */
    CHECK_EQ_INT(vt->head_del(s, "db"), 0);
    CHECK_EQ_INT(vt->head_get(s, "db", &p, &n), DATALITH_ENOTFOUND);
    CHECK_EQ_INT(vt->head_del(s, "db"), 0);
    CHECK_EQ_INT(vt->head_get(s, "other", &p, &n), 0);
    free(p);
    CHECK_EQ_INT(vt->destroy(s), 0);
}

TEST(exists_open_destroy) {
    edn_value cfg = fresh_cfg();
    int ex = -1;
    dl_store *s = NULL;
    CHECK_EQ_INT(dl_store_exists(&cfg, &ex), 0);
    CHECK_EQ_INT(ex, 0);
    CHECK_EQ_INT(dl_store_open(&cfg, 0, &s), DATALITH_ENOTFOUND);
    CHECK_STR(msg(), "Backend does not exist.");
    CHECK_EQ_INT(dl_store_exists(&cfg, &ex), 0);
    CHECK_EQ_INT(ex, 0); /* a failed open creates nothing */
    CHECK_EQ_INT(dl_store_open(&cfg, 1, &s), 0);
    if (!s) return;
    CHECK_EQ_INT(dl_store_exists(&cfg, &ex), 0);
    CHECK_EQ_INT(ex, 1);
    CHECK_EQ_INT(put_str(s, "x", "shared"), 0);
    CHECK_EQ_INT(s->vt->head_cas(s, "db", NULL, 0, (const uint8_t *)"h", 1),
                 0);
    CHECK_EQ_INT(s->vt->sync(s), 0);
    /* A second handle (without create) sees the same store. */
    dl_store *s2 = NULL;
    CHECK_EQ_INT(dl_store_open(&cfg, 0, &s2), 0);
    if (s2) {
        char b[64];
        CHECK_EQ_INT(get_str(s2, "x", b, sizeof b), 0);
        CHECK_STR(b, "shared");
        s2->vt->close(s2);
    }
    /* Closing keeps the data; reopening finds it. */
    s->vt->close(s);
    CHECK_EQ_INT(dl_store_exists(&cfg, &ex), 0);
    CHECK_EQ_INT(ex, 1);
    s = NULL;
    CHECK_EQ_INT(dl_store_open(&cfg, 0, &s), 0);
    if (!s) return;
    uint8_t *p;
    size_t n;
    CHECK_EQ_INT(s->vt->head_get(s, "db", &p, &n), 0);
    if (n == 1) free(p);
    CHECK_EQ_INT(s->vt->destroy(s), 0);
    CHECK_EQ_INT(dl_store_exists(&cfg, &ex), 0);
    CHECK_EQ_INT(ex, 0);
    s = NULL;
    CHECK_EQ_INT(dl_store_open(&cfg, 0, &s), DATALITH_ENOTFOUND);
    /* Creating again starts empty. */
    CHECK_EQ_INT(dl_store_open(&cfg, 1, &s), 0);
    if (s) {
        char b[8];
        CHECK_EQ_INT(get_str(s, "x", b, sizeof b), DATALITH_ENOTFOUND);
        CHECK_EQ_INT(s->vt->destroy(s), 0);
    }
}

TEST(bad_keys) {
    edn_value cfg;
    dl_store *s = open_new(&cfg);
    if (!s) return;
    const char *bad[] = {"", "../etc", "a/b", ".hidden", ".", "..",
                         "a b", "tab\t", "semi;colon", "ümlaut", "x\\y"};
    char long_key[202]; /* the documented limit is 200 bytes */
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = 0; /* 201 bytes */
    uint8_t *p;
    size_t n;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_EQ_INT(put_str(s, bad[i], "v"), DATALITH_EINVAL);
        CHECK_CONTAINS(msg(), "invalid store key");
        CHECK_EQ_INT(s->vt->get(s, bad[i], &p, &n), DATALITH_EINVAL);
        CHECK_EQ_INT(s->vt->del(s, bad[i]), DATALITH_EINVAL);
        CHECK_EQ_INT(s->vt->head_cas(s, bad[i], NULL, 0,
                                     (const uint8_t *)"h", 1),
                     DATALITH_EINVAL);
        CHECK_CONTAINS(msg(), "invalid store branch");
        CHECK_EQ_INT(s->vt->head_get(s, bad[i], &p, &n), DATALITH_EINVAL);
    }
    CHECK_EQ_INT(put_str(s, long_key, "v"), DATALITH_EINVAL);
    CHECK_CONTAINS(msg(), "longer than 200 bytes");
    long_key[200] = 0; /* exactly 200: fine */
    CHECK_EQ_INT(put_str(s, long_key, "v"), 0);
    CHECK_EQ_INT(put_str(s, "Az09._-x", "v"), 0);
    char b[8];
    CHECK_EQ_INT(get_str(s, "Az09._-x", b, sizeof b), 0);
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

/* ---- concurrent readers while one thread writes ---- */

#define CONC_COMMITS 200
#define CONC_READERS 3

typedef struct conc {
    dl_store *s;
    int failures;
    int reads;
} conc;

static void conc_key(char *b, size_t cap, int seq) {
    snprintf(b, cap, "obj-%d", seq);
}

static void *conc_reader(void *arg) {
    conc *c = arg;
    int last = 0;
    while (last < CONC_COMMITS) {
        uint8_t *p;
        size_t n;
        int rc = dl_head_get(c->s, "db", &p, &n);
        if (rc == DATALITH_ENOTFOUND) continue;
        if (rc) {
            fprintf(stderr, "[%s] reader: head_get: %s\n", backend, msg());
            c->failures++;
            break;
        }
        char txt[32];
        snprintf(txt, sizeof txt, "%.*s", (int)(n < 31 ? n : 31), (char *)p);
        free(p);
        int seq = atoi(txt);
        if (seq < last) { /* heads never go backwards */
            fprintf(stderr, "[%s] reader: head went from %d to %d\n",
                    backend, last, seq);
            c->failures++;
        }
        last = seq;
        /* Every object the head reaches is there and intact. */
        for (int i = 1; i <= seq; i += 1 + seq / 8) {
            char key[32], want[32];
            conc_key(key, sizeof key, i);
            snprintf(want, sizeof want, "payload %d", i);
            rc = dl_obj_get(c->s, key, DL_OBJ_NODE, &p, &n);
            if (rc || n != strlen(want) || memcmp(p, want, n) != 0) {
                fprintf(stderr, "[%s] reader: object %s of head %d: %s\n",
                        backend, key, seq, rc ? msg() : "wrong bytes");
                c->failures++;
            }
            if (!rc) free(p);
            c->reads++;
        }
    }
    return NULL;
}

TEST(concurrent_readers) {
    edn_value cfg;
    dl_store *s = open_new(&cfg);
    if (!s) return;
    conc rs[CONC_READERS];
    pthread_t th[CONC_READERS];
    for (int i = 0; i < CONC_READERS; i++) {
        rs[i] = (conc){s, 0, 0};
        pthread_create(&th[i], NULL, conc_reader, &rs[i]);
    }
    int werr = 0;
    char prev[32] = "";
    for (int seq = 1; seq <= CONC_COMMITS; seq++) {
        char key[32], val[32], head[32];
        conc_key(key, sizeof key, seq);
        snprintf(val, sizeof val, "payload %d", seq);
        snprintf(head, sizeof head, "%d", seq);
        if (dl_obj_put(s, key, DL_OBJ_NODE, (const uint8_t *)val,
                       strlen(val)))
            werr++;
        if (s->vt->sync(s)) werr++;
        if (dl_head_cas(s, "db", seq == 1 ? NULL : (const uint8_t *)prev,
                        strlen(prev), (const uint8_t *)head, strlen(head)))
            werr++;
        memcpy(prev, head, sizeof prev);
    }
    int reads = 0, fails = 0;
    for (int i = 0; i < CONC_READERS; i++) {
        pthread_join(th[i], NULL);
        reads += rs[i].reads;
        fails += rs[i].failures;
    }
    CHECK_EQ_INT(werr, 0);
    CHECK_EQ_INT(fails, 0);
    CHECK(reads > 0);
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

/* ---- the writer lock ---- */

/* In a forked child: open the store and try to lock it.  Exit status:
** 0 locked, 1 ELOCKED naming `holder`, 2 ELOCKED without it, 3 other. */
static int fork_try_lock(const edn_value *cfg, long holder) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dl_store *c = NULL;
        if (dl_store_open(cfg, 0, &c)) _exit(3);
        int rc = c->vt->lock_writer(c);
        char want[64];
        snprintf(want, sizeof want, "(pid %ld)", holder);
        /* No close: exiting releases the lock, and an LMDB env must not
        ** be closed twice around a fork. */
        if (rc == 0) _exit(0);
        if (rc == DATALITH_ELOCKED)
            _exit(strstr(msg(), "database is locked by another writer") &&
                          strstr(msg(), want)
                      ? 1
                      : 2);
        _exit(3);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

TEST(writer_lock) {
    edn_value cfg;
    dl_store *s = open_new(&cfg);
    if (!s) return;
    dl_store *s2 = NULL;
    CHECK_EQ_INT(dl_store_open(&cfg, 0, &s2), 0);
    if (!s2) return;
    char want[64];
    snprintf(want, sizeof want, "database is locked by another writer (pid %ld)",
             (long)getpid());

    CHECK_EQ_INT(s->vt->lock_writer(s), 0);
    CHECK_EQ_INT(s->vt->lock_writer(s), 0); /* again: no-op */
    CHECK_EQ_INT(s2->vt->lock_writer(s2), DATALITH_ELOCKED);
    CHECK_STR(msg(), want);
    if (strcmp(backend, "memory") != 0)
        CHECK_EQ_INT(fork_try_lock(&cfg, (long)getpid()), 1);
    /* Readers are not blocked by the writer lock. */
    CHECK_EQ_INT(put_str(s, "w", "1"), 0);
    CHECK_EQ_INT(s->vt->sync(s), 0);
    char b[8];
    CHECK_EQ_INT(get_str(s2, "w", b, sizeof b), 0);

    s->vt->unlock_writer(s);
    CHECK_EQ_INT(s2->vt->lock_writer(s2), 0);
    CHECK_EQ_INT(s->vt->lock_writer(s), DATALITH_ELOCKED);
    s2->vt->close(s2); /* close releases */
    CHECK_EQ_INT(s->vt->lock_writer(s), 0);
    s->vt->unlock_writer(s);
    if (strcmp(backend, "memory") != 0)
        CHECK_EQ_INT(fork_try_lock(&cfg, 0), 0);
    CHECK_EQ_INT(s->vt->lock_writer(s), 0);
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

static int have_lmdb(void);

/* ---- config errors (backend independent) ---- */

static int open_text(const char *text, int create) {
    edn_value v = parse(text);
    dl_store *s = NULL;
    int rc = dl_store_open(&v, create, &s);
    if (rc == 0) s->vt->destroy(s);
    return rc;
}

TEST(bad_config) {
    CHECK_EQ_INT(open_text("[:backend :memory]", 1), DATALITH_EINVAL);
    CHECK_STR(msg(), "store config must be a map");
    CHECK_EQ_INT(open_text("{:id \"x\"}", 1), DATALITH_EINVAL);
    CHECK_STR(msg(), "store config is missing :backend");
    CHECK_EQ_INT(open_text("{:backend \"file\"}", 1), DATALITH_EINVAL);
    CHECK_STR(msg(), "store config :backend must be a keyword");
    CHECK_EQ_INT(open_text("{:backend :foo :path \"/tmp/x\"}", 1),
                 DATALITH_EINVAL);
    CHECK_STR(msg(), "Unknown store backend :foo");
    CHECK_EQ_INT(open_text("{:backend :file}", 1), DATALITH_EINVAL);
    CHECK_STR(msg(), "store config is missing :path");
    CHECK_EQ_INT(open_text("{:backend :file :path 42}", 1), DATALITH_EINVAL);
    CHECK_STR(msg(), "store config :path must be a non-empty string");
    CHECK_EQ_INT(open_text("{:backend :file :path \"\"}", 1), DATALITH_EINVAL);
    CHECK_EQ_INT(open_text("{:backend :lmdb}", 1),
                 have_lmdb() ? DATALITH_EINVAL : DATALITH_EUNSUPPORTED);
    CHECK_EQ_INT(open_text("{:backend :memory}", 1), DATALITH_EINVAL);
    CHECK_STR(msg(), "store config is missing :id");
    CHECK_EQ_INT(open_text("{:backend :memory :id 7}", 1), DATALITH_EINVAL);
    CHECK_STR(msg(), "store config :id must be a string or a UUID");
    /* An unwritable place: EIO naming the directory and the reason. */
    CHECK_EQ_INT(open_text("{:backend :file :path \"/proc/datalith-no/db\"}",
                           1),
                 DATALITH_EIO);
    CHECK_CONTAINS(msg(), "/proc/datalith-no");
    CHECK_CONTAINS(msg(), "cannot create store directory");
    int ex = -1;
    edn_value v = parse("{:backend :nope}");
    CHECK_EQ_INT(dl_store_exists(&v, &ex), DATALITH_EINVAL);
    CHECK_STR(msg(), "Unknown store backend :nope");
}

TEST(memory_ids) {
    /* :mem is normalised; a UUID id and a string id name different stores;
    ** two handles with one id share it. */
    edn_value a = parse("{:backend :mem :id #uuid "
                        "\"6c3c2a1e-0000-4000-8000-000000000001\"}");
    edn_value b = parse("{:backend :memory :id #uuid "
                        "\"6c3c2a1e-0000-4000-8000-000000000001\"}");
    edn_value c = parse("{:backend :memory :id "
                        "\"6c3c2a1e-0000-4000-8000-000000000001\"}");
    dl_store *sa = NULL, *sb = NULL;
    int ex = -1;
    CHECK_EQ_INT(dl_store_open(&a, 1, &sa), 0);
    if (!sa) return;
    CHECK_EQ_INT(put_str(sa, "k", "v"), 0);
    CHECK_EQ_INT(dl_store_open(&b, 0, &sb), 0);
    if (sb) {
        char buf[8];
        CHECK_EQ_INT(get_str(sb, "k", buf, sizeof buf), 0);
        CHECK_STR(buf, "v");
        sb->vt->close(sb);
    }
    CHECK_EQ_INT(dl_store_exists(&c, &ex), 0);
    CHECK_EQ_INT(ex, 0);
    sa->vt->close(sa);
    /* The store outlives its handles until destroyed. */
    CHECK_EQ_INT(dl_store_exists(&b, &ex), 0);
    CHECK_EQ_INT(ex, 1);
    CHECK_EQ_INT(dl_store_open(&b, 0, &sb), 0);
    if (sb) CHECK_EQ_INT(sb->vt->destroy(sb), 0);
    CHECK_EQ_INT(dl_store_exists(&b, &ex), 0);
    CHECK_EQ_INT(ex, 0);
}

/* Whether this build has the LMDB backend (a missing :path is EINVAL;
** an absent backend is EUNSUPPORTED before the path is looked at). */
static int have_lmdb(void) {
    edn_value v = parse("{:backend :lmdb}");
    dl_store *s = NULL;
    return dl_store_open(&v, 0, &s) != DATALITH_EUNSUPPORTED;
}

static void run_battery(const char *name) {
    backend = name;
    fprintf(stderr, "== backend %s\n", name);
    RUN(put_get_del_list);
    RUN(idempotent_reput_and_missing);
    RUN(heads_cas);
    RUN(exists_open_destroy);
    RUN(bad_keys);
    RUN(concurrent_readers);
    RUN(writer_lock);
}

int main(void) {
    dl_arena_init(&arena, 0);
    /* DL_TEST_STORE_ONLY=<backend>: that battery alone (tests/pg runs
    ** this program with "pg"). */
    const char *only = getenv("DL_TEST_STORE_ONLY");
    if (only && *only) {
        run_battery(only);
        dl_arena_free(&arena);
        return test_summary();
    }
    run_battery("memory");
    run_battery("file");
    if (have_lmdb()) run_battery("lmdb");
    else fprintf(stderr, "== backend lmdb: not in this build, skipped\n");
    RUN(bad_config);
    RUN(memory_ids);
    dl_arena_free(&arena);
    return test_summary();
}
