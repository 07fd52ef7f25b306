/*
** test_index_backends.c — index trees flushed to the real store backends
** (:memory, :file, and :lmdb when built) and read back by a second handle
** through a small cache: same contents, and a damaged node file is
** reported as corruption naming the node's key.
*/
#include "index/btree.h"
#include "store/store.h"
#include "util/error.h"

#include "test.h"

#include <stdio.h>
#include <stdlib.h>

#define N 2000

static dl_arena A;
static dl_datom in[N];

static int scan_eq(const bt_tree *t) {
    bt_cursor *c;
    dl_datom d;
    long n = 0, bad = 0;
    if (bt_cursor_open(t, &c)) return -1;
    for (bt_cursor_first(c); bt_cursor_valid(c); bt_cursor_next(c), n++) {
        bt_cursor_get(c, &d);
        if (n >= N || d.e != in[n].e || d.a != in[n].a ||
            !edn_equal(&d.v, &in[n].v) || d.tx != in[n].tx)
            bad++;
    }
    if (bt_cursor_error(c)) n = -1;
    bt_cursor_close(c);
    return bad ? -2 : (int)n;
}

static char victim[BT_KEY_MAX];
static const char *root_key;

static int pick(void *ctx, const char *key) {
    (void)ctx;
    if (strcmp(key, root_key) != 0 && strlen(key) < sizeof victim) {
        snprintf(victim, sizeof victim, "%s", key);
        return 1;
    }
    return 0;
}

/* Flip the last byte of object `key` under a :file store at `dir`. */
static int damage_file(const char *dir, const char *key) {
    char path[1024];
    int x;
    for (x = 0; x < 256; x++) {
        FILE *f;
        long n;
        int c;
        snprintf(path, sizeof path, "%s/objects/%02x/%s", dir, x, key);
        if (!(f = fopen(path, "r+b"))) continue;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, n - 1, SEEK_SET);
        c = fgetc(f);
        fseek(f, n - 1, SEEK_SET);
        fputc(c ^ 0x5a, f);
        fclose(f);
        return 0;
    }
    return -1;
}

static void roundtrip(const char *cfg_text) {
    edn_value cfg;
    dl_store *w = NULL, *r = NULL;
    bt_cache *cache;
    bt_env env;
    bt_tree t;
    char key[BT_KEY_MAX];
    int rc;
    CHECK_EQ_INT(edn_read(&A, cfg_text, strlen(cfg_text), NULL, &cfg), 0);
    rc = dl_store_open(&cfg, 1, &w);
    if (rc == DATALITH_EUNSUPPORTED) {
        printf("skipping %s: %s\n", cfg_text, dl_err_last()->message);
        return;
    }
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "  %s: %s\n", cfg_text, dl_err_last()->message);
        return;
    }
    bt_cache_new(1 << 20, &cache);
    env = (bt_env){w, cache, 64, 16};
    CHECK_EQ_INT(bt_build(&env, DL_AVET, in, N, &t), 0);
    CHECK_EQ_INT(bt_flush(&t, key), 0);
    CHECK_EQ_INT(w->vt->sync(w), 0);
    bt_tree_release(&t);
    bt_cache_free(cache);

    /* a second handle, a cache of 16 KB (a few leaves) */
    CHECK_EQ_INT(dl_store_open(&cfg, 0, &r), 0);
    if (r) {
        bt_cache_new(16 << 10, &cache);
        env = (bt_env){r, cache, 0, 0};
        CHECK_EQ_INT(bt_tree_open(&env, DL_AVET, key, &t), 0);
        CHECK_EQ_INT(bt_tree_count(&t), N);
        CHECK_EQ_INT(scan_eq(&t), N);
        bt_tree_release(&t);
        bt_cache_free(cache);
        /* damage one node file: reading through it names the node */
        if (strstr(cfg_text, ":file")) {
            const char *p = strstr(cfg_text, ":path \"") + 7;
            char dir[600];
            size_t len = strcspn(p, "\"");
            snprintf(dir, sizeof dir, "%.*s", (int)len, p);
            root_key = key;
            victim[0] = 0;
            r->vt->list(r, "n", pick, NULL);
            CHECK(victim[0] == 'n');
            CHECK_EQ_INT(damage_file(dir, victim), 0);
            bt_cache_new(16 << 10, &cache);
            env = (bt_env){r, cache, 0, 0};
            CHECK_EQ_INT(bt_tree_open(&env, DL_AVET, key, &t), 0);
            CHECK_EQ_INT(scan_eq(&t), -1);
            CHECK_EQ_INT(dl_err_last()->code, DATALITH_ECORRUPT);
            CHECK_CONTAINS(dl_err_last()->message, victim);
            bt_tree_release(&t);
            bt_cache_free(cache);
        }
        r->vt->close(r);
    }
    w->vt->destroy(w);
}

TEST(backends) {
    char cfg[700];
    const char *tmp = test_tmpdir("index-backends");
    long i;
    for (i = 0; i < N; i++) {
        char buf[32];
        edn_value v;
        snprintf(buf, sizeof buf, "v%06ld", i);
        edn_string(&A, buf, strlen(buf), &v);
        in[i] = (dl_datom){(uint64_t)(i % 97 + 1), edn_intern_full("name", 4), v,
                           536870913, true};
    }
    roundtrip("{:backend :memory :id \"index-backends\"}");
    if (tmp) {
        snprintf(cfg, sizeof cfg, "{:backend :file :path \"%s-file\"}", tmp);
        roundtrip(cfg);
        snprintf(cfg, sizeof cfg, "{:backend :lmdb :path \"%s-lmdb\"}", tmp);
        roundtrip(cfg);
    }
}

int main(void) {
    dl_arena_init(&A, 0);
    RUN(backends);
    dl_arena_free(&A);
    return test_summary();
}
