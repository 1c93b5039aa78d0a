/* The key and headers columns (keyhdr.h). */
#include "stages/record/keyhdr.h"
#include "base/jsontext.h"
#include "stages/record/wire.h"

#include <stdio.h>
#include <string.h>

size_t ks_keyhdr_base64(char *out, const uint8_t *p, size_t n) {
  static const char t[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0, i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = t[v >> 18];
    out[o++] = t[v >> 12 & 63];
    out[o++] = t[v >> 6 & 63];
    out[o++] = t[v & 63];
  }
  if (i < n) {
    uint32_t v =
        (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    out[o++] = t[v >> 18];
    out[o++] = t[v >> 12 & 63];
    out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
    out[o++] = '=';
  }
  return o;
}

static int refuse(ks_reject *rej, ks_reason reason, const char *msg) {
  ks_reject_clear(rej);
  rej->code = KS_EINVALID;
  rej->reason = reason;
  snprintf(rej->message, sizeof rej->message, "%s", msg);
  return KS_EINVALID;
}

static int append_b64(ks_column *c, int rep, const uint8_t *p, size_t n) {
  size_t start;
  ks_column_str_begin(c, &start);
  size_t need = (n + 2) / 3 * 4;
  int r = ks_buf_reserve(&c->values, need);
  if (r)
    return r;
  c->values.len +=
      ks_keyhdr_base64((char *)c->values.data + c->values.len, p, n);
  return c->max_rep ? ks_column_str_end_rep(c, start, rep)
                    : ks_column_str_end(c, start);
}

/* The JSON text without the whitespace around it, or NULL when it is
 * not one JSON text. */
static const uint8_t *json_text(const uint8_t *p, size_t n, size_t *out) {
  size_t end = ks_json_value_end(p, n);
  if (end == 0 || ks_json_ws_yajl(p + end, n - end) != n - end)
    return NULL;
  size_t start = ks_json_ws_yajl(p, end);
  *out = end - start;
  return p + start;
}

int ks_keyhdr_append_key(ks_column *c, ks_key_format f, const void *key,
                         size_t len, const void *hdr, size_t hdr_len,
                         ks_reject *rej) {
  const uint8_t *p = key;
  size_t ncp, n;
  ks_wire w;
  if (key == NULL)
    return ks_column_append_null(c);
  switch (f) {
  case KS_KEY_JSON_SCHEMA:
    if (ks_wire_parse(p, len, hdr, hdr_len, &w, rej)) {
      /* the message names the value; say it is the key */
      char m[sizeof rej->message];
      snprintf(m, sizeof m, "the record key%.400s", rej->message);
      snprintf(rej->message, sizeof rej->message, "%s", m);
      return KS_EINVALID;
    }
    if ((p = json_text(w.payload, w.len, &n)) == NULL)
      return refuse(rej, KS_REASON_MALFORMED_JSON,
                    "the record key is not one JSON text after its schema "
                    "id (key.format: json_schema)");
    return ks_column_append_str(c, p, n);
  case KS_KEY_STRING:
    if (ks_utf8_check(p, len, &ncp) != 0)
      return refuse(rej, KS_REASON_INVALID_UTF8,
                    "the record key is not valid UTF-8 (key.format: string; "
                    "bytes keeps any key)");
    return ks_column_append_str(c, p, len);
  case KS_KEY_JSON:
    if ((p = json_text(p, len, &n)) == NULL)
      return refuse(rej, KS_REASON_MALFORMED_JSON,
                    "the record key is not one JSON text (key.format: json)");
    return ks_column_append_str(c, p, n);
  default:
    return append_b64(c, 0, p, len);
  }
}

int ks_keyhdr_append_headers(ks_column *cols, const ks_header *h, size_t n,
                             ks_reject *rej) {
  ks_column *keys = &cols[0], *vals = &cols[1], *b64 = &cols[2];
  size_t ncp;
  int r, rep = 0, nb64 = 0;
  for (size_t i = 0; i < n; i++) {
    size_t nl = strlen(h[i].name);
    if (ks_utf8_check((const uint8_t *)h[i].name, nl, &ncp) != 0)
      return refuse(rej, KS_REASON_INVALID_UTF8,
                    "a header name is not valid UTF-8");
    int later = 0; /* the last of a repeated name wins */
    for (size_t j = i + 1; j < n && !later; j++)
      later = strcmp(h[i].name, h[j].name) == 0;
    if (later)
      continue;
    if ((r = ks_column_append_str_rep(keys, rep, h[i].name, nl)))
      return r;
    const uint8_t *v = h[i].value;
    if (v == NULL) {
      r = ks_column_append_levels(vals, rep, vals->max_def - 1);
    } else if (ks_utf8_check(v, h[i].len, &ncp) == 0) {
      r = ks_column_append_str_rep(vals, rep, v, h[i].len);
    } else {
      r = append_b64(vals, rep, v, h[i].len);
      if (r == 0)
        r = ks_column_append_str_rep(b64, nb64 ? 1 : 0, h[i].name, nl);
      nb64++;
    }
    if (r)
      return r;
    rep = 1;
  }
  if (rep == 0 && ((r = ks_column_append_levels(keys, 0, 1)) ||
                   (r = ks_column_append_levels(vals, 0, 1))))
    return r;
  if (nb64 == 0)
    return ks_column_append_levels(b64, 0, 0);
  return 0;
}
