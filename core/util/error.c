/*
** error.c — thread-local last error (see error.h).
*/
#include "error.h"

#include <stdio.h>
#include <string.h>

typedef struct dl_err_slot {
    datalith_error pub;
    char msg[DL_ERR_MSG_MAX];
} dl_err_slot;

static _Thread_local dl_err_slot err_slot = {
    {DATALITH_OK, "", 0, 0, -1}, {0}};

int dl_err_vset(int code, const char *fmt, va_list ap) {
    err_slot.pub.code = code;
    err_slot.pub.line = 0;
    err_slot.pub.column = 0;
    err_slot.pub.offset = -1;
    vsnprintf(err_slot.msg, sizeof err_slot.msg, fmt, ap);
    err_slot.pub.message = err_slot.msg;
    return code;
}

int dl_err_set(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    dl_err_vset(code, fmt, ap);
    va_end(ap);
    return code;
}

int dl_err_set_pos(int code, long line, long column, long offset,
                   const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    dl_err_vset(code, fmt, ap);
    va_end(ap);
    err_slot.pub.line = line;
    err_slot.pub.column = column;
    err_slot.pub.offset = offset;
    /* Append the position so a message read on its own still names it. */
    if (line > 0) {
        size_t n = strlen(err_slot.msg);
        snprintf(err_slot.msg + n, sizeof err_slot.msg - n,
                 " (line %ld, column %ld)", line, column);
    }
    return code;
}

int dl_err_prefix(const char *fmt, ...) {
    char pre[256];
    char old[DL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t np = strlen(pre);
    memcpy(old, err_slot.msg, sizeof old);
    if (np >= sizeof err_slot.msg) np = sizeof err_slot.msg - 1;
    memcpy(err_slot.msg, pre, np);
    size_t room = sizeof err_slot.msg - 1 - np;
    size_t nold = 0;
    while (nold < sizeof old - 1 && old[nold]) nold++;
    if (nold > room) nold = room;
    memcpy(err_slot.msg + np, old, nold);
    err_slot.msg[np + nold] = '\0';
    err_slot.pub.message = err_slot.msg;
    return err_slot.pub.code;
}

void dl_err_clear(void) {
    err_slot.pub.code = DATALITH_OK;
    err_slot.pub.line = 0;
    err_slot.pub.column = 0;
    err_slot.pub.offset = -1;
    err_slot.msg[0] = '\0';
    err_slot.pub.message = err_slot.msg;
}

const datalith_error *dl_err_last(void) {
    err_slot.pub.message = err_slot.msg;
    return &err_slot.pub;
}

int dl_err_nomem(void) {
    static const char m[] = "out of memory";
    err_slot.pub.code = DATALITH_ENOMEM;
    err_slot.pub.line = 0;
    err_slot.pub.column = 0;
    err_slot.pub.offset = -1;
    memcpy(err_slot.msg, m, sizeof m);
    err_slot.pub.message = err_slot.msg;
    return DATALITH_ENOMEM;
}
