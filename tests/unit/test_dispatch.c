/*
** test_dispatch.c — the generated entry points of the C facade
** (core/api/dispatch_gen.c, from spec/api.edn by codegen/targets/
** c_dispatch.py): every call starts from a clear error, NULL handles and
** out-pointers and unknown formats are refused with DATALITH_EINVAL and the
** messages the bindings rely on, before any work is done (a transact with
** no place for its report commits nothing), and a valid call still reaches
** the implementation.
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"
#include "test.h"

#include <string.h>

#define EDN DATALITH_FORMAT_EDN

static const char CFG[] = "{:store {:backend :memory :id \"test-dispatch\"}"
                          " :schema-flexibility :read}";

static datalith_conn *open_conn(void) {
    datalith_conn *c = NULL;
    char *out = NULL;
    int exists = 0;
    CHECK_EQ_INT(datalith_database_exists(CFG, strlen(CFG), EDN, &exists), 0);
    if (exists) datalith_delete_database(CFG, strlen(CFG), EDN);
    CHECK_EQ_INT(datalith_create_database(CFG, strlen(CFG), EDN, &out, NULL), 0);
    datalith_free(out);
    CHECK_EQ_INT(datalith_connect(CFG, strlen(CFG), EDN, &c), 0);
    return c;
}

/* rc is DATALITH_EINVAL and the last error says exactly `msg`. */
#define CHECK_EINVAL(call, msg)                                              \
    do {                                                                     \
        CHECK_EQ_INT((call), DATALITH_EINVAL);                               \
        CHECK_EQ_INT(datalith_error_last()->code, DATALITH_EINVAL);          \
        CHECK_STR(datalith_error_last()->message, (msg));                    \
    } while (0)

static int keep_all(void *ctx, const char *d, size_t n) {
    (void)ctx, (void)d, (void)n;
    return 1;
}

static void on_commit(void *ctx, int status, const char *r, size_t n) {
    (void)ctx, (void)status, (void)r, (void)n;
}

TEST(null_checks_keep_their_messages) {
    datalith_conn *c = open_conn();
    datalith_db *db = NULL, *v = NULL;
    char *out = NULL;
    size_t len = 0;
    CHECK_EQ_INT(datalith_conn_db(c, &db), 0);

    CHECK_EINVAL(datalith_value_convert(NULL, 3, EDN, EDN, &out, &len),
                 "value_convert: NULL argument");
    CHECK_EINVAL(datalith_value_convert("1", 1, EDN, EDN, NULL, &len),
                 "value_convert: NULL argument");
    CHECK_EINVAL(datalith_connect(CFG, strlen(CFG), EDN, NULL), "NULL output pointer");
    CHECK_EINVAL(datalith_database_exists(CFG, strlen(CFG), EDN, NULL),
                 "NULL output pointer");
    CHECK_EINVAL(datalith_conn_db(NULL, &db), "NULL argument");
    CHECK_EINVAL(datalith_conn_db(c, NULL), "NULL argument");
    CHECK_EINVAL(datalith_transact(NULL, "[]", 2, EDN, &out, &len), "NULL connection");
    CHECK_EINVAL(datalith_load_entities(NULL, "[]", 2, EDN, &out, &len),
                 "NULL connection");
    CHECK_EINVAL(datalith_pull(NULL, "[*]", 3, "1", 1, EDN, &out, &len), "NULL snapshot");
    CHECK_EINVAL(datalith_pull(db, "[*]", 3, "1", 1, EDN, NULL, &len),
                 "NULL output pointer");
    CHECK_EINVAL(datalith_entity(NULL, "1", 1, EDN, &out, &len), "NULL snapshot");
    CHECK_EINVAL(datalith_schema(NULL, EDN, &out, &len), "NULL snapshot");
    CHECK_EINVAL(datalith_history(db, NULL), "NULL argument");
    CHECK_EINVAL(datalith_as_of(NULL, "536870913", 9, EDN, &v), "NULL argument");
    CHECK_EINVAL(datalith_is_filtered(db, NULL), "NULL argument");
    CHECK_EINVAL(datalith_db_filter(db, NULL, NULL, EDN, &v), "NULL argument");
    CHECK_EINVAL(datalith_q("[:find ?e :where [?e :a]]", 24, &db, 1, NULL, 0, EDN, NULL,
                            &len),
                 "NULL output pointer");
    CHECK_EINVAL(datalith_listen(c, NULL, 0, EDN, NULL, NULL, &out, &len),
                 "listen: NULL connection, callback or output");
    CHECK_EINVAL(datalith_unlisten(NULL, ":k", 2, EDN), "unlisten: NULL connection");
    CHECK(out == NULL && v == NULL);

    datalith_db_release(db);
    datalith_conn_release(c);
}

TEST(unknown_formats_are_refused) {
    datalith_conn *c = open_conn();
    datalith_db *db = NULL, *v = NULL;
    char *out = NULL;
    CHECK_EQ_INT(datalith_conn_db(c, &db), 0);
    CHECK_EINVAL(datalith_schema(db, 7, &out, NULL), "unknown format 7");
    CHECK_EINVAL(datalith_reverse_schema(db, -1, &out, NULL), "unknown format -1");
    CHECK_EINVAL(datalith_metrics(db, 3, &out, NULL), "unknown format 3");
    CHECK_EINVAL(datalith_db_filter(db, keep_all, NULL, 9, &v), "unknown format 9");
    CHECK(out == NULL && v == NULL);
    /* the formats that exist pass */
    CHECK_EQ_INT(datalith_schema(db, DATALITH_FORMAT_CBOR, &out, NULL), 0);
    datalith_free(out);
    CHECK_EQ_INT(datalith_db_filter(db, keep_all, NULL, DATALITH_FORMAT_JSON, &v), 0);
    datalith_db_release(v);
    datalith_db_release(db);
    datalith_conn_release(c);
}

TEST(each_call_starts_from_a_clear_error) {
    datalith_conn *c = open_conn();
    datalith_db *db = NULL;
    char *out = NULL;
    size_t len = 0;
    CHECK_EQ_INT(datalith_conn_db(NULL, &db), DATALITH_EINVAL);
    CHECK_EQ_INT(datalith_conn_db(c, &db), 0);
    CHECK_EQ_INT(datalith_error_last()->code, DATALITH_OK);
    CHECK_EQ_INT(datalith_schema(NULL, EDN, &out, &len), DATALITH_EINVAL);
    CHECK_EQ_INT(datalith_schema(db, EDN, &out, &len), 0);
    CHECK_EQ_INT(datalith_error_last()->code, DATALITH_OK);
    CHECK_STR(out, "{}");
    datalith_free(out);
    out = NULL;
    CHECK_EQ_INT(datalith_tempid(":db.part/tx", 11, EDN, &out, &len), 0);
    CHECK_STR(out, ":db/current-tx");
    datalith_free(out);
    datalith_db_release(db);
    datalith_conn_release(c);
}

TEST(transact_without_a_report_pointer_commits_nothing) {
    datalith_conn *c = open_conn();
    datalith_db *db = NULL;
    char *out = NULL;
    size_t len = 0;
    static const char TX[] = "[{:name \"Ada\"}]";
    static const char Q[] = "[:find (count ?e) . :where [?e :name]]";
    CHECK_EINVAL(datalith_transact(c, TX, strlen(TX), EDN, NULL, &len),
                 "NULL output pointer");
    CHECK_EQ_INT(datalith_conn_db(c, &db), 0);
    CHECK_EQ_INT(datalith_q(Q, strlen(Q), &db, 1, NULL, 0, EDN, &out, &len), 0);
    CHECK_STR(out, "nil"); /* no entity has :name */
    datalith_free(out);
    datalith_db_release(db);
    /* with a report pointer the same transaction commits */
    CHECK_EQ_INT(datalith_transact(c, TX, strlen(TX), EDN, &out, &len), 0);
    datalith_free(out);
    CHECK_EQ_INT(datalith_conn_db(c, &db), 0);
    CHECK_EQ_INT(datalith_q(Q, strlen(Q), &db, 1, NULL, 0, EDN, &out, &len), 0);
    CHECK_STR(out, "1");
    datalith_free(out);
    datalith_db_release(db);
    datalith_conn_release(c);
}

TEST(listen_still_reaches_the_implementation) {
    datalith_conn *c = open_conn();
    char *key = NULL;
    size_t len = 0;
    CHECK_EQ_INT(datalith_listen(c, ":k", 2, EDN, on_commit, NULL, &key, &len), 0);
    CHECK_STR(key, ":k");
    datalith_free(key);
    CHECK_EQ_INT(datalith_unlisten(c, ":k", 2, EDN), 0);
    CHECK_EQ_INT(datalith_unlisten(c, ":k", 2, EDN), DATALITH_ENOTFOUND);
    datalith_conn_release(c);
}

int main(void) {
    RUN(null_checks_keep_their_messages);
    RUN(unknown_formats_are_refused);
    RUN(each_call_starts_from_a_clear_error);
    RUN(transact_without_a_report_pointer_commits_nothing);
    RUN(listen_still_reaches_the_implementation);
    return test_summary();
}
