/*
** error.h — the thread-local last error shared by every module.
**
** Every fallible internal function returns an int status (0 ok, a negative
** DATALITH_E* code otherwise) and, when it fails, records the details here
** with dl_err_set().  The public facade copies nothing: datalith_error_last()
** returns a pointer into this thread's slot, valid until the next call into
** the library on the same thread.
*/
#ifndef DL_ERROR_H
#define DL_ERROR_H

#include "datalith.h"

#include <stdarg.h>

#if defined(__GNUC__)
#define DL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DL_PRINTF(f, a)
#endif

/* Record an error for this thread and return `code` (so callers can write
** `return dl_err_set(...)`).  The message is formatted with printf rules
** and truncated to DL_ERR_MSG_MAX bytes. */
int dl_err_set(int code, const char *fmt, ...) DL_PRINTF(2, 3);
int dl_err_vset(int code, const char *fmt, va_list ap);

/* Same, with a source position (1-based line and column, 0-based byte
** offset).  Parse errors always carry one. */
int dl_err_set_pos(int code, long line, long column, long offset,
                   const char *fmt, ...) DL_PRINTF(5, 6);

/* Prefix the current message with `prefix` (used by outer layers to add
** context such as "while reading key X: "). Returns the current code. */
int dl_err_prefix(const char *fmt, ...) DL_PRINTF(1, 2);

/* Forget the current error (code becomes DATALITH_OK). */
void dl_err_clear(void);

/* The current error of this thread; never NULL. */
const datalith_error *dl_err_last(void);

/* Out of memory: records DATALITH_ENOMEM without allocating. */
int dl_err_nomem(void);

#define DL_ERR_MSG_MAX 1024

#endif
