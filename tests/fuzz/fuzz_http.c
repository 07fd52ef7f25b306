/*
** fuzz_http.c — the remote client's HTTP response parser
** (dl_http_read_response, core/remote/http.c) on arbitrary bytes: the input
** is what a server sends, written into one end of a socketpair that is then
** closed.  Any input must give a response or a clear error, never a crash,
** a hang (the peer has closed, so every read ends) or a leak.
*/
#define _POSIX_C_SOURCE 200809L
#include "remote/http.h"

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int sv[2];
    dl_http_opts o = {1000, 1000, 4096, NULL};
    dl_http_response r;
    if (size > 65536) size = 65536; /* fits the socket buffer: no writer thread */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(sv[1], data + off, size - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(sv[1]);
    /* GET and HEAD (no body expected) */
    if (dl_http_read_response(sv[0], size && (data[0] & 1) ? "HEAD" : "GET", &o,
                              &r) == 0) {
        if (r.body && r.body[r.body_len] != '\0') __builtin_trap();
        if (r.body_len > o.max_response) __builtin_trap();
        dl_http_response_free(&r);
    }
    close(sv[0]);
    return 0;
}
