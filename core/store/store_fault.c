/*
** store_fault.c — the fault-injecting store wrapper (see store_fault.h).
*/
#include "store_fault.h"

#include "util/error.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct fault_store {
    dl_store base;
    dl_store *inner;
    int own;
    pthread_mutex_t mu;
    unsigned ops;
    unsigned long nth, seen, fired;
    int mode, sticky;
} fault_store;

/* Count an operation of kind `op`; return the mode to apply or 0. */
static int fault_check(fault_store *f, unsigned op) {
    int mode = 0;
    pthread_mutex_lock(&f->mu);
    if (f->nth && (f->ops & op)) {
        f->seen++;
        if (f->seen == f->nth || (f->sticky && f->seen > f->nth)) {
            mode = f->mode;
            f->fired++;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return mode;
}

static int fault_eio(const char *op, const char *key) {
    return dl_err_set(DATALITH_EIO, "injected fault: %s '%s' failed", op,
                      key);
}

static int fault_get(dl_store *s, const char *key, uint8_t **out,
                     size_t *len) {
    fault_store *f = (fault_store *)s;
    return f->inner->vt->get(f->inner, key, out, len);
}

static int fault_put(dl_store *s, const char *key, const uint8_t *data,
                     size_t len) {
    fault_store *f = (fault_store *)s;
    int mode = fault_check(f, DL_FAULT_PUT);
    if (!mode) return f->inner->vt->put(f->inner, key, data, len);
    if (mode == DL_FAULT_FAIL) return fault_eio("put", key);
    int rc = f->inner->vt->put(f->inner, key, data, len / 2);
    if (rc) return rc;
    return mode == DL_FAULT_TEAR ? fault_eio("put", key) : 0;
}

static int fault_del(dl_store *s, const char *key) {
    fault_store *f = (fault_store *)s;
    if (fault_check(f, DL_FAULT_DEL)) return fault_eio("delete", key);
    return f->inner->vt->del(f->inner, key);
}

static int fault_list(dl_store *s, const char *prefix,
                      int (*cb)(void *ctx, const char *key), void *ctx) {
    fault_store *f = (fault_store *)s;
    return f->inner->vt->list(f->inner, prefix, cb, ctx);
}

static int fault_sync(dl_store *s) {
    fault_store *f = (fault_store *)s;
    if (fault_check(f, DL_FAULT_SYNC)) return fault_eio("sync", "store");
    return f->inner->vt->sync(f->inner);
}

static int fault_head_get(dl_store *s, const char *branch, uint8_t **out,
                          size_t *len) {
    fault_store *f = (fault_store *)s;
    return f->inner->vt->head_get(f->inner, branch, out, len);
}

static int fault_head_cas(dl_store *s, const char *branch,
                          const uint8_t *expected, size_t elen,
                          const uint8_t *data, size_t len) {
    fault_store *f = (fault_store *)s;
    int mode = fault_check(f, DL_FAULT_HEAD_CAS);
    if (!mode)
        return f->inner->vt->head_cas(f->inner, branch, expected, elen, data,
                                      len);
    if (mode == DL_FAULT_FAIL) return fault_eio("head update", branch);
    int rc = f->inner->vt->head_cas(f->inner, branch, expected, elen, data,
                                    len / 2);
    if (rc) return rc;
    return mode == DL_FAULT_TEAR ? fault_eio("head update", branch) : 0;
}

static int fault_head_del(dl_store *s, const char *branch) {
    fault_store *f = (fault_store *)s;
    if (fault_check(f, DL_FAULT_DEL)) return fault_eio("head delete", branch);
    return f->inner->vt->head_del(f->inner, branch);
}

static int fault_lock_writer(dl_store *s) {
    fault_store *f = (fault_store *)s;
    return f->inner->vt->lock_writer(f->inner);
}

static void fault_unlock_writer(dl_store *s) {
    fault_store *f = (fault_store *)s;
    f->inner->vt->unlock_writer(f->inner);
}

static void fault_close(dl_store *s) {
    fault_store *f = (fault_store *)s;
    if (f->own) f->inner->vt->close(f->inner);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static int fault_destroy(dl_store *s) {
    fault_store *f = (fault_store *)s;
    int rc = 0;
    if (f->own) {
        rc = f->inner->vt->destroy(f->inner);
        f->own = 0;
    }
    fault_close(s);
    return rc;
}

static const dl_store_vtable fault_vtable = {
    DL_STORE_VTABLE_V1, "fault", fault_get, fault_put, fault_del, fault_list,
    fault_sync, fault_head_get, fault_head_cas, fault_head_del,
    fault_lock_writer, fault_unlock_writer, fault_close, fault_destroy, NULL};

int dl_fault_wrap(dl_store *inner, int own_inner, dl_store **out) {
    if (!inner) return dl_err_set(DATALITH_EINVAL, "no store to wrap");
    fault_store *f = calloc(1, sizeof *f);
    if (!f) return dl_err_nomem();
    f->base.vt = &fault_vtable;
    f->inner = inner;
    f->own = own_inner;
    pthread_mutex_init(&f->mu, NULL);
    *out = &f->base;
    return 0;
}

void dl_fault_arm(dl_store *s, unsigned ops, unsigned long nth, int mode,
                  int sticky) {
    fault_store *f = (fault_store *)s;
    pthread_mutex_lock(&f->mu);
    f->ops = ops;
    f->nth = nth;
    f->mode = mode;
    f->sticky = sticky;
    f->seen = f->fired = 0;
    pthread_mutex_unlock(&f->mu);
}

unsigned long dl_fault_seen(dl_store *s) {
    fault_store *f = (fault_store *)s;
    pthread_mutex_lock(&f->mu);
    unsigned long n = f->seen;
    pthread_mutex_unlock(&f->mu);
    return n;
}

unsigned long dl_fault_fired(dl_store *s) {
    fault_store *f = (fault_store *)s;
    pthread_mutex_lock(&f->mu);
    unsigned long n = f->fired;
    pthread_mutex_unlock(&f->mu);
    return n;
}
