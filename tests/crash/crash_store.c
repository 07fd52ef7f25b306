/*
** crash_store.c — kill -9 durability test for the file and LMDB stores.
**
** A child process opens the store, takes the writer lock and commits in a
** loop: 3 objects (put), sync, then moves head "db" to a payload naming
** the commit's sequence number and objects; after each head_cas returns it
** writes "ack <seq>\n" to a pipe.  The parent SIGKILLs it at a random
** moment, reopens the store and checks:
**   - the head decodes (it is never torn);
**   - its seq is the last acknowledged one or the one after it (a commit
**     may land between head_cas and the ack; nothing acknowledged is lost);
**   - every object the head names is present and verifies, byte for byte.
**
** Usage: crash_store file|lmdb ITERATIONS [SEED]
*/
#define _GNU_SOURCE
#include "store/object.h"
#include "store/store.h"
#include "util/error.h"
#include "value/value.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static dl_arena arena;
static edn_value cfg;

static const char *msg(void) { return dl_err_last()->message; }

/* The deterministic content of object <seq>-<i>: its size varies from a
** few bytes to 48 KiB so kills land inside large writes too. */
static size_t obj_content(long seq, int i, uint8_t **out) {
    size_t n = (size_t)((seq * 7919 + i * 104729) % 7) == 0
                   ? 48 * 1024
                   : 16 + (size_t)((seq * 31 + i * 17) % 2000);
    uint8_t *b = malloc(n);
    for (size_t k = 0; k < n; k++)
        b[k] = (uint8_t)((seq * 131 + i * 31 + (long)k * 7) & 0xff);
    *out = b;
    return n;
}

static long parse_head(const uint8_t *p, size_t n, char keys[3][64]) {
    char b[256];
    snprintf(b, sizeof b, "%.*s", (int)(n < 255 ? n : 255), (const char *)p);
    long seq = -1;
    if (sscanf(b, "seq=%ld objs=%63[^,],%63[^,],%63s", &seq, keys[0], keys[1],
               keys[2]) != 4)
        return -1;
    return seq;
}

static void die(const char *what) {
    fprintf(stderr, "child: %s: %s\n", what, msg());
    _exit(2);
}

/* The child: commit forever. */
static void child_loop(int ackfd) {
    dl_store *s;
    if (dl_store_open(&cfg, 0, &s)) die("open");
    if (s->vt->lock_writer(s)) die("lock");
    uint8_t *prev = NULL;
    size_t plen = 0;
    long seq = 0;
    int rc = dl_head_get(s, "db", &prev, &plen);
    if (rc == 0) {
        char keys[3][64];
        seq = parse_head(prev, plen, keys);
        if (seq < 0) die("parse head");
    } else if (rc != DATALITH_ENOTFOUND) {
        die("head_get");
    }
    for (;;) {
        seq++;
        char head[256];
        int hn = snprintf(head, sizeof head, "seq=%ld objs=", seq);
        for (int i = 0; i < 3; i++) {
            char key[64];
            snprintf(key, sizeof key, "o%ld-%d", seq, i);
            uint8_t *b;
            size_t n = obj_content(seq, i, &b);
            if (dl_obj_put(s, key, DL_OBJ_NODE, b, n)) die("put");
            free(b);
            hn += snprintf(head + hn, sizeof head - (size_t)hn, "%s%s",
                           i ? "," : "", key);
        }
        if (s->vt->sync(s)) die("sync");
        if (dl_head_cas(s, "db", prev, plen, (const uint8_t *)head,
                        (size_t)hn))
            die("head_cas");
        free(prev);
        prev = malloc((size_t)hn);
        memcpy(prev, head, (size_t)hn);
        plen = (size_t)hn;
        char ack[48];
        int an = snprintf(ack, sizeof ack, "ack %ld\n", seq);
        if (write(ackfd, ack, (size_t)an) != an) _exit(3);
    }
}

/* Reopen and verify.  Returns the head's seq (0: no head yet) or -1. */
static long verify(long last_ack) {
    dl_store *s;
    if (dl_store_open(&cfg, 0, &s)) {
        fprintf(stderr, "reopen: %s\n", msg());
        return -1;
    }
    uint8_t *p;
    size_t n;
    long seq = -1;
    int rc = dl_head_get(s, "db", &p, &n);
    if (rc == DATALITH_ENOTFOUND) {
        seq = 0;
    } else if (rc) {
        fprintf(stderr, "head: %s\n", msg());
    } else {
        char keys[3][64];
        seq = parse_head(p, n, keys);
        free(p);
        if (seq < 0) fprintf(stderr, "head does not parse\n");
        for (int i = 0; i < 3 && seq > 0; i++) {
            char want_key[64];
            snprintf(want_key, sizeof want_key, "o%ld-%d", seq, i);
            if (strcmp(keys[i], want_key) != 0) {
                fprintf(stderr, "head names %s, expected %s\n", keys[i],
                        want_key);
                seq = -1;
                break;
            }
            if (dl_obj_get(s, keys[i], DL_OBJ_NODE, &p, &n)) {
                fprintf(stderr, "object of head %ld: %s\n", seq, msg());
                seq = -1;
                break;
            }
            uint8_t *want;
            size_t wn = obj_content(seq, i, &want);
            if (wn != n || memcmp(want, p, n) != 0) {
                fprintf(stderr, "object %s has wrong content\n", keys[i]);
                seq = -1;
            }
            free(want);
            free(p);
        }
    }
    s->vt->close(s);
    if (seq < 0) return -1;
    if (seq < last_ack || seq > last_ack + 1) {
        fprintf(stderr, "head seq %ld but last acknowledged %ld\n", seq,
                last_ack);
        return -1;
    }
    return seq;
}

static long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/* Read "ack N" lines from fd until `deadline` (or EOF when deadline < 0).
** Returns 1 at EOF, else 0. */
static int read_acks(int fd, long deadline, long *last_ack, char *line,
                      size_t *ll) {
    for (;;) {
        int timeout = -1;
        if (deadline >= 0) {
            long left = deadline - now_us();
            if (left <= 0) return 0;
            timeout = (int)((left + 999) / 1000);
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, timeout);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) {
            if (deadline >= 0 && now_us() >= deadline) return 0;
            continue;
        }
        char b[512];
        ssize_t r = read(fd, b, sizeof b);
        if (r <= 0) return 1; /* EOF: the child is gone */
        for (ssize_t i = 0; i < r; i++) {
            if (b[i] == '\n') {
                line[*ll] = 0;
                long a;
                if (sscanf(line, "ack %ld", &a) == 1 && a > *last_ack)
                    *last_ack = a;
                *ll = 0;
            } else if (*ll < 63) {
                line[(*ll)++] = b[i];
            }
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: crash_store file|lmdb ITERATIONS [SEED]\n");
        return 2;
    }
    const char *backend = argv[1];
    long iters = atol(argv[2]);
    unsigned seed = argc > 3 ? (unsigned)atol(argv[3])
                             : (unsigned)(time(NULL) ^ getpid());
    srand(seed);
    dl_arena_init(&arena, 0);

    const char *base = getenv("DL_TEST_TMP");
    if (!base || !*base) base = "/tmp";
    char dir[600];
    snprintf(dir, sizeof dir, "%s/crash-%s-XXXXXX", base, backend);
    if (mkdir(base, 0755) != 0 && errno != EEXIST) return 2;
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    char path[700];
    snprintf(path, sizeof path, "%s/db", dir);
    edn_value kv[4];
    kv[0] = edn_keyword_str("backend");
    kv[1] = edn_keyword_str(backend);
    kv[2] = edn_keyword_str("path");
    edn_string(&arena, path, strlen(path), &kv[3]);
    edn_map(&arena, kv, 2, &cfg);
    dl_store *s;
    if (dl_store_open(&cfg, 1, &s)) {
        fprintf(stderr, "create: %s\n", msg());
        return 2;
    }
    s->vt->close(s);

    printf("crash_store %s: %ld iterations, seed %u, store %s\n", backend,
           iters, seed, path);
    long last_ack = 0, mid = 0, failures = 0;
    for (long it = 0; it < iters && failures == 0; it++) {
        int fds[2];
        if (pipe(fds) != 0) return 2;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) return 2;
        if (pid == 0) {
            close(fds[0]);
            child_loop(fds[1]);
            _exit(4);
        }
        close(fds[1]);
        /* A quarter of the kills land 0-5 ms after the fork (while the
        ** child opens and locks); the rest wait for 0-3 more acks (so the
        ** test does not depend on the machine's speed) and then 0-8 ms
        ** more, which lands inside a later commit's puts, sync or
        ** head_cas. */
        char line[64];
        size_t ll = 0;
        if (rand() % 4 != 0) {
            long target = last_ack + rand() % 4;
            long give_up = now_us() + 5000000;
            while (last_ack < target && now_us() < give_up)
                if (read_acks(fds[0], now_us() + 10000, &last_ack, line,
                              &ll))
                    break; /* EOF: the child died on its own */
            read_acks(fds[0], now_us() + rand() % 8000, &last_ack, line, &ll);
        } else {
            read_acks(fds[0], now_us() + rand() % 5000, &last_ack, line, &ll);
        }
        kill(pid, SIGKILL);
        read_acks(fds[0], -1, &last_ack, line, &ll); /* drain to EOF */
        close(fds[0]);
        int st;
        waitpid(pid, &st, 0);
        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
            fprintf(stderr, "iteration %ld: child ended on its own (%d)\n",
                    it, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            failures++;
            break;
        }
        long seq = verify(last_ack);
        if (seq < 0) {
            fprintf(stderr, "iteration %ld: verification failed (seed %u)\n",
                    it, seed);
            failures++;
            break;
        }
        if (seq == last_ack + 1) mid++;
        last_ack = seq > last_ack ? seq : last_ack;
    }
    printf("%s: %ld acknowledged commits, %ld kills after a head moved but "
           "before its ack, %ld failures\n", backend, last_ack, mid,
           failures);
    if (failures == 0) {
        dl_store *d;
        if (dl_store_open(&cfg, 0, &d) == 0) d->vt->destroy(d);
        rmdir(dir);
    }
    dl_arena_free(&arena);
    return failures ? 1 : 0;
}
