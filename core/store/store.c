/*
** store.c — opening a store from a Datahike store config map, and the
** helpers every backend shares: key validation, the directory writer lock,
** directory fsync and tree removal.
**
** Backends are found in a small registry table by their :backend keyword;
** adding one (PostgreSQL comes next) is one row here plus one file.
*/
#define _GNU_SOURCE /* flock, nftw */
#include "store_impl.h"

#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the backend registry ---- */

typedef struct store_backend {
    const char *name; /* the :backend keyword without the colon */
    int (*open)(const edn_value *cfg, int create, dl_store **out);
    int (*exists)(const edn_value *cfg, int *out);
} store_backend;

static const store_backend store_backends[] = {
    {"memory", dl_store_memory_open, dl_store_memory_exists},
    {"file", dl_store_file_open, dl_store_file_exists},
#if DATALITH_HAVE_LMDB
    {"lmdb", dl_store_lmdb_open, dl_store_lmdb_exists},
#endif
#if DATALITH_HAVE_PG
    {"pg", dl_store_pg_open, dl_store_pg_exists},
    {"jdbc", dl_store_pg_open, dl_store_pg_exists}, /* :dbtype "postgresql" */
#endif
};

/* Backends Datahike knows that this build may lack: named in the error. */
static const char *const store_known_elsewhere[] = {"lmdb", "pg", "jdbc",
                                                    NULL};

static int store_find(const edn_value *cfg, const store_backend **out) {
    if (!cfg || cfg->type != EDN_MAP)
        return dl_err_set(DATALITH_EINVAL, "store config must be a map");
    const edn_value *b = edn_map_getk(cfg, "backend");
    if (!b)
        return dl_err_set(DATALITH_EINVAL,
                          "store config is missing :backend");
    if (b->type != EDN_KEYWORD)
        return dl_err_set(DATALITH_EINVAL,
                          "store config :backend must be a keyword");
    const char *name = b->u.sym->full;
    if (strcmp(name, "mem") == 0) name = "memory"; /* as Datahike */
    for (size_t i = 0; i < sizeof store_backends / sizeof *store_backends;
         i++) {
        if (strcmp(store_backends[i].name, name) == 0) {
            *out = &store_backends[i];
            return 0;
        }
    }
    for (size_t i = 0; store_known_elsewhere[i]; i++)
        if (strcmp(store_known_elsewhere[i], name) == 0)
            return dl_err_set(DATALITH_EUNSUPPORTED,
                              "Store backend :%s is not available in this "
                              "build", name);
    return dl_err_set(DATALITH_EINVAL, "Unknown store backend :%s", name);
}

int dl_store_open(const edn_value *config, int create, dl_store **out) {
    const store_backend *b;
    int rc = store_find(config, &b);
    if (rc) return rc;
    return b->open(config, create, out);
}

int dl_store_exists(const edn_value *config, int *out) {
    const store_backend *b;
    int rc = store_find(config, &b);
    if (rc) return rc;
    return b->exists(config, out);
}

int dl_store_cfg_string(const edn_value *cfg, const char *key,
                        const char **out) {
    const edn_value *v = edn_map_getk(cfg, key);
    if (!v)
        return dl_err_set(DATALITH_EINVAL, "store config is missing :%s",
                          key);
    if (v->type != EDN_STRING || v->n == 0 || strlen(v->u.s) != v->n)
        return dl_err_set(DATALITH_EINVAL,
                          "store config :%s must be a non-empty string", key);
    *out = v->u.s;
    return 0;
}

/* ---- keys ---- */

int dl_store_check_key(const char *key, const char *what) {
    if (!key || !*key)
        return dl_err_set(DATALITH_EINVAL, "invalid store %s: empty", what);
    size_t n = 0;
    for (const char *p = key; *p; p++, n++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return dl_err_set(DATALITH_EINVAL,
                              "invalid store %s '%.64s': character 0x%02x not "
                              "allowed (use A-Z a-z 0-9 . _ -)", what, key, c);
        if (n >= DL_STORE_KEY_MAX)
            return dl_err_set(DATALITH_EINVAL,
                              "invalid store %s '%.64s…': longer than %d "
                              "bytes", what, key, DL_STORE_KEY_MAX);
    }
    if (key[0] == '.')
        return dl_err_set(DATALITH_EINVAL,
                          "invalid store %s '%s': must not start with '.'",
                          what, key);
    return 0;
}

/* ---- the directory writer lock ---- */

/* Lock files held by this process, by (device, inode).  `pid` makes the
** entries a forked child inherits count as foreign. */
typedef struct wlock_entry {
    dev_t dev;
    ino_t ino;
    pid_t pid;
} wlock_entry;

static pthread_mutex_t wlock_mu = PTHREAD_MUTEX_INITIALIZER;
static wlock_entry *wlock_tab;
static size_t wlock_n, wlock_cap;

static long wlock_read_pid(int fd) {
    char b[32];
    ssize_t n = pread(fd, b, sizeof b - 1, 0);
    if (n <= 0) return -1;
    b[n] = 0;
    char *end;
    long pid = strtol(b, &end, 10);
    return (end != b && pid > 0) ? pid : -1;
}

static int wlock_busy(long pid) {
    if (pid > 0)
        return dl_err_set(DATALITH_ELOCKED,
                          "database is locked by another writer (pid %ld)",
                          pid);
    return dl_err_set(DATALITH_ELOCKED,
                      "database is locked by another writer");
}

int dl_wlock_acquire(dl_wlock *l, const char *path) {
    if (l->fd >= 0) return 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return dl_err_set(DATALITH_EIO, "cannot open lock file '%s': %s",
                          path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dl_err_set(DATALITH_EIO, "cannot stat lock file '%s': %s",
                          path, strerror(e));
    }
    pid_t me = getpid();
    pthread_mutex_lock(&wlock_mu);
    for (size_t i = 0; i < wlock_n; i++) {
        if (wlock_tab[i].dev == st.st_dev && wlock_tab[i].ino == st.st_ino &&
            wlock_tab[i].pid == me) {
            pthread_mutex_unlock(&wlock_mu);
            close(fd);
            return wlock_busy((long)me);
        }
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        pthread_mutex_unlock(&wlock_mu);
        if (e == EWOULDBLOCK) {
            long pid = wlock_read_pid(fd);
            close(fd);
            return wlock_busy(pid);
        }
        close(fd);
        return dl_err_set(DATALITH_EIO, "cannot lock '%s': %s", path,
                          strerror(e));
    }
    if (wlock_n == wlock_cap) {
        size_t nc = wlock_cap ? wlock_cap * 2 : 8;
        wlock_entry *t = realloc(wlock_tab, nc * sizeof *t);
        if (!t) {
            flock(fd, LOCK_UN);
            pthread_mutex_unlock(&wlock_mu);
            close(fd);
            return dl_err_nomem();
        }
        wlock_tab = t;
        wlock_cap = nc;
    }
    /* Drop stale entries inherited through fork before adding ours. */
    size_t j = 0;
    for (size_t i = 0; i < wlock_n; i++)
        if (wlock_tab[i].pid == me) wlock_tab[j++] = wlock_tab[i];
    wlock_n = j;
    wlock_tab[wlock_n++] = (wlock_entry){st.st_dev, st.st_ino, me};
    pthread_mutex_unlock(&wlock_mu);

    char b[32];
    int n = snprintf(b, sizeof b, "%ld\n", (long)me);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, b, (size_t)n, 0) != n) {
        /* The pid is only for the message; holding the lock is what
        ** matters, so a read-only lock file is not an error. */
    }
    l->fd = fd;
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    return 0;
}

void dl_wlock_release(dl_wlock *l) {
    if (l->fd < 0) return;
    pid_t me = getpid();
    pthread_mutex_lock(&wlock_mu);
    for (size_t i = 0; i < wlock_n; i++) {
        if (wlock_tab[i].dev == l->dev && wlock_tab[i].ino == l->ino &&
            wlock_tab[i].pid == me) {
            wlock_tab[i] = wlock_tab[--wlock_n];
            break;
        }
    }
    if (ftruncate(l->fd, 0) != 0) {
        /* best effort: a stale pid only affects a message */
    }
    flock(l->fd, LOCK_UN);
    close(l->fd);
    pthread_mutex_unlock(&wlock_mu);
    l->fd = -1;
}

/* ---- file-system helpers ---- */

int dl_fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return dl_err_set(DATALITH_EIO, "cannot open directory '%s': %s",
                          path, strerror(errno));
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = dl_err_set(DATALITH_EIO, "cannot fsync directory '%s': %s", path,
                        strerror(errno));
    close(fd);
    return rc;
}

int dl_mkdirs(const char *path) {
    char *p = strdup(path);
    if (!p) return dl_err_nomem();
    for (char *c = p + 1;; c++) {
        if (*c == '/' || *c == 0) {
            char save = *c;
            *c = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                int rc = dl_err_set(DATALITH_EIO,
                                    "cannot create store directory '%s': %s",
                                    p, strerror(errno));
                free(p);
                return rc;
            }
            *c = save;
            if (!save) break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return dl_err_set(DATALITH_EIO, "store path '%s' is not a directory",
                          path);
    return 0;
}

static _Thread_local char rmtree_fail[512];
static _Thread_local int rmtree_errno;

static int rmtree_cb(const char *p, const struct stat *sb, int flag,
                     struct FTW *ftw) {
    int r = (flag == FTW_DP) ? rmdir(p) : unlink(p);
    if (r != 0 && errno != ENOENT) {
        rmtree_errno = errno;
        snprintf(rmtree_fail, sizeof rmtree_fail, "%s", p);
        return 1;
    }
    return 0;
}

int dl_rmtree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return 0;
        return dl_err_set(DATALITH_EIO, "cannot stat '%s': %s", path,
                          strerror(errno));
    }
    rmtree_errno = 0;
    if (nftw(path, rmtree_cb, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        if (rmtree_errno)
            return dl_err_set(DATALITH_EIO, "cannot remove '%s': %s",
                              rmtree_fail, strerror(rmtree_errno));
        return dl_err_set(DATALITH_EIO, "cannot remove '%s': %s", path,
                          strerror(errno));
    }
    return 0;
}
