/*
** pg_outage.c — the :pg store when PostgreSQL is away, restarted, or the
** table is not a Datalith table; and its config errors.
**
**   pg_outage <pgtmp.sh> <scratch dir>
**
** Starts its own cluster with pgtmp.sh in <scratch dir> (restarting the
** shared one would disturb the other tests), and stops it at the end.
**   - nothing listening: DATALITH_EIO "PostgreSQL at 127.0.0.1:<port>
**     unreachable: …", from open, exists and the database API; no crash
**   - server restarted between two transactions: the same handles (a
**     store handle, a connection, the writer lock) carry on
**   - server restarted while a writer process commits in a loop: no
**     commit fails, none is lost
**   - server down while a handle is open: a clear EIO, and the handle works
**     again once the server is back
**   - wrong password, wrong table layout, bad config keys: clear errors
*/
#define _GNU_SOURCE
#include "../dbproc/crash_db_common.h"
#include "test.h"

#include "store/object.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *pgtmp, *scratch;
static char base[1024]; /* the cluster's store map without the closing } */

static const char *msg(void) { return dl_err_last()->message; }

static int pgtmp_run(const char *cmd) {
    char line[2048];
    snprintf(line, sizeof line, "'%s' %s '%s' >/dev/null", pgtmp, cmd,
             scratch);
    return system(line);
}

static int read_cfg(const char *text, edn_value *out) {
    return edn_read(&wl_arena, text, strlen(text), NULL, out);
}

/* A store map: the cluster's plus `extra` keys. */
static edn_value store_cfg(const char *extra) {
    char text[1400];
    edn_value v = edn_nil();
    snprintf(text, sizeof text, "%s %s}", base, extra);
    if (read_cfg(text, &v)) fprintf(stderr, "bad test config: %s\n", text);
    return v;
}

static int config_for(const char *store, dl_config *out) {
    char text[1600];
    edn_value v;
    snprintf(text, sizeof text, "{:store %s :schema-flexibility :read}",
             store);
    int rc = read_cfg(text, &v);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    return dl_config_parse(&wl_arena, &v, out);
}

/* A loopback port nobody listens on (bound, then closed). */
static int dead_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) ||
        getsockname(fd, (struct sockaddr *)&a, &l))
        return 1;
    close(fd);
    return ntohs(a.sin_port);
}

TEST(server_unreachable) {
    int port = dead_port();
    char text[512], want[128];
    snprintf(text, sizeof text,
             "{:backend :pg :host \"127.0.0.1\" :port %d :dbname \"x\" "
             ":user \"u\" :password \"p\" :table \"t\" "
             ":connect-timeout-ms 2000}", port);
    snprintf(want, sizeof want, "PostgreSQL at 127.0.0.1:%d unreachable: ",
             port);
    edn_value cfg;
    CHECK_EQ_INT(read_cfg(text, &cfg), 0);
    dl_store *s = NULL;
    CHECK_EQ_INT(dl_store_open(&cfg, 1, &s), DATALITH_EIO);
    CHECK_CONTAINS(msg(), want);
    CHECK_CONTAINS(msg(), "refused");
    int ex = -1;
    CHECK_EQ_INT(dl_store_exists(&cfg, &ex), DATALITH_EIO);
    CHECK_CONTAINS(msg(), want);
    dl_config dc;
    CHECK_EQ_INT(config_for(text, &dc), 0);
    CHECK_EQ_INT(dl_db_create(&dc), DATALITH_EIO);
    CHECK_CONTAINS(msg(), want);
    dl_conn *c = NULL;
    CHECK_EQ_INT(dl_conn_open(&dc, &c), DATALITH_EIO);
    CHECK_CONTAINS(msg(), want);
}

TEST(bad_config) {
    dl_store *s = NULL;
    edn_value v;
    v = store_cfg(":table \"a-b\"");
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_EINVAL);
    CHECK_CONTAINS(msg(), ":table \"a-b\"");
    v = store_cfg(":table \"1abc\"");
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_EINVAL);
    CHECK_EQ_INT(read_cfg("{:backend :pg :port \"x1\"}", &v), 0);
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_EINVAL);
    CHECK_STR(msg(), "store config :port must be an integer");
    CHECK_EQ_INT(read_cfg("{:backend :pg :port 70000}", &v), 0);
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_EINVAL);
    CHECK_CONTAINS(msg(), ":port must be between 1 and 65535");
    CHECK_EQ_INT(read_cfg("{:backend :pg :host 5}", &v), 0);
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_EINVAL);
    CHECK_STR(msg(), "store config :host must be a non-empty string");
    CHECK_EQ_INT(read_cfg("{:backend :jdbc :dbtype \"mysql\"}", &v), 0);
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_EUNSUPPORTED);
    CHECK_CONTAINS(msg(), "\"mysql\"");
    CHECK_EQ_INT(read_cfg("{:backend :jdbc :host \"h\"}", &v), 0);
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_EINVAL);
    CHECK_CONTAINS(msg(), ":dbtype");
    CHECK_EQ_INT(read_cfg("{:backend :pg :jdbcUrl \"jdbc:mysql://h/db\"}",
                          &v), 0);
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_EINVAL);
    CHECK_CONTAINS(msg(), ":jdbcUrl");
}

TEST(wrong_password) {
    dl_store *s = NULL;
    char text[512];
    snprintf(text, sizeof text,
             "{:backend :pg :host \"127.0.0.1\" :port %s :dbname "
             "\"datalith\" :user \"datalith\" :password \"wrong\" "
             ":table \"pw\"}", getenv("PGPORT"));
    edn_value v;
    CHECK_EQ_INT(read_cfg(text, &v), 0);
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_EIO);
    CHECK_CONTAINS(msg(), "refused the connection");
    CHECK_CONTAINS(msg(), "password authentication failed");
}

TEST(jdbc_forms) {
    /* Datahike's JDBC config and a JDBC URL reach the same tables. */
    const char *port = getenv("PGPORT");
    char text[1024];
    snprintf(text, sizeof text,
             "{:backend :jdbc :dbtype \"postgresql\" :host \"127.0.0.1\" "
             ":port \"%s\" :dbname \"datalith\" :user \"datalith\" "
             ":password \"datalith\" :table \"jdbcform\"}", port);
    edn_value v;
    CHECK_EQ_INT(read_cfg(text, &v), 0);
    dl_store *s = NULL;
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), 0);
    if (!s) return;
    CHECK_EQ_INT(s->vt->put(s, "k", (const uint8_t *)"v", 1), 0);
    CHECK_EQ_INT(s->vt->sync(s), 0);
    s->vt->close(s);
    snprintf(text, sizeof text,
             "{:backend :jdbc :dbtype \"postgresql\" :jdbcUrl "
             "\"jdbc:postgresql://127.0.0.1:%s/datalith?user=datalith&"
             "password=datalith\" :table \"jdbcform\"}", port);
    CHECK_EQ_INT(read_cfg(text, &v), 0);
    CHECK_EQ_INT(dl_store_open(&v, 0, &s), 0);
    if (!s) return;
    uint8_t *p;
    size_t n;
    CHECK_EQ_INT(s->vt->get(s, "k", &p, &n), 0);
    if (n == 1) free(p);
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

TEST(wrong_layout) {
    /* A table of the same name that is not ours. */
    char line[1024];
    snprintf(line, sizeof line,
             "'%s' psql '%s' -q -c 'SET ROLE datalith' "
             "-c 'CREATE TABLE notours (k int, v text)' "
             "-c 'CREATE TABLE half (k text, v bytea)' >/dev/null",
             pgtmp, scratch);
    CHECK_EQ_INT(system(line), 0);
    dl_store *s = NULL;
    edn_value v = store_cfg(":table \"notours\"");
    CHECK_EQ_INT(dl_store_open(&v, 0, &s), DATALITH_ECORRUPT);
    CHECK_CONTAINS(msg(), "table \"notours\" is not a Datalith store table");
    /* create does not paper over it */
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), DATALITH_ECORRUPT);
    /* objects table present, heads table missing */
    v = store_cfg(":table \"half\"");
    CHECK_EQ_INT(dl_store_open(&v, 0, &s), DATALITH_ECORRUPT);
    CHECK_CONTAINS(msg(), "\"half_heads\"");
    /* missing altogether: the usual answer */
    v = store_cfg(":table \"absent\"");
    CHECK_EQ_INT(dl_store_open(&v, 0, &s), DATALITH_ENOTFOUND);
    CHECK_STR(msg(), "Backend does not exist.");
}

TEST(restart_between_transactions) {
    edn_value v = store_cfg(":table \"restart\"");
    dl_store *s = NULL;
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), 0);
    if (!s) return;
    CHECK_EQ_INT(s->vt->lock_writer(s), 0);
    CHECK_EQ_INT(s->vt->put(s, "a", (const uint8_t *)"1", 1), 0);
    CHECK_EQ_INT(s->vt->head_cas(s, "db", NULL, 0, (const uint8_t *)"h1", 2),
                 0);
    /* The database layer, on its own table. */
    char st[1200];
    snprintf(st, sizeof st, "%s :table \"restartdb\"}", base);
    dl_config dc;
    dl_conn *c = NULL;
    CHECK_EQ_INT(config_for(st, &dc), 0);
    CHECK_EQ_INT(dl_db_create(&dc), 0);
    CHECK_EQ_INT(dl_conn_open(&dc, &c), 0);
    if (c) CHECK_EQ_INT(wl_commit(c, 1), 0);

    /* A LISTEN session goes to the pool (the wait times out). */
    CHECK_EQ_INT(s->vt->head_wait(s, "db", (const uint8_t *)"h1", 2, 10), 0);

    CHECK_EQ_INT(pgtmp_run("restart"), 0);

    /* Every pooled session and the lock's died with the server.  The
    ** first use is a head_cas: it meets a dead session, reconnects, finds
    ** its writer lock gone, takes it again and commits. */
    uint8_t *p;
    size_t n;
    CHECK_EQ_INT(s->vt->put(s, "b", (const uint8_t *)"2", 1), 0);
    CHECK_EQ_INT(s->vt->head_cas(s, "db", (const uint8_t *)"h1", 2,
                                 (const uint8_t *)"h2", 2), 0);
    int rc = s->vt->head_get(s, "db", &p, &n);
    CHECK_EQ_INT(rc, 0);
    if (!rc) {
        CHECK(n == 2 && memcmp(p, "h2", 2) == 0);
        free(p);
    }
    /* The dead LISTEN session is replaced; the head differs: returns. */
    CHECK_EQ_INT(s->vt->head_wait(s, "db", (const uint8_t *)"h1", 2, 60000),
                 0);
    CHECK_EQ_INT(s->vt->get(s, "b", &p, &n), 0);
    if (n == 1) free(p);
    dl_store *s2 = NULL;
    CHECK_EQ_INT(dl_store_open(&v, 0, &s2), 0);
    if (s2) {
        CHECK_EQ_INT(s2->vt->lock_writer(s2), DATALITH_ELOCKED);
        s2->vt->close(s2);
    }
    if (c) {
        CHECK_EQ_INT(wl_commit(c, 2), 0);
        dl_db *db = NULL;
        uint64_t k = 0;
        char why[256];
        CHECK_EQ_INT(dl_conn_db(c, &db), 0);
        if (db) {
            CHECK_EQ_INT(wl_verify(db, &k, why, sizeof why), 0);
            CHECK_EQ_INT(k, 2);
            dl_db_release(db);
        }
        dl_conn_release(c);
    }
    CHECK_EQ_INT(dl_db_delete(&dc), 0);
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

/* A writer process committing (put, sync, head_cas) in a loop while the
** server restarts: no operation fails (sessions are replaced, the lock is
** taken again, a restarting server is waited for up to the connect
** timeout), and every commit is there afterwards. */
static int load_writer(const edn_value *cfg, int started, int stop,
                       int report) {
    dl_store *s = NULL;
    if (dl_store_open(cfg, 0, &s) || s->vt->lock_writer(s)) return 1;
    char prev[32] = "", head[32], key[32];
    int n = 0, after = -1, fails = 0;
    fcntl(stop, F_SETFL, O_NONBLOCK);
    while (after < 20) {
        n++;
        snprintf(key, sizeof key, "obj-%d", n);
        snprintf(head, sizeof head, "c-%d", n);
        if (s->vt->put(s, key, (const uint8_t *)head, strlen(head)) ||
            s->vt->sync(s) ||
            s->vt->head_cas(s, "db", n > 1 ? (const uint8_t *)prev : NULL,
                            strlen(prev), (const uint8_t *)head,
                            strlen(head))) {
            fprintf(stderr, "load writer: commit %d: %s\n", n, msg());
            fails++;
            break;
        }
        memcpy(prev, head, sizeof prev);
        if (n == 20 && write(started, "s", 1) != 1) return 1;
        char b;
        if (after < 0 && read(stop, &b, 1) == 1) after = 0;
        if (after >= 0) after++;
    }
    if (write(report, &n, sizeof n) != sizeof n) return 1;
    return fails ? 2 : 0;
}

TEST(restart_under_load) {
    edn_value v = store_cfg(":table \"load\" :connect-timeout-ms 60000");
    dl_store *s = NULL;
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), 0);
    if (!s) return;
    int started[2], stop[2], report[2];
    CHECK_EQ_INT(pipe(started) | pipe(stop) | pipe(report), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(load_writer(&v, started[1], stop[0], report[1]));
    char b;
    CHECK_EQ_INT(read(started[0], &b, 1), 1); /* 20 commits in */
    CHECK_EQ_INT(pgtmp_run("restart"), 0);
    CHECK_EQ_INT(write(stop[1], "x", 1), 1);
    int st = 0, n = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_EQ_INT(read(report[0], &n, sizeof n), (int)sizeof n);
    CHECK(n > 40);
    fprintf(stderr, "restart_under_load: %d commits across the restart\n", n);
    /* Every commit made it: the last head and all objects. */
    uint8_t *p;
    size_t len;
    char want[32];
    snprintf(want, sizeof want, "c-%d", n);
    int rc = s->vt->head_get(s, "db", &p, &len);
    CHECK_EQ_INT(rc, 0);
    if (!rc) {
        CHECK(len == strlen(want) && memcmp(p, want, len) == 0);
        free(p);
    }
    int missing = 0;
    for (int i = 1; i <= n; i++) {
        char key[32];
        snprintf(key, sizeof key, "obj-%d", i);
        if (s->vt->get(s, key, &p, &len)) missing++;
        else free(p);
    }
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

TEST(server_down_and_back) {
    edn_value v = store_cfg(":table \"downup\" :connect-timeout-ms 2000");
    dl_store *s = NULL;
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), 0);
    if (!s) return;
    CHECK_EQ_INT(s->vt->head_cas(s, "db", NULL, 0, (const uint8_t *)"h1", 2),
                 0);
    CHECK_EQ_INT(pgtmp_run("down"), 0);
    uint8_t *p;
    size_t n;
    char want[128];
    snprintf(want, sizeof want, "PostgreSQL at 127.0.0.1:%s unreachable: ",
             getenv("PGPORT"));
    CHECK_EQ_INT(s->vt->head_get(s, "db", &p, &n), DATALITH_EIO);
    CHECK_CONTAINS(msg(), want);
    CHECK_EQ_INT(s->vt->put(s, "x", (const uint8_t *)"1", 1), 0);
    CHECK_EQ_INT(s->vt->sync(s), DATALITH_EIO);
    CHECK_EQ_INT(s->vt->head_cas(s, "db", (const uint8_t *)"h1", 2,
                                 (const uint8_t *)"h2", 2),
                 DATALITH_EIO);
    CHECK_EQ_INT(s->vt->head_wait(s, "db", (const uint8_t *)"h1", 2, 100),
                 DATALITH_EIO);
    CHECK_EQ_INT(pgtmp_run("up"), 0);
    /* Back: the buffered put was kept and goes in with the next commit. */
    CHECK_EQ_INT(s->vt->head_cas(s, "db", (const uint8_t *)"h1", 2,
                                 (const uint8_t *)"h2", 2), 0);
    dl_store *s2 = NULL;
    CHECK_EQ_INT(dl_store_open(&v, 0, &s2), 0);
    if (s2) {
        CHECK_EQ_INT(s2->vt->get(s2, "x", &p, &n), 0);
        if (n == 1) free(p);
        CHECK_EQ_INT(s2->vt->head_get(s2, "db", &p, &n), 0);
        CHECK(n == 2 && memcmp(p, "h2", 2) == 0);
        free(p);
        s2->vt->close(s2);
    }
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

TEST(head_wait_wakes) {
    /* head_wait returns at once when the head differs, and on a commit
    ** by another process; a timeout is not an error. */
    edn_value v = store_cfg(":table \"waits\"");
    dl_store *s = NULL;
    CHECK_EQ_INT(dl_store_open(&v, 1, &s), 0);
    if (!s) return;
    CHECK_EQ_INT(s->vt->head_wait(s, "db", NULL, 0, 10), 0); /* timeout */
    CHECK_EQ_INT(s->vt->head_cas(s, "db", NULL, 0, (const uint8_t *)"h1", 2),
                 0);
    CHECK_EQ_INT(s->vt->head_wait(s, "db", NULL, 0, 60000), 0);
    CHECK_EQ_INT(s->vt->head_wait(s, "db", (const uint8_t *)"h0", 2, 60000),
                 0);
    fflush(NULL);
    int ready[2];
    CHECK_EQ_INT(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dl_store *c = NULL;
        char b;
        if (dl_store_open(&v, 0, &c)) _exit(1);
        if (read(ready[0], &b, 1) != 1) _exit(2);
        _exit(c->vt->head_cas(c, "db", (const uint8_t *)"h1", 2,
                              (const uint8_t *)"h2", 2) ? 3 : 0);
    }
    /* head_wait LISTENs before it reads the head, so wherever the child's
    ** commit falls, either that read shows h2 or the notification wakes
    ** the wait. */
    if (write(ready[1], "x", 1) != 1) CHECK(0);
    uint8_t *p = NULL;
    size_t n = 0;
    for (int i = 0; i < 1000; i++) {
        CHECK_EQ_INT(s->vt->head_wait(s, "db", (const uint8_t *)"h1", 2,
                                      60000), 0);
        free(p);
        p = NULL;
        CHECK_EQ_INT(s->vt->head_get(s, "db", &p, &n), 0);
        if (n == 2 && memcmp(p, "h2", 2) == 0) break;
    }
    CHECK(n == 2 && p && memcmp(p, "h2", 2) == 0);
    free(p);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_EQ_INT(s->vt->destroy(s), 0);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: pg_outage <pgtmp.sh> <scratch dir>\n");
        return 2;
    }
    pgtmp = argv[1];
    scratch = argv[2];
    (void)wl_config; /* the file/lmdb config builder is not used here */
    dl_arena_init(&wl_arena, 0);
    pgtmp_run("stop");
    if (pgtmp_run("start") != 0) {
        fprintf(stderr, "pg_outage: cannot start PostgreSQL with %s (is it "
                        "installed? run scripts/setup)\n", pgtmp);
        return 1;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/store.edn", scratch);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(base, 1, sizeof base - 1, f) : 0;
    if (f) fclose(f);
    base[n] = 0;
    char *close_brace = strrchr(base, '}');
    if (!close_brace) {
        fprintf(stderr, "pg_outage: no store map in %s\n", path);
        pgtmp_run("stop");
        return 1;
    }
    *close_brace = 0;
    char port[16] = "";
    const char *pp = strstr(base, ":port ");
    if (pp) snprintf(port, sizeof port, "%d", atoi(pp + 6));
    setenv("PGPORT", port, 1);

    RUN(server_unreachable);
    RUN(bad_config);
    RUN(wrong_password);
    RUN(jdbc_forms);
    RUN(wrong_layout);
    RUN(head_wait_wakes);
    RUN(restart_between_transactions);
    RUN(restart_under_load);
    RUN(server_down_and_back);
    pgtmp_run("stop");
    dl_arena_free(&wl_arena);
    return test_summary();
}
