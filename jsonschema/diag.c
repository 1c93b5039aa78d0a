/*
 * The text of a failure: the JSON pointer of the failing value, built from
 * the validator's frames, and the message beside it. Called by the
 * streaming validator (validate.c), the evaluator (eval.c) and, through
 * ks_js_fail, by callers reporting failures of their own; calls no one
 * back. Also the keyword names of jsonschema.h.
 */
#include "jsonschema/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KS_KEYWORD_NAME_(n, s) s,
static const char *keyword_names[] = {KS_KEYWORD_MAP(KS_KEYWORD_NAME_)};
#undef KS_KEYWORD_NAME_

const char *ks_keyword_name(int keyword) {
  return keyword >= 0 && keyword < KS_KEYWORD_COUNT ? keyword_names[keyword]
                                                    : "other";
}

static size_t put(char *out, size_t outlen, size_t o, const char *s, size_t n) {
  for (size_t i = 0; i < n && o + 1 < outlen; i++)
    out[o++] = s[i];
  out[o < outlen ? o : outlen - 1] = 0;
  return o;
}

/* Byte truncation may cut a UTF-8 sequence: drop the incomplete tail. */
static size_t trim_partial(char *out, size_t o) {
  size_t l = o;
  while (l > 0 && o - l < 4 && ((uint8_t)out[l - 1] & 0xC0) == 0x80)
    l--;
  if (l > 0 && (uint8_t)out[l - 1] >= 0xC0) {
    uint8_t c = (uint8_t)out[l - 1];
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (o - (l - 1) < need)
      o = l - 1;
  }
  out[o] = 0;
  return o;
}

static size_t render_path(const ks_js_validator *v, size_t nseg, char *out,
                          size_t outlen) {
  size_t o = 0;
  out[0] = 0;
  for (size_t i = 0; i < nseg; i++) {
    const ks_js_frame *f = &v->stack[i];
    o = put(out, outlen, o, "/", 1);
    if (f->is_array) {
      char num[24];
      int k = snprintf(num, sizeof num, "%" PRIu32, f->count - 1);
      o = put(out, outlen, o, num, (size_t)k);
      continue;
    }
    if (f->key_len == 0)
      continue; /* "" as a key: the segment is just "/" */
    const char *key = f->key_at ? (const char *)f->key_at
                                : (const char *)v->keys.data + f->key_off;
    for (uint32_t k = 0; k < f->key_len; k++) {
      if (key[k] == '~')
        o = put(out, outlen, o, "~0", 2);
      else if (key[k] == '/')
        o = put(out, outlen, o, "~1", 2);
      else
        o = put(out, outlen, o, key + k, 1);
    }
  }
  return trim_partial(out, o);
}

int ks__v_reject(ks_js_validator *v, int code, size_t nseg, const char *suffix,
                 ks_keyword keyword, const char *text) {
  ks_js_error *rej = v->err;
  if (rej == NULL)
    return code;
  rej->code = code;
  rej->keyword = keyword;
  rej->is_null = 0;
  size_t plen = render_path(v, nseg, rej->path, sizeof rej->path);
  plen = put(rej->path, sizeof rej->path, plen, suffix, strlen(suffix));
  plen = trim_partial(rej->path, plen);
  memcpy(rej->message, rej->path, plen);
  size_t o = put(rej->message, sizeof rej->message, plen, ": ", 2);
  o = put(rej->message, sizeof rej->message, o, text, strlen(text));
  trim_partial(rej->message, o);
  return code;
}

int ks_js_fail(ks_js_validator *v, int code, int container, ks_keyword keyword,
               const char *fmt, ...) {
  if (v->err == NULL)
    return code;
  char text[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  size_t nseg = v->depth - (container && v->depth ? 1 : 0);
  return ks__v_reject(v, code, nseg, "", keyword, text);
}

void ks_js_quote(char *out, size_t outlen, const uint8_t *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t keep = ks_utf8_prefix(s, n, 64), o = 0;
  o = put(out, outlen, o, "\"", 1);
  for (size_t i = 0; i < keep; i++) {
    char e[7];
    size_t el = 2;
    e[0] = '\\';
    switch (s[i]) {
    case '"':
      e[1] = '"';
      break;
    case '\\':
      e[1] = '\\';
      break;
    case '\n':
      e[1] = 'n';
      break;
    case '\r':
      e[1] = 'r';
      break;
    case '\t':
      e[1] = 't';
      break;
    default:
      if (s[i] < 0x20 || s[i] == 0x7f) {
        memcpy(e + 1, "u00", 3);
        e[4] = hex[s[i] >> 4];
        e[5] = hex[s[i] & 15];
        el = 6;
      } else {
        e[0] = (char)s[i];
        el = 1;
      }
    }
    o = put(out, outlen, o, e, el);
  }
  o = put(out, outlen, o, keep < n ? "\"..." : "\"", keep < n ? 4 : 1);
}

const char *ks__kind_name(unsigned kind) {
  switch (kind) {
  case KS_JS_T_NULL:
    return "null";
  case KS_JS_T_BOOLEAN:
    return "boolean";
  case KS_JS_T_INTEGER:
    return "integer";
  case KS_JS_T_NUMBER:
    return "number";
  case KS_JS_T_STRING:
    return "string";
  case KS_JS_T_OBJECT:
    return "object";
  default:
    return "array";
  }
}

/* "integer or null" for the expected side of a type mismatch. */
void ks__type_list(unsigned types, char *out, size_t outlen) {
  static const unsigned order[] = {KS_JS_T_OBJECT,  KS_JS_T_ARRAY,  KS_JS_T_STRING,
                                   KS_JS_T_INTEGER, KS_JS_T_NUMBER, KS_JS_T_BOOLEAN,
                                   KS_JS_T_NULL};
  size_t o = 0;
  out[0] = 0;
  if ((types & KS_JS_T_NUMBER))
    types &= ~(unsigned)KS_JS_T_INTEGER; /* number covers integer */
  for (size_t i = 0; i < KS_ARRAY_SIZE(order); i++) {
    if (!(types & order[i]))
      continue;
    if (o)
      o = put(out, outlen, o, " or ", 4);
    const char *nm = ks__kind_name(order[i]);
    o = put(out, outlen, o, nm, strlen(nm));
  }
}
