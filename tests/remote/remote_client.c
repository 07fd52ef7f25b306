/*
** remote_client.c — the client half of the remote end-to-end tests
** (test_remote.py drives it against a real datalith-server).  Each command
** uses only the public API, as an application would:
**
**   remote_client create CFG           create-database; prints the answer
**   remote_client delete CFG           delete-database
**   remote_client exists CFG           prints true or false
**   remote_client transact CFG TX      one transaction; prints the report
**   remote_client tx CFG TAG N         N transactions {:tag TAG :i k}; after
**                                      each, the local db() must see it
**   remote_client count CFG TAG        prints the entities with :tag TAG
**                                      and the distinct :i values, read locally
**   remote_client outage CFG           one transaction, prints "ready", waits
**                                      for a line on stdin (the test kills
**                                      the server), transacts again: prints
**                                      the error, then reads locally
**   remote_client compare PEER LOCAL   runs the main read operations on a
**                                      :remote-peer connection and a local
**                                      one; prints each pair, fails on a
**                                      difference
**   remote_client expect-error CFG OP  OP (create|tx|connect): prints the
**                                      status name and message of the failure
**   remote_client listen CFG           connects, listens; prints "ready",
**                                      then one line per callback: "report
**                                      <EDN>" or "error <STATUS> <message>";
**                                      stdin lines: "unlisten", "listen"
**                                      (again: prints "ready"), "release",
**                                      "quit"
**   remote_client listen-self CFG MODE listens; the callback's first report
**                                      prints "report <EDN>", then the
**                                      callback itself unlistens (MODE
**                                      unlisten) or releases the connection
**                                      (MODE release) and prints "done";
**                                      later callbacks print "late"; exits
**                                      on stdin "quit"
**
** Exit status 0 on success; 1 with a message on stderr otherwise.
*/
#define _POSIX_C_SOURCE 200809L
#include "datalith.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EDN DATALITH_FORMAT_EDN

static int fail(const char *what) {
    const datalith_error *e = datalith_error_last();
    fprintf(stderr, "%s: %s: %s\n", what, datalith_status_name(e->code),
            e->message);
    exit(1);
}

static datalith_conn *open_conn(const char *cfg) {
    datalith_conn *c = NULL;
    if (datalith_connect(cfg, strlen(cfg), EDN, &c)) fail("connect");
    return c;
}

/* Run q on the connection's newest snapshot; returns the malloc'd result. */
static char *query(datalith_conn *c, const char *q, const char *in) {
    datalith_db *db = NULL;
    char *out = NULL;
    size_t len;
    if (datalith_conn_db(c, &db)) fail("db");
    if (datalith_q(q, strlen(q), &db, 1, in, in ? strlen(in) : 0, EDN, &out, &len))
        fail("q");
    datalith_db_release(db);
    return out;
}

static int cmd_transact(const char *cfg, const char *tx) {
    datalith_conn *c = open_conn(cfg);
    char *out = NULL;
    size_t len;
    if (datalith_transact(c, tx, strlen(tx), EDN, &out, &len)) fail("transact");
    printf("%s\n", out);
    datalith_free(out);
    datalith_conn_release(c);
    return 0;
}

static int cmd_delete(const char *cfg) {
    if (datalith_delete_database(cfg, strlen(cfg), EDN)) fail("delete");
    return 0;
}

static int cmd_exists(const char *cfg) {
    int e = -1;
    if (datalith_database_exists(cfg, strlen(cfg), EDN, &e)) fail("exists");
    printf("%s\n", e ? "true" : "false");
    return 0;
}

static int cmd_create(const char *cfg) {
    char *out = NULL;
    if (datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL)) fail("create");
    printf("%s\n", out);
    datalith_free(out);
    return 0;
}

static int cmd_tx(const char *cfg, const char *tag, int n) {
    datalith_conn *c = open_conn(cfg);
    char tx[256], in[256], *out = NULL;
    size_t len;
    for (int i = 0; i < n; i++) {
        snprintf(tx, sizeof tx, "[{:tag \"%s\" :i %d}]", tag, i);
        if (datalith_transact(c, tx, strlen(tx), EDN, &out, &len)) fail("transact");
        if (!strstr(out, ":db-after #datahike/DB {")) {
            fprintf(stderr, "odd report: %s\n", out);
            return 1;
        }
        datalith_free(out);
        /* read-your-write on the local store */
        snprintf(in, sizeof in, "[\"%s\" %d]", tag, i);
        out = query(c, "[:find ?e . :in $ ?t ?i :where [?e :tag ?t] [?e :i ?i]]", in);
        if (strcmp(out, "nil") == 0) {
            fprintf(stderr, "transaction %s %d not visible locally after "
                    "the server acknowledged it\n", tag, i);
            return 1;
        }
        datalith_free(out);
    }
    datalith_conn_release(c);
    printf("ok %d\n", n);
    return 0;
}

static int cmd_count(const char *cfg, const char *tag) {
    datalith_conn *c = open_conn(cfg);
    char in[128];
    snprintf(in, sizeof in, "[\"%s\"]", tag);
    char *ents = query(c, "[:find (count ?e) . :in $ ?t :where [?e :tag ?t]]", in);
    char *is = query(c, "[:find (count-distinct ?i) . :in $ ?t :where [?e :tag ?t] [?e :i ?i]]", in);
    printf("%s %s\n", ents, is);
    datalith_free(ents);
    datalith_free(is);
    datalith_conn_release(c);
    return 0;
}

static int cmd_outage(const char *cfg) {
    datalith_conn *c = open_conn(cfg);
    char *out = NULL, line[64];
    size_t len;
    const char *tx1 = "[{:tag \"outage\" :i 1}]", *tx2 = "[{:tag \"outage\" :i 2}]";
    if (datalith_transact(c, tx1, strlen(tx1), EDN, &out, &len)) fail("transact");
    datalith_free(out);
    printf("ready\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 1;
    int rc = datalith_transact(c, tx2, strlen(tx2), EDN, &out, &len);
    if (rc == 0) {
        fprintf(stderr, "transact succeeded with the server down\n");
        return 1;
    }
    printf("error %s %s\n", datalith_status_name(rc), datalith_error_last()->message);
    out = query(c, "[:find (count ?e) . :in $ ?t :where [?e :tag ?t]]", "[\"outage\"]");
    printf("local %s\n", out);
    datalith_free(out);
    datalith_conn_release(c);
    return 0;
}

static int cmd_expect_error(const char *cfg, const char *op) {
    char *out = NULL;
    size_t len;
    int rc;
    if (strcmp(op, "create") == 0) {
        rc = datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL);
    } else if (strcmp(op, "connect") == 0) {
        datalith_conn *c = NULL;
        rc = datalith_connect(cfg, strlen(cfg), EDN, &c);
        if (!rc) datalith_conn_release(c);
    } else {
        datalith_conn *c = open_conn(cfg);
        rc = datalith_transact(c, op, strlen(op), EDN, &out, &len);
        datalith_conn_release(c);
    }
    if (rc == 0) {
        fprintf(stderr, "%s succeeded: %s\n", op, out ? out : "");
        datalith_free(out);
        return 1;
    }
    printf("%s %s\n", datalith_status_name(rc), datalith_error_last()->message);
    return 0;
}

/* ---- compare: the same reads on a remote peer and locally ---- */

typedef struct side {
    datalith_conn *c;
    datalith_db *db, *as_of, *since, *hist;
} side;

static void open_side(side *s, const char *cfg, const char *tp) {
    s->c = open_conn(cfg);
    if (datalith_conn_db(s->c, &s->db)) fail("db");
    if (datalith_as_of(s->db, tp, strlen(tp), EDN, &s->as_of)) fail("as-of");
    if (datalith_since(s->db, tp, strlen(tp), EDN, &s->since)) fail("since");
    if (datalith_history(s->db, &s->hist)) fail("history");
}

static void close_side(side *s) {
    datalith_db_release(s->db);
    datalith_db_release(s->as_of);
    datalith_db_release(s->since);
    datalith_db_release(s->hist);
    datalith_conn_release(s->c);
}

static int differ;

static void same(const char *what, int rp, char *p, int rl, char *l) {
    int eq = rp == rl && (rp != 0 || strcmp(p, l) == 0);
    printf("%-22s %s\n", what, eq ? "equal" : "DIFFERENT");
    if (!eq) {
        fprintf(stderr, "%s:\n  peer  (%s) %s\n  local (%s) %s\n", what,
                datalith_status_name(rp), rp ? "" : p, datalith_status_name(rl),
                rl ? "" : l);
        differ = 1;
    }
    if (!rp) datalith_free(p);
    if (!rl) datalith_free(l);
}

typedef int (*val1_fn)(datalith_db *, const char *, size_t, int, char **, size_t *);

static void cmp_q(const char *what, side *p, side *l, int which, const char *q,
                  const char *in) {
    datalith_db *dp = which == 0 ? p->db : which == 1 ? p->as_of
                    : which == 2 ? p->since : p->hist;
    datalith_db *dlc = which == 0 ? l->db : which == 1 ? l->as_of
                     : which == 2 ? l->since : l->hist;
    char *a = NULL, *b = NULL;
    size_t n;
    size_t inl = in ? strlen(in) : 0;
    int ra = datalith_q(q, strlen(q), &dp, 1, in, inl, EDN, &a, &n);
    int rb = datalith_q(q, strlen(q), &dlc, 1, in, inl, EDN, &b, &n);
    same(what, ra, a, rb, b);
}

static void cmp_val(const char *what, side *p, side *l, val1_fn fn, const char *arg) {
    char *a = NULL, *b = NULL;
    size_t n;
    int ra = fn(p->db, arg, strlen(arg), EDN, &a, &n);
    int rb = fn(l->db, arg, strlen(arg), EDN, &b, &n);
    same(what, ra, a, rb, b);
}

static int cmd_compare(const char *peer, const char *local, const char *tp) {
    side p, l;
    char *a = NULL, *b = NULL;
    size_t n;
    int ra, rb;
    open_side(&p, peer, tp);
    open_side(&l, local, tp);
    const char *qa = "[:find ?n ?a :where [?e :name ?n] [?e :age ?a]]";
    cmp_q("q", &p, &l, 0, qa, NULL);
    cmp_q("q inputs", &p, &l, 0,
          "[:find ?n :in $ ?min :where [?e :age ?a] [(>= ?a ?min)] [?e :name ?n]]",
          "[30]");
    cmp_q("q aggregate", &p, &l, 0, "[:find (sum ?a) (count ?e) . :where [?e :age ?a]]", NULL);
    cmp_q("q as-of", &p, &l, 1, qa, NULL);
    cmp_q("q since", &p, &l, 2, qa, NULL);
    cmp_q("q history", &p, &l, 3,
          "[:find ?n ?a ?added :where [?e :name ?n] [?e :age ?a _ ?added]]", NULL);
    ra = datalith_pull(p.db, "[:name :age {:friend [:name]}]", 30, "[:name \"Ada\"]", 14,
                       EDN, &a, &n);
    rb = datalith_pull(l.db, "[:name :age {:friend [:name]}]", 30, "[:name \"Ada\"]", 14,
                       EDN, &b, &n);
    same("pull", ra, a, rb, b);
    ra = datalith_pull_many(p.db, "[*]", 3, "[[:name \"Ada\"] [:name \"Bo\"]]", 29,
                            EDN, &a, &n);
    rb = datalith_pull_many(l.db, "[*]", 3, "[[:name \"Ada\"] [:name \"Bo\"]]", 29,
                            EDN, &b, &n);
    same("pull-many", ra, a, rb, b);
    cmp_val("entity", &p, &l, datalith_entity, "[:name \"Bo\"]");
    cmp_val("datoms", &p, &l, datalith_datoms, "{:index :aevt :components [:age]}");
    cmp_val("seek-datoms", &p, &l, datalith_seek_datoms, "{:index :avet :components [:age 30]}");
    cmp_val("index-range", &p, &l, datalith_index_range, "{:attrid :age :start 20 :end 40}");
    ra = datalith_schema(p.db, EDN, &a, &n);
    rb = datalith_schema(l.db, EDN, &b, &n);
    same("schema", ra, a, rb, b);
    ra = datalith_metrics(p.db, EDN, &a, &n);
    rb = datalith_metrics(l.db, EDN, &b, &n);
    same("metrics", ra, a, rb, b);
    /* an engine error comes back with the same code and message */
    ra = datalith_q("[:find ?x :where [?x :age ?y] [(no-such-fn ?y)]]", 49, &p.db, 1,
                    NULL, 0, EDN, &a, &n);
    char pmsg[1024];
    snprintf(pmsg, sizeof pmsg, "%s", datalith_error_last()->message);
    rb = datalith_q("[:find ?x :where [?x :age ?y] [(no-such-fn ?y)]]", 49, &l.db, 1,
                    NULL, 0, EDN, &b, &n);
    int eq = ra != 0 && ra == rb && strcmp(pmsg, datalith_error_last()->message) == 0;
    printf("%-22s %s\n", "q error", eq ? "equal" : "DIFFERENT");
    if (!eq) {
        fprintf(stderr, "q error: peer %s \"%s\", local %s \"%s\"\n",
                datalith_status_name(ra), pmsg, datalith_status_name(rb),
                datalith_error_last()->message);
        differ = 1;
    }
    close_side(&p);
    close_side(&l);
    return differ;
}

/* ---- listen ---- */

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_report(void *ctx, int status, const char *report, size_t len) {
    (void)ctx;
    pthread_mutex_lock(&out_mu);
    if (status) {
        const datalith_error *e = datalith_error_last();
        printf("error %s %s\n", datalith_status_name(status), e->message);
    } else {
        printf("report %.*s\n", (int)len, report);
    }
    fflush(stdout);
    pthread_mutex_unlock(&out_mu);
}

static void say(const char *what) {
    pthread_mutex_lock(&out_mu);
    printf("%s\n", what);
    fflush(stdout);
    pthread_mutex_unlock(&out_mu);
}

static int cmd_listen(const char *cfg) {
    datalith_conn *c = open_conn(cfg);
    char *key = NULL, line[256];
    size_t klen = 0;
    if (datalith_listen(c, NULL, 0, EDN, on_report, NULL, &key, &klen)) fail("listen");
    say("ready");
    while (fgets(line, sizeof line, stdin)) {
        if (strncmp(line, "unlisten", 8) == 0) {
            if (!key || datalith_unlisten(c, key, klen, EDN)) fail("unlisten");
            datalith_free(key);
            key = NULL;
            say("unlistened");
        } else if (strncmp(line, "listen", 6) == 0) {
            datalith_free(key);
            key = NULL;
            if (datalith_listen(c, NULL, 0, EDN, on_report, NULL, &key, &klen))
                fail("listen");
            say("ready");
        } else if (strncmp(line, "release", 7) == 0) {
            datalith_conn_release(c);
            c = NULL;
            say("released");
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
    }
    datalith_free(key);
    if (c) datalith_conn_release(c);
    return 0;
}

typedef struct self_ctx {
    datalith_conn *conn;
    char *key;
    size_t klen;
    int release, calls;
} self_ctx;

static void on_self(void *ctx, int status, const char *report, size_t len) {
    self_ctx *x = ctx;
    if (status) return on_report(NULL, status, report, len);
    if (x->calls++) {
        say("late");
        return;
    }
    on_report(NULL, 0, report, len);
    if (x->release) {
        pthread_mutex_lock(&out_mu); /* main reads x->conn at quit */
        datalith_conn_release(x->conn);
        x->conn = NULL;
        pthread_mutex_unlock(&out_mu);
    } else if (datalith_unlisten(x->conn, x->key, x->klen, EDN)) {
        fail("unlisten in the callback");
    }
    say("done");
}

static int cmd_listen_self(const char *cfg, const char *mode) {
    static self_ctx x;
    char line[256];
    x.conn = open_conn(cfg);
    x.release = strcmp(mode, "release") == 0;
    if (datalith_listen(x.conn, NULL, 0, EDN, on_self, &x, &x.key, &x.klen)) fail("listen");
    say("ready");
    while (fgets(line, sizeof line, stdin))
        if (strncmp(line, "quit", 4) == 0) break;
    pthread_mutex_lock(&out_mu);
    if (x.conn) datalith_conn_release(x.conn);
    x.conn = NULL;
    pthread_mutex_unlock(&out_mu);
    datalith_free(x.key);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "create") == 0) return cmd_create(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "delete") == 0) return cmd_delete(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "exists") == 0) return cmd_exists(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "transact") == 0)
        return cmd_transact(argv[2], argv[3]);
    if (argc >= 5 && strcmp(argv[1], "tx") == 0)
        return cmd_tx(argv[2], argv[3], atoi(argv[4]));
    if (argc >= 4 && strcmp(argv[1], "count") == 0) return cmd_count(argv[2], argv[3]);
    if (argc >= 3 && strcmp(argv[1], "outage") == 0) return cmd_outage(argv[2]);
    if (argc >= 5 && strcmp(argv[1], "compare") == 0)
        return cmd_compare(argv[2], argv[3], argv[4]);
    if (argc >= 3 && strcmp(argv[1], "listen") == 0) return cmd_listen(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "listen-self") == 0)
        return cmd_listen_self(argv[2], argv[3]);
    if (argc >= 4 && strcmp(argv[1], "expect-error") == 0)
        return cmd_expect_error(argv[2], argv[3]);
    fprintf(stderr, "usage: see the comment at the top of remote_client.c\n");
    return 2;
}
