/*
** http.c — the HTTP side of datalith-server, on libmicrohttpd.
**
** Threading: one thread per connection (MHD_USE_THREAD_PER_CONNECTION), so
** a request that blocks — a transaction waiting for the database's
** transaction lock, an /await-commit long-poll — blocks only its own
** connection.  At most :max-connections connections are open at once.
**
** A request goes through these checks in order, each answered at once
** without reading the body:
**
**   OPTIONS (CORS preflight)  204, with Access-Control-Allow-* for listed
**                             origins
**   unknown path              404
**   method                    405 (GET only for pure operations; POST always)
**   Authorization             401 unless "token <t>" matches (constant time)
**                             or the server runs in :dev-mode
**   Content-Length            413 when above :max-body-bytes
**
** then the body is collected (a chunked body that grows past the limit is
** discarded as it arrives and answered 413), parsed as EDN or JSON (400 with
** the position when malformed) and handed to ops.c.
**
** READ DEADLINE (slow clients).  libmicrohttpd's own timeout only notices
** idle connections; a client sending one byte a second never idles.  So
** every connection carries a deadline: a request must arrive whole (headers
** and body) within :read-timeout-ms of the connection opening or of the
** previous response being sent, and a response must be taken by the client
** within the same time.  A watchdog thread shuts down the socket of a
** connection past its deadline; libmicrohttpd then closes it.  While the
** server itself works on a request there is no deadline.  (The record of a
** connection is removed in the CLOSED notification, which libmicrohttpd
** sends before it closes the descriptor, and the watchdog shuts sockets
** down only under the same mutex, so it never touches a reused descriptor.)
*/
#define _GNU_SOURCE
#include "server.h"

#include "util/buf.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- connections and the watchdog ---- */

typedef struct conn_rec {
    struct conn_rec *prev, *next;
    int fd;
    int64_t deadline; /* ms (srv_now_ms); 0 = none */
} conn_rec;

static pthread_mutex_t conns_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;
static conn_rec *conns;
static int inflight;          /* requests begun and not completed */
static int watchdog_stop;
static pthread_t watchdog_thread;
static struct MHD_Daemon *daemon_h;

static void set_deadline(conn_rec *cr, int64_t when) {
    if (!cr) return;
    pthread_mutex_lock(&conns_mu);
    cr->deadline = when;
    pthread_mutex_unlock(&conns_mu);
}

static int64_t read_deadline(void) { return srv_now_ms() + g_cfg.read_timeout_ms; }

static void *watchdog_main(void *arg) {
    (void)arg;
    long step = g_cfg.read_timeout_ms / 4;
    if (step > 100) step = 100;
    if (step < 5) step = 5;
    pthread_mutex_lock(&conns_mu);
    while (!watchdog_stop) {
        int64_t now = srv_now_ms();
        for (conn_rec *c = conns; c; c = c->next) {
            if (c->deadline && now > c->deadline) {
                shutdown(c->fd, SHUT_RDWR);
                c->deadline = 0;
            }
        }
        pthread_mutex_unlock(&conns_mu);
        struct timespec ts = {step / 1000, (step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&conns_mu);
    }
    pthread_mutex_unlock(&conns_mu);
    return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *connection,
                          void **socket_context, enum MHD_ConnectionNotificationCode toe) {
    (void)cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn_rec *cr = calloc(1, sizeof *cr);
        if (!cr || !ci) {
            free(cr);
            *socket_context = NULL;
            return;
        }
        cr->fd = ci->connect_fd;
        cr->deadline = read_deadline();
        pthread_mutex_lock(&conns_mu);
        cr->next = conns;
        if (conns) conns->prev = cr;
        conns = cr;
        pthread_mutex_unlock(&conns_mu);
        *socket_context = cr;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_rec *cr = *socket_context;
        if (!cr) return;
        pthread_mutex_lock(&conns_mu);
        if (cr->prev) cr->prev->next = cr->next;
        else conns = cr->next;
        if (cr->next) cr->next->prev = cr->prev;
        pthread_mutex_unlock(&conns_mu);
        free(cr);
        *socket_context = NULL;
    }
}

static conn_rec *conn_of(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? (conn_rec *)ci->socket_context : NULL;
}

/* ---- requests ---- */

typedef struct req {
    const srv_op *op;
    int fmt_in, fmt_out;
    const char *origin;  /* listed origin of the request, or NULL */
    dl_buf body;
    int too_large;
    size_t discarded;
    int responded;
    int status;          /* the status queued, for the request log */
    int64_t start;       /* srv_now_ms at the first call */
    char method[12];
    char path[64];
} req;

static const char *header(struct MHD_Connection *c, const char *name) {
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static int ci_prefix(const char *s, const char *p) {
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* The format a media-type list names first: json, edn, or -1. */
static int media_format(const char *v) {
    if (!v) return -1;
    const char *j = strcasestr(v, "application/json");
    const char *e = strcasestr(v, "application/edn");
    if (j && (!e || j < e)) return DATALITH_FORMAT_JSON;
    if (e) return DATALITH_FORMAT_EDN;
    return -1;
}

static const char *allowed_origin(struct MHD_Connection *c) {
    const char *o = header(c, "Origin");
    if (!o) return NULL;
    for (size_t i = 0; i < g_cfg.n_origins; i++)
        if (strcmp(g_cfg.origins[i], "*") == 0 || strcmp(g_cfg.origins[i], o) == 0)
            return o;
    return NULL;
}

/* Constant-time token check of an "Authorization: token <t>" header. */
static int authorized(struct MHD_Connection *c) {
    if (g_cfg.dev_mode) return 1;
    const char *h = header(c, "Authorization");
    if (!h || !ci_prefix(h, "token ")) return 0;
    const char *t = h + 6;
    while (*t == ' ') t++;
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t')) n--;
    volatile unsigned char diff = (unsigned char)(n != g_cfg.token_len);
    for (size_t i = 0; i < g_cfg.token_len; i++) {
        unsigned char x = i < n ? (unsigned char)t[i] : 0;
        diff |= (unsigned char)(x ^ (unsigned char)g_cfg.token[i]);
    }
    return diff == 0;
}

static void add_cors(struct MHD_Response *resp, const char *origin) {
    if (!origin) return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Vary", "Origin");
}

static enum MHD_Result send_bytes(struct MHD_Connection *c, req *r, int status,
                                  char *data, size_t len, const char *ctype,
                                  const char *allow) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    if (ctype) MHD_add_response_header(resp, "Content-Type", ctype);
    if (allow) MHD_add_response_header(resp, "Allow", allow);
    add_cors(resp, r ? r->origin : NULL);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (r) {
        r->responded = 1;
        r->status = status;
    }
    return ok;
}

static enum MHD_Result send_value(struct MHD_Connection *c, req *r, int status,
                                  const edn_value *v, const char *allow) {
    dl_buf b = DL_BUF_INIT;
    int fmt = r ? r->fmt_out : DATALITH_FORMAT_EDN;
    int rc = fmt == DATALITH_FORMAT_JSON ? json_write(&b, v) : edn_write(&b, v);
    if (rc) {
        dl_buf_free(&b);
        char msg[DL_ERR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "the result cannot be written: %s",
                 dl_err_last()->message);
        dl_arena a;
        srv_result res;
        dl_arena_init(&a, 0);
        srv_error(&a, &res, 500, "EINTERNAL", "%s", msg);
        rc = fmt == DATALITH_FORMAT_JSON ? json_write(&b, &res.value)
                                         : edn_write(&b, &res.value);
        dl_arena_free(&a);
        status = 500;
        if (rc) {
            dl_buf_free(&b);
            return MHD_NO;
        }
    }
    size_t len = 0;
    char *data = dl_buf_detach(&b, &len);
    if (!data) {
        data = malloc(1);
        if (!data) return MHD_NO;
        len = 0;
    }
    return send_bytes(c, r, status, data, len,
                      fmt == DATALITH_FORMAT_JSON ? "application/json"
                                                  : "application/edn",
                      allow);
}

static enum MHD_Result send_error(struct MHD_Connection *c, req *r, int status,
                                  const char *code, const char *allow,
                                  const char *msg) {
    dl_arena a;
    srv_result res;
    dl_arena_init(&a, 0);
    srv_error(&a, &res, status, code, "%s", msg);
    enum MHD_Result ok = send_value(c, r, status, &res.value, allow);
    dl_arena_free(&a);
    return ok;
}

/* {:msg … :ex-data {:code … :line l :column c}} for a malformed body. */
static enum MHD_Result send_parse_error(struct MHD_Connection *c, req *r, int status,
                                        const char *code, const char *msg, long line,
                                        long column) {
    dl_arena a;
    edn_value kv[4], ex[6], exm, m;
    dl_arena_init(&a, 0);
    enum MHD_Result ok = MHD_NO;
    ex[0] = edn_keyword_str("code");
    ex[1] = edn_keyword_str(code);
    ex[2] = edn_keyword_str("line");
    ex[3] = edn_int(line);
    ex[4] = edn_keyword_str("column");
    ex[5] = edn_int(column);
    kv[0] = edn_keyword_str("msg");
    kv[2] = edn_keyword_str("ex-data");
    if (edn_string(&a, msg, strlen(msg), &kv[1]) == 0 &&
        edn_map(&a, ex, line > 0 ? 3 : 1, &exm) == 0) {
        kv[3] = exm;
        if (edn_map(&a, kv, 2, &m) == 0) ok = send_value(c, r, status, &m, NULL);
    }
    dl_arena_free(&a);
    return ok;
}

/* {:msg "Not authorized"} exactly, as the protocol says. */
static enum MHD_Result send_unauthorized(struct MHD_Connection *c, req *r) {
    dl_arena a;
    edn_value kv[2], m;
    dl_arena_init(&a, 0);
    kv[0] = edn_keyword_str("msg");
    enum MHD_Result ok = MHD_NO;
    if (edn_string(&a, "Not authorized", 14, &kv[1]) == 0 && edn_map(&a, kv, 1, &m) == 0)
        ok = send_value(c, r, 401, &m, NULL);
    dl_arena_free(&a);
    return ok;
}

static enum MHD_Result preflight(struct MHD_Connection *c, req *r) {
    char *empty = malloc(1);
    if (!empty) return MHD_NO;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, empty, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(empty);
        return MHD_NO;
    }
    if (r->origin) {
        add_cors(resp, r->origin);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                                r->op->pure ? "GET, POST, OPTIONS" : "POST, OPTIONS");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type, Accept");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, resp);
    MHD_destroy_response(resp);
    r->responded = 1;
    r->status = MHD_HTTP_NO_CONTENT;
    return ok;
}

/* The first call: headers are in, the body is not read yet. */
static enum MHD_Result begin(struct MHD_Connection *c, req *r, const char *url,
                             const char *method) {
    char msg[256];
    r->start = srv_now_ms();
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", url);
    r->origin = allowed_origin(c);
    int ct = media_format(header(c, "Content-Type"));
    r->fmt_in = ct < 0 ? DATALITH_FORMAT_EDN : ct;
    int ac = media_format(header(c, "Accept"));
    r->fmt_out = ac < 0 ? r->fmt_in : ac;
    r->op = srv_op_find(url);
    if (!r->op) {
        snprintf(msg, sizeof msg, "No route %.200s (see docs/server.md for the routes)", url);
        return send_error(c, r, 404, "ENOTFOUND", NULL, msg);
    }
    if (strcmp(method, "OPTIONS") == 0) return preflight(c, r);
    const char *allow = r->op->pure ? "GET, POST, OPTIONS" : "POST, OPTIONS";
    if (strcmp(method, "POST") != 0 && !(r->op->pure && strcmp(method, "GET") == 0)) {
        snprintf(msg, sizeof msg, "Method %.20s is not allowed on /%s (allowed: %s)",
                 method, r->op->name, r->op->pure ? "GET, POST" : "POST");
        return send_error(c, r, 405, "EMETHOD", allow, msg);
    }
    if (!authorized(c)) return send_unauthorized(c, r);
    const char *cl = header(c, "Content-Length");
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (n > g_cfg.max_body_bytes) {
            snprintf(msg, sizeof msg,
                     "Request body of %llu bytes is larger than the server's "
                     ":max-body-bytes %zu", n, g_cfg.max_body_bytes);
            return send_error(c, r, 413, "ELIMIT", NULL, msg);
        }
    }
    return MHD_YES;
}

/* The body is complete: parse, run, answer. */
static enum MHD_Result finish(struct MHD_Connection *c, req *r) {
    dl_arena a;
    edn_value args;
    srv_result res;
    char msg[DL_ERR_MSG_MAX + 128];
    enum MHD_Result ok;
    conn_rec *cr = conn_of(c);

    if (r->too_large) {
        snprintf(msg, sizeof msg,
                 "Request body is larger than the server's :max-body-bytes %zu",
                 g_cfg.max_body_bytes);
        return send_error(c, r, 413, "ELIMIT", NULL, msg);
    }
    set_deadline(cr, 0); /* our turn: no read deadline while we work */
    dl_arena_init(&a, 0);
    dl_err_clear();
    const char *text = r->body.data ? r->body.data : "[]";
    size_t len = r->body.data ? r->body.len : 2;
    int rc = r->fmt_in == DATALITH_FORMAT_JSON ? json_read(&a, text, len, NULL, &args)
                                               : edn_read(&a, text, len, NULL, &args);
    if (rc) {
        const datalith_error *e = dl_err_last();
        const char *what = r->fmt_in == DATALITH_FORMAT_JSON ? "JSON" : "EDN";
        snprintf(msg, sizeof msg, "Malformed %s body: %s", what, e->message);
        if (e->line > 0 && !strstr(e->message, "line "))
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (line %ld, column %ld)",
                     e->line, e->column);
        /* ELIMIT here is nesting too deep: a bad body, not a big one */
        ok = send_parse_error(c, r, 400, rc == DATALITH_ELIMIT ? "ELIMIT" : "EPARSE", msg,
                              e->line, e->column);
    } else {
        srv_op_run(r->op, &a, &args, &res);
        ok = send_value(c, r, res.status, &res.value, NULL);
    }
    dl_arena_free(&a);
    set_deadline(cr, read_deadline()); /* the client must take the answer */
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)cls;
    (void)version;
    req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        *con_cls = r;
        pthread_mutex_lock(&conns_mu);
        inflight++;
        pthread_mutex_unlock(&conns_mu);
        return begin(c, r, url, method);
    }
    if (r->responded) { /* answered early: drop whatever body follows */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large || r->body.len + n > g_cfg.max_body_bytes) {
            /* do not keep it; past 4x the limit stop reading altogether */
            r->too_large = 1;
            dl_buf_free(&r->body);
            r->discarded += n;
            return r->discarded > 4 * g_cfg.max_body_bytes + 65536 ? MHD_NO : MHD_YES;
        }
        if (dl_buf_append(&r->body, upload_data, n)) return MHD_NO;
        return MHD_YES;
    }
    return finish(c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    req *r = *con_cls;
    if (!r) return;
    if (g_cfg.log_requests)
        fprintf(stderr, "datalith-server: %s %s %d %lldms%s\n", r->method, r->path,
                r->status, (long long)(srv_now_ms() - r->start),
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection lost)");
    dl_buf_free(&r->body);
    free(r);
    *con_cls = NULL;
    conn_rec *cr = conn_of(c);
    pthread_mutex_lock(&conns_mu);
    if (cr) cr->deadline = read_deadline(); /* the next request on it */
    if (--inflight == 0) pthread_cond_broadcast(&idle_cv);
    pthread_mutex_unlock(&conns_mu);
}

static void on_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    fputs("datalith-server: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* ---- start and stop ---- */

int srv_http_start(int *port, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ITC | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, g_cfg.bind, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)g_cfg.port);
    } else if (inet_pton(AF_INET6, g_cfg.bind, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)g_cfg.port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "bad :bind address %s", g_cfg.bind);
        return -1;
    }
    if (pthread_create(&watchdog_thread, NULL, watchdog_main, NULL) != 0) {
        snprintf(err, errlen, "cannot start the watchdog thread");
        return -1;
    }
    daemon_h = MHD_start_daemon(
        flags, (uint16_t)g_cfg.port, NULL, NULL, on_request, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)g_cfg.max_connections,
        MHD_OPTION_END);
    if (!daemon_h) {
        pthread_mutex_lock(&conns_mu);
        watchdog_stop = 1;
        pthread_mutex_unlock(&conns_mu);
        pthread_join(watchdog_thread, NULL);
        snprintf(err, errlen,
                 "cannot listen on %s:%d (address in use, or not an address of "
                 "this machine?)", g_cfg.bind, g_cfg.port);
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon_h, MHD_DAEMON_INFO_BIND_PORT);
    *port = di ? di->port : g_cfg.port;
    return 0;
}

static MHD_socket quiesced_fd = MHD_INVALID_SOCKET;

void srv_http_quiesce(void) {
    if (!daemon_h) return;
    quiesced_fd = MHD_quiesce_daemon(daemon_h); /* closed after the stop */
}

int srv_http_wait_idle(long timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&conns_mu);
    while (inflight > 0)
        if (pthread_cond_timedwait(&idle_cv, &conns_mu, &ts) != 0) break;
    int n = inflight;
    pthread_mutex_unlock(&conns_mu);
    return n;
}

void srv_http_stop(void) {
    if (daemon_h) MHD_stop_daemon(daemon_h);
    daemon_h = NULL;
    if (quiesced_fd != MHD_INVALID_SOCKET) close(quiesced_fd);
    quiesced_fd = MHD_INVALID_SOCKET;
    pthread_mutex_lock(&conns_mu);
    watchdog_stop = 1;
    pthread_mutex_unlock(&conns_mu);
    pthread_join(watchdog_thread, NULL);
}
