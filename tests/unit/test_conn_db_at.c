/*
** test_conn_db_at.c — dl_conn_db_at: opening an older commit of a branch by
** its commit id (used by datalith-server for #datahike/DB {:commit-id …}).
*/
#define _GNU_SOURCE
#include "test.h"

#include "datalith.h"
#include "db/db.h"
#include "util/error.h"

#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[128];

#define NTX 30

typedef struct seen {
    uint8_t id[16];
    uint64_t max_tx, max_eid, hash;
} seen;

static void remember(datalith_conn *c, seen *s) {
    datalith_db *h = NULL;
    CHECK_EQ_INT(datalith_conn_db(c, &h), DATALITH_OK);
    const dl_db *db = (const dl_db *)(void *)h;
    memcpy(s->id, db->commit_id, 16);
    s->max_tx = db->max_tx;
    s->max_eid = db->max_eid;
    s->hash = db->hash;
    datalith_db_release(h);
}

TEST(file_branch_every_commit) {
    char cfg[256], *out;
    size_t len;
    datalith_conn *c = NULL;
    seen s[NTX + 1];
    snprintf(cfg, sizeof cfg,
             "{:store {:backend :file :path \"%s/f\"} :schema-flexibility :read}", tmpdir);
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), 0, &out, &len), DATALITH_OK);
    datalith_free(out);
    CHECK_EQ_INT(datalith_connect(cfg, strlen(cfg), 0, &c), DATALITH_OK);
    if (!c) return;
    remember(c, &s[0]);
    for (int i = 1; i <= NTX; i++) {
        char tx[96];
        /* an assertion, and every third one a retraction, so snapshots differ */
        if (i % 3 == 0)
            snprintf(tx, sizeof tx, "[[:db/retract %d :n %d] {:n %d}]", i - 1, i - 1, i);
        else
            snprintf(tx, sizeof tx, "[{:n %d}]", i);
        CHECK_EQ_INT(datalith_transact(c, tx, strlen(tx), 0, &out, &len), DATALITH_OK);
        datalith_free(out);
        remember(c, &s[i]);
    }
    dl_conn *dc = (dl_conn *)(void *)c;
    for (int i = 0; i <= NTX; i++) {
        dl_db *db = NULL;
        CHECK_EQ_INT(dl_conn_db_at(dc, s[i].id, 0, &db), DATALITH_OK);
        if (!db) continue;
        CHECK(memcmp(db->commit_id, s[i].id, 16) == 0);
        CHECK_EQ_INT(db->max_tx, s[i].max_tx);
        CHECK_EQ_INT(db->max_eid, s[i].max_eid);
        CHECK(db->hash == s[i].hash); /* the same datoms */
        dl_db_release(db);
    }
    /* a bounded walk does not reach the first commit */
    dl_db *db = NULL;
    CHECK_EQ_INT(dl_conn_db_at(dc, s[0].id, 5, &db), DATALITH_ENOTFOUND);
    CHECK(db == NULL);
    CHECK_EQ_INT(dl_conn_db_at(dc, s[NTX - 5].id, 5, &db), DATALITH_OK);
    dl_db_release(db);
    /* an id that is no commit of the branch */
    uint8_t bogus[16];
    memset(bogus, 0x5a, sizeof bogus);
    db = NULL;
    CHECK_EQ_INT(dl_conn_db_at(dc, bogus, 0, &db), DATALITH_ENOTFOUND);
    CHECK_CONTAINS(dl_err_last()->message, "Commit not found");
    CHECK(db == NULL);
    datalith_conn_release(c);
}

TEST(memory_branch_newest_only) {
    const char *cfg = "{:store {:backend :memory :id \"conn-db-at\"} :schema-flexibility :read}";
    char *out;
    size_t len;
    datalith_conn *c = NULL;
    seen a, b;
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), 0, &out, &len), DATALITH_OK);
    datalith_free(out);
    CHECK_EQ_INT(datalith_connect(cfg, strlen(cfg), 0, &c), DATALITH_OK);
    if (!c) return;
    remember(c, &a);
    CHECK_EQ_INT(datalith_transact(c, "[{:n 1}]", 8, 0, &out, &len), DATALITH_OK);
    datalith_free(out);
    remember(c, &b);
    dl_db *db = NULL;
    CHECK_EQ_INT(dl_conn_db_at((dl_conn *)(void *)c, b.id, 0, &db), DATALITH_OK);
    if (db) CHECK_EQ_INT(db->max_tx, b.max_tx);
    dl_db_release(db);
    db = NULL;
    CHECK_EQ_INT(dl_conn_db_at((dl_conn *)(void *)c, a.id, 0, &db), DATALITH_ENOTFOUND);
    datalith_conn_release(c);
    CHECK_EQ_INT(datalith_delete_database(cfg, strlen(cfg), 0), DATALITH_OK);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dl_test_conn_db_at_%d", (int)getpid());
    mkdir(tmpdir, 0700);
    RUN(file_branch_every_commit);
    RUN(memory_branch_newest_only);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
