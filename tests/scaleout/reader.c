/*
** tests/scaleout/reader.c — a reader process for the scale-out tests.
**
** Opens the database a configuration map names (EDN on the command line,
** e.g. {:store {:backend :pg :host "10.77.0.1" …}}) and serves queries from
** its newest snapshot, as a read replica on another machine would:
**
**   - a refresher thread asks the connection for the current snapshot
**     (datalith_conn_db re-reads the branch head from the store) every
**     --interval-ms and swaps it in when that succeeds;
**   - the main thread queries the snapshot it holds every --interval-ms and
**     prints one JSON line per tick on stdout:
**       {"tick":3,"state":"ok","max_tx":536870915,"count":12,
**        "held_max_tx":536870913,"held_count":0,"age_ms":5}
**     state is "ok" or "outage"; max_tx is the newest transaction id in the
**     snapshot served ([:find (max ?t) . :where [?t :db/txInstant]]), count
**     the result of --count-query (an integer, null for nil — a count over
**     no rows — or "error" when the query failed); with --hold the
**     first snapshot is also kept and queried (held_*), to show that a held
**     snapshot does not move while commits continue; age_ms is how long ago
**     the served snapshot was last confirmed current.
**   - when the store cannot be reached, the refresher reports it on stderr
**     ("reader: OUTAGE: …", then every 5 s "reader: still unreachable …")
**     while the main thread keeps answering from the last snapshot; when
**     the store is back it prints "reader: RECOVERED after N ms; max-tx M"
**     and the next snapshot is served.  A refresh that hangs (a cut network
**     link drops packets without an answer) counts as an outage too once
**     the head has not been read for --stale-ms (default 3000): the main
**     thread reports "reader: OUTAGE: the store has not answered for N ms".
**
**   - with --listen, a listener on the connection (datalith_listen) prints
**     one line per commit it is told about, in the order it is told:
**       {"event":"tx","tx":536870916}
**     (commits by other processes arrive through the store's head_wait or
**     polling; the test checks that none is missed or repeated, also across
**     an outage).
**
** Usage: reader [--interval-ms N] [--count-query EDN] [--hold] [--listen]
**               [--ticks N] [--stale-ms N] [--name NAME] CONFIG-EDN
**        reader --print-query EDN CONFIG-EDN
**               run one query on the current snapshot, print its EDN result
** Exit status: 0 after --ticks ticks (runs until killed without it), 2 on a
** usage error.  Connecting is retried (and reported) until it succeeds.
*/
#define _GNU_SOURCE
#include "datalith.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char MAX_TX_Q[] = "[:find (max ?t) . :where [?t :db/txInstant]]";

static const char *g_name = "reader";
static const char *g_config;
static const char *g_count_q = "[:find (count ?e) . :where [?e :scn/n]]";
static long g_interval_ms = 200;
static long g_stale_ms = 3000;

/* The refresher thread leaves each new snapshot in g_next; the main thread
** takes it at its next tick, so a snapshot is only ever queried and released
** by the main thread. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static datalith_db *g_next;    /* a newer snapshot not yet served, under g_mu */
static int g_outage;           /* the last refresh failed, under g_mu */
static int64_t g_confirmed_ms; /* when the head was last read, under g_mu */
static pthread_mutex_t g_out_mu = PTHREAD_MUTEX_INITIALIZER; /* whole stdout lines */
static atomic_int g_stop;       /* set by SIGTERM/SIGINT; read by both threads */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && !g_stop) {}
}

static void on_signal(int sig) { (void)sig; g_stop = 1; }

/* Run a query whose result is an integer or nil; *out = -1 for nil.
** Returns 0, or the status code (the message is in datalith_error_last). */
static int q_long(datalith_db *db, const char *q, long long *out) {
    char *res = NULL;
    size_t len = 0;
    int rc = datalith_q(q, strlen(q), &db, 1, "[]", 2, DATALITH_FORMAT_EDN, &res, &len);
    if (rc != DATALITH_OK) return rc;
    if (strcmp(res, "nil") == 0) {
        *out = -1;
    } else {
        char *end;
        *out = strtoll(res, &end, 10);
        if (end == res || *end) {
            fprintf(stderr, "%s: query %s returned %s, not an integer\n", g_name, q, res);
            *out = -1;
        }
    }
    datalith_free(res);
    return 0;
}

/* A query result for the JSON line: the number, null for nil, or "error"
** when the query failed (the error went to stderr). */
#define Q_ERROR (-2)
static void print_num(long long v) {
    if (v == Q_ERROR) fputs("\"error\"", stdout);
    else if (v < 0) fputs("null", stdout);
    else printf("%lld", v);
}

static void report_err(const char *what) {
    const datalith_error *e = datalith_error_last();
    fprintf(stderr, "%s: %s failed: %s: %s\n", g_name, what,
            datalith_status_name(e->code), e->message ? e->message : "");
}

/* The refresher: keep asking for the current snapshot; report outages. */
static void *refresher(void *arg) {
    datalith_conn *conn = arg;
    int64_t since = 0, last_note = 0;
    while (!g_stop) {
        datalith_db *db = NULL;
        int rc = datalith_conn_db(conn, &db);
        int64_t t = now_ms();
        if (rc == DATALITH_OK) {
            datalith_db *old;
            long long mt = -1;
            int was_out;
            long long warm;
            /* Run the served queries here first: the nodes they need are
            ** then cached, so the main thread never waits on the store for a
            ** snapshot it was handed (a link cut right after this refresh
            ** cannot stall it). */
            if (q_long(db, MAX_TX_Q, &mt) != 0) mt = -1;
            (void)q_long(db, g_count_q, &warm);
            pthread_mutex_lock(&g_mu);
            old = g_next;
            g_next = db;
            g_confirmed_ms = t;
            was_out = g_outage;
            g_outage = 0;
            pthread_mutex_unlock(&g_mu);
            datalith_db_release(old);
            if (was_out)
                fprintf(stderr, "%s: RECOVERED after %lld ms; max-tx %lld\n", g_name,
                        (long long)(t - since), mt);
        } else {
            const datalith_error *e = datalith_error_last();
            int first;
            pthread_mutex_lock(&g_mu);
            first = !g_outage;
            g_outage = 1;
            pthread_mutex_unlock(&g_mu);
            if (first) {
                since = t;
                last_note = t;
                fprintf(stderr, "%s: OUTAGE: cannot read the current head (%s: %s); "
                        "serving the last snapshot\n", g_name,
                        datalith_status_name(e->code), e->message ? e->message : "");
            } else if (t - last_note >= 5000) {
                last_note = t;
                fprintf(stderr, "%s: still unreachable after %lld ms (%s: %s); "
                        "serving the last snapshot\n", g_name, (long long)(t - since),
                        datalith_status_name(e->code), e->message ? e->message : "");
            }
        }
        sleep_ms(g_interval_ms);
    }
    return NULL;
}

/* --print-query: connect, run one query on the current snapshot, print it. */
static int print_query(const char *q) {
    datalith_conn *conn = NULL;
    datalith_db *db = NULL;
    char *res = NULL;
    size_t len = 0;
    if (datalith_connect(g_config, strlen(g_config), DATALITH_FORMAT_EDN, &conn) != 0) {
        report_err("connect");
        return 1;
    }
    if (datalith_conn_db(conn, &db) != 0) {
        report_err("snapshot");
        datalith_conn_release(conn);
        return 1;
    }
    int rc = datalith_q(q, strlen(q), &db, 1, "[]", 2, DATALITH_FORMAT_EDN, &res, &len);
    if (rc != 0) report_err("query");
    else printf("%s\n", res);
    datalith_free(res);
    datalith_db_release(db);
    datalith_conn_release(conn);
    return rc ? 1 : 0;
}

/* --listen: one line per transaction report, from the watcher thread. */
static void on_report(void *ctx, int status, const char *report, size_t len) {
    (void)ctx;
    if (status != DATALITH_OK) {
        /* the report, if any, or the watcher thread's last error */
        const datalith_error *e = datalith_error_last();
        fprintf(stderr, "%s: listener error %s: %.*s\n", g_name, datalith_status_name(status),
                (int)(report && len ? len : strlen(e->message ? e->message : "")),
                report && len ? report : (e->message ? e->message : ""));
        return;
    }
    /* the report is EDN text (not NUL-terminated): find :db/current-tx */
    static const char tag[] = ":db/current-tx ";
    long long tx = -1;
    for (size_t i = 0; report && i + sizeof tag - 1 < len; i++) {
        if (memcmp(report + i, tag, sizeof tag - 1) == 0) {
            tx = 0;
            for (size_t j = i + sizeof tag - 1; j < len && report[j] >= '0' && report[j] <= '9'; j++)
                tx = tx * 10 + (report[j] - '0');
            break;
        }
    }
    pthread_mutex_lock(&g_out_mu);
    printf("{\"event\":\"tx\",\"tx\":%lld}\n", tx);
    pthread_mutex_unlock(&g_out_mu);
}

static int usage(void) {
    fprintf(stderr, "usage: reader [--interval-ms N] [--count-query EDN] [--hold] "
            "[--listen] [--ticks N] [--stale-ms N] [--name NAME] CONFIG-EDN\n"
            "       reader --print-query EDN CONFIG-EDN\n");
    return 2;
}

int main(int argc, char **argv) {
    long ticks = -1;
    int hold = 0, listen = 0;
    int64_t stale_since = 0, stale_note = 0;
    const char *print_q = NULL;
    datalith_conn *conn = NULL;
    datalith_db *served = NULL, *held = NULL;
    pthread_t th;
    int64_t started;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) {
            g_interval_ms = atol(argv[++i]);
            if (g_interval_ms <= 0) return usage();
        } else if (!strcmp(argv[i], "--count-query") && i + 1 < argc) {
            g_count_q = argv[++i];
        } else if (!strcmp(argv[i], "--ticks") && i + 1 < argc) {
            ticks = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            g_name = argv[++i];
        } else if (!strcmp(argv[i], "--stale-ms") && i + 1 < argc) {
            g_stale_ms = atol(argv[++i]);
        } else if (!strcmp(argv[i], "--print-query") && i + 1 < argc) {
            print_q = argv[++i];
        } else if (!strcmp(argv[i], "--hold")) {
            hold = 1;
        } else if (!strcmp(argv[i], "--listen")) {
            listen = 1;
        } else if (argv[i][0] == '-' || g_config) {
            return usage();
        } else {
            g_config = argv[i];
        }
    }
    if (!g_config) return usage();
    if (print_q) return print_query(print_q);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Connect, retrying while the store is unreachable. */
    started = now_ms();
    for (int n = 0; !g_stop; n++) {
        if (datalith_connect(g_config, strlen(g_config), DATALITH_FORMAT_EDN, &conn) == 0) break;
        const datalith_error *e = datalith_error_last();
        if (e->code == DATALITH_EPARSE || e->code == DATALITH_EINVAL ||
            e->code == DATALITH_EUNSUPPORTED) {
            report_err("connect");   /* a bad config or build does not get better */
            return 1;
        }
        if (n % 25 == 0)
            fprintf(stderr, "%s: OUTAGE: cannot connect (%s: %s); retrying\n", g_name,
                    datalith_status_name(e->code), e->message ? e->message : "");
        sleep_ms(g_interval_ms);
    }
    if (g_stop) return 0;
    while (!g_stop && datalith_conn_db(conn, &served) != 0) {
        report_err("first snapshot");
        sleep_ms(g_interval_ms);
    }
    if (g_stop) return 0;
    g_confirmed_ms = now_ms();
    fprintf(stderr, "%s: connected in %lld ms\n", g_name, (long long)(g_confirmed_ms - started));
    /* A second reference to the same first snapshot, kept to the end. */
    if (hold && datalith_conn_db(conn, &held) != 0) {
        report_err("held snapshot");
        return 1;
    }
    if (listen) {
        char *key = NULL;
        size_t key_len = 0;
        if (datalith_listen(conn, "nil", 3, DATALITH_FORMAT_EDN, on_report, NULL, &key,
                            &key_len) != 0) {
            report_err("listen");
            return 1;
        }
        datalith_free(key);   /* released with the connection at the end */
    }
    if (pthread_create(&th, NULL, refresher, conn) != 0) {
        fprintf(stderr, "%s: cannot start the refresher thread\n", g_name);
        return 1;
    }

    for (long tick = 1; !g_stop && (ticks < 0 || tick <= ticks); tick++) {
        datalith_db *next, *old = NULL;
        int outage;
        int64_t age;
        long long mt = -1, cnt = -1, hmt = -1, hcnt = -1;
        pthread_mutex_lock(&g_mu);
        if ((next = g_next) != NULL) {
            old = served;
            served = next;
            g_next = NULL;
        }
        outage = g_outage;
        age = now_ms() - g_confirmed_ms;
        pthread_mutex_unlock(&g_mu);
        datalith_db_release(old);
        if (age >= g_stale_ms && !outage) {
            /* The refresher is stuck in a read that does not answer. */
            int64_t t = now_ms();
            if (!stale_since || t - stale_note >= 5000) {
                fprintf(stderr, "%s: OUTAGE: the store has not answered for %lld ms; "
                        "serving the last snapshot\n", g_name, (long long)age);
                stale_note = t;
                if (!stale_since) stale_since = t;
            }
            outage = 1;
        } else if (stale_since && age < g_stale_ms) {
            fprintf(stderr, "%s: RECOVERED: the store answered again\n", g_name);
            stale_since = 0;
        }
        if (q_long(served, MAX_TX_Q, &mt) != 0) { report_err("max-tx query"); mt = Q_ERROR; }
        if (q_long(served, g_count_q, &cnt) != 0) { report_err("count query"); cnt = Q_ERROR; }
        if (held) {
            if (q_long(held, MAX_TX_Q, &hmt) != 0) { report_err("held max-tx query"); hmt = Q_ERROR; }
            if (q_long(held, g_count_q, &hcnt) != 0) { report_err("held count query"); hcnt = Q_ERROR; }
        }
        pthread_mutex_lock(&g_out_mu);
        printf("{\"tick\":%ld,\"state\":\"%s\",\"max_tx\":", tick, outage ? "outage" : "ok");
        print_num(mt);
        fputs(",\"count\":", stdout);
        print_num(cnt);
        if (held) {
            fputs(",\"held_max_tx\":", stdout);
            print_num(hmt);
            fputs(",\"held_count\":", stdout);
            print_num(hcnt);
        }
        printf(",\"age_ms\":%lld}\n", (long long)age);
        pthread_mutex_unlock(&g_out_mu);
        if (ticks < 0 || tick < ticks) sleep_ms(g_interval_ms);
    }
    g_stop = 1;
    pthread_join(th, NULL);
    datalith_db_release(g_next);
    datalith_db_release(served);
    datalith_db_release(held);
    datalith_conn_release(conn);
    return 0;
}
