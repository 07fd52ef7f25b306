/*
** test_tx_backfill.c — enabling :db/index or :db/unique on an attribute
** that already has datoms, with :allow-index-backfill? true (reference/
** datahike-semantics.md §3: "then AVET is back-filled and duplicates
** rejected"), on a file store.  Small transactions are normally committed
** as a log tail of their changes; a back-filling one must write its index
** nodes, so a reader that reconnects after the writer died sees the
** back-filled AVET (current and temporal) and can upsert by old values.
** The corpus (tests/conformance/schema.edn) covers the in-memory rules.
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char *last_out;

#define OK(call)                                                             \
    do {                                                                     \
        int rc_ = (call);                                                    \
        CHECK_EQ_INT(rc_, DATALITH_OK);                                      \
        if (rc_) fprintf(stderr, "  error: %s\n",                           \
                         datalith_error_last()->message);                   \
    } while (0)

static int tx(datalith_conn *c, const char *text) {
    datalith_free(last_out);
    last_out = NULL;
    return datalith_transact(c, text, strlen(text), DATALITH_FORMAT_EDN,
                             &last_out, NULL);
}

/* The datoms of args on the newest snapshot (or its history view), as EDN
** text in a static buffer. */
static const char *datoms(datalith_conn *c, const char *args, int history) {
    static char buf[4096];
    datalith_db *db = NULL, *h = NULL;
    char *out = NULL;
    buf[0] = 0;
    if (datalith_conn_db(c, &db) != 0) return "<no db>";
    if (history && datalith_history(db, &h) != 0) {
        datalith_db_release(db);
        return "<no history>";
    }
    if (datalith_datoms(history ? h : db, args, strlen(args),
                        DATALITH_FORMAT_EDN, &out, NULL) == 0) {
        snprintf(buf, sizeof buf, "%s", out);
        datalith_free(out);
    } else {
        snprintf(buf, sizeof buf, "<error %s>", datalith_error_last()->message);
    }
    datalith_db_release(h);
    datalith_db_release(db);
    return buf;
}

/* The writer: schema, data in small (logged) transactions, then the
** back-filling schema change and one more small transaction; it exits
** without releasing its connection (as after a crash). */
static void writer(const char *cfg) {
    datalith_conn *c = NULL;
    char *out = NULL;
    int exists = 0;
    datalith_database_exists(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &exists);
    if (exists) datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
    if (datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out,
                                 NULL) ||
        (datalith_free(out), 0) ||
        datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c) ||
        /* eids 1, 2; tx 536870913 */
        tx(c, "[{:db/ident :email :db/valueType :db.type/string"
              "  :db/cardinality :db.cardinality/one}"
              " {:db/ident :age :db/valueType :db.type/long"
              "  :db/cardinality :db.cardinality/one}]") ||
        /* 536870914, 536870915 */
        tx(c, "[{:db/id 10 :email \"a@x\" :age 30}]") ||
        tx(c, "[{:db/id 11 :email \"b@x\" :age 40} {:db/id 10 :age 31}]") ||
        /* 536870916: both attributes back-filled */
        tx(c, "[{:db/id 1 :db/unique :db.unique/identity}"
              " {:db/id 2 :db/index true}]") ||
        /* 536870917: a later small transaction is logged again */
        tx(c, "[{:db/id 12 :email \"c@x\" :age 35}]")) {
        fprintf(stderr, "writer: %s\n", datalith_error_last()->message);
        _exit(1);
    }
    _exit(0);
}

TEST(backfill_on_a_file_store_survives_reconnect) {
    const char *base = getenv("DL_TEST_TMP");
    char dir[512], cfg[1024];
    snprintf(dir, sizeof dir, "%s/tx-backfill-%d", base ? base : "/tmp",
             (int)getpid());
    snprintf(cfg, sizeof cfg,
             "{:store {:backend :file :path \"%s\"}"
             " :allow-index-backfill? true :keep-history? true}",
             dir);
    datalith_conn *c;
    pid_t pid;
    int status = -1;
    fflush(NULL);
    pid = fork();
    if (pid == 0) writer(cfg);
    CHECK(pid > 0);
    waitpid(pid, &status, 0);
    CHECK_EQ_INT(status, 0);

    OK(datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c));
    CHECK_STR(datoms(c, "{:index :avet :components [:email]}", 0),
              "[#datahike/Datom [10 :email \"a@x\" 536870914 true] "
              "#datahike/Datom [11 :email \"b@x\" 536870915 true] "
              "#datahike/Datom [12 :email \"c@x\" 536870917 true]]");
    CHECK_STR(datoms(c, "{:index :avet :components [:age]}", 0),
              "[#datahike/Datom [10 :age 31 536870915 true] "
              "#datahike/Datom [12 :age 35 536870917 true] "
              "#datahike/Datom [11 :age 40 536870915 true]]");
    /* the temporal AVET holds the attribute's history too */
    CHECK_STR(datoms(c, "{:index :avet :components [:age 30]}", 1),
              "[#datahike/Datom [10 :age 30 536870914 true] "
              "#datahike/Datom [10 :age 30 536870915 false]]");
    /* upsert by a value written before the attribute became unique */
    OK(tx(c, "[{:db/id \"x\" :email \"b@x\" :age 41}]"));
    CHECK(last_out && strstr(last_out, "\"x\" 11"));
    CHECK_STR(datoms(c, "{:index :eavt :components [11 :age]}", 0),
              "[#datahike/Datom [11 :age 41 536870918 true]]");
    /* and an old value blocks another entity */
    CHECK_EQ_INT(tx(c, "[[:db/add 13 :email \"a@x\"]]"), DATALITH_ETX);
    CHECK_CONTAINS(datalith_error_last()->message,
                   "because of unique constraint");
    datalith_conn_release(c);
    datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
}

TEST(duplicates_refuse_unique_and_change_nothing_on_disk) {
    const char *base = getenv("DL_TEST_TMP");
    char dir[512], cfg[1024];
    datalith_conn *c = NULL;
    char *out = NULL;
    snprintf(dir, sizeof dir, "%s/tx-backfill-dup-%d", base ? base : "/tmp",
             (int)getpid());
    snprintf(cfg, sizeof cfg,
             "{:store {:backend :file :path \"%s\"}"
             " :allow-index-backfill? true}",
             dir);
    OK(datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out,
                                NULL));
    datalith_free(out);
    OK(datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c));
    OK(tx(c, "[{:db/ident :email :db/valueType :db.type/string"
             "  :db/cardinality :db.cardinality/one}]"));
    OK(tx(c, "[{:db/id 10 :email \"a@x\"}]"));
    OK(tx(c, "[{:db/id 11 :email \"a@x\"}]"));
    CHECK_EQ_INT(tx(c, "[{:db/id 1 :db/unique :db.unique/value}]"),
                 DATALITH_ETX);
    CHECK_CONTAINS(datalith_error_last()->message,
                   "Cannot add #datahike/Datom [11 :email \"a@x\" 536870915 "
                   "true] because of unique constraint: (#datahike/Datom "
                   "[10 :email \"a@x\" 536870914 true])");
    datalith_conn_release(c);
    OK(datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c));
    CHECK_STR(datoms(c, "{:index :avet :components [:email]}", 0), "[]");
    OK(tx(c, "[{:db/id 12 :email \"a@x\"}]"));
    datalith_conn_release(c);
    datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
}

int main(void) {
    RUN(backfill_on_a_file_store_survives_reconnect);
    RUN(duplicates_refuse_unique_and_change_nothing_on_disk);
    datalith_free(last_out);
    return test_summary();
}
