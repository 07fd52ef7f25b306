/*
** demo.c — the Datalith demo (scripts/demo runs it).
**
**   demo DIR          create a file database in DIR, transact a schema and
**                     a few people, change one, retract one, and start a
**                     second process that reads the same store directly
**   demo --read DIR   the second process: open the store, print what it sees
**
** Everything goes through the public C API (include/datalith.h) with EDN
** text in and out, as a binding would use it.
*/
#include "datalith.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
    const datalith_error *e = datalith_error_last();
    fprintf(stderr, "demo: %s failed: %s (%s)\n", what, e->message,
            datalith_status_name(e->code));
    exit(1);
}

static void show(const char *label, char *edn) {
    printf("%s\n    %s\n", label, edn);
    datalith_free(edn);
}

static void transact(datalith_conn *conn, const char *tx, const char *label) {
    char *report = NULL;
    size_t n;
    printf("transact %s\n    %s\n", label, tx);
    if (datalith_transact(conn, tx, strlen(tx), DATALITH_FORMAT_EDN, &report, &n))
        die("transact");
    /* Show the datoms the transaction added or retracted. */
    const char *p = strstr(report, ":tx-data");
    printf("  => %.*s\n", p ? (int)(strcspn(p, "}") + 1) : 0, p ? p : "");
    datalith_free(report);
}

static void datoms(datalith_conn *conn, const char *args, const char *label) {
    datalith_db *db = NULL;
    char *out = NULL;
    size_t n;
    if (datalith_conn_db(conn, &db)) die("db");
    if (datalith_datoms(db, args, strlen(args), DATALITH_FORMAT_EDN, &out, &n))
        die("datoms");
    show(label, out);
    datalith_db_release(db);
}

static void query(datalith_db *db, const char *q, const char *label) {
    char *out = NULL;
    size_t n;
    if (datalith_q(q, strlen(q), &db, 1, "[]", 2, DATALITH_FORMAT_EDN, &out, &n))
        die("q");
    printf("%s\n    %s\n", label, q);
    show("  =>", out);
}

static void query_conn(datalith_conn *conn, const char *q, const char *label) {
    datalith_db *db = NULL;
    if (datalith_conn_db(conn, &db)) die("db");
    query(db, q, label);
    datalith_db_release(db);
}

static int reader(const char *cfg) {
    datalith_conn *conn = NULL;
    printf("\n[reader pid %d] opening the same store directly\n", (int)getpid());
    if (datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &conn))
        die("connect (reader)");
    query_conn(conn, "[:find ?name ?age :where [?e :person/name ?name] [?e :person/age ?age]]",
               "[reader] a query over the same store:");
    datoms(conn, "{:index :avet :components [:person/email \"ada@example.org\"]}",
           "[reader] lookup by unique :person/email:");
    datalith_conn_release(conn);
    return 0;
}

int main(int argc, char **argv) {
    char cfg[1024];
    const char *dir;
    int read_only = argc == 3 && !strcmp(argv[1], "--read");
    if (argc != 2 && !read_only) {
        fprintf(stderr, "usage: demo DIR | demo --read DIR\n");
        return 2;
    }
    dir = argv[argc - 1];
    snprintf(cfg, sizeof cfg,
             "{:store {:backend :file :path \"%s\"} :keep-history? true}", dir);
    if (read_only) return reader(cfg);

    printf("Datalith %s: a database is a value.\n\n", datalith_version());
    int exists = 0;
    if (datalith_database_exists(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &exists))
        die("database-exists?");
    if (exists && datalith_delete_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN))
        die("delete-database");

    char *done = NULL;
    size_t n;
    if (datalith_create_database(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &done, &n))
        die("create-database");
    show("create-database returned the completed config:", done);

    datalith_conn *conn = NULL;
    if (datalith_connect(cfg, strlen(cfg), DATALITH_FORMAT_EDN, &conn)) die("connect");

    transact(conn,
             "[{:db/ident :person/name :db/valueType :db.type/string"
             "  :db/cardinality :db.cardinality/one :db/index true}"
             " {:db/ident :person/email :db/valueType :db.type/string"
             "  :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}"
             " {:db/ident :person/age :db/valueType :db.type/long"
             "  :db/cardinality :db.cardinality/one}]",
             "a schema");
    transact(conn,
             "[{:person/name \"Ada\" :person/email \"ada@example.org\" :person/age 36}"
             " {:person/name \"Alan\" :person/email \"alan@example.org\" :person/age 41}"
             " {:person/name \"Grace\" :person/email \"grace@example.org\" :person/age 85}]",
             "three people");
    query_conn(conn,
               "[:find ?name ?age :where [?e :person/name ?name] [?e :person/age ?age]]",
               "query: every person's name and age");
    query_conn(conn,
               "[:find (avg ?age) . :where [_ :person/age ?age]]",
               "query: the average age");

    datalith_db *before = NULL;
    if (datalith_conn_db(conn, &before)) die("db");

    transact(conn, "[{:person/email \"ada@example.org\" :person/age 37}]",
             "an upsert by email (Ada's birthday)");
    transact(conn, "[[:db/retractEntity [:person/email \"alan@example.org\"]]]",
             "a retraction");

    const char *ages = "[:find ?name ?age :where [?e :person/name ?name] [?e :person/age ?age]]";
    query_conn(conn, ages, "query: names and ages now");
    query(before, ages,
          "query: the snapshot held from before those two transactions "
          "(a database is a value)");
    datalith_db_release(before);
    {
        datalith_db *now = NULL, *then = NULL, *hist = NULL;
        const char *tx = "536870914"; /* the transaction that added the people */
        if (datalith_conn_db(conn, &now)) die("db");
        if (datalith_as_of(now, tx, strlen(tx), DATALITH_FORMAT_EDN, &then)) die("as-of");
        query(then, ages, "time travel: as-of transaction 536870914 (inclusive)");
        if (datalith_history(now, &hist)) die("history");
        query(hist,
              "[:find ?age ?tx ?added :where [?e :person/email \"ada@example.org\"]"
              " [?e :person/age ?age ?tx ?added]]",
              "history: every assertion and retraction of Ada's age");
        datalith_db_release(hist);
        datalith_db_release(then);
        datalith_db_release(now);
    }
    datalith_conn_release(conn);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "--read", dir, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
