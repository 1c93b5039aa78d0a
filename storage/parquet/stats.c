#include "storage/parquet/internal.h"

#include <string.h>

/* Unsigned byte-wise order, a proper prefix first: Parquet's order for
 * BYTE_ARRAY / STRING. */
int ks__pq_bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = n ? memcmp(a, b, n) : 0; /* empty values may have NULL data */
  if (c)
    return c;
  return an < bn ? -1 : an > bn;
}

/* Separate tight loops per type rather than one loop fused with the copy
 * into the page: the copy is a memcpy and these vectorize, which beats a
 * value-at-a-time loop doing both. */
#define SCAN_INT(ctype, width)                                                 \
  do {                                                                         \
    const uint8_t *p = c->values.data + v0 * (width);                          \
    ctype lo, hi, x;                                                           \
    memcpy(&lo, p, sizeof lo);                                                 \
    hi = lo;                                                                   \
    for (size_t k = 1; k < v1 - v0; k++) {                                     \
      memcpy(&x, p + k * (width), sizeof x);                                   \
      lo = x < lo ? x : lo;                                                    \
      hi = x > hi ? x : hi;                                                    \
    }                                                                          \
    if (!st->has_minmax || lo < st->min.i)                                     \
      st->min.i = lo;                                                          \
    if (!st->has_minmax || hi > st->max.i)                                     \
      st->max.i = hi;                                                          \
    st->has_minmax = 1;                                                        \
  } while (0)

static void scan_bool(const ks_column *c, size_t v0, size_t v1,
                      ks__pq_chunkstats *st) {
  const uint8_t *p = c->values.data + v0;
  uint8_t any = 0, all = 1;
  for (size_t k = 0; k < v1 - v0; k++) {
    any |= p[k];
    all &= p[k];
  }
  if (!st->has_minmax || all < st->min.i)
    st->min.i = all;
  if (!st->has_minmax || any > st->max.i)
    st->max.i = any;
  st->has_minmax = 1;
}

/* NaN is skipped (counted in nan_count); a column of only NaN has no
 * bounds. Zero bounds are fixed up at encoding time (-0.0 min, +0.0 max). */
static void scan_double(const ks_column *c, size_t v0, size_t v1,
                        ks__pq_chunkstats *st) {
  const uint8_t *p = c->values.data + v0 * 8;
  int has = st->has_minmax;
  double lo = st->min.d, hi = st->max.d;
  int64_t nan = 0;
  for (size_t k = 0; k < v1 - v0; k++) {
    double x;
    memcpy(&x, p + k * 8, sizeof x);
    if (x != x) {
      nan++;
      continue;
    }
    if (!has) {
      lo = hi = x;
      has = 1;
      continue;
    }
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
  }
  st->nan_count += nan;
  st->has_minmax = has;
  st->min.d = lo;
  st->max.d = hi;
}

void ks__pq_stats_fixed(const ks_column *c, size_t v0, size_t v1,
                        ks__pq_chunkstats *st) {
  if (v1 <= v0)
    return;
  switch (c->spec->type) {
  case KS_COL_BOOLEAN:
    scan_bool(c, v0, v1, st);
    break;
  case KS_COL_INT32:
  case KS_COL_DATE:
    SCAN_INT(int32_t, 4);
    break;
  case KS_COL_INT64:
  case KS_COL_TIMESTAMP:
    SCAN_INT(int64_t, 8);
    break;
  case KS_COL_DOUBLE:
    scan_double(c, v0, v1, st);
    break;
  case KS_COL_STRING:
    break; /* scanned while encoding (page.c) */
  }
}

static void fix_zero_bounds(double *lo, double *hi) {
  if (*lo == 0.0)
    *lo = -0.0;
  if (*hi == 0.0)
    *hi = 0.0;
}

void ks__pq_stats_merge(ks_pq_colstats *f, const ks_colspec *spec,
                        const ks__pq_chunkstats *st) {
  f->null_count += st->null_count;
  if (!st->has_minmax)
    return;
  int first = !f->has_minmax;
  f->has_minmax = 1;
  switch (spec->type) {
  case KS_COL_DOUBLE:
    if (first || st->min.d < f->min.d)
      f->min.d = st->min.d;
    if (first || st->max.d > f->max.d)
      f->max.d = st->max.d;
    fix_zero_bounds(&f->min.d, &f->max.d);
    break;
  case KS_COL_STRING:
    /* copied once per row group, not per value */
    if (first || ks__pq_bytes_cmp(st->min_s, st->min_n, f->min_s.data,
                                  f->min_s.len) < 0) {
      ks_buf_reset(&f->min_s);
      ks_buf_append(&f->min_s, st->min_s, st->min_n);
    }
    if (first || ks__pq_bytes_cmp(st->max_s, st->max_n, f->max_s.data,
                                  f->max_s.len) > 0) {
      ks_buf_reset(&f->max_s);
      ks_buf_append(&f->max_s, st->max_s, st->max_n);
    }
    break;
  default:
    if (first || st->min.i < f->min.i)
      f->min.i = st->min.i;
    if (first || st->max.i > f->max.i)
      f->max.i = st->max.i;
    break;
  }
}

/* A Statistics struct as field `id` of the open struct. Bounds are PLAIN
 * bytes (no length prefix for strings, one byte for BOOLEAN). The legacy
 * min/max (fields 1, 2) are defined as signed order: written for the
 * signed numeric types only, where they equal min_value/max_value. */
void ks__pq_stats_encode(ks__thrift *t, int16_t id, const ks_colspec *spec,
                         const ks__pq_chunkstats *st) {
  uint8_t lo[8], hi[8];
  const uint8_t *plo = lo, *phi = hi;
  size_t n = 0;
  int legacy = 1;
  if (st->has_minmax) {
    switch (spec->type) {
    case KS_COL_BOOLEAN:
      lo[0] = (uint8_t)st->min.i;
      hi[0] = (uint8_t)st->max.i;
      n = 1;
      legacy = 0;
      break;
    case KS_COL_INT32:
    case KS_COL_DATE: {
      int32_t a = (int32_t)st->min.i, b = (int32_t)st->max.i;
      memcpy(lo, &a, 4);
      memcpy(hi, &b, 4);
      n = 4;
      break;
    }
    case KS_COL_INT64:
    case KS_COL_TIMESTAMP:
      memcpy(lo, &st->min.i, 8);
      memcpy(hi, &st->max.i, 8);
      n = 8;
      break;
    case KS_COL_DOUBLE: {
      double a = st->min.d, b = st->max.d;
      fix_zero_bounds(&a, &b);
      memcpy(lo, &a, 8);
      memcpy(hi, &b, 8);
      n = 8;
      break;
    }
    case KS_COL_STRING:
      legacy = 0;
      break;
    }
  }
  size_t nlo = n, nhi = n;
  if (spec->type == KS_COL_STRING) {
    plo = st->min_s;
    phi = st->max_s;
    nlo = st->min_n;
    nhi = st->max_n;
  }
  ks__thrift_field_struct(t, id);
  if (st->has_minmax && legacy) {
    ks__thrift_field_binary(t, 1, phi, nhi);
    ks__thrift_field_binary(t, 2, plo, nlo);
  }
  ks__thrift_field_i64(t, 3, st->null_count);
  if (st->has_minmax) {
    ks__thrift_field_binary(t, 5, phi, nhi);
    ks__thrift_field_binary(t, 6, plo, nlo);
    ks__thrift_field_bool(t, 7, 1);
    ks__thrift_field_bool(t, 8, 1);
  }
  if (spec->type == KS_COL_DOUBLE)
    ks__thrift_field_i64(t, 9, st->nan_count);
  ks__thrift_struct_end(t);
}
