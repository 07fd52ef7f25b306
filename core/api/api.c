/*
** api.c — the public facade's hand-written entry points: errors, memory
** and version; and the implementation of value conversion, called by its
** generated entry point (core/api/dispatch_gen.c, from spec/api.edn).
*/
#include "datalith.h"

#include "impl_gen.h"

#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "value/value.h"

#include <stdlib.h>

DATALITH_API const datalith_error *datalith_error_last(void) {
    return dl_err_last();
}

DATALITH_API void datalith_error_clear(void) { dl_err_clear(); }

DATALITH_API void datalith_free(void *p) { free(p); }

DATALITH_API const char *datalith_status_name(int code) {
    switch (code) {
    case DATALITH_OK: return "DATALITH_OK";
    case DATALITH_ENOMEM: return "DATALITH_ENOMEM";
    case DATALITH_EINVAL: return "DATALITH_EINVAL";
    case DATALITH_EPARSE: return "DATALITH_EPARSE";
    case DATALITH_ELIMIT: return "DATALITH_ELIMIT";
    case DATALITH_ETYPE: return "DATALITH_ETYPE";
    case DATALITH_EIO: return "DATALITH_EIO";
    case DATALITH_ECORRUPT: return "DATALITH_ECORRUPT";
    case DATALITH_ELOCKED: return "DATALITH_ELOCKED";
    case DATALITH_ENOTFOUND: return "DATALITH_ENOTFOUND";
    case DATALITH_EEXISTS: return "DATALITH_EEXISTS";
    case DATALITH_ESCHEMA: return "DATALITH_ESCHEMA";
    case DATALITH_ETX: return "DATALITH_ETX";
    case DATALITH_EQUERY: return "DATALITH_EQUERY";
    case DATALITH_ECANCELED: return "DATALITH_ECANCELED";
    case DATALITH_EUNSUPPORTED: return "DATALITH_EUNSUPPORTED";
    case DATALITH_ECONFLICT: return "DATALITH_ECONFLICT";
    case DATALITH_EINTERNAL: return "DATALITH_EINTERNAL";
    default: return "DATALITH_E?";
    }
}

DATALITH_API const char *datalith_version(void) {
    return DATALITH_VERSION_STRING;
}

int dl_impl_value_convert(const char *in, size_t in_len,
                          int from, int to, char **out,
                          size_t *out_len) {
    dl_arena arena;
    dl_buf buf = DL_BUF_INIT;
    edn_value v;
    int rc;

    dl_arena_init(&arena, 0);
    switch (from) {
    case DATALITH_FORMAT_EDN: rc = edn_read(&arena, in, in_len, NULL, &v); break;
    case DATALITH_FORMAT_JSON: rc = json_read(&arena, in, in_len, NULL, &v); break;
    case DATALITH_FORMAT_CBOR:
        rc = cbor_read(&arena, (const uint8_t *)in, in_len, NULL, &v);
        break;
    default:
        rc = dl_err_set(DATALITH_EINVAL, "unknown input format %d", from);
    }
    if (rc == DATALITH_OK) {
        switch (to) {
        case DATALITH_FORMAT_EDN: rc = edn_write(&buf, &v); break;
        case DATALITH_FORMAT_JSON: rc = json_write(&buf, &v); break;
        case DATALITH_FORMAT_CBOR: rc = cbor_write(&buf, &v); break;
        default: rc = dl_err_set(DATALITH_EINVAL, "unknown output format %d", to);
        }
    }
    dl_arena_free(&arena);
    if (rc) {
        dl_buf_free(&buf);
        return rc;
    }
    *out = dl_buf_detach(&buf, out_len);
    if (!*out) return dl_err_nomem();
    return DATALITH_OK;
}
