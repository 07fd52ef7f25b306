/*
** http.c — the HTTP/1.1 client of the remote writer and remote peer (see
** http.h for the contract).
**
** A response is read into one raw buffer `in` and parsed from a cursor
** `pos`; more bytes are read only when the parser needs them:
**
**   in: [status line CRLF | headers CRLF | CRLF | body or chunks ...]
**                                                 ^pos
**
** The decoded body goes to its own buffer (for Content-Length and
** close-delimited bodies that is a copy of the tail of `in`; for chunked
** ones the chunk payloads without their framing).  Both buffers are bounded:
** the head by DL_HTTP_HEAD_MAX, the body by opts->max_response.
*/
#define _POSIX_C_SOURCE 200809L
#include "http.h"

#include "datalith.h"
#include "util/buf.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define DL_HTTP_HEAD_MAX (64 * 1024)

/* ---- URLs ---- */

int dl_http_parse_url(const char *url, size_t n, dl_http_url *out) {
    const char *p = url, *end = url + n, *h, *he, *ps;
    memset(out, 0, sizeof *out);
    if (!url)
        return dl_err_set(DATALITH_EINVAL, "URL is missing");
    if (n >= 8 && strncmp(p, "https://", 8) == 0)
        return dl_err_set(DATALITH_EUNSUPPORTED,
                          "https:// URLs are not supported: Datalith speaks "
                          "plain HTTP; put a TLS-terminating proxy (e.g. "
                          "stunnel, nginx, haproxy) next to the client and "
                          "use its http:// address");
    if (n < 7 || strncmp(p, "http://", 7) != 0)
        return dl_err_set(DATALITH_EINVAL,
                          "URL must start with http:// (got \"%.*s\")",
                          (int)(n > 200 ? 200 : n), url);
    p += 7;
    for (const char *q = p; q < end; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f || *q == '@')
            return dl_err_set(DATALITH_EINVAL,
                              "URL \"%.*s\" holds a space, control character "
                              "or user info", (int)(n > 200 ? 200 : n), url);
    if (p < end && *p == '[') {
        h = p + 1;
        he = memchr(h, ']', (size_t)(end - h));
        if (!he) return dl_err_set(DATALITH_EINVAL, "URL: unclosed [ in host");
        p = he + 1;
        out->ipv6 = 1;
    } else {
        h = p;
        while (p < end && *p != ':' && *p != '/') p++;
        he = p;
    }
    if (he == h) return dl_err_set(DATALITH_EINVAL, "URL has no host");
    if ((size_t)(he - h) >= sizeof out->host)
        return dl_err_set(DATALITH_EINVAL, "URL host is too long");
    memcpy(out->host, h, (size_t)(he - h));
    strcpy(out->port, "80");
    if (p < end && *p == ':') {
        const char *pp = ++p;
        long port = 0;
        while (p < end && *p >= '0' && *p <= '9' && p - pp < 6)
            port = port * 10 + (*p++ - '0');
        if (p == pp || (p < end && *p != '/') || port < 1 || port > 65535)
            return dl_err_set(DATALITH_EINVAL,
                              "URL \"%.*s\": bad port", (int)(n > 200 ? 200 : n),
                              url);
        snprintf(out->port, sizeof out->port, "%ld", port);
    } else if (p < end && *p != '/') {
        return dl_err_set(DATALITH_EINVAL, "URL: unexpected text after host");
    }
    ps = p;
    while (end > ps && end[-1] == '/') end--;
    if ((size_t)(end - ps) >= sizeof out->path)
        return dl_err_set(DATALITH_EINVAL, "URL path is too long");
    if (memchr(ps, '?', (size_t)(end - ps)) || memchr(ps, '#', (size_t)(end - ps)))
        return dl_err_set(DATALITH_EINVAL,
                          "URL must not hold a query or fragment");
    memcpy(out->path, ps, (size_t)(end - ps));
    return DATALITH_OK;
}

/* ---- connecting ---- */

static int set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* poll() one descriptor for `events`, watching o's cancel descriptor too:
** > 0 ready, 0 timed out, -1 failed (errno), -2 cancelled. */
static int wait_io(int fd, short events, int timeout_ms, const dl_http_opts *o) {
    struct pollfd p[2] = {{fd, events, 0},
                          {o && o->cancel_fd ? *o->cancel_fd : -1, POLLIN, 0}};
    int r = poll(p, 2, timeout_ms);
    if (r > 0 && p[1].revents) return -2;
    return r;
}

/* Connect one address within timeout_ms; 0 or an errno value (ECANCELED
** when o's cancel descriptor fired). */
static int try_connect(const struct addrinfo *ai, int timeout_ms,
                       const dl_http_opts *o, int *fd_out) {
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    int e;
    if (fd < 0) return errno;
#ifdef SO_NOSIGPIPE
    {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
    }
#endif
    if (set_nonblock(fd) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        e = errno;
        close(fd);
        return e;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        *fd_out = fd;
        return 0;
    }
    if (errno != EINPROGRESS && errno != EINTR) {
        e = errno;
        close(fd);
        return e;
    }
    for (;;) {
        int r = wait_io(fd, POLLOUT, timeout_ms, o);
        if (r == -1 && errno == EINTR) continue;
        if (r == -2) {
            close(fd);
            return ECANCELED;
        }
        if (r < 0) {
            e = errno;
            close(fd);
            return e;
        }
        if (r == 0) {
            close(fd);
            return ETIMEDOUT;
        }
        break;
    }
    socklen_t len = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0) e = errno;
    if (e) {
        close(fd);
        return e;
    }
    *fd_out = fd;
    return 0;
}

static int http_connect(const dl_http_url *u, const dl_http_opts *o, int *fd) {
    struct addrinfo hints, *res = NULL, *ai;
    int e = 0, g;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    g = getaddrinfo(u->host, u->port, &hints, &res);
    if (g != 0)
        return dl_err_set(DATALITH_EIO,
                          DL_HTTP_UNREACHABLE "cannot resolve host \"%s\": %s",
                          u->host, g == EAI_SYSTEM ? strerror(errno)
                                                   : gai_strerror(g));
    for (ai = res; ai; ai = ai->ai_next) {
        e = try_connect(ai, o->connect_timeout_ms, o, fd);
        if (e == 0 || e == ECANCELED) break;
    }
    freeaddrinfo(res);
    if (e == ECANCELED) return dl_err_set(DATALITH_EIO, DL_HTTP_CANCELLED);
    if (e == ETIMEDOUT)
        return dl_err_set(DATALITH_EIO,
                          DL_HTTP_UNREACHABLE "no connection within %d ms",
                          o->connect_timeout_ms);
    if (e)
        return dl_err_set(DATALITH_EIO, DL_HTTP_UNREACHABLE "%s", strerror(e));
    return DATALITH_OK;
}

/* ---- sending ---- */

static int send_all(int fd, const char *p, size_t n, int timeout_ms,
                    const dl_http_opts *o) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_io(fd, POLLOUT, timeout_ms, o);
            if (r == -1 && errno == EINTR) continue;
            if (r == -2) return dl_err_set(DATALITH_EIO, DL_HTTP_CANCELLED);
            if (r == 0)
                return dl_err_set(DATALITH_EIO,
                                  "timed out after %d ms sending the request",
                                  timeout_ms);
            if (r < 0)
                return dl_err_set(DATALITH_EIO, "poll: %s", strerror(errno));
            continue;
        }
        return dl_err_set(DATALITH_EIO,
                          "connection lost while sending the request: %s",
                          strerror(w < 0 ? errno : EPIPE));
    }
    return DATALITH_OK;
}

/* ---- receiving ---- */

typedef struct reader {
    int fd;
    const dl_http_opts *o;
    dl_buf in;        /* raw bytes received */
    size_t pos;       /* parse cursor into in */
    int eof;
} reader;

/* Read more bytes into r->in (at least one, or set eof). */
static int fill(reader *r) {
    char tmp[16384];
    for (;;) {
        ssize_t n = recv(r->fd, tmp, sizeof tmp, 0);
        if (n > 0) {
            /* Bound the raw input: head + body + chunk framing. */
            if (r->in.len + (size_t)n >
                r->o->max_response + 2 * DL_HTTP_HEAD_MAX + r->o->max_response / 8 +
                    4096)
                return dl_err_set(DATALITH_ELIMIT,
                                  "response larger than the limit of %zu bytes",
                                  r->o->max_response);
            return dl_buf_append(&r->in, tmp, (size_t)n);
        }
        if (n == 0) {
            r->eof = 1;
            return DATALITH_OK;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int p = wait_io(r->fd, POLLIN, r->o->read_timeout_ms, r->o);
            if (p == -1 && errno == EINTR) continue;
            if (p == -2) return dl_err_set(DATALITH_EIO, DL_HTTP_CANCELLED);
            if (p == 0)
                return dl_err_set(DATALITH_EIO,
                                  "timed out after %d ms waiting for the "
                                  "response", r->o->read_timeout_ms);
            if (p < 0)
                return dl_err_set(DATALITH_EIO, "poll: %s", strerror(errno));
            continue;
        }
        return dl_err_set(DATALITH_EIO, "connection lost while reading the "
                          "response: %s", strerror(errno));
    }
}

/* Ensure `n` bytes are available from pos. */
static int need(reader *r, size_t n, const char *what) {
    while (r->in.len - r->pos < n) {
        if (r->eof)
            return dl_err_set(DATALITH_EIO,
                              "connection closed by the server in the middle "
                              "of the %s", what);
        int rc = fill(r);
        if (rc) return rc;
    }
    return DATALITH_OK;
}

/* Find the next CRLF from pos; *len = line length without it. */
static int need_line(reader *r, size_t max, const char *what, size_t *len) {
    size_t scanned = 0;
    for (;;) {
        const char *s = r->in.data ? r->in.data + r->pos : "";
        size_t avail = r->in.len - r->pos;
        for (size_t i = scanned; i + 1 < avail; i++)
            if (s[i] == '\r' && s[i + 1] == '\n') {
                *len = i;
                return DATALITH_OK;
            }
        scanned = avail ? avail - 1 : 0;
        if (avail > max)
            return dl_err_set(DATALITH_EIO, "bad response: %s line longer "
                              "than %zu bytes", what, max);
        if (r->eof)
            return dl_err_set(DATALITH_EIO,
                              avail ? "bad response: connection closed in "
                                      "the middle of the %s"
                                    : "connection closed by the server "
                                      "before the %s", what);
        int rc = fill(r);
        if (rc) return rc;
    }
}

static int ieq_prefix(const char *s, size_t n, const char *name) {
    size_t k = strlen(name);
    if (n < k) return 0;
    for (size_t i = 0; i < k; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != name[i]) return 0;
    }
    return 1;
}

/* A header's value with surrounding blanks removed. */
static void header_value(const char *s, size_t n, size_t name_len,
                         const char **v, size_t *vn) {
    const char *p = s + name_len, *e = s + n;
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *v = p;
    *vn = (size_t)(e - p);
}

typedef struct head {
    int status;
    int chunked;
    int has_length;
    uint64_t length;
} head;

static int parse_status(const char *s, size_t n, int *status) {
    /* HTTP/1.x SP DDD [SP reason] */
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
        s[8] != ' ' || s[9] < '1' || s[9] > '5' || s[10] < '0' ||
        s[10] > '9' || s[11] < '0' || s[11] > '9' || (n > 12 && s[12] != ' '))
        return dl_err_set(DATALITH_EIO,
                          "bad response: malformed status line \"%.*s\"",
                          (int)(n > 80 ? 80 : n), s);
    *status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    return DATALITH_OK;
}

static int read_head(reader *r, head *h, dl_http_response *out) {
    size_t len, start = r->pos;
    int rc;
    memset(h, 0, sizeof *h);
    rc = need_line(r, DL_HTTP_HEAD_MAX, "status", &len);
    if (rc) return rc;
    rc = parse_status(r->in.data + r->pos, len, &h->status);
    if (rc) return rc;
    r->pos += len + 2;
    for (;;) {
        rc = need_line(r, DL_HTTP_HEAD_MAX, "header", &len);
        if (rc) return rc;
        const char *s = r->in.data + r->pos;
        r->pos += len + 2;
        if (r->pos - start > DL_HTTP_HEAD_MAX)
            return dl_err_set(DATALITH_EIO, "bad response: headers longer "
                              "than %d bytes", DL_HTTP_HEAD_MAX);
        if (len == 0) break;
        if (!memchr(s, ':', len) || s[0] == ' ' || s[0] == '\t')
            return dl_err_set(DATALITH_EIO,
                              "bad response: malformed header line \"%.*s\"",
                              (int)(len > 80 ? 80 : len), s);
        const char *v;
        size_t vn;
        if (ieq_prefix(s, len, "content-length:")) {
            uint64_t x = 0;
            header_value(s, len, 15, &v, &vn);
            if (vn == 0 || vn > 19)
                return dl_err_set(DATALITH_EIO, "bad response: bad "
                                  "Content-Length \"%.*s\"", (int)vn, v);
            for (size_t i = 0; i < vn; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return dl_err_set(DATALITH_EIO, "bad response: bad "
                                      "Content-Length \"%.*s\"", (int)vn, v);
                x = x * 10 + (uint64_t)(v[i] - '0');
            }
            if (h->has_length && h->length != x)
                return dl_err_set(DATALITH_EIO, "bad response: conflicting "
                                  "Content-Length headers");
            h->has_length = 1;
            h->length = x;
        } else if (ieq_prefix(s, len, "transfer-encoding:")) {
            header_value(s, len, 18, &v, &vn);
            if (vn >= 7 && ieq_prefix(v + vn - 7, 7, "chunked"))
                h->chunked = 1;
            else if (!(vn == 8 && ieq_prefix(v, vn, "identity")))
                return dl_err_set(DATALITH_EIO, "bad response: unsupported "
                                  "Transfer-Encoding \"%.*s\"", (int)vn, v);
        } else if (ieq_prefix(s, len, "content-type:")) {
            header_value(s, len, 13, &v, &vn);
            if (vn >= sizeof out->content_type) vn = sizeof out->content_type - 1;
            memcpy(out->content_type, v, vn);
            out->content_type[vn] = '\0';
        }
    }
    return DATALITH_OK;
}

static int body_append(dl_buf *body, const char *p, size_t n, size_t max) {
    if (n > max || body->len > max - n)
        return dl_err_set(DATALITH_ELIMIT,
                          "response larger than the limit of %zu bytes", max);
    return dl_buf_append(body, p, n);
}

static int read_chunked(reader *r, dl_buf *body) {
    for (;;) {
        size_t len, i = 0;
        uint64_t size = 0;
        int rc = need_line(r, 1024, "chunk size", &len);
        if (rc) return rc;
        const char *s = r->in.data + r->pos;
        for (; i < len; i++) {
            char c = s[i];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0) break;
            if (size > (UINT64_MAX >> 4))
                return dl_err_set(DATALITH_EIO, "bad response: chunk size "
                                  "overflows");
            size = size * 16 + (uint64_t)d;
        }
        if (i == 0 || (i < len && s[i] != ';' && s[i] != ' ' && s[i] != '\t'))
            return dl_err_set(DATALITH_EIO, "bad response: malformed chunk "
                              "size line \"%.*s\"",
                              (int)(len > 40 ? 40 : len), s);
        r->pos += len + 2;
        if (size == 0) break;
        if (size > r->o->max_response || body->len > r->o->max_response - size)
            return dl_err_set(DATALITH_ELIMIT,
                              "response larger than the limit of %zu bytes",
                              r->o->max_response);
        rc = need(r, (size_t)size + 2, "chunked body");
        if (rc) return rc;
        if (r->in.data[r->pos + size] != '\r' ||
            r->in.data[r->pos + size + 1] != '\n')
            return dl_err_set(DATALITH_EIO, "bad response: chunk not "
                              "followed by CRLF");
        rc = body_append(body, r->in.data + r->pos, (size_t)size,
                         r->o->max_response);
        if (rc) return rc;
        r->pos += (size_t)size + 2;
        /* Drop consumed raw bytes so `in` stays small on long bodies. */
        if (r->pos > 65536) {
            memmove(r->in.data, r->in.data + r->pos, r->in.len - r->pos);
            r->in.len -= r->pos;
            r->pos = 0;
        }
    }
    for (;;) { /* trailers, up to the empty line */
        size_t len;
        int rc = need_line(r, DL_HTTP_HEAD_MAX, "trailer", &len);
        if (rc) return rc;
        r->pos += len + 2;
        if (len == 0) return DATALITH_OK;
    }
}

static int read_response(reader *r, dl_http_response *out, const char *method) {
    head h;
    dl_buf body = DL_BUF_INIT;
    int rc;
    do { /* skip 1xx interim responses */
        rc = read_head(r, &h, out);
        if (rc) return rc;
    } while (h.status >= 100 && h.status < 200);
    out->status = h.status;
    if (strcmp(method, "HEAD") == 0 || h.status == 204 || h.status == 304) {
        /* no body */
    } else if (h.chunked) {
        rc = read_chunked(r, &body);
    } else if (h.has_length) {
        if (h.length > r->o->max_response) {
            rc = dl_err_set(DATALITH_ELIMIT, "response of %llu bytes is "
                            "larger than the limit of %zu bytes",
                            (unsigned long long)h.length, r->o->max_response);
        } else {
            rc = need(r, (size_t)h.length, "body");
            if (!rc)
                rc = body_append(&body, r->in.data + r->pos, (size_t)h.length,
                                 r->o->max_response);
        }
    } else {
        while (!rc && !r->eof) rc = fill(r);
        if (!rc)
            rc = body_append(&body, r->in.data + r->pos, r->in.len - r->pos,
                             r->o->max_response);
    }
    if (rc) {
        dl_buf_free(&body);
        return rc;
    }
    if (dl_buf_putc(&body, '\0')) {
        dl_buf_free(&body);
        return dl_err_nomem();
    }
    out->body = dl_buf_detach(&body, &out->body_len);
    if (!out->body) return dl_err_nomem();
    out->body_len--; /* the terminator */
    return DATALITH_OK;
}

/* ---- the request ---- */

static dl_http_opts opts_or_defaults(const dl_http_opts *opts) {
    dl_http_opts o = DL_HTTP_OPTS_INIT;
    if (opts) {
        if (opts->connect_timeout_ms > 0) o.connect_timeout_ms = opts->connect_timeout_ms;
        if (opts->read_timeout_ms > 0) o.read_timeout_ms = opts->read_timeout_ms;
        if (opts->max_response > 0) o.max_response = opts->max_response;
        o.cancel_fd = opts->cancel_fd;
    }
    return o;
}

int dl_http_read_response(int fd, const char *method, const dl_http_opts *opts,
                          dl_http_response *out) {
    dl_http_opts o = opts_or_defaults(opts);
    reader r;
    int rc;
    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    r.fd = fd;
    r.o = &o;
    rc = read_response(&r, out, method);
    dl_buf_free(&r.in);
    if (rc) dl_http_response_free(out);
    return rc;
}

int dl_http_do(const dl_http_url *u, const dl_http_request *req,
               const dl_http_opts *opts, dl_http_response *out) {
    dl_http_opts o = opts_or_defaults(opts);
    dl_buf msg = DL_BUF_INIT;
    int fd = -1, rc;

    memset(out, 0, sizeof *out);
    for (const char *t = req->token; t && *t; t++)
        if ((unsigned char)*t < ' ' || *t == 0x7f)
            return dl_err_set(DATALITH_EINVAL,
                              "token holds a control character");
    rc = dl_buf_printf(&msg, "%s %s%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
                       "Connection: close\r\nUser-Agent: datalith/%s\r\n",
                       req->method, u->path, req->path ? req->path : "/",
                       u->ipv6 ? "[" : "", u->host, u->ipv6 ? "]" : "",
                       u->port, DATALITH_VERSION_STRING);
    if (!rc && req->content_type)
        rc = dl_buf_printf(&msg, "Content-Type: %s\r\nAccept: %s\r\n",
                           req->content_type, req->content_type);
    if (!rc && req->token)
        rc = dl_buf_printf(&msg, "Authorization: token %s\r\n", req->token);
    if (!rc)
        rc = dl_buf_printf(&msg, "Content-Length: %zu\r\n\r\n", req->body_len);
    if (!rc && req->body_len) rc = dl_buf_append(&msg, req->body, req->body_len);
    if (rc) {
        dl_buf_free(&msg);
        return rc;
    }

    rc = http_connect(u, &o, &fd);
    if (!rc) rc = send_all(fd, msg.data, msg.len, o.read_timeout_ms, &o);
    dl_buf_free(&msg);
    if (rc) {
        if (fd >= 0) close(fd);
        return rc;
    }
    rc = dl_http_read_response(fd, req->method, &o, out);
    close(fd);
    return rc;
}

void dl_http_response_free(dl_http_response *r) {
    if (!r) return;
    free(r->body);
    memset(r, 0, sizeof *r);
}
