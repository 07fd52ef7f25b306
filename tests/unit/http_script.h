/*
** http_script.h — a scripted HTTP server for the remote client's tests: a
** thread that accepts `n` connections in turn (one request each), records
** every request, and answers each with raw bytes given by the test
** (well-formed, chunked, truncated, oversized or nothing at all).
*/
#ifndef DL_TEST_HTTP_SCRIPT_H
#define DL_TEST_HTTP_SCRIPT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define SCRIPT_MAX 8

typedef struct script {
    int lfd;
    int port;
    const char *reply;     /* raw bytes sent back (NULL: send nothing) */
    size_t reply_len;      /* 0: strlen(reply) */
    size_t big;            /* if > 0: then send this many 'x' bytes */
    int hold;              /* keep the connection open until the client closes */
    char request[8192];    /* what the client sent (head + body) */
    size_t request_len;
    /* Several connections: replies[i] answers the i-th; requests[i] and
    ** request_lens[i] record it.  n == 0 means one connection using the
    ** single-reply fields above. */
    int n;
    const char *replies[SCRIPT_MAX];
    char requests[SCRIPT_MAX][8192];
    pthread_t th;
} script;

static void script_read_request(int fd, char *buf, size_t cap, size_t *len) {
    *len = 0;
    buf[0] = '\0';
    for (;;) {
        ssize_t n = recv(fd, buf + *len, cap - 1 - *len, 0);
        if (n <= 0) break;
        *len += (size_t)n;
        buf[*len] = '\0';
        char *e = strstr(buf, "\r\n\r\n");
        if (e) {
            const char *cl = strstr(buf, "Content-Length: ");
            size_t want = cl ? (size_t)atol(cl + 16) : 0;
            if (*len >= (size_t)(e + 4 - buf) + want) break;
        }
        if (*len >= cap - 1) break;
    }
}

static void script_send(int fd, const char *reply, size_t n) {
    /* Byte-sized writes for the first part exercise partial reads. */
    for (size_t i = 0; i < n && i < 40; i++) send(fd, reply + i, 1, MSG_NOSIGNAL);
    if (n > 40) send(fd, reply + 40, n - 40, MSG_NOSIGNAL);
}

/* accept() that gives up after 20 s, so a client that never connects (a
** failed check) cannot hang the test. */
static int script_accept(int lfd) {
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, 20000) != 1) return -1;
    return accept(lfd, NULL, NULL);
}

static void *script_serve(void *arg) {
    script *s = arg;
    if (s->n > 0) {
        for (int i = 0; i < s->n; i++) {
            size_t len;
            int fd = script_accept(s->lfd);
            if (fd < 0) return NULL;
            script_read_request(fd, s->requests[i], sizeof s->requests[i], &len);
            script_send(fd, s->replies[i], strlen(s->replies[i]));
            close(fd);
        }
        return NULL;
    }
    int fd = script_accept(s->lfd);
    if (fd < 0) return NULL;
    script_read_request(fd, s->request, sizeof s->request, &s->request_len);
    if (s->reply)
        script_send(fd, s->reply, s->reply_len ? s->reply_len : strlen(s->reply));
    if (s->big) {
        static char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        size_t left = s->big;
        while (left > 0) {
            ssize_t w = send(fd, chunk, left < sizeof chunk ? left : sizeof chunk,
                             MSG_NOSIGNAL);
            if (w <= 0) break;
            left -= (size_t)w;
        }
    }
    if (s->hold) {
        char c;
        while (recv(fd, &c, 1, 0) > 0) {
        }
    }
    close(fd);
    return NULL;
}

static void start(script *s) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int one = 1;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s->lfd, 4) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &len) != 0) {
        perror("test server");
        exit(2);
    }
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, script_serve, s);
}

static void stop(script *s) {
    pthread_join(s->th, NULL);
    close(s->lfd);
}

/* A port on which nothing listens (bound, then closed). */
static int closed_port(void) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

#endif
