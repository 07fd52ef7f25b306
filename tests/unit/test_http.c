/*
** test_http.c — the remote client's HTTP/1.1 client (core/remote/http.c)
** against a scripted socket server started in this process (http_script.h):
** well-formed, chunked, truncated, oversized and silent answers, refused
** connections.
*/
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "datalith.h"
#include "remote/http.h"
#include "util/error.h"

#include "http_script.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

static dl_http_url url_of(const script *s) {
    char u[64];
    dl_http_url url;
    snprintf(u, sizeof u, "http://127.0.0.1:%d/base/", s->port);
    if (dl_http_parse_url(u, strlen(u), &url) != 0) {
        fprintf(stderr, "url: %s\n", dl_err_last()->message);
        exit(2);
    }
    return url;
}

/* Run one POST against a script; returns the status code of dl_http_do. */
static int run(script *s, const dl_http_opts *o, dl_http_response *resp) {
    dl_http_request req = {"POST", "/transact", "s3cret", "application/edn",
                           "[1 2]", 5};
    start(s);
    dl_http_url u = url_of(s);
    int rc = dl_http_do(&u, &req, o, resp);
    stop(s);
    return rc;
}

static int msg_has(const char *needle) {
    return strstr(dl_err_last()->message, needle) != NULL;
}

TEST(parse_urls) {
    dl_http_url u;
    CHECK_EQ_INT(dl_http_parse_url("http://localhost:4444", 21, &u), 0);
    CHECK_STR(u.host, "localhost");
    CHECK_STR(u.port, "4444");
    CHECK_STR(u.path, "");
    CHECK_EQ_INT(dl_http_parse_url("http://example.org/api/", 23, &u), 0);
    CHECK_STR(u.host, "example.org");
    CHECK_STR(u.port, "80");
    CHECK_STR(u.path, "/api");
    CHECK_EQ_INT(dl_http_parse_url("http://[::1]:99/x", 17, &u), 0);
    CHECK_STR(u.host, "::1");
    CHECK_EQ_INT(u.ipv6, 1);
    CHECK_EQ_INT(dl_http_parse_url("https://h:1", 11, &u), DATALITH_EUNSUPPORTED);
    CHECK(msg_has("TLS-terminating proxy"));
    CHECK_EQ_INT(dl_http_parse_url("ftp://h", 7, &u), DATALITH_EINVAL);
    CHECK_EQ_INT(dl_http_parse_url("http://", 7, &u), DATALITH_EINVAL);
    CHECK_EQ_INT(dl_http_parse_url("http://h:0", 10, &u), DATALITH_EINVAL);
    CHECK_EQ_INT(dl_http_parse_url("http://h:70000", 14, &u), DATALITH_EINVAL);
    CHECK_EQ_INT(dl_http_parse_url("http://h:12x", 12, &u), DATALITH_EINVAL);
    CHECK_EQ_INT(dl_http_parse_url("http://u@h", 10, &u), DATALITH_EINVAL);
    CHECK_EQ_INT(dl_http_parse_url("http://h/a b", 12, &u), DATALITH_EINVAL);
    CHECK_EQ_INT(dl_http_parse_url("http://h/a?x=1", 14, &u), DATALITH_EINVAL);
}

TEST(content_length_response) {
    script s = {0};
    dl_http_response r;
    s.reply = "HTTP/1.1 200 OK\r\nContent-Type: application/edn\r\n"
              "Content-Length: 11\r\n\r\n{:a 1 :b 2}";
    CHECK_EQ_INT(run(&s, NULL, &r), 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_STR(r.content_type, "application/edn");
    CHECK_EQ_INT(r.body_len, 11);
    CHECK_STR(r.body, "{:a 1 :b 2}");
    dl_http_response_free(&r);
    /* The request: method, base path + op path, token, type, body. */
    CHECK(strncmp(s.request, "POST /base/transact HTTP/1.1\r\n", 30) == 0);
    CHECK(strstr(s.request, "\r\nAuthorization: token s3cret\r\n") != NULL);
    CHECK(strstr(s.request, "\r\nContent-Type: application/edn\r\n") != NULL);
    CHECK(strstr(s.request, "\r\nContent-Length: 5\r\n\r\n[1 2]") != NULL);
    CHECK(strstr(s.request, "\r\nHost: 127.0.0.1:") != NULL);
}

TEST(error_status_is_a_response) {
    script s = {0};
    dl_http_response r;
    s.reply = "HTTP/1.1 500 Server Error\r\ncontent-length: 4\r\n\r\nboom";
    CHECK_EQ_INT(run(&s, NULL, &r), 0);
    CHECK_EQ_INT(r.status, 500);
    CHECK_STR(r.body, "boom");
    dl_http_response_free(&r);
}

TEST(chunked_response) {
    script s = {0};
    dl_http_response r;
    s.reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "4\r\n[1 2\r\n"
              "A;ext=1\r\n 3 4 5 6 7\r\n"
              "1\r\n]\r\n"
              "0\r\nX-Trailer: y\r\n\r\n";
    CHECK_EQ_INT(run(&s, NULL, &r), 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_STR(r.body, "[1 2 3 4 5 6 7]");
    CHECK_EQ_INT(r.body_len, 15);
    dl_http_response_free(&r);
}

TEST(close_delimited_response) {
    script s = {0};
    dl_http_response r;
    s.reply = "HTTP/1.0 200 OK\r\n\r\n[:done]";
    CHECK_EQ_INT(run(&s, NULL, &r), 0);
    CHECK_STR(r.body, "[:done]");
    dl_http_response_free(&r);
}

TEST(interim_100_skipped) {
    script s = {0};
    dl_http_response r;
    s.reply = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
              "Content-Length: 2\r\n\r\nok";
    CHECK_EQ_INT(run(&s, NULL, &r), 0);
    CHECK_EQ_INT(r.status, 201);
    CHECK_STR(r.body, "ok");
    dl_http_response_free(&r);
}

TEST(bad_status_lines) {
    static const char *bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 700 Weird\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        script s = {0};
        dl_http_response r;
        s.reply = bad[i];
        CHECK_EQ_INT(run(&s, NULL, &r), DATALITH_EIO);
        CHECK(msg_has("malformed status line"));
        CHECK(r.body == NULL);
    }
}

TEST(bad_headers_and_framing) {
    static const struct {
        const char *reply;
        const char *msg;
    } bad[] = {
        {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header"},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "bad Content-Length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
         "conflicting"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "middle of the body"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         "malformed chunk size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
         "not followed by CRLF"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
         "middle of the chunked body"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
         "FFFFFFFFFFFFFFFFFF\r\n", "chunk size overflows"},
        {"HTTP/1.1 200 OK\r\nContent-Le", "middle of the header"},
        {"", "before the status"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        script s = {0};
        dl_http_response r;
        s.reply = bad[i].reply;
        int rc = run(&s, NULL, &r);
        CHECK(rc == DATALITH_EIO || rc == DATALITH_ELIMIT);
        if (!msg_has(bad[i].msg))
            fprintf(stderr, "case %zu: got \"%s\"\n", i, dl_err_last()->message);
        CHECK(msg_has(bad[i].msg));
        CHECK(r.body == NULL);
    }
}

TEST(oversized_responses) {
    dl_http_opts o = DL_HTTP_OPTS_INIT;
    o.max_response = 1000;
    {   /* announced length over the limit: refused before reading it */
        script s = {0};
        dl_http_response r;
        s.reply = "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n";
        s.big = 5000;
        CHECK_EQ_INT(run(&s, &o, &r), DATALITH_ELIMIT);
        CHECK(msg_has("limit of 1000 bytes"));
    }
    {   /* close-delimited body growing past the limit */
        script s = {0};
        dl_http_response r;
        s.reply = "HTTP/1.1 200 OK\r\n\r\n";
        s.big = 200000;
        CHECK_EQ_INT(run(&s, &o, &r), DATALITH_ELIMIT);
    }
    {   /* chunks adding up past the limit */
        script s = {0};
        dl_http_response r;
        s.reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "300\r\n";
        s.big = 0x300;
        /* a chunk within the limit whose payload is cut off */
        CHECK_EQ_INT(run(&s, &o, &r), DATALITH_EIO);
    }
    {
        script s = {0};
        dl_http_response r;
        s.reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3E9\r\n"; /* 1001 bytes */
        CHECK_EQ_INT(run(&s, &o, &r), DATALITH_ELIMIT);
    }
    {   /* an endless header */
        script s = {0};
        dl_http_response r;
        s.reply = "HTTP/1.1 200 OK\r\nX-Long: ";
        s.big = 100000;
        CHECK_EQ_INT(run(&s, &o, &r), DATALITH_EIO);
        CHECK(msg_has("longer than"));
    }
}

TEST(read_timeout) {
    dl_http_opts o = DL_HTTP_OPTS_INIT;
    o.read_timeout_ms = 100;
    {   /* accepts, answers nothing */
        script s = {0};
        dl_http_response r;
        s.hold = 1;
        CHECK_EQ_INT(run(&s, &o, &r), DATALITH_EIO);
        CHECK(msg_has("timed out after 100 ms"));
    }
    {   /* a partial body, then silence */
        script s = {0};
        dl_http_response r;
        s.reply = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
        s.hold = 1;
        CHECK_EQ_INT(run(&s, &o, &r), DATALITH_EIO);
        CHECK(msg_has("timed out"));
    }
}

static void *cancel_later(void *p) {
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    ssize_t w = write(*(int *)p, "x", 1);
    (void)w;
    return NULL;
}

TEST(cancelled) {
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0);
    dl_http_opts o = DL_HTTP_OPTS_INIT;
    o.read_timeout_ms = 5000; /* far longer than the cancel takes */
    o.cancel_fd = &fds[0];
    {   /* the server accepts and answers nothing; another thread cancels */
        script s = {0};
        dl_http_response r;
        pthread_t t;
        s.hold = 1;
        CHECK_EQ_INT(pthread_create(&t, NULL, cancel_later, &fds[1]), 0);
        CHECK_EQ_INT(run(&s, &o, &r), DATALITH_EIO);
        CHECK(msg_has(DL_HTTP_CANCELLED));
        pthread_join(t, NULL);
    }
    {   /* already cancelled: fails at the first wait */
        script s = {0};
        dl_http_response r;
        s.hold = 1;
        CHECK_EQ_INT(run(&s, &o, &r), DATALITH_EIO);
        CHECK(msg_has(DL_HTTP_CANCELLED));
    }
    close(fds[0]);
    close(fds[1]);
}

TEST(connection_refused) {
    script s = {0};
    s.port = closed_port();
    dl_http_url u = url_of(&s);
    dl_http_request req = {"GET", "/q", NULL, "application/edn", "[]", 2};
    dl_http_response r;
    CHECK_EQ_INT(dl_http_do(&u, &req, NULL, &r), DATALITH_EIO);
    CHECK(strncmp(dl_err_last()->message, DL_HTTP_UNREACHABLE,
                  strlen(DL_HTTP_UNREACHABLE)) == 0);
    CHECK(msg_has("refused"));
}

TEST(unknown_host) {
    dl_http_url u;
    dl_http_request req = {"GET", "/q", NULL, NULL, NULL, 0};
    dl_http_response r;
    CHECK_EQ_INT(dl_http_parse_url("http://no-such-host.invalid:1", 29, &u), 0);
    CHECK_EQ_INT(dl_http_do(&u, &req, NULL, &r), DATALITH_EIO);
    CHECK(strncmp(dl_err_last()->message, DL_HTTP_UNREACHABLE,
                  strlen(DL_HTTP_UNREACHABLE)) == 0);
}

TEST(token_with_newline_refused) {
    dl_http_url u;
    dl_http_request req = {"GET", "/q", "a\r\nX-Evil: 1", NULL, NULL, 0};
    dl_http_response r;
    CHECK_EQ_INT(dl_http_parse_url("http://127.0.0.1:9", 18, &u), 0);
    CHECK_EQ_INT(dl_http_do(&u, &req, NULL, &r), DATALITH_EINVAL);
}

int main(void) {
    RUN(parse_urls);
    RUN(content_length_response);
    RUN(error_status_is_a_response);
    RUN(chunked_response);
    RUN(close_delimited_response);
    RUN(interim_100_skipped);
    RUN(bad_status_lines);
    RUN(bad_headers_and_framing);
    RUN(oversized_responses);
    RUN(read_timeout);
    RUN(cancelled);
    RUN(connection_refused);
    RUN(unknown_host);
    RUN(token_with_newline_refused);
    return test_summary();
}
