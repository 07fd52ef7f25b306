/*
** store_file.c — the :file backend: a store is a directory of plain files,
** safe to copy with rsync while a writer is using it.
**
**   <path>/
**     format              "datalith-file-store 1\n" (written at create)
**     lock                writer lock: flock'd by the one writer, holds its pid
**     heads.lock          flock'd only during a head compare-and-set
**     heads/<branch>      one small framed file per branch; replaced by rename
**     objects/<xx>/<key>  one file per object, never rewritten;
**                         xx = low byte of XXH64(key) in hex (256 fan-out dirs)
**     …/.tmp.<pid>.<n>    in-flight temporary files (dot names are never keys)
**
** put:  write .tmp in the object's own fan-out dir, fsync, rename to <key>;
**       remember the dir as dirty.
** sync: fsync every dirty fan-out dir (and objects/ when a fan-out dir was
**       created), so the renames themselves are durable.
** head_cas: under flock(heads.lock): read heads/<branch>, compare, write
**       heads/.tmp, fsync, rename over heads/<branch>, fsync heads/.
** Readers take no lock: every file they can see under its final name is
** complete (rename is atomic), and objects never change once named.
*/
#define _GNU_SOURCE /* flock, O_CLOEXEC, O_DIRECTORY */
#include "store_impl.h"

#include "util/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define FILE_FORMAT_LINE "datalith-file-store 1\n"

typedef struct file_store {
    dl_store base;
    char *root;
    pthread_mutex_t mu;      /* dirty set */
    uint8_t dirty[32];       /* bit per fan-out dir written since sync */
    int objects_dirty;       /* a fan-out dir was created since sync */
    pthread_mutex_t cas_mu;  /* serialises head updates in this handle */
    int cas_fd;              /* heads.lock, opened on first head update */
    dl_wlock wlock;
    pthread_mutex_t ino_mu;  /* one head_wait at a time uses ino_fd */
    int ino_fd;              /* inotify watch of heads/, opened on first wait */
} file_store;

static atomic_ulong file_tmp_counter;

/* ---- paths ---- */

static unsigned file_fan(const char *key) {
    return (unsigned)(XXH64(key, strlen(key), 0) & 0xff);
}

/* root + "/" + rel (+ "/" + leaf): malloc'd, or NULL after dl_err_nomem. */
static char *file_path(const char *root, const char *rel, const char *leaf) {
    size_t n = strlen(root) + strlen(rel) + (leaf ? strlen(leaf) : 0) + 3;
    char *p = malloc(n);
    if (!p) {
        dl_err_nomem();
        return NULL;
    }
    if (leaf) snprintf(p, n, "%s/%s/%s", root, rel, leaf);
    else snprintf(p, n, "%s/%s", root, rel);
    return p;
}

static char *file_obj_dir(const file_store *f, const char *key) {
    char rel[16];
    snprintf(rel, sizeof rel, "objects/%02x", file_fan(key));
    return file_path(f->root, rel, NULL);
}

static char *file_tmp_name(const char *dir) {
    char leaf[64];
    snprintf(leaf, sizeof leaf, ".tmp.%ld.%lu", (long)getpid(),
             (unsigned long)atomic_fetch_add(&file_tmp_counter, 1));
    return file_path(dir, leaf, NULL);
}

/* ---- whole-file I/O ---- */

static int file_read_all(const char *path, const char *what, const char *key,
                         uint8_t **out, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return dl_err_set(DATALITH_ENOTFOUND, "%s '%s' not found", what,
                              key);
        return dl_err_set(DATALITH_EIO, "cannot open '%s': %s", path,
                          strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dl_err_set(DATALITH_EIO, "cannot stat '%s': %s", path,
                          strerror(e));
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *b = malloc(n ? n : 1);
    if (!b) {
        close(fd);
        return dl_err_nomem();
    }
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(b);
            close(fd);
            return dl_err_set(DATALITH_EIO, "cannot read '%s': %s", path,
                              strerror(e));
        }
        if (r == 0) break; /* shorter than stat said: framing reports it */
        got += (size_t)r;
    }
    close(fd);
    *out = b;
    *len = got;
    return 0;
}

/* Write data to a new temp file in `dir`, fsync it and rename it to
** `final`.  ENOENT on the temp file returns DATALITH_ENOTFOUND quietly so
** the caller can create the directory and retry. */
static int file_write_atomic(const char *dir, const char *final,
                             const uint8_t *data, size_t len) {
    char *tmp = file_tmp_name(dir);
    if (!tmp) return DATALITH_ENOMEM;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        int rc = e == ENOENT ? DATALITH_ENOTFOUND
                             : dl_err_set(DATALITH_EIO,
                                          "cannot create '%s': %s", tmp,
                                          strerror(e));
        free(tmp);
        return rc;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) goto fail;
        done += (size_t)w;
    }
    if (fsync(fd) != 0) goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, final) != 0) goto fail;
    free(tmp);
    return 0;
fail:;
    int e = errno;
    if (fd >= 0) close(fd);
    unlink(tmp);
    dl_err_set(DATALITH_EIO, "cannot write '%s': %s", final, strerror(e));
    free(tmp);
    return DATALITH_EIO;
}

/* ---- objects ---- */

static int file_get(dl_store *s, const char *key, uint8_t **out,
                    size_t *len) {
    file_store *f = (file_store *)s;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    char *dir = file_obj_dir(f, key);
    if (!dir) return DATALITH_ENOMEM;
    char *p = file_path(dir, key, NULL);
    free(dir);
    if (!p) return DATALITH_ENOMEM;
    rc = file_read_all(p, "object", key, out, len);
    free(p);
    return rc;
}

static int file_put(dl_store *s, const char *key, const uint8_t *data,
                    size_t len) {
    file_store *f = (file_store *)s;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    unsigned fan = file_fan(key);
    char *dir = file_obj_dir(f, key);
    if (!dir) return DATALITH_ENOMEM;
    char *p = file_path(dir, key, NULL);
    if (!p) {
        free(dir);
        return DATALITH_ENOMEM;
    }
    /* Objects are immutable: an existing complete copy is left alone.  A
    ** file of another size (only possible after outside damage) is
    ** replaced, atomically. */
    struct stat st;
    if (stat(p, &st) == 0 && (size_t)st.st_size == len) goto done;
    rc = file_write_atomic(dir, p, data, len);
    if (rc == DATALITH_ENOTFOUND) {
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            rc = dl_err_set(DATALITH_EIO, "cannot create directory '%s': %s",
                            dir, strerror(errno));
            goto done;
        }
        pthread_mutex_lock(&f->mu);
        f->objects_dirty = 1;
        pthread_mutex_unlock(&f->mu);
        rc = file_write_atomic(dir, p, data, len);
        if (rc == DATALITH_ENOTFOUND)
            rc = dl_err_set(DATALITH_EIO, "cannot create files in '%s': %s",
                            dir, strerror(ENOENT));
    }
    if (rc == 0) {
        pthread_mutex_lock(&f->mu);
        f->dirty[fan >> 3] |= (uint8_t)(1u << (fan & 7));
        pthread_mutex_unlock(&f->mu);
    }
done:
    free(p);
    free(dir);
    return rc;
}

static int file_del(dl_store *s, const char *key) {
    file_store *f = (file_store *)s;
    int rc = dl_store_check_key(key, "key");
    if (rc) return rc;
    char *dir = file_obj_dir(f, key);
    if (!dir) return DATALITH_ENOMEM;
    char *p = file_path(dir, key, NULL);
    free(dir);
    if (!p) return DATALITH_ENOMEM;
    if (unlink(p) != 0 && errno != ENOENT)
        rc = dl_err_set(DATALITH_EIO, "cannot delete '%s': %s", p,
                        strerror(errno));
    free(p);
    return rc;
}

static int file_list(dl_store *s, const char *prefix,
                     int (*cb)(void *ctx, const char *key), void *ctx) {
    file_store *f = (file_store *)s;
    size_t pl = prefix ? strlen(prefix) : 0;
    char *objs = file_path(f->root, "objects", NULL);
    if (!objs) return DATALITH_ENOMEM;
    int rc = 0;
    for (unsigned fan = 0; fan < 256 && !rc; fan++) {
        char sub[4];
        snprintf(sub, sizeof sub, "%02x", fan);
        char *dir = file_path(objs, sub, NULL);
        if (!dir) {
            rc = DATALITH_ENOMEM;
            break;
        }
        DIR *d = opendir(dir);
        if (!d) {
            if (errno != ENOENT)
                rc = dl_err_set(DATALITH_EIO, "cannot list '%s': %s", dir,
                                strerror(errno));
            free(dir);
            continue;
        }
        struct dirent *de;
        while (!rc && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') continue; /* ., .., temp files */
            if (pl && strncmp(de->d_name, prefix, pl) != 0) continue;
            rc = cb(ctx, de->d_name);
        }
        closedir(d);
        free(dir);
    }
    free(objs);
    return rc;
}

static int file_sync(dl_store *s) {
    file_store *f = (file_store *)s;
    uint8_t dirty[32];
    pthread_mutex_lock(&f->mu);
    memcpy(dirty, f->dirty, sizeof dirty);
    int od = f->objects_dirty;
    memset(f->dirty, 0, sizeof f->dirty);
    f->objects_dirty = 0;
    pthread_mutex_unlock(&f->mu);

    int rc = 0;
    for (unsigned fan = 0; fan < 256 && !rc; fan++) {
        if (!(dirty[fan >> 3] & (1u << (fan & 7)))) continue;
        char rel[16];
        snprintf(rel, sizeof rel, "objects/%02x", fan);
        char *dir = file_path(f->root, rel, NULL);
        if (!dir) {
            rc = DATALITH_ENOMEM;
            break;
        }
        rc = dl_fsync_dir(dir);
        free(dir);
        if (!rc) dirty[fan >> 3] &= (uint8_t)~(1u << (fan & 7));
    }
    if (!rc && od) {
        char *objs = file_path(f->root, "objects", NULL);
        rc = objs ? dl_fsync_dir(objs) : DATALITH_ENOMEM;
        free(objs);
        if (!rc) od = 0;
    }
    if (rc) { /* keep what is still unsynced for the next attempt */
        pthread_mutex_lock(&f->mu);
        for (int i = 0; i < 32; i++) f->dirty[i] |= dirty[i];
        f->objects_dirty |= od;
        pthread_mutex_unlock(&f->mu);
    }
    return rc;
}

/* ---- heads ---- */

static int file_head_get(dl_store *s, const char *branch, uint8_t **out,
                         size_t *len) {
    file_store *f = (file_store *)s;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    char *p = file_path(f->root, "heads", branch);
    if (!p) return DATALITH_ENOMEM;
    rc = file_read_all(p, "head", branch, out, len);
    free(p);
    return rc;
}

/* Take the cross-process head lock.  Caller holds cas_mu. */
static int file_cas_lock(file_store *f) {
    if (f->cas_fd < 0) {
        char *p = file_path(f->root, "heads.lock", NULL);
        if (!p) return DATALITH_ENOMEM;
        f->cas_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (f->cas_fd < 0) {
            int rc = dl_err_set(DATALITH_EIO, "cannot open '%s': %s", p,
                                strerror(errno));
            free(p);
            return rc;
        }
        free(p);
    }
    while (flock(f->cas_fd, LOCK_EX) != 0) {
        if (errno != EINTR)
            return dl_err_set(DATALITH_EIO, "cannot lock '%s/heads.lock': %s",
                              f->root, strerror(errno));
    }
    return 0;
}

static int file_head_cas(dl_store *s, const char *branch,
                         const uint8_t *expected, size_t elen,
                         const uint8_t *data, size_t len) {
    file_store *f = (file_store *)s;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    char *heads = file_path(f->root, "heads", NULL);
    char *p = file_path(f->root, "heads", branch);
    if (!heads || !p) {
        free(heads);
        free(p);
        return DATALITH_ENOMEM;
    }
    pthread_mutex_lock(&f->cas_mu);
    rc = file_cas_lock(f);
    if (rc) goto out;
    uint8_t *cur = NULL;
    size_t clen = 0;
    int g = file_read_all(p, "head", branch, &cur, &clen);
    if (g && g != DATALITH_ENOTFOUND) {
        rc = g;
        goto unlock;
    }
    int exists = g == 0;
    int match = expected ? (exists && clen == elen &&
                            (elen == 0 || memcmp(cur, expected, elen) == 0))
                         : !exists;
    free(cur);
    if (!match) {
        rc = dl_err_set(DATALITH_ECONFLICT,
                        "head '%s' was changed by another writer", branch);
        goto unlock;
    }
    rc = file_write_atomic(heads, p, data, len);
    if (rc == DATALITH_ENOTFOUND)
        rc = dl_err_set(DATALITH_EIO, "cannot write '%s': directory missing",
                        p);
    if (!rc) rc = dl_fsync_dir(heads);
unlock:
    flock(f->cas_fd, LOCK_UN);
out:
    pthread_mutex_unlock(&f->cas_mu);
    free(heads);
    free(p);
    return rc;
}

static int file_head_del(dl_store *s, const char *branch) {
    file_store *f = (file_store *)s;
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    char *heads = file_path(f->root, "heads", NULL);
    char *p = file_path(f->root, "heads", branch);
    if (!heads || !p) {
        free(heads);
        free(p);
        return DATALITH_ENOMEM;
    }
    pthread_mutex_lock(&f->cas_mu);
    rc = file_cas_lock(f);
    if (!rc) {
        if (unlink(p) != 0 && errno != ENOENT)
            rc = dl_err_set(DATALITH_EIO, "cannot delete '%s': %s", p,
                            strerror(errno));
        else
            rc = dl_fsync_dir(heads);
        flock(f->cas_fd, LOCK_UN);
    }
    pthread_mutex_unlock(&f->cas_mu);
    free(heads);
    free(p);
    return rc;
}

/* ---- lifetime ---- */

static int file_lock_writer(dl_store *s) {
    file_store *f = (file_store *)s;
    char *p = file_path(f->root, "lock", NULL);
    if (!p) return DATALITH_ENOMEM;
    int rc = dl_wlock_acquire(&f->wlock, p);
    free(p);
    return rc;
}

static void file_unlock_writer(dl_store *s) {
    dl_wlock_release(&((file_store *)s)->wlock);
}

static void file_close(dl_store *s) {
    file_store *f = (file_store *)s;
    dl_wlock_release(&f->wlock);
    if (f->cas_fd >= 0) close(f->cas_fd);
    if (f->ino_fd >= 0) close(f->ino_fd);
    pthread_mutex_destroy(&f->mu);
    pthread_mutex_destroy(&f->cas_mu);
    pthread_mutex_destroy(&f->ino_mu);
    free(f->root);
    free(f);
}

static int file_destroy(dl_store *s) {
    file_store *f = (file_store *)s;
    int rc = dl_rmtree(f->root);
    file_close(s);
    return rc;
}

/* ---- head_wait: inotify on heads/ ----
**
** head_cas renames a new file over heads/<branch>, so a watch on heads/ for
** renames and deletions wakes a waiter for any head change (of any branch:
** a spurious wake-up is allowed).  The watch is made once per handle and
** kept (creating and closing an inotify instance costs a kernel grace
** period, tens of milliseconds); old events are drained and the head is
** re-read before waiting, so a change just before the wait is not missed.
** One waiter at a time per handle; another one, or a system without
** inotify, gets DATALITH_EUNSUPPORTED and polls. */
static int file_head_wait(dl_store *s, const char *branch, const uint8_t *known,
                          size_t klen, int timeout_ms) {
    file_store *f = (file_store *)s;
    uint8_t *cur = NULL;
    size_t n = 0;
    char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int rc = dl_store_check_key(branch, "branch");
    if (rc) return rc;
    if (pthread_mutex_trylock(&f->ino_mu) != 0)
        return dl_err_set(DATALITH_EUNSUPPORTED, "another thread waits on this store");
    if (f->ino_fd < 0) {
        char *dir = file_path(f->root, "heads", NULL);
        int fd = dir ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
        if (fd < 0 || inotify_add_watch(fd, dir, IN_MOVED_TO | IN_DELETE | IN_CREATE |
                                                     IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
            rc = dir ? dl_err_set(DATALITH_EUNSUPPORTED, "cannot watch '%s': %s", dir,
                                  strerror(errno))
                     : DATALITH_ENOMEM;
            if (fd >= 0) close(fd);
            free(dir);
            pthread_mutex_unlock(&f->ino_mu);
            return rc;
        }
        free(dir);
        f->ino_fd = fd;
    }
    while (read(f->ino_fd, ev, sizeof ev) > 0) { /* drop what happened before */
    }
    rc = file_head_get(s, branch, &cur, &n);
    int same = rc == 0 ? known && n == klen && memcmp(cur, known, n) == 0
                       : rc == DATALITH_ENOTFOUND && !known;
    free(cur);
    if (rc) dl_err_clear(); /* the caller re-reads the head and sees it */
    if (same) {
        struct pollfd p = {f->ino_fd, POLLIN, 0};
        while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR) {
        }
    }
    pthread_mutex_unlock(&f->ino_mu);
    return 0;
}

static const dl_store_vtable file_vtable = {
    DL_STORE_VTABLE_V1, "file", file_get, file_put, file_del, file_list,
    file_sync, file_head_get, file_head_cas, file_head_del, file_lock_writer,
    file_unlock_writer, file_close, file_destroy, file_head_wait};

/* ---- open ---- */

static int file_is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A store exists when <path>/heads is a directory. */
static int file_store_exists(const char *root) {
    char *h = file_path(root, "heads", NULL);
    int e = h && file_is_dir(h);
    free(h);
    return e;
}

int dl_store_file_exists(const edn_value *cfg, int *out) {
    const char *path;
    int rc = dl_store_cfg_string(cfg, "path", &path);
    if (rc) return rc;
    *out = file_store_exists(path);
    return 0;
}

static int file_create_layout(const char *root) {
    int rc = dl_mkdirs(root);
    if (rc) return rc;
    const char *subs[] = {"objects", "heads"};
    for (int i = 0; i < 2; i++) {
        char *d = file_path(root, subs[i], NULL);
        if (!d) return DATALITH_ENOMEM;
        if (mkdir(d, 0755) != 0 && errno != EEXIST) {
            rc = dl_err_set(DATALITH_EIO, "cannot create directory '%s': %s",
                            d, strerror(errno));
            free(d);
            return rc;
        }
        free(d);
    }
    char *fmt = file_path(root, "format", NULL);
    if (!fmt) return DATALITH_ENOMEM;
    if (access(fmt, F_OK) != 0)
        rc = file_write_atomic(root, fmt, (const uint8_t *)FILE_FORMAT_LINE,
                               strlen(FILE_FORMAT_LINE));
    free(fmt);
    if (rc) return rc;
    return dl_fsync_dir(root);
}

/* Check <path>/format when present. */
static int file_check_format(const char *root) {
    char *fmt = file_path(root, "format", NULL);
    if (!fmt) return DATALITH_ENOMEM;
    uint8_t *b = NULL;
    size_t n = 0;
    int rc = file_read_all(fmt, "file", "format", &b, &n);
    if (rc == DATALITH_ENOTFOUND) {
        rc = 0;
        dl_err_clear();
    } else if (rc == 0) {
        size_t want = strlen(FILE_FORMAT_LINE);
        if (n != want || memcmp(b, FILE_FORMAT_LINE, want) != 0)
            rc = dl_err_set(DATALITH_EUNSUPPORTED,
                            "store '%s' has an unsupported format (%s): this "
                            "build reads \"datalith-file-store 1\"", root, fmt);
    }
    free(b);
    free(fmt);
    return rc;
}

int dl_store_file_open(const edn_value *cfg, int create, dl_store **out) {
    const char *path;
    int rc = dl_store_cfg_string(cfg, "path", &path);
    if (rc) return rc;
    if (!file_store_exists(path)) {
        if (!create)
            return dl_err_set(DATALITH_ENOTFOUND, "Backend does not exist.");
        rc = file_create_layout(path);
        if (rc) return rc;
    }
    rc = file_check_format(path);
    if (rc) return rc;
    file_store *f = calloc(1, sizeof *f);
    if (!f) return dl_err_nomem();
    size_t pl = strlen(path);
    while (pl > 1 && path[pl - 1] == '/') pl--;
    f->root = strndup(path, pl);
    if (!f->root) {
        free(f);
        return dl_err_nomem();
    }
    f->base.vt = &file_vtable;
    pthread_mutex_init(&f->mu, NULL);
    pthread_mutex_init(&f->cas_mu, NULL);
    pthread_mutex_init(&f->ino_mu, NULL);
    f->cas_fd = -1;
    f->ino_fd = -1;
    f->wlock = (dl_wlock)DL_WLOCK_INIT;
    *out = &f->base;
    return 0;
}
