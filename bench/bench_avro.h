/*
 * The demo's events as Avro, for bench_chain's Avro rows: an Avro schema
 * with the shape of conf/schemas/user-events.json, and an encoder that
 * writes a JSON record as Avro binary by that schema (a bench helper, not
 * ksink's code path: the pipeline only reads Avro). Records the schema
 * cannot hold (the corpus's invalid ones) are left out.
 */
#ifndef KS_BENCH_AVRO_H
#define KS_BENCH_AVRO_H

#include "base/buf.h"
#include "base/civil.h"
#include "stages/record/avro_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define BA_MONEY \
  "[\"null\",{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":12,\"scale\":2}]"
#define BA_OPT(t) "[\"null\",\"" t "\"]"
static const char bench_avro_schema[] =
    "{\"type\":\"record\",\"name\":\"UserEvent\",\"namespace\":\"demo\",\"fields\":["
    "{\"name\":\"user_id\",\"type\":\"long\"},"
    "{\"name\":\"event_type\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"properties\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Props\",\"fields\":["
    "{\"name\":\"url\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"referrer\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"device\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Device\",\"fields\":["
    "{\"name\":\"os\",\"type\":" BA_OPT("string") "},{\"name\":\"browser\",\"type\":" BA_OPT("string") "}]}]},"
    "{\"name\":\"load_ms\",\"type\":" BA_OPT("long") "},"
    "{\"name\":\"scroll_depth\",\"type\":" BA_OPT("double") "},"
    "{\"name\":\"element\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"x\",\"type\":" BA_OPT("long") "},{\"name\":\"y\",\"type\":" BA_OPT("long") "},"
    "{\"name\":\"query\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"results\",\"type\":" BA_OPT("long") "},"
    "{\"name\":\"filters\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"Filters\",\"fields\":["
    "{\"name\":\"category\",\"type\":" BA_OPT("string") "},{\"name\":\"in_stock\",\"type\":" BA_OPT("boolean") "}]}]},"
    "{\"name\":\"sku\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"name\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"price\",\"type\":" BA_MONEY "},"
    "{\"name\":\"quantity\",\"type\":" BA_OPT("long") "},"
    "{\"name\":\"currency\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"order_id\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"items\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"Item\",\"fields\":["
    "{\"name\":\"sku\",\"type\":\"string\"},{\"name\":\"price\",\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":12,\"scale\":2}},"
    "{\"name\":\"quantity\",\"type\":\"long\"}]}}]},"
    "{\"name\":\"total\",\"type\":" BA_MONEY "},"
    "{\"name\":\"coupon\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"method\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"plan\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"marketing_opt_in\",\"type\":" BA_OPT("boolean") "},"
    "{\"name\":\"success\",\"type\":" BA_OPT("boolean") "},"
    "{\"name\":\"reason\",\"type\":" BA_OPT("string") "},"
    "{\"name\":\"session_seconds\",\"type\":" BA_OPT("long") "}]}]}]}";

static void ba_long(ks_buf *b, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  while (z >= 0x80) {
    ks_buf_append_byte(b, (uint8_t)(z | 0x80));
    z >>= 7;
  }
  ks_buf_append_byte(b, (uint8_t)z);
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS[.f]Z" -> microseconds, or -1 */
static int ba_ts(const char *s, int64_t *us) {
  int y, mo, d, h, mi, se, n = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6)
    return -1;
  int64_t frac = 0, scale = 1000000;
  const char *p = s + n;
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++)
      if (scale > 1) {
        scale /= 10;
        frac += (*p - '0') * scale;
      }
  if (*p != 'Z')
    return -1; /* offsets: not in the demo corpus */
  *us = (ks_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
         h * 3600 + mi * 60 + se) * 1000000LL + frac;
  return 0;
}

static int ba_value(ks_buf *b, const ks_avro_node *n, yajl_val v);

static int ba_decimal(ks_buf *b, const ks_avro_node *n, yajl_val v) {
  if (v == NULL || !YAJL_IS_NUMBER(v))
    return -1;
  double x = YAJL_GET_DOUBLE(v) * 100.0;
  (void)n;
  int64_t u = (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
  uint8_t be[8];
  for (int i = 0; i < 8; i++)
    be[i] = (uint8_t)((uint64_t)u >> (56 - 8 * i));
  int s = 0;
  while (s < 7 && ((be[s] == 0 && !(be[s + 1] & 0x80)) ||
                   (be[s] == 0xff && (be[s + 1] & 0x80))))
    s++;
  ba_long(b, 8 - s);
  ks_buf_append(b, be + s, (size_t)(8 - s));
  return 0;
}

static int ba_value(ks_buf *b, const ks_avro_node *n, yajl_val v) {
  switch (n->kind) {
  case KS_AV_UNION: {
    int isnull = v == NULL || YAJL_IS_NULL(v);
    ba_long(b, isnull ? n->null_branch : 1 - n->null_branch);
    return isnull ? 0 : ba_value(b, n->kids[1 - n->null_branch], v);
  }
  case KS_AV_RECORD:
    if (v == NULL || !YAJL_IS_OBJECT(v))
      return -1;
    for (uint32_t i = 0; i < n->n; i++) {
      const char *path[] = {n->names[i], NULL};
      if (ba_value(b, n->kids[i], yajl_tree_get(v, path, yajl_t_any)))
        return -1;
    }
    for (size_t i = 0; i < YAJL_GET_OBJECT(v)->len; i++) { /* no extras */
      uint32_t k = 0;
      while (k < n->n && strcmp(n->names[k], YAJL_GET_OBJECT(v)->keys[i]))
        k++;
      if (k == n->n)
        return -1;
    }
    return 0;
  case KS_AV_ARRAY:
    if (v == NULL || !YAJL_IS_ARRAY(v))
      return -1;
    if (YAJL_GET_ARRAY(v)->len) {
      ba_long(b, (int64_t)YAJL_GET_ARRAY(v)->len);
      for (size_t i = 0; i < YAJL_GET_ARRAY(v)->len; i++)
        if (ba_value(b, n->kids[0], YAJL_GET_ARRAY(v)->values[i]))
          return -1;
    }
    ba_long(b, 0);
    return 0;
  case KS_AV_STRING: {
    const char *str = v && YAJL_IS_STRING(v) ? v->u.string : NULL;
    if (str == NULL)
      return -1;
    ba_long(b, (int64_t)strlen(str));
    ks_buf_append_str(b, str);
    return 0;
  }
  case KS_AV_LONG:
    if (n->logical == KS_AVL_TS_MICROS) {
      int64_t us;
      if (v == NULL || !YAJL_IS_STRING(v) || ba_ts(YAJL_GET_STRING(v), &us))
        return -1;
      ba_long(b, us);
      return 0;
    }
    if (v == NULL || !YAJL_IS_INTEGER(v))
      return -1;
    ba_long(b, YAJL_GET_INTEGER(v));
    return 0;
  case KS_AV_DOUBLE: {
    if (v == NULL || !YAJL_IS_NUMBER(v))
      return -1;
    double d = YAJL_GET_DOUBLE(v);
    ks_buf_append(b, &d, 8);
    return 0;
  }
  case KS_AV_BOOLEAN:
    if (v == NULL || !(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)))
      return -1;
    ks_buf_append_byte(b, YAJL_IS_TRUE(v) ? 1 : 0);
    return 0;
  case KS_AV_BYTES:
    return ba_decimal(b, n, v);
  default:
    return -1;
  }
}

/* The corpus's records that the schema holds, as Avro behind the wire
 * prefix of schema id 1: data/off like bench_corpus. Returns how many. */
static size_t bench_avro_corpus(const uint8_t *data, const size_t *off,
                                size_t n, const ks_avro_node *root,
                                ks_buf *out, size_t **out_off) {
  size_t *o = malloc((n + 1) * sizeof *o), k = 0;
  char *text = NULL;
  size_t cap = 0;
  o[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = off[i + 1] - off[i];
    if (len + 1 > cap) {
      cap = len + 1;
      text = realloc(text, cap);
    }
    memcpy(text, data + off[i], len);
    text[len] = 0;
    yajl_val v = yajl_tree_parse(text, NULL, 0);
    size_t mark = out->len;
    ks_buf_append(out, "\0\0\0\0\1", 5); /* the wire prefix, id 1 */
    if (v == NULL || ba_value(out, root, v))
      ks_buf_truncate(out, mark);
    else
      o[++k] = out->len;
    yajl_tree_free(v);
  }
  free(text);
  *out_off = o;
  return k;
}

#endif
