/*
** tests/scaleout/txclient.c — a transacting client for the scale-out tests
** and the benchmark.
**
** Connects with the configuration map given as EDN (with
** :writer {:backend :datahike-server :url … :token …} the transactions go
** to the writer server; without it this process is the writer) and commits
** --count transactions, each asserting one new entity
**     [{:scn/n <i> :scn/client "<name>"}]     for i = --from, --from + 1, …
** (with --batch B, B such entities per transaction).  Each outcome is one
** line on stdout, so a test can check that no acknowledged transaction was
** lost and none was applied twice:
**     ack <i> <tx-id>                 the transaction of entity i committed
**     err <i> <STATUS> <message>      it failed; the client moves on to the
**                                     next i (it does not retry i, so an
**                                     error never creates a duplicate)
**     done acked=<n> failed=<n> ms=<elapsed>
** An error is also reported on stderr.  --pause-ms P sleeps P ms between
** transactions.  With --acks A the client goes on (with the next i after
** an error, after a 100 ms pause) until A transactions were acknowledged or
** --count attempts were made, so it rides out an outage of the server or
** the store and shows that it continues afterwards.  --create-schema creates the database (with the :scn/n and
** :scn/client attributes) first if it does not exist yet.
**
** Usage: txclient [--from I] [--count M] [--batch B] [--pause-ms P]
**                 [--acks A] [--name NAME] [--create-schema] CONFIG-EDN
** Exit status: 0 when every transaction (with --acks: A of them) was
** acknowledged, 1 otherwise, 2 on a usage error.
*/
#define _GNU_SOURCE
#include "datalith.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHEMA_TX \
    "[{:db/ident :scn/n :db/valueType :db.type/long " \
    ":db/cardinality :db.cardinality/one :db/index true} " \
    "{:db/ident :scn/client :db/valueType :db.type/string " \
    ":db/cardinality :db.cardinality/one}]"

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

/* The message of the last error, on one line. */
static const char *err_msg(void) {
    static char buf[512];
    const datalith_error *e = datalith_error_last();
    size_t i = 0;
    for (const char *p = e->message ? e->message : ""; *p && i + 1 < sizeof buf; p++)
        buf[i++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
    buf[i] = 0;
    return buf;
}

/* The :tx of a transaction report printed as EDN: the value after
** ":max-tx " in its :db-after.  Good enough for a log line; -1 if absent. */
static long long report_tx(const char *rep) {
    const char *p = strstr(rep, ":db-after");
    if (p) p = strstr(p, ":max-tx ");
    return p ? strtoll(p + 8, NULL, 10) : -1;
}

static int usage(void) {
    fprintf(stderr, "usage: txclient [--from I] [--count M] [--batch B] [--pause-ms P] "
            "[--name NAME] [--create-schema] CONFIG-EDN\n");
    return 2;
}

/* create-database with the schema in :initial-tx, unless it exists. */
static int create_schema(const char *config) {
    int exists = 0;
    char *cfg2, *out = NULL;
    size_t len = strlen(config), out_len;
    const char *close = strrchr(config, '}');
    int rc;
    if (datalith_database_exists(config, len, DATALITH_FORMAT_EDN, &exists) == 0 && exists)
        return 0;
    if (!close) return DATALITH_EINVAL;
    /* the config map with :initial-tx added before its closing brace */
    if (asprintf(&cfg2, "%.*s :initial-tx %s}", (int)(close - config), config, SCHEMA_TX) < 0)
        return DATALITH_ENOMEM;
    rc = datalith_create_database(cfg2, strlen(cfg2), DATALITH_FORMAT_EDN, &out, &out_len);
    if (rc == DATALITH_EEXISTS) rc = 0; /* another client won the race */
    datalith_free(out);
    free(cfg2);
    return rc;
}

int main(int argc, char **argv) {
    long long from = 1;
    long count = 100, batch = 1, pause = 0, acked = 0, failed = 0, want = -1;
    const char *name = "c", *config = NULL;
    int mk = 0;
    datalith_conn *conn = NULL;
    int64_t t0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--from") && i + 1 < argc) from = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--count") && i + 1 < argc) count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atol(argv[++i]);
        else if (!strcmp(argv[i], "--pause-ms") && i + 1 < argc) pause = atol(argv[++i]);
        else if (!strcmp(argv[i], "--acks") && i + 1 < argc) want = atol(argv[++i]);
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--create-schema")) mk = 1;
        else if (argv[i][0] == '-' || config) return usage();
        else config = argv[i];
    }
    if (!config || count < 0 || batch < 1 || pause < 0 || strchr(name, '"') || strchr(name, '\\'))
        return usage();
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (mk && create_schema(config) != 0) {
        fprintf(stderr, "txclient %s: create-database failed: %s: %s\n", name,
                datalith_status_name(datalith_error_last()->code), err_msg());
        return 1;
    }
    while (datalith_connect(config, strlen(config), DATALITH_FORMAT_EDN, &conn) != 0) {
        int code = datalith_error_last()->code;
        fprintf(stderr, "txclient %s: connect failed: %s: %s\n", name,
                datalith_status_name(code), err_msg());
        if (code != DATALITH_EIO) return 1;
        sleep_ms(200);   /* the store or the server is not up yet */
    }

    t0 = now_ms();
    for (long k = 0; k < count && (want < 0 || acked < want); k++) {
        long long first = from + k * batch;
        char *tx = NULL, *rep = NULL;
        size_t txlen = 0, replen = 0;
        FILE *m = open_memstream(&tx, &txlen);
        if (!m) return 1;
        fputc('[', m);
        for (long b = 0; b < batch; b++)
            fprintf(m, "{:scn/n %lld :scn/client \"%s\"}", first + b, name);
        fputc(']', m);
        fclose(m);
        int rc = datalith_transact(conn, tx, txlen, DATALITH_FORMAT_EDN, &rep, &replen);
        if (rc == DATALITH_OK) {
            acked++;
            printf("ack %lld %lld\n", first, report_tx(rep));
        } else {
            const char *st = datalith_status_name(rc);
            const char *msg = err_msg();
            failed++;
            printf("err %lld %s %s\n", first, st, msg);
            fprintf(stderr, "txclient %s: transaction of %lld failed: %s: %s\n", name, first,
                    st, msg);
            if (want >= 0) sleep_ms(100);
        }
        datalith_free(rep);
        free(tx);
        if (pause) sleep_ms(pause);
    }
    printf("done acked=%ld failed=%ld ms=%lld\n", acked, failed, (long long)(now_ms() - t0));
    datalith_conn_release(conn);
    return (want >= 0 ? acked < want : failed != 0) ? 1 : 0;
}
