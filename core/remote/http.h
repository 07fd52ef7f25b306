/*
** http.h — a small HTTP/1.1 client over plain TCP, for talking to a
** writer server (docs/remote.md).  No external dependency, no TLS.
**
** One request per TCP connection ("Connection: close"): resolve the host
** with getaddrinfo, connect without blocking and wait for it with poll()
** up to the connect timeout (trying each address in turn), send the
** request, then read the response with poll() so that no single wait for
** data lasts longer than the read timeout.  The response body may come
** with Content-Length, chunked transfer coding, or be delimited by the
** server closing the connection; it is decoded into one buffer that may
** not grow past max_response bytes.
**
** Error convention (core/util/error.h); the message never names the URL,
** callers add that context:
**   DATALITH_EUNSUPPORTED  https:// or another scheme (parse_url)
**   DATALITH_EINVAL        a malformed URL
**   DATALITH_EIO           "unreachable: <reason>" when no connection could
**                          be made (name resolution, refused, connect
**                          timeout), which callers can test with
**                          DL_HTTP_UNREACHABLE; "timed out after N ms …",
**                          "connection closed …" or "bad response: …"
**                          once connected
**   DATALITH_ELIMIT        response larger than max_response
**   DATALITH_ENOMEM
** Writes never raise SIGPIPE.  Thread-safe: no shared state.
*/
#ifndef DL_REMOTE_HTTP_H
#define DL_REMOTE_HTTP_H

#include <stddef.h>

#define DL_HTTP_HOST_MAX 256
#define DL_HTTP_PATH_MAX 1024

/* An http://host[:port][/path] URL taken apart.  IPv6 literals are written
** [::1] and stored without the brackets. */
typedef struct dl_http_url {
    char host[DL_HTTP_HOST_MAX];
    char port[8];             /* decimal, "80" when absent */
    char path[DL_HTTP_PATH_MAX]; /* the base path without a trailing '/' ("" for none) */
    int ipv6;                 /* host is an IPv6 literal */
} dl_http_url;

int dl_http_parse_url(const char *url, size_t n, dl_http_url *out);

typedef struct dl_http_opts {
    int connect_timeout_ms;   /* > 0 */
    int read_timeout_ms;      /* > 0: longest wait for any byte */
    size_t max_response;      /* body limit in bytes */
    /* NULL, or a descriptor (a pipe's read end) that becomes readable to
    ** abandon the request from another thread: every wait (connect, send,
    ** receive) watches it too and then fails with DATALITH_EIO
    ** DL_HTTP_CANCELLED. */
    const int *cancel_fd;
} dl_http_opts;

#define DL_HTTP_CANCELLED "request cancelled"

#define DL_HTTP_DEFAULT_CONNECT_MS 5000
#define DL_HTTP_DEFAULT_READ_MS 60000
#define DL_HTTP_DEFAULT_MAX_RESPONSE ((size_t)256 << 20)
#define DL_HTTP_OPTS_INIT                                                     \
    {DL_HTTP_DEFAULT_CONNECT_MS, DL_HTTP_DEFAULT_READ_MS,                     \
     DL_HTTP_DEFAULT_MAX_RESPONSE, NULL}

/* One request.  `path` is appended to the URL's base path ("/transact");
** `token` (may be NULL) is sent as "Authorization: token <token>";
** `content_type` names the body's media type (also sent as Accept). */
typedef struct dl_http_request {
    const char *method;       /* "GET" or "POST" */
    const char *path;
    const char *token;
    const char *content_type;
    const char *body;
    size_t body_len;
} dl_http_request;

typedef struct dl_http_response {
    int status;               /* e.g. 200 */
    char content_type[128];   /* the Content-Type header's value, or "" */
    char *body;               /* malloc'd, NUL-terminated; free with dl_http_response_free */
    size_t body_len;
} dl_http_response;

/* Perform `req` against `url`.  On success *out holds the status and body
** whatever the status is (a 500 is a response, not an error); on failure
** *out is empty and an error is recorded. */
int dl_http_do(const dl_http_url *url, const dl_http_request *req,
               const dl_http_opts *opts, dl_http_response *out);

void dl_http_response_free(dl_http_response *r);

/* The response half of dl_http_do on an already connected socket `fd`
** (left open): for the fuzz target and tests.  `method` "HEAD" expects no
** body.  opts may be NULL (defaults). */
int dl_http_read_response(int fd, const char *method, const dl_http_opts *opts,
                          dl_http_response *out);

/* Prefix of the message of an error that happened before any byte reached
** the server (so a request was certainly not processed). */
#define DL_HTTP_UNREACHABLE "unreachable: "

#endif
