/*
 * Records decoded by other means than yajl (avro.c) reach the validator
 * and the shredder through these: the same checks, transforms and appends
 * as the JSON path's callbacks (decode.c).
 */
#include "stages/record/decode_int.h"

#include <stdio.h>

/* Strings are never escaped here, so only their UTF-8 is checked. */
void ks_decoder_set_meta(ks_decoder *d, const ks_xf_meta *meta) {
  d->meta = meta;
}

void ks__decoder_begin(ks_decoder *d) {
  d->skip = 0;
  if (d->xf)
    ks_xf_begin(d->xf, d->meta);
  d->meta = NULL;
  d->err.code = 0;
  d->reason = KS_REASON_NONE;
  d->sh.reason = KS_REASON_NONE;
  ks_js_validator_reset(&d->v, &d->err);
  ks__dec_mark(d);
  d->in = NULL;
  d->in_len = 0;
  ks__sh_reset(&d->sh);
}

int ks__decoder_null(ks_decoder *d) {
  return ks__dec_callbacks.yajl_null(d) ? 0 : KS_EINVALID;
}

int ks__decoder_bool(ks_decoder *d, int b) {
  return ks__dec_callbacks.yajl_boolean(d, b) ? 0 : KS_EINVALID;
}

int ks__decoder_number(ks_decoder *d, const char *text, size_t n) {
  return ks__dec_callbacks.yajl_number(d, text, n) ? 0 : KS_EINVALID;
}

/* Like the parser's callbacks, these hand the events to the transforms
 * when the table has some. */
int ks__decoder_string(ks_decoder *d, const uint8_t *s, size_t n) {
  size_t ncp;
  if (!ks__dec_text_ok(d, s, n, &ncp, 0))
    return KS_EINVALID;
  int ok = d->xf ? ks_xf_callbacks()->yajl_string(ks_xf_entry(d->xf), s, n)
                 : ks__dec_sink_string(d, s, n, ncp);
  return ok ? 0 : KS_EINVALID;
}

int ks__decoder_key(ks_decoder *d, const uint8_t *k, size_t n) {
  size_t ncp;
  if (!ks__dec_text_ok(d, k, n, &ncp, 1))
    return KS_EINVALID;
  int ok = d->xf ? ks_xf_callbacks()->yajl_map_key(ks_xf_entry(d->xf), k, n)
                 : ks__dec_sink_key(d, k, n, ncp);
  return ok ? 0 : KS_EINVALID;
}

int ks__decoder_open(ks_decoder *d, int is_array) {
  int ok;
  if (d->xf)
    ok = is_array ? ks_xf_callbacks()->yajl_start_array(ks_xf_entry(d->xf))
                  : ks_xf_callbacks()->yajl_start_map(ks_xf_entry(d->xf));
  else
    ok = ks__dec_sink_open(d, is_array);
  return ok ? 0 : KS_EINVALID;
}

int ks__decoder_close(ks_decoder *d, int is_array) {
  int ok;
  if (d->xf)
    ok = is_array ? ks_xf_callbacks()->yajl_end_array(ks_xf_entry(d->xf))
                  : ks_xf_callbacks()->yajl_end_map(ks_xf_entry(d->xf));
  else
    ok = ks__dec_sink_close(d);
  return ok ? 0 : KS_EINVALID;
}

int ks__decoder_fail(ks_decoder *d, ks_reason reason, const char *msg) {
  if (d->err.code == 0) {
    d->reason = reason;
    ks_js_fail(&d->v, KS_EPARSE, 0, KS_KEYWORD_NONE, "%s", msg);
  }
  return KS_EINVALID;
}

int ks__decoder_end(ks_decoder *d, int failed, ks_reject *r) {
  if (r == NULL)
    r = &d->scratch;
  ks_reject_clear(r);
  int xs = d->xf ? ks_xf_status(d->xf) : 0;
  if (xs == KS_XF_FAILED) {
    r->code = KS_EINVALID;
    r->reason = KS_REASON_TRANSFORM;
    snprintf(r->message, sizeof r->message, "%s", ks_xf_error(d->xf));
    ks__dec_rollback(d);
    return r->code;
  }
  if (!failed)
    return ks__dec_accept(d, xs, r);
  if (d->err.code)
    ks__dec_take_error(d, r);
  else {
    r->code = KS_EPARSE;
    r->reason = KS_REASON_MALFORMED_JSON;
    snprintf(r->message, sizeof r->message, "malformed record");
  }
  ks__dec_rollback(d);
  return r->code;
}
