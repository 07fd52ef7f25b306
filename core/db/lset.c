/*
** lset.c — the listener set and watcher thread shared by local and remote
** listeners (see lset.h for the rules).
*/
#define _GNU_SOURCE
#include "lset.h"

#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void dl_lset_init(dl_lset *s) {
    pthread_condattr_t ca;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    s->refs = 1;
}

void dl_lset_destroy(dl_lset *s) {
    while (s->head) {
        dl_lsnr *l = s->head;
        s->head = l->next;
        free(l->key);
        free(l);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

void dl_lset_timed_wait(dl_lset *s, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

char *dl_lset_key_text(const edn_value *key) {
    dl_buf b = DL_BUF_INIT;
    if (edn_write(&b, key) != 0) {
        dl_buf_free(&b);
        return NULL;
    }
    return dl_buf_detach(&b, NULL);
}

dl_lsnr *dl_lset_find(dl_lset *s, const char *kt) {
    dl_lsnr *l = s->head;
    while (l && (l->removed || strcmp(l->key, kt) != 0)) l = l->next;
    return l;
}

void dl_lset_append(dl_lset *s, dl_lsnr *l) {
    dl_lsnr **pp = &s->head;
    while (*pp) pp = &(*pp)->next;
    *pp = l;
}

static void unlink_free(dl_lset *s, dl_lsnr *l) {
    for (dl_lsnr **pp = &s->head; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    free(l->key);
    free(l);
}

int dl_lset_start(dl_lset *s, void *(*main)(void *)) {
    dl_lset_arg *wa = malloc(sizeof *wa);
    int err;
    if (!wa) return dl_err_nomem();
    wa->s = s;
    wa->gen = ++s->gen;
    s->refs++;
    if ((err = pthread_create(&s->thread, NULL, main, wa)) != 0) {
        s->refs--;
        free(wa);
        return dl_err_set(DATALITH_EIO, "listen: cannot start the watcher thread (%s)",
                          strerror(err));
    }
    s->have_thread = 1;
    return 0;
}

int dl_lset_stop(dl_lset *s, void (*wake)(void *wctx), void *wctx) {
    if (!s->have_thread) return 0;
    s->gen++;
    s->have_thread = 0;
    pthread_cond_broadcast(&s->cv);
    if (pthread_equal(pthread_self(), s->thread)) {
        pthread_detach(s->thread); /* exits when the callback returns */
        return 0;
    }
    if (wake) wake(wctx);
    pthread_t t = s->thread;
    pthread_mutex_unlock(&s->mu);
    pthread_join(t, NULL);
    pthread_mutex_lock(&s->mu);
    return 1;
}

void dl_lset_enter(dl_lset *s, dl_lsnr *l) {
    l->busy = 1;
    pthread_mutex_unlock(&s->mu);
}

dl_lsnr *dl_lset_leave(dl_lset *s, dl_lsnr *l) {
    dl_lsnr *nx;
    pthread_mutex_lock(&s->mu);
    l->busy = 0;
    nx = l->next;
    if (l->removed == 2) unlink_free(s, l); /* its own callback removed it */
    pthread_cond_broadcast(&s->cv);
    return nx;
}

int dl_lset_remove(dl_lset *s, dl_lsnr *l, int on_watcher) {
    int any = 0;
    if (l->busy && on_watcher) {
        l->removed = 2;
    } else {
        l->removed = 1;
        while (l->busy) pthread_cond_wait(&s->cv, &s->mu);
        unlink_free(s, l);
    }
    for (dl_lsnr *x = s->head; x; x = x->next) any |= !x->removed;
    return any;
}
