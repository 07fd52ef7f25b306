/*
** main.c — datalith-server: the writer process of Datalith databases,
** serving the Datahike-compatible HTTP protocol (docs/server.md).
**
**   datalith-server config.edn
**
** Loads the config (exit 2 with a message naming the key when it is
** wrong), starts listening, prints
**
**   datalith-server listening on <bind>:<port>
**
** on stdout once ready (scripts and tests wait for this line; with :port 0
** the port is the one the system chose), then waits for SIGTERM or SIGINT.
** On either it stops accepting connections, wakes /await-commit waiters,
** lets in-flight requests finish (at most :read-timeout-ms plus a few
** seconds), closes the databases and exits 0.
*/
#define _GNU_SOURCE
#include "server.h"

#include "util/error.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

srv_config g_cfg;

bool srv_store_allowed(const char *ident) {
    for (size_t i = 0; i < g_cfg.n_stores; i++)
        if (strcmp(g_cfg.stores[i], ident) == 0) return true;
    return false;
}

/* ---- the engine gate (:threads operations at once) ---- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_used;

void srv_gate_enter(void) {
    pthread_mutex_lock(&gate_mu);
    while (gate_used >= g_cfg.threads) pthread_cond_wait(&gate_cv, &gate_mu);
    gate_used++;
    pthread_mutex_unlock(&gate_mu);
}

void srv_gate_leave(void) {
    pthread_mutex_lock(&gate_mu);
    gate_used--;
    pthread_cond_signal(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: datalith-server CONFIG.edn\n"
            "  CONFIG.edn: {:port 4444 :bind \"127.0.0.1\" :token \"secret\"\n"
            "               :stores [{:backend :file :path \"/data/db\"}]}\n"
            "  see docs/server.md for every key and the routes\n");
}

int main(int argc, char **argv) {
    char err[1024];
    int port = 0, sig = 0;
    sigset_t set;

    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    if (srv_config_load(argv[1], &g_cfg, err, sizeof err)) {
        fprintf(stderr, "datalith-server: bad config: %s\n", err);
        return 2;
    }
    /* every thread inherits this mask; the main thread takes the signals */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (srv_http_start(&port, err, sizeof err)) {
        fprintf(stderr, "datalith-server: %s\n", err);
        srv_config_free(&g_cfg);
        return 1;
    }
    printf("datalith-server listening on %s:%d\n", g_cfg.bind, port);
    fflush(stdout);

    while (sigwait(&set, &sig) != 0) {
    }
    fprintf(stderr, "datalith-server: %s received; finishing in-flight requests\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    srv_http_quiesce();
    srv_dbs_shutdown();
    int left = srv_http_wait_idle(g_cfg.read_timeout_ms + 5000);
    if (left)
        fprintf(stderr, "datalith-server: %d request%s still unfinished; closing\n",
                left, left == 1 ? "" : "s");
    srv_http_stop();
    srv_dbs_close_all();
    srv_config_free(&g_cfg);
    fprintf(stderr, "datalith-server: stopped\n");
    return 0;
}
