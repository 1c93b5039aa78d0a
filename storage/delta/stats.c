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
 *    no min/max (nullCount only), which readers treat as "unknown";
 *  - decimals are JSON numbers carrying their scale ("12.34"), written
 *    digit by digit from the unscaled integer so 38 digits stay exact;
 *  - statistics nest as the structs do ({"a":{"b":1}}, "mirroring the
 *    schema of the actual data"). A leaf's nullCount counts rows where it
 *    or an enclosing struct is null: the Parquet leaf count, one entry per
 *    row when nothing repeats. Arrays and maps get none: the reference
 *    writer keeps no min/max inside them, and its nullCount for such a
 *    column counts rows where the array or map itself is null, which the
 *    Parquet leaf counts cannot give (they also count empty lists and null
 *    elements). An absent statistic means "unknown" to readers, a wrong
 *    one would skip files wrongly. A struct left with no member is
 *    omitted.
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
  case KS_COL_INT8: return "byte";
  case KS_COL_INT16: return "short";
  case KS_COL_FLOAT: return "float";
  case KS_COL_BINARY: return "binary";
  case KS_COL_TIMESTAMP_NTZ: return "timestamp_ntz";
  }
  return NULL;
}

/* ks_pq_schema_root builds trees and so takes a mutable one; reading
 * through it changes nothing. */
static const ks_pq_node *schema_root(const ks_pq_schema *s) {
  return ks_pq_schema_root((ks_pq_schema *)s);
}

static int append_field(ks_buf *out, const ks_pq_node *n);

static int append_fields(ks_buf *out, const ks_pq_node *g) {
  int rc = ks_buf_append_str(out, "{\"type\":\"struct\",\"fields\":[");
  for (size_t i = 0; rc == 0 && i < g->nchildren; i++) {
    if (i)
      rc = ks_buf_append_byte(out, ',');
    if (rc == 0)
      rc = append_field(out, g->children[i]);
  }
  return rc ? rc : ks_buf_append_str(out, "]}");
}

/* The value of "type" (or elementType, keyType, valueType) for a node:
 * a quoted primitive name or a struct/array/map object. The repeated
 * group of a LIST or MAP is the array/map itself, not a field. */
static int append_type(ks_buf *out, const ks_pq_node *n) {
  if (n->is_leaf) {
    if (n->precision > 0)
      return ks_buf_appendf(out, "\"decimal(%d,%d)\"", n->precision, n->scale);
    const char *type = delta_type(n->spec.type);
    return type ? ks_buf_appendf(out, "\"%s\"", type) : KS_ESCHEMA;
  }
  if (n->nchildren == 0)
    return KS_ESCHEMA;
  const ks_pq_node *g = n->children[0];
  int rc;
  switch (n->group) {
  case KS_PQ_STRUCT:
    return append_fields(out, n);
  case KS_PQ_LIST:
    if (g->nchildren != 1)
      return KS_ESCHEMA;
    if ((rc = ks_buf_append_str(out, "{\"type\":\"array\",\"elementType\":")) ||
        (rc = append_type(out, g->children[0])))
      return rc;
    return ks_buf_appendf(
        out, ",\"containsNull\":%s}",
        g->children[0]->repetition == KS_PQ_OPTIONAL ? "true" : "false");
  case KS_PQ_MAP:
    if (g->nchildren != 2)
      return KS_ESCHEMA;
    if ((rc = ks_buf_append_str(out, "{\"type\":\"map\",\"keyType\":")) ||
        (rc = append_type(out, g->children[0])) ||
        (rc = ks_buf_append_str(out, ",\"valueType\":")) ||
        (rc = append_type(out, g->children[1])))
      return rc;
    return ks_buf_appendf(
        out, ",\"valueContainsNull\":%s}",
        g->children[1]->repetition == KS_PQ_OPTIONAL ? "true" : "false");
  }
  return KS_ESCHEMA;
}

/* Delta has no bare repeated field: repetition only comes from the
 * LIST/MAP shapes, whose repeated group append_type walks through. */
static int append_field(ks_buf *out, const ks_pq_node *n) {
  if (n->repetition == KS_PQ_REPEATED)
    return KS_ESCHEMA;
  int rc;
  if ((rc = ks_buf_append_str(out, "{\"name\":")) ||
      (rc = ks_buf_append_json_str(out, n->name, strlen(n->name))) ||
      (rc = ks_buf_append_str(out, ",\"type\":")) || (rc = append_type(out, n)))
    return rc;
  return ks_buf_appendf(out, ",\"nullable\":%s,\"metadata\":{}}",
                        n->repetition == KS_PQ_OPTIONAL ? "true" : "false");
}

int ks_delta_schema_string_tree(ks_buf *out, const ks_pq_schema *s) {
  size_t start = out->len;
  int rc = append_fields(out, schema_root(s));
  if (rc)
    ks_buf_truncate(out, start);
  return rc;
}

int ks_delta_schema_string(ks_buf *out, const ks_colspec *cols, size_t n) {
  ks_pq_schema *s = ks_pq_schema_flat(cols, n);
  if (s == NULL)
    return KS_ESCHEMA;
  int rc = ks_delta_schema_string_tree(out, s);
  ks_pq_schema_free(s);
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

/* Shortest %g that reads back as the same float (Spark states float
 * stats as the float's own text, 0.1 rather than 0.100000001). */
static int append_float(ks_buf *b, double v) {
  char tmp[40];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (strtof(tmp, NULL) == (float)v)
      break;
  }
  return ks_buf_append_str(b, tmp);
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

/* The unscaled value as a JSON number with `scale` fraction digits,
 * exactly (a double would lose digits past 2^53): 1234, scale 2 ->
 * 12.34; -5, scale 2 -> -0.05. */
static int append_decimal(ks_buf *out, ks_int128 v, int scale) {
  /* the magnitude as unsigned, so the most negative value negates too */
  unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
  char digits[48]; /* least significant first; 2^127 has 39 digits */
  int n = 0;
  do {
    digits[n++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  while (n <= scale) /* a 0 before the point: "0.05" */
    digits[n++] = '0';
  char tmp[64];
  size_t k = 0;
  if (v < 0)
    tmp[k++] = '-';
  for (int i = n - 1; i >= 0; i--) {
    tmp[k++] = digits[i];
    if (i == scale && scale > 0)
      tmp[k++] = '.';
  }
  return ks_buf_append(out, tmp, k);
}

/* DECIMAL beyond 18 digits: min_s/max_s hold the 16-byte little-endian
 * two's complement value. */
static ks_int128 read_int128(const ks_buf *b) {
  unsigned __int128 u = 0;
  for (int i = 15; i >= 0; i--)
    u = u << 8 | b->data[i];
  return (ks_int128)u;
}

static int is_wide_decimal(const ks_pq_node *leaf) {
  return leaf->precision > 0 && leaf->spec.type == KS_COL_STRING;
}

static int has_json_bounds(const ks_pq_node *leaf, const ks_pq_colstats *st) {
  if (!st->has_minmax)
    return 0;
  if (is_wide_decimal(leaf))
    return st->min_s.len == 16 && st->max_s.len == 16;
  if (leaf->spec.type == KS_COL_DOUBLE || leaf->spec.type == KS_COL_FLOAT)
    return isfinite(st->min.d) && isfinite(st->max.d);
  /* binary: no bounds, as Spark collects none for BinaryType */
  return leaf->spec.type != KS_COL_BINARY;
}

static int append_bound(ks_buf *out, const ks_pq_node *leaf,
                        const ks_pq_colstats *st, int is_max) {
  char tmp[40];
  if (is_wide_decimal(leaf))
    return append_decimal(out, read_int128(is_max ? &st->max_s : &st->min_s),
                          leaf->scale);
  if (leaf->precision > 0)
    return append_decimal(out, is_max ? st->max.i : st->min.i, leaf->scale);
  switch (leaf->spec.type) {
  case KS_COL_BOOLEAN:
    return ks_buf_append_str(out,
                             (is_max ? st->max.i : st->min.i) ? "true"
                                                              : "false");
  case KS_COL_INT32:
  case KS_COL_INT64:
  case KS_COL_INT8:
  case KS_COL_INT16:
    return ks_buf_appendf(out, "%" PRId64, is_max ? st->max.i : st->min.i);
  case KS_COL_DOUBLE:
    return append_double(out, is_max ? st->max.d : st->min.d);
  case KS_COL_FLOAT:
    return append_float(out, is_max ? st->max.d : st->min.d);
  case KS_COL_BINARY:
    break;
  case KS_COL_TIMESTAMP_NTZ: /* the same text without the zone */
    ks__delta_format_ts_ms(tmp, is_max ? st->max.i : st->min.i);
    tmp[strlen(tmp) - 1] = 0;
    return ks_buf_appendf(out, "\"%s\"", tmp);
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

typedef enum stat_kind { STAT_MIN, STAT_MAX, STAT_NULLS } stat_kind;

typedef struct stats_ctx {
  ks_buf *out;
  const ks_pq_colstats *stats;
  size_t nleaves;
  stat_kind kind;
} stats_ctx;

static int append_member(const stats_ctx *c, const ks_pq_node *n,
                         size_t *count) {
  int rc;
  if ((*count && (rc = ks_buf_append_byte(c->out, ','))) ||
      (rc = ks_buf_append_json_str(c->out, n->name, strlen(n->name))))
    return rc;
  (*count)++;
  return ks_buf_append_byte(c->out, ':');
}

/* The members of one struct's statistics object, mirroring its fields:
 * leaves with a value, nested structs with at least one member. Repeated
 * subtrees (LIST, MAP) are skipped whole. `count` gets the members
 * written. */
static int append_stats_members(const stats_ctx *c, const ks_pq_node *g,
                                size_t *count) {
  *count = 0;
  for (size_t i = 0; i < g->nchildren; i++) {
    const ks_pq_node *n = g->children[i];
    int rc;
    if (n->repetition == KS_PQ_REPEATED)
      continue;
    if (n->is_leaf) {
      if (n->leaf >= c->nleaves)
        return KS_EINVAL;
      const ks_pq_colstats *st = &c->stats[n->leaf];
      if (c->kind == STAT_NULLS) {
        if ((rc = append_member(c, n, count)) ||
            (rc = ks_buf_appendf(c->out, "%" PRId64, st->null_count)))
          return rc;
      } else if (has_json_bounds(n, st)) {
        if ((rc = append_member(c, n, count)) ||
            (rc = append_bound(c->out, n, st, c->kind == STAT_MAX)))
          return rc;
      }
      continue;
    }
    if (n->group != KS_PQ_STRUCT)
      continue;
    size_t mark = c->out->len, inner;
    if ((rc = append_member(c, n, count)) ||
        (rc = ks_buf_append_byte(c->out, '{')) ||
        (rc = append_stats_members(c, n, &inner)))
      return rc;
    if (inner == 0) { /* a struct with nothing to say is left out */
      ks_buf_truncate(c->out, mark);
      (*count)--;
    } else if ((rc = ks_buf_append_byte(c->out, '}'))) {
      return rc;
    }
  }
  return 0;
}

static int append_stats_object(stats_ctx *c, const ks_pq_schema *s,
                               const char *field, stat_kind kind) {
  size_t count;
  int rc;
  c->kind = kind;
  if ((rc = ks_buf_appendf(c->out, ",\"%s\":{", field)) ||
      (rc = append_stats_members(c, schema_root(s), &count)))
    return rc;
  return ks_buf_append_byte(c->out, '}');
}

int ks_delta_stats_json_tree(ks_buf *out, int64_t num_records,
                             const ks_pq_schema *s,
                             const ks_pq_colstats *stats) {
  size_t start = out->len;
  stats_ctx c = {
      .out = out, .stats = stats, .nleaves = ks_pq_schema_nleaves(s)};
  int rc = ks_buf_appendf(out, "{\"numRecords\":%" PRId64, num_records);
  if (rc == 0)
    rc = append_stats_object(&c, s, "minValues", STAT_MIN);
  if (rc == 0)
    rc = append_stats_object(&c, s, "maxValues", STAT_MAX);
  if (rc == 0)
    rc = append_stats_object(&c, s, "nullCount", STAT_NULLS);
  if (rc == 0)
    rc = ks_buf_append_byte(out, '}');
  if (rc)
    ks_buf_truncate(out, start);
  return rc;
}

int ks_delta_stats_json(ks_buf *out, int64_t num_records,
                        const ks_colspec *cols, size_t n,
                        const ks_pq_colstats *stats) {
  ks_pq_schema *s = ks_pq_schema_flat(cols, n);
  if (s == NULL)
    return KS_ESCHEMA;
  int rc = ks_delta_stats_json_tree(out, num_records, s, stats);
  ks_pq_schema_free(s);
  return rc;
}
