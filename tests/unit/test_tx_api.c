/*
** test_tx_api.c — raw datoms, purge and load-entities through the public C
** API (include/datalith.h), in the formats the conformance corpus does not
** cover: JSON tx-data ("!datahike/Datom" tagged values, reference/
** datahike-semantics.md §4 "Raw datoms") and a file store, where a purge
** must survive reconnecting (the purged value is gone from the current and
** the temporal indexes on disk, not only in memory).
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"
#include "test.h"

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static char *ok_call_out;

/* Run an API call returning text; on failure print the engine's message. */
#define OK(call)                                                             \
    do {                                                                     \
        int rc_ = (call);                                                    \
        CHECK_EQ_INT(rc_, DATALITH_OK);                                      \
        if (rc_) fprintf(stderr, "  error: %s\n",                           \
                         datalith_error_last()->message);                   \
    } while (0)

static datalith_conn *open_db(const char *cfg) {
    datalith_conn *c = NULL;
    char *out = NULL;
    int exists = 0;
    datalith_database_exists(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &exists);
    if (exists) datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
    OK(datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out,
                                NULL));
    datalith_free(out);
    OK(datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c));
    return c;
}

static int tx(datalith_conn *c, const char *text, int fmt) {
    datalith_free(ok_call_out);
    ok_call_out = NULL;
    return datalith_transact(c, text, strlen(text), fmt, &ok_call_out, NULL);
}

/* The datoms of args on the connection's newest snapshot (optionally as a
** history view), as EDN text (static buffer). */
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

static const char *SCHEMA =
    "[{:db/ident :name :db/valueType :db.type/string"
    "  :db/cardinality :db.cardinality/one}"
    " {:db/ident :tags :db/valueType :db.type/string"
    "  :db/cardinality :db.cardinality/many}]";

TEST(raw_datoms_in_json) {
    datalith_conn *c = open_db("{:store {:backend :memory :id \"tx-api-json\"}}");
    OK(tx(c, SCHEMA, DATALITH_FORMAT_EDN));
    /* assert with the datom's own tx (the schema tx 536870913) */
    OK(tx(c, "[[\"!datahike/Datom\",[10,[\"!kw\",\"name\"],\"A\",536870913,true]]]",
          DATALITH_FORMAT_JSON));
    CHECK(ok_call_out && strstr(ok_call_out, "\"tempids\""));
    CHECK_STR(datoms(c, "{:index :eavt :components [10]}", 0),
              "[#datahike/Datom [10 :name \"A\" 536870913 true]]");
    /* retract with the datom's tx */
    OK(tx(c, "[[\"!datahike/Datom\",[10,[\"!kw\",\"name\"],\"A\",536870913,false]]]",
          DATALITH_FORMAT_JSON));
    CHECK_STR(datoms(c, "{:index :eavt :components [10]}", 0), "[]");
    CHECK_STR(datoms(c, "{:index :eavt :components [10]}", 1),
              "[#datahike/Datom [10 :name \"A\" 536870913 false] "
              "#datahike/Datom [10 :name \"A\" 536870913 true]]");
    /* a malformed datom */
    CHECK_EQ_INT(tx(c, "[[\"!datahike/Datom\",[10,[\"!kw\",\"name\"]]]]",
                    DATALITH_FORMAT_JSON),
                 DATALITH_ETX);
    CHECK_CONTAINS(datalith_error_last()->message, "Bad datom");
    datalith_conn_release(c);
}

TEST(load_entities_in_json) {
    datalith_conn *c = open_db("{:store {:backend :memory :id \"tx-api-load\"}}");
    char *out = NULL;
    const char *recs =
        "[[100,[\"!kw\",\"name\"],\"A\",700,true],"
        "[100,[\"!kw\",\"tags\"],\"t\",700,true],"
        "[700,[\"!kw\",\"db/txInstant\"],[\"!date\",\"1577836800000\"],700,true]]";
    OK(tx(c, SCHEMA, DATALITH_FORMAT_EDN));
    OK(datalith_load_entities(c, recs, strlen(recs), DATALITH_FORMAT_JSON, &out,
                              NULL));
    CHECK(out && strstr(out, "\"tx-data\""));
    datalith_free(out);
    /* eids 1, 2 are the attributes: the loaded entity is 3, its tx 536870914 */
    CHECK_STR(datoms(c, "{:index :eavt :components [3]}", 0),
              "[#datahike/Datom [3 :name \"A\" 536870914 true] "
              "#datahike/Datom [3 :tags \"t\" 536870914 true]]");
    CHECK_STR(datoms(c, "{:index :eavt :components [536870914]}", 0),
              "[#datahike/Datom [536870914 :db/txInstant "
              "#inst \"2020-01-01T00:00:00.000-00:00\" 536870914 true]]");
    /* errors lose nothing */
    CHECK_EQ_INT(datalith_load_entities(c, "[[1]]", 5, DATALITH_FORMAT_EDN, &out,
                                        NULL),
                 DATALITH_ETX);
    CHECK_CONTAINS(datalith_error_last()->message, "Bad entity record [1]");
    CHECK_EQ_INT(datalith_load_entities(NULL, "[]", 2, DATALITH_FORMAT_EDN, &out,
                                        NULL),
                 DATALITH_EINVAL);
    CHECK_EQ_INT(datalith_load_entities(c, "[", 1, DATALITH_FORMAT_EDN, &out,
                                        NULL),
                 DATALITH_EPARSE);
    CHECK_STR(datoms(c, "{:index :aevt :components [:name]}", 0),
              "[#datahike/Datom [3 :name \"A\" 536870914 true]]");
    datalith_conn_release(c);
}

TEST(purge_on_a_file_store_survives_reconnect) {
    const char *base = getenv("DL_TEST_TMP");
    char dir[512], cfg[1024];
    snprintf(dir, sizeof dir, "%s/tx-api-purge-%d", base ? base : "/tmp",
             (int)getpid());
    snprintf(cfg, sizeof cfg, "{:store {:backend :file :path \"%s\"}}", dir);
    datalith_conn *c;
    pid_t pid;
    int status = -1;
    /* The writer is a child that exits without releasing its connection
    ** (as after a crash), so no final flush happens: the reader sees
    ** exactly what the commits wrote. */
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        c = open_db(cfg);
        if (tx(c, SCHEMA, DATALITH_FORMAT_EDN) ||
            tx(c, "[{:db/id 10 :name \"A\" :tags [\"x\" \"y\"]}]",
               DATALITH_FORMAT_EDN) ||
            tx(c, "[[:db/add 10 :name \"B\"]]", DATALITH_FORMAT_EDN) ||
            tx(c, "[[:db/purge 10 :name \"A\"] [:db/purge 10 :tags \"x\"]]",
               DATALITH_FORMAT_EDN) ||
            /* a later commit may log its changes again */
            tx(c, "[[:db/add 10 :tags \"z\"]]", DATALITH_FORMAT_EDN)) {
            fprintf(stderr, "writer: %s\n", datalith_error_last()->message);
            _exit(1);
        }
        _exit(0);
    }
    CHECK(pid > 0);
    waitpid(pid, &status, 0);
    CHECK_EQ_INT(status, 0);
    OK(datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &c));
    CHECK_STR(datoms(c, "{:index :eavt :components [10]}", 1),
              "[#datahike/Datom [10 :name \"B\" 536870915 true] "
              "#datahike/Datom [10 :tags \"y\" 536870914 true] "
              "#datahike/Datom [10 :tags \"z\" 536870917 true]]");
    CHECK_STR(datoms(c, "{:index :eavt :components [10]}", 0),
              "[#datahike/Datom [10 :name \"B\" 536870915 true] "
              "#datahike/Datom [10 :tags \"y\" 536870914 true] "
              "#datahike/Datom [10 :tags \"z\" 536870917 true]]");
    datalith_conn_release(c);
    datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN);
}

int main(void) {
    RUN(raw_datoms_in_json);
    RUN(load_entities_in_json);
    RUN(purge_on_a_file_store_survives_reconnect);
    datalith_free(ok_call_out);
    return test_summary();
}
