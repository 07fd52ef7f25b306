/* quickstart.c — the whole flow of the C API in one page: create a
** database, connect, transact a schema and data, read datoms from a
** snapshot, and release everything.  Run by the test suite. */
#include <datalith.h>

#include <stdio.h>
#include <string.h>

#define CHECK(call)                                                        \
    do {                                                                   \
        if ((call) != DATALITH_OK) {                                       \
            fprintf(stderr, "%s: %s\n", #call,                             \
                    datalith_error_last()->message);                       \
            return 1;                                                      \
        }                                                                  \
    } while (0)

int main(void) {
    const char *cfg = "{:store {:backend :memory :id \"quickstart\"}}";
    const char *schema = "[{:db/ident :name :db/valueType :db.type/string"
                         "  :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]";
    const char *data = "[{:name \"Ada\"} {:name \"Grace\"}]";
    const char *args = "{:index :avet :components [:name]}";
    datalith_conn *conn;
    datalith_db *db;
    char *out;
    size_t n;

    CHECK(datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &out, &n));
    datalith_free(out);
    CHECK(datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &conn));
    CHECK(datalith_transact(conn, schema, strlen(schema), DATALITH_FORMAT_EDN, &out, &n));
    datalith_free(out);
    CHECK(datalith_transact(conn, data, strlen(data), DATALITH_FORMAT_EDN, &out, &n));
    datalith_free(out);

    CHECK(datalith_conn_db(conn, &db)); /* an immutable snapshot */
    CHECK(datalith_datoms(db, args, strlen(args), DATALITH_FORMAT_EDN, &out, &n));
    printf("%s\n", out);
    datalith_free(out);

    datalith_db_release(db);
    datalith_conn_release(conn);
    CHECK(datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN));
    return 0;
}
