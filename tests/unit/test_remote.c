/*
** test_remote.c — the writer-server client (core/remote/remote.c) through
** the public API, against scripted answers (http_script.h): what is sent
** (route, token, the EDN argument vector), how answers and HTTP errors come
** back (engine codes and messages, 401, 403, unreachable), the report shape
** of a remote transaction, and the remote-peer handles.  The end-to-end
** tests against the real datalith-server are in tests/remote/.
*/
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "datalith.h"

#include "http_script.h"

#include <sys/stat.h>

static char tmpdir[256];

#define EDN DATALITH_FORMAT_EDN
#define JSON DATALITH_FORMAT_JSON

static const char *body_of(const char *request) {
    const char *b = strstr(request, "\r\n\r\n");
    return b ? b + 4 : "";
}

static int msg_has(const char *needle) {
    const char *m = datalith_error_last()->message;
    if (!strstr(m, needle)) fprintf(stderr, "  message: %s\n", m);
    return strstr(m, needle) != NULL;
}

/* A 200 answer with an EDN body. */
static char *ok(const char *edn) {
    static char bufs[SCRIPT_MAX][4096];
    static int next;
    char *b = bufs[next++ % SCRIPT_MAX];
    snprintf(b, 4096,
             "HTTP/1.1 200 OK\r\nContent-Type: application/edn\r\n"
             "Content-Length: %zu\r\n\r\n%s", strlen(edn), edn);
    return b;
}

static char *status(int code, const char *edn) {
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, 4096, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n\r\n%s", code,
             strlen(edn), edn);
    return b;
}

/* EDN text -> JSON text (malloc'd) through the public converter. */
static char *to_json(const char *edn) {
    char *out = NULL;
    if (datalith_value_convert(edn, strlen(edn), EDN, JSON, &out, NULL) != 0)
        return NULL;
    return out;
}

static char cfgbuf[1024];

static const char *writer_cfg(int port, const char *name) {
    snprintf(cfgbuf, sizeof cfgbuf,
             "{:store {:backend :file :path \"%s/%s\"} :writer {:backend "
             ":datahike-server :url \"http://127.0.0.1:%d\" :token \"tok\"}}",
             tmpdir, name, port);
    return cfgbuf;
}

static const char *peer_cfg(int port) {
    snprintf(cfgbuf, sizeof cfgbuf,
             "{:store {:backend :file :path \"/srv/db\"} :remote-peer "
             "{:backend :datahike-server :url \"http://127.0.0.1:%d/\" "
             ":token \"tok\"}}", port);
    return cfgbuf;
}

TEST(bad_remote_configs) {
    char *out = NULL;
    const char *https = "{:store {:backend :file :path \"/x\"} :writer "
                        "{:backend :datahike-server :url \"https://h:1\"}}";
    CHECK_EQ_INT(datalith_create_database(https, strlen(https), EDN, &out, NULL),
                 DATALITH_EUNSUPPORTED);
    CHECK(msg_has("TLS-terminating proxy"));
    const char *mem = "{:store {:backend :memory :id \"m\"} :writer "
                      "{:backend :datahike-server :url \"http://h:1\"}}";
    CHECK_EQ_INT(datalith_create_database(mem, strlen(mem), EDN, &out, NULL),
                 DATALITH_EINVAL);
    CHECK(msg_has(":memory store"));
    datalith_conn *c = NULL;
    CHECK_EQ_INT(datalith_connect(mem, strlen(mem), EDN, &c), DATALITH_EINVAL);
    CHECK(c == NULL);
    const char *nourl = "{:store {:backend :file :path \"/x\"} :remote-peer "
                        "{:backend :datahike-server}}";
    CHECK_EQ_INT(datalith_connect(nourl, strlen(nourl), EDN, &c), DATALITH_EINVAL);
    CHECK(msg_has(":url"));
    const char *badto = "{:store {:backend :file :path \"/x\"} :remote-peer "
                        "{:url \"http://h:1\" :timeout-ms -5}}";
    CHECK_EQ_INT(datalith_connect(badto, strlen(badto), EDN, &c), DATALITH_EINVAL);
    CHECK(msg_has(":timeout-ms"));
    CHECK(out == NULL);
}

TEST(unreachable_server) {
    int port = closed_port();
    const char *cfg = writer_cfg(port, "unreach");
    char *out = NULL, expect[128];
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL),
                 DATALITH_EIO);
    snprintf(expect, sizeof expect,
             "writer server http://127.0.0.1:%d: unreachable: ", port);
    CHECK(strncmp(datalith_error_last()->message, expect, strlen(expect)) == 0);
    CHECK(msg_has("refused"));
    CHECK(out == NULL);
}

TEST(create_sends_config_and_token) {
    script s = {0};
    char *out = NULL;
    size_t len = 0;
    s.n = 1;
    s.replies[0] = ok("{:keep-history? true :store {:backend :file}}");
    start(&s);
    const char *cfg = writer_cfg(s.port, "created");
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, &len), 0);
    stop(&s);
    CHECK(strncmp(s.requests[0], "POST /create-database HTTP/1.1\r\n", 32) == 0);
    CHECK(strstr(s.requests[0], "\r\nAuthorization: token tok\r\n") != NULL);
    CHECK(strstr(s.requests[0], "\r\nContent-Type: application/edn\r\n") != NULL);
    /* the body: the config map as given, in a vector, as EDN */
    const char *b = body_of(s.requests[0]);
    CHECK(b[0] == '[' && b[1] == '{');
    CHECK(strstr(b, ":writer {:backend :datahike-server") != NULL);
    /* the server's answer, with the caller's :writer put back (the server
    ** drops client-side keys; a local create keeps them) */
    char want[256];
    snprintf(want, sizeof want, "{:keep-history? true :store {:backend :file} "
             ":writer {:backend :datahike-server :token \"tok\" :url "
             "\"http://127.0.0.1:%d\"}}", s.port);
    CHECK_STR(out, want);
    datalith_free(out);
}

TEST(engine_errors_keep_code_and_message) {
    script s = {0};
    char *out = NULL;
    s.n = 3;
    s.replies[0] = status(500, "{:msg \"Database already exists.\" "
                               ":ex-data {:code :EEXISTS}}");
    s.replies[1] = status(500, "{:msg \"Bad entity attribute :x at [:db/add -1 :x 1]\" "
                               ":ex-data {:code :DATALITH_ESCHEMA}}");
    s.replies[2] = status(500, "oops, not edn");
    start(&s);
    const char *cfg = writer_cfg(s.port, "errs");
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL),
                 DATALITH_EEXISTS);
    CHECK_STR(datalith_error_last()->message, "Database already exists.");
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL),
                 DATALITH_ESCHEMA);
    CHECK_STR(datalith_error_last()->message,
              "Bad entity attribute :x at [:db/add -1 :x 1]");
    CHECK_EQ_INT(datalith_delete_database(cfg, strlen(cfg), EDN), DATALITH_EIO);
    CHECK(msg_has("oops, not edn"));
    stop(&s);
    CHECK(strncmp(s.requests[2], "POST /delete-database ", 22) == 0);
    CHECK(out == NULL);
}

TEST(http_errors) {
    script s = {0};
    char *out = NULL;
    s.n = 4;
    s.replies[0] = status(401, "{:msg \"Not authorized\"}");
    s.replies[1] = status(403, "{:msg \"store not allowed\"}");
    s.replies[2] = status(413, "");
    s.replies[3] = status(404, "");
    start(&s);
    const char *cfg = writer_cfg(s.port, "http");
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL),
                 DATALITH_EINVAL);
    CHECK(msg_has("refused the token"));
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL),
                 DATALITH_EINVAL);
    CHECK(msg_has(":stores"));
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL),
                 DATALITH_ELIMIT);
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL),
                 DATALITH_EUNSUPPORTED);
    CHECK(msg_has("/create-database"));
    stop(&s);
}

TEST(writer_transact_goes_to_the_server) {
    /* A real local database on a file store (made without the writer
    ** setting), then a connection with :writer pointing at the script. */
    char local[512], *out = NULL;
    size_t len = 0;
    snprintf(local, sizeof local, "{:store {:backend :file :path \"%s/wtx\"} "
             ":schema-flexibility :read}", tmpdir);
    CHECK_EQ_INT(datalith_create_database(local, strlen(local), EDN, &out, NULL), 0);
    datalith_free(out);
    out = NULL;

    script s = {0};
    s.n = 3;
    s.replies[2] = status(404, "");
    s.replies[0] = ok(
        "{:db-before #datahike/DB {:config {:store {:backend :file}} "
        ":max-eid 0 :max-tx 536870912} "
        ":db-after #datahike/DB {:config {:store {:backend :file}} "
        ":commit-id #uuid \"6f1e4c2a-0000-4000-8000-000000000001\" "
        ":max-eid 1 :max-tx 536870913} "
        ":tx-data [#datahike/Datom [1 :name \"Ada\" 536870913 true]] "
        ":tempids {-1 1 :db/current-tx 536870913} :tx-meta nil}");
    s.replies[1] = status(500, "{:msg \"Cannot add #datom[…]: a transaction "
                               "error\" :ex-data {:code :ETX}}");
    start(&s);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{:store {:backend :file :path \"%s/wtx\"} :schema-flexibility "
             ":read :writer {:backend :datahike-server :url "
             "\"http://127.0.0.1:%d\" :token \"tok\"}}", tmpdir, s.port);
    datalith_conn *c = NULL;
    CHECK_EQ_INT(datalith_connect(cfg, strlen(cfg), EDN, &c), 0);
    const char *tx = "[{:db/id -1 :name \"Ada\"}]";
    CHECK_EQ_INT(datalith_transact(c, tx, strlen(tx), EDN, &out, &len), 0);
    /* same shape as a local report: no :config inside the snapshots */
    CHECK(out && strstr(out, ":config") == NULL);
    CHECK(out && strstr(out, ":db-after #datahike/DB {:commit-id #uuid "
                             "\"6f1e4c2a-0000-4000-8000-000000000001\" "
                             ":max-eid 1 :max-tx 536870913}") != NULL);
    CHECK(out && strstr(out, ":tempids {:db/current-tx 536870913 -1 1}") != NULL);
    datalith_free(out);
    out = NULL;
    CHECK_EQ_INT(datalith_transact(c, tx, strlen(tx), EDN, &out, &len),
                 DATALITH_ETX);
    CHECK(msg_has("Cannot add #datom"));
    /* a bad argument is refused locally, before anything is sent */
    CHECK_EQ_INT(datalith_transact(c, "{:x 1}", 6, EDN, &out, &len), DATALITH_ETX);
    /* load-entities is a write too: sent to the server, never run locally */
    CHECK_EQ_INT(datalith_load_entities(c, "[]", 2, EDN, &out, &len),
                 DATALITH_EUNSUPPORTED);
    CHECK(msg_has("does not offer /load-entities"));
    stop(&s);
    CHECK(strncmp(s.requests[2], "POST /load-entities ", 20) == 0);
    const char *b = body_of(s.requests[0]);
    CHECK(strncmp(s.requests[0], "POST /transact ", 15) == 0);
    CHECK(b[0] == '[' && b[1] == '{');
    CHECK(strstr(b, "} [{:name \"Ada\" :db/id -1}]]") != NULL);
    CHECK(strstr(b, ":path \"") != NULL);
    /* reads stay local: the script saw no /db request */
    datalith_db *db = NULL;
    CHECK_EQ_INT(datalith_conn_db(c, &db), 0);
    datalith_db_release(db);
    datalith_conn_release(c);

    /* a process holding a plain connection cannot also open the shared
    ** one through the writer server (its writes would stay local) */
    datalith_conn *plain = NULL, *w = NULL;
    CHECK_EQ_INT(datalith_connect(local, strlen(local), EDN, &plain), 0);
    CHECK_EQ_INT(datalith_connect(cfg, strlen(cfg), EDN, &w), DATALITH_ECONFLICT);
    CHECK(msg_has("release it"));
    CHECK(w == NULL);
    datalith_conn_release(plain);
}

TEST(remote_peer_handles) {
    script s = {0};
    char *out = NULL;
    size_t len = 0;
    s.n = 6;
    s.replies[0] = ok("true");                                 /* connect */
    s.replies[1] = ok("#datahike/DB {:max-eid 5 :max-tx 536870915 :commit-id "
                      "#uuid \"6f1e4c2a-0000-4000-8000-000000000002\"}"); /* db */
    s.replies[2] = ok("{:name \"Ada\"}");                      /* pull */
    s.replies[3] = ok("#datahike/AsOfDB {:origin #datahike/DB {:max-eid 5 "
                      ":max-tx 536870915} :time-point 536870914}"); /* as-of */
    s.replies[4] = ok("#{[\"Ada\"]}");                         /* q */
    s.replies[5] = status(500, "{:msg \"Query error\" :ex-data {:code :EQUERY}}");
    start(&s);
    const char *cfg = peer_cfg(s.port);
    datalith_conn *c = NULL;
    datalith_db *db = NULL, *old = NULL;
    CHECK_EQ_INT(datalith_connect(cfg, strlen(cfg), EDN, &c), 0);
    CHECK_EQ_INT(datalith_conn_db(c, &db), 0);
    /* arguments in JSON reach the server as EDN; the answer comes back in
    ** JSON exactly as a local pull would encode it */
    char *sel = to_json("[:name]"), *want = to_json("{:name \"Ada\"}");
    CHECK_EQ_INT(datalith_pull(db, sel, strlen(sel), "5", 1, JSON, &out, &len), 0);
    CHECK(out && want && strcmp(out, want) == 0);
    datalith_free(out);
    datalith_free(sel);
    datalith_free(want);
    out = NULL;
    CHECK_EQ_INT(datalith_as_of(db, "536870914", 9, EDN, &old), 0);
    const char *q = "[:find ?n :where [?e :name ?n]]";
    datalith_db *dbs[1] = {old};
    CHECK_EQ_INT(datalith_q(q, strlen(q), dbs, 1, NULL, 0, EDN, &out, &len), 0);
    CHECK_STR(out, "#{[\"Ada\"]}");
    datalith_free(out);
    out = NULL;
    CHECK_EQ_INT(datalith_q(q, strlen(q), dbs, 1, NULL, 0, EDN, &out, &len),
                 DATALITH_EQUERY);
    CHECK_STR(datalith_error_last()->message, "Query error");
    /* operations the peer does not offer */
    datalith_db *w = NULL;
    CHECK_EQ_INT(datalith_db_with(db, "[]", 2, EDN, &w), DATALITH_EUNSUPPORTED);
    CHECK(msg_has("db-with is not supported over :remote-peer"));
    CHECK(w == NULL);
    int f = -1;
    CHECK_EQ_INT(datalith_is_filtered(db, &f), 0);
    CHECK_EQ_INT(f, 0);
    datalith_db_release(old);
    datalith_db_release(db);
    datalith_conn_release(c);
    stop(&s);
    CHECK(strncmp(s.requests[0], "POST /database-exists ", 22) == 0);
    CHECK(strncmp(s.requests[1], "POST /db ", 9) == 0);
    CHECK(strncmp(s.requests[2], "POST /pull ", 11) == 0);
    /* the snapshot descriptor carries the config, for the server to open */
    const char *b = body_of(s.requests[2]);
    const char *pp = "[#datahike/DB {:commit-id #uuid "
                     "\"6f1e4c2a-0000-4000-8000-000000000002\" :config {";
    CHECK(strncmp(b, pp, strlen(pp)) == 0);
    CHECK(strstr(b, "} [:name] 5]") != NULL);
    CHECK(strncmp(s.requests[3], "POST /as-of ", 12) == 0);
    CHECK(strstr(body_of(s.requests[3]), "} 536870914]") != NULL);
    b = body_of(s.requests[4]);
    CHECK(strncmp(s.requests[4], "POST /q ", 8) == 0);
    const char *qp = "[[:find ?n :where [?e :name ?n]] #datahike/AsOfDB {:origin "
                     "#datahike/DB {:config {";
    CHECK(strncmp(b, qp, strlen(qp)) == 0);
    CHECK(strstr(b, ":time-point 536870914}]") != NULL);
    CHECK(strstr(b, "nil") == NULL);
}

TEST(remote_peer_missing_database) {
    script s = {0};
    s.n = 1;
    s.replies[0] = ok("false");
    start(&s);
    const char *cfg = peer_cfg(s.port);
    datalith_conn *c = NULL;
    CHECK_EQ_INT(datalith_connect(cfg, strlen(cfg), EDN, &c), DATALITH_ENOTFOUND);
    CHECK_STR(datalith_error_last()->message, "Database does not exist.");
    CHECK(c == NULL);
    stop(&s);
}

TEST(mixed_query_refused) {
    script s = {0};
    char local[256], *out = NULL;
    size_t len;
    s.n = 2;
    s.replies[0] = ok("true");
    s.replies[1] = ok("#datahike/DB {:max-eid 0 :max-tx 536870912}");
    start(&s);
    const char *cfg = peer_cfg(s.port);
    datalith_conn *rc = NULL, *lc = NULL;
    datalith_db *dbs[2] = {NULL, NULL};
    CHECK_EQ_INT(datalith_connect(cfg, strlen(cfg), EDN, &rc), 0);
    CHECK_EQ_INT(datalith_conn_db(rc, &dbs[0]), 0);
    stop(&s);
    snprintf(local, sizeof local, "{:store {:backend :memory :id \"mixq\"}}");
    CHECK_EQ_INT(datalith_create_database(local, strlen(local), EDN, &out, NULL), 0);
    datalith_free(out);
    out = NULL;
    CHECK_EQ_INT(datalith_connect(local, strlen(local), EDN, &lc), 0);
    CHECK_EQ_INT(datalith_conn_db(lc, &dbs[1]), 0);
    const char *q = "[:find ?e :in $ $2 :where [$ ?e :a _]]";
    CHECK_EQ_INT(datalith_q(q, strlen(q), dbs, 2, NULL, 0, EDN, &out, &len),
                 DATALITH_EINVAL);
    CHECK(msg_has("cannot mix"));
    datalith_db_release(dbs[0]);
    datalith_db_release(dbs[1]);
    datalith_conn_release(rc);
    datalith_conn_release(lc);
}

TEST(settings_reach_the_client) {
    /* :timeout-ms and :max-response-bytes from the config map */
    script s = {0};
    char cfg[512], *out = NULL;
    s.hold = 1;
    start(&s);
    snprintf(cfg, sizeof cfg,
             "{:store {:backend :file :path \"/x\"} :writer {:backend "
             ":datahike-server :url \"http://127.0.0.1:%d\" :timeout-ms 150}}",
             s.port);
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL),
                 DATALITH_EIO);
    CHECK(msg_has("timed out after 150 ms"));
    stop(&s);

    script t = {0};
    t.reply = "HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n"
              "{:a \"0123456789012345678901\"}";
    start(&t);
    snprintf(cfg, sizeof cfg,
             "{:store {:backend :file :path \"/x\"} :writer {:backend "
             ":datahike-server :url \"http://127.0.0.1:%d\" "
             ":max-response-bytes 20}}", t.port);
    CHECK_EQ_INT(datalith_create_database(cfg, strlen(cfg), EDN, &out, NULL),
                 DATALITH_ELIMIT);
    CHECK(msg_has("limit of 20 bytes"));
    stop(&t);
    CHECK(out == NULL);
}

TEST(report_in_the_callers_format) {
    /* a JSON caller gets the report as JSON, exactly as the local encoder
    ** writes the same (config-free) report */
    char local[512], cfg[1024], *out = NULL, *want;
    size_t len = 0;
    snprintf(local, sizeof local, "{:store {:backend :file :path \"%s/wjson\"} "
             ":schema-flexibility :read}", tmpdir);
    CHECK_EQ_INT(datalith_create_database(local, strlen(local), EDN, &out, NULL), 0);
    datalith_free(out);
    out = NULL;
    script s = {0};
    s.n = 1;
    s.replies[0] = ok(
        "{:db-before #datahike/DB {:config {:store {:backend :file}} "
        ":max-eid 0 :max-tx 536870912} "
        ":db-after #datahike/DB {:config {:store {:backend :file}} "
        ":max-eid 1 :max-tx 536870913} "
        ":tx-data [#datahike/Datom [1 :name \"Ada\" 536870913 true]] "
        ":tempids {:db/current-tx 536870913} :tx-meta nil}");
    start(&s);
    snprintf(cfg, sizeof cfg,
             "{:store {:backend :file :path \"%s/wjson\"} :schema-flexibility "
             ":read :writer {:backend :datahike-server :url "
             "\"http://127.0.0.1:%d\"}}", tmpdir, s.port);
    datalith_conn *c = NULL;
    char *cfg_json = to_json(cfg);
    CHECK(cfg_json != NULL);
    CHECK_EQ_INT(datalith_connect(cfg_json, strlen(cfg_json), JSON, &c), 0);
    char *tx = to_json("[{:name \"Ada\"}]");
    CHECK_EQ_INT(datalith_transact(c, tx, strlen(tx), JSON, &out, &len), 0);
    stop(&s);
    want = to_json("{:db-before #datahike/DB {:max-eid 0 :max-tx 536870912} "
                   ":db-after #datahike/DB {:max-eid 1 :max-tx 536870913} "
                   ":tx-data [#datahike/Datom [1 :name \"Ada\" 536870913 true]] "
                   ":tempids {:db/current-tx 536870913} :tx-meta nil}");
    CHECK(out && want && strcmp(out, want) == 0);
    if (out && want && strcmp(out, want) != 0)
        fprintf(stderr, "  got  %s\n  want %s\n", out, want);
    /* the JSON argument reached the server as EDN */
    CHECK(strstr(body_of(s.requests[0]), "} [{:name \"Ada\"}]]") != NULL);
    datalith_free(out);
    datalith_free(want);
    datalith_free(tx);
    datalith_free(cfg_json);
    datalith_conn_release(c);
}

int main(void) {
    const char *base = getenv("DL_TEST_TMP");
    snprintf(tmpdir, sizeof tmpdir, "%s/dl_test_remote_%d", base ? base : "/tmp",
             (int)getpid());
    mkdir(base ? base : "/tmp", 0700);
    mkdir(tmpdir, 0700);
    RUN(bad_remote_configs);
    RUN(unreachable_server);
    RUN(create_sends_config_and_token);
    RUN(engine_errors_keep_code_and_message);
    RUN(http_errors);
    RUN(writer_transact_goes_to_the_server);
    RUN(remote_peer_handles);
    RUN(remote_peer_missing_database);
    RUN(mixed_query_refused);
    RUN(settings_reach_the_client);
    RUN(report_in_the_callers_format);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", tmpdir);
    return test_summary();
}
