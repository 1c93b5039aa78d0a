/*
 * The table schema as Delta's schemaString and the per-file statistics of
 * add.stats (PROTOCOL.md, "Schema Serialization Format" and "Per-file
 * Statistics").
 *
 * Choices, following PROTOCOL.md and the reference writer:
 *  - timestamps in stats are ISO-8601 UTC truncated down to milliseconds
 *    ("Timestamp columns are truncated down to milliseconds"); readers widen
 *    the max by 1 ms when they skip files, so max may be floored as well;
 *  - strings are cut to a 32 code point prefix ("String columns are cut off
 *    at a fixed prefix length"). A cut min stays <= every value; a cut max
 *    gets U+10FFFF appended so it still compares >= every value that shares
 *    the prefix (byte and code point order agree for UTF-8);
 *  - doubles that are NaN or infinite have no JSON form: that column gets
 *    no min/max (nullCount only), which readers treat as "unknown".
 */
#include "storage/delta/delta_int.h"

#include "base/civil.h"
#include "base/ks.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KS__DELTA_STATS_PREFIX 32

static const char *delta_type(ks_coltype t) {
  switch (t) {
  case KS_COL_BOOLEAN: return "boolean";
  case KS_COL_INT32: return "integer";
  case KS_COL_INT64: return "long";
  case KS_COL_DOUBLE: return "double";
  case KS_COL_STRING: return "string";
  case KS_COL_TIMESTAMP: return "timestamp";
  case KS_COL_DATE: return "date";
  }
  return NULL;
}

int ks_delta_schema_string(ks_buf *out, const ks_colspec *cols, size_t n) {
  size_t start = out->len;
  int rc = ks_buf_append_str(out, "{\"type\":\"struct\",\"fields\":[");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const char *type = delta_type(cols[i].type);
    if (type == NULL) {
      rc = KS_ESCHEMA;
      break;
    }
    if ((i && (rc = ks_buf_append_byte(out, ','))) ||
        (rc = ks_buf_append_str(out, "{\"name\":")) ||
        (rc = ks_buf_append_json_str(out, cols[i].name,
                                     strlen(cols[i].name))) ||
        (rc = ks_buf_appendf(out,
                             ",\"type\":\"%s\",\"nullable\":%s,"
                             "\"metadata\":{}}",
                             type, cols[i].nullable ? "true" : "false")))
      break;
  }
  if (rc == 0)
    rc = ks_buf_append_str(out, "]}");
  if (rc)
    ks_buf_truncate(out, start);
  return rc;
}


static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void ks__delta_format_date(char out[16], int64_t days) {
  int64_t y;
  unsigned m, d;
  ks_civil_from_days(days, &y, &m, &d);
  snprintf(out, 16, "%04" PRId64 "-%02u-%02u", y, m, d);
}

void ks__delta_format_ts_ms(char out[40], int64_t us) {
  int64_t ms = floor_div(us, 1000);
  int64_t days = floor_div(ms, 86400000);
  int64_t rem = ms - days * 86400000;
  int64_t y;
  unsigned m, d;
  ks_civil_from_days(days, &y, &m, &d);
  snprintf(out, 40, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d,
           (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60),
           (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000));
}

/* Shortest %g that reads back as the same double. */
static int append_double(ks_buf *b, double v) {
  char tmp[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (strtod(tmp, NULL) == v)
      break;
  }
  return ks_buf_append_str(b, tmp);
}

/* Byte length of the first `cps` code points of s (whole s if shorter). */
static size_t utf8_prefix(const uint8_t *s, size_t n, size_t cps) {
  size_t seen = 0;
  for (size_t i = 0; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) { /* a lead byte starts a code point */
      if (seen == cps)
        return i;
      seen++;
    }
  }
  return n;
}

static int append_str_stat(ks_buf *out, const ks_buf *v, int is_max) {
  const uint8_t *s = v->data ? v->data : (const uint8_t *)"";
  size_t cut = utf8_prefix(s, v->len, KS__DELTA_STATS_PREFIX);
  if (cut == v->len || !is_max)
    return ks_buf_append_json_str(out, (const char *)s, cut);
  ks_buf tmp;
  ks_buf_init(&tmp, 0);
  int rc = ks_buf_append(&tmp, s, cut);
  if (rc == 0)
    rc = ks_buf_append(&tmp, "\xF4\x8F\xBF\xBF", 4); /* U+10FFFF */
  if (rc == 0)
    rc = ks_buf_append_json_str(out, (const char *)tmp.data, tmp.len);
  ks_buf_free(&tmp);
  return rc;
}

static int has_json_bounds(const ks_colspec *c, const ks_pq_colstats *st) {
  if (!st->has_minmax)
    return 0;
  if (c->type == KS_COL_DOUBLE)
    return isfinite(st->min.d) && isfinite(st->max.d);
  return 1;
}

static int append_bound(ks_buf *out, const ks_colspec *c,
                        const ks_pq_colstats *st, int is_max) {
  char tmp[40];
  switch (c->type) {
  case KS_COL_BOOLEAN:
    return ks_buf_append_str(out,
                             (is_max ? st->max.i : st->min.i) ? "true"
                                                              : "false");
  case KS_COL_INT32:
  case KS_COL_INT64:
    return ks_buf_appendf(out, "%" PRId64, is_max ? st->max.i : st->min.i);
  case KS_COL_DOUBLE:
    return append_double(out, is_max ? st->max.d : st->min.d);
  case KS_COL_STRING:
    return append_str_stat(out, is_max ? &st->max_s : &st->min_s, is_max);
  case KS_COL_TIMESTAMP:
    ks__delta_format_ts_ms(tmp, is_max ? st->max.i : st->min.i);
    return ks_buf_appendf(out, "\"%s\"", tmp);
  case KS_COL_DATE:
    ks__delta_format_date(tmp, is_max ? st->max.i : st->min.i);
    return ks_buf_appendf(out, "\"%s\"", tmp);
  }
  return KS_ESCHEMA;
}

static int append_bounds(ks_buf *out, const char *field,
                         const ks_colspec *cols, size_t n,
                         const ks_pq_colstats *stats, int is_max) {
  int rc = ks_buf_appendf(out, ",\"%s\":{", field);
  int first = 1;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (!has_json_bounds(&cols[i], &stats[i]))
      continue;
    if ((!first && (rc = ks_buf_append_byte(out, ','))) ||
        (rc = ks_buf_append_json_str(out, cols[i].name,
                                     strlen(cols[i].name))) ||
        (rc = ks_buf_append_byte(out, ':')) ||
        (rc = append_bound(out, &cols[i], &stats[i], is_max)))
      return rc;
    first = 0;
  }
  return rc ? rc : ks_buf_append_byte(out, '}');
}

int ks_delta_stats_json(ks_buf *out, int64_t num_records,
                        const ks_colspec *cols, size_t n,
                        const ks_pq_colstats *stats) {
  size_t start = out->len;
  int rc = ks_buf_appendf(out, "{\"numRecords\":%" PRId64, num_records);
  if (rc == 0)
    rc = append_bounds(out, "minValues", cols, n, stats, 0);
  if (rc == 0)
    rc = append_bounds(out, "maxValues", cols, n, stats, 1);
  if (rc == 0)
    rc = ks_buf_append_str(out, ",\"nullCount\":{");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if ((i && (rc = ks_buf_append_byte(out, ','))) ||
        (rc = ks_buf_append_json_str(out, cols[i].name,
                                     strlen(cols[i].name))) ||
        (rc = ks_buf_appendf(out, ":%" PRId64, stats[i].null_count)))
      break;
  }
  if (rc == 0)
    rc = ks_buf_append_str(out, "}}");
  if (rc)
    ks_buf_truncate(out, start);
  return rc;
}
