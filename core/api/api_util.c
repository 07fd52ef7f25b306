/*
** api_util.c — value arguments and results of the public facade (see
** api_util.h).
*/
#include "api_util.h"

#include "datalith.h"
#include "util/buf.h"
#include "util/error.h"

int dl_api_read(dl_arena *a, const char *p, size_t n, int fmt,
                const char *what, edn_value *out) {
    int rc;
    if (!p && n) return dl_err_set(DATALITH_EINVAL, "%s: NULL data", what);
    if (!p) p = "";
    switch (fmt) {
    case DATALITH_FORMAT_EDN: rc = edn_read(a, p, n, NULL, out); break;
    case DATALITH_FORMAT_JSON: rc = json_read(a, p, n, NULL, out); break;
    case DATALITH_FORMAT_CBOR:
        rc = cbor_read(a, (const uint8_t *)p, n, NULL, out);
        break;
    default:
        return dl_err_set(DATALITH_EINVAL, "%s: unknown format %d", what, fmt);
    }
    if (rc) dl_err_prefix("%s: ", what);
    return rc;
}

int dl_api_write(const edn_value *v, int fmt, char **out, size_t *out_len) {
    dl_buf b = DL_BUF_INIT;
    int rc;
    if (!out) return dl_err_set(DATALITH_EINVAL, "NULL output pointer");
    switch (fmt) {
    case DATALITH_FORMAT_EDN: rc = edn_write(&b, v); break;
    case DATALITH_FORMAT_JSON: rc = json_write(&b, v); break;
    case DATALITH_FORMAT_CBOR: rc = cbor_write(&b, v); break;
    default: rc = dl_err_set(DATALITH_EINVAL, "unknown format %d", fmt);
    }
    if (rc) {
        dl_buf_free(&b);
        return rc;
    }
    size_t len = 0;
    *out = dl_buf_detach(&b, &len);
    if (!*out) return dl_err_nomem();
    if (out_len) *out_len = len;
    return DATALITH_OK;
}
