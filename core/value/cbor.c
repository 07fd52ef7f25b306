/*
** cbor.c — placeholder until the cbor codec lands; every call reports
** DATALITH_EUNSUPPORTED.
*/
#include "value.h"
#include "util/error.h"

int cbor_read(dl_arena *a, const uint8_t *bytes, size_t len,
              const edn_codec_opts *opts, edn_value *out) {
    return dl_err_set(DATALITH_EUNSUPPORTED, "CBOR reader not built yet");
}
int cbor_write(dl_buf *b, const edn_value *v) {
    return dl_err_set(DATALITH_EUNSUPPORTED, "CBOR writer not built yet");
}
