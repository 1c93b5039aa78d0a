/*
 * Statistics: min/max in the order each logical type defines (signed for
 * integers, dates, timestamps and decimals; false < true; IEEE 754 for
 * DOUBLE with NaN left out and zero bounds widened to -0.0 / +0.0;
 * unsigned bytes for strings), null counts, and the encoding of bounds as
 * the file states them, with long strings truncated.
 */
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
 * into the page: the copy is a memcpy and these vectorize. */
#define SCAN_INT(ctype, field)                                                 \
  do {                                                                         \
    const uint8_t *p = ks__pq_values(c) + s->v0 * sizeof(ctype);                 \
    size_t n = s->v1 - s->v0;                                                  \
    ctype lo, hi, x;                                                           \
    memcpy(&lo, p, sizeof lo);                                                 \
    hi = lo;                                                                   \
    for (size_t k = 1; k < n; k++) {                                           \
      memcpy(&x, p + k * sizeof(ctype), sizeof x);                             \
      lo = x < lo ? x : lo;                                                    \
      hi = x > hi ? x : hi;                                                    \
    }                                                                          \
    if (!st->has_minmax || lo < st->min.field)                                 \
      st->min.field = lo;                                                      \
    if (!st->has_minmax || hi > st->max.field)                                 \
      st->max.field = hi;                                                      \
    st->has_minmax = 1;                                                        \
  } while (0)

static void scan_bool(const ks_column *c, const ks__pq_span *s,
                      ks__pq_stats *st) {
  const uint8_t *p = ks__pq_values(c) + s->v0;
  uint8_t any = 0, all = 1;
  for (size_t k = 0; k < s->v1 - s->v0; k++) {
    any |= p[k];
    all &= p[k];
  }
  if (!st->has_minmax || all < st->min.i)
    st->min.i = all;
  if (!st->has_minmax || any > st->max.i)
    st->max.i = any;
  st->has_minmax = 1;
}

/* DOUBLE, and FLOAT (width 4) widened to double: every float is exactly
 * a double, so the bounds written back as float are the values'. */
static void scan_double(const ks_column *c, const ks__pq_span *s,
                        ks__pq_stats *st) {
  const uint8_t *p = ks__pq_values(c) + s->v0 * c->width;
  int has = st->has_minmax;
  double lo = st->min.d, hi = st->max.d;
  int64_t nan = 0;
  for (size_t k = 0; k < s->v1 - s->v0; k++) {
    double x;
    if (c->width == 4) {
      float f;
      memcpy(&f, p + k * 4, sizeof f);
      x = f;
    } else {
      memcpy(&x, p + k * 8, sizeof x);
    }
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

/* The string bounds in st widened to take p[0..n). */
static inline void widen(ks__pq_stats *st, const uint8_t *p, size_t n) {
  if (!st->has_minmax) {
    st->min_s = st->max_s = p;
    st->min_n = st->max_n = n;
    st->has_minmax = 1;
  } else if (ks__pq_bytes_cmp(p, n, st->min_s, st->min_n) < 0) {
    st->min_s = p;
    st->min_n = n;
  } else if (ks__pq_bytes_cmp(p, n, st->max_s, st->max_n) > 0) {
    st->max_s = p;
    st->max_n = n;
  }
}

static void scan_bytes(const ks_column *c, const ks__pq_span *s,
                       ks__pq_stats *st) {
  const uint8_t *lens = c->lens.data;
  const uint8_t *src = ks__pq_values(c) + s->s0;
  for (size_t v = s->v0; v < s->v1; v++) {
    uint32_t len;
    memcpy(&len, lens + v * 4, 4);
    widen(st, src, len);
    src += len;
  }
}

/* A page of a dictionary-encoded chunk holds few distinct strings, most of
 * them many times: each is compared with the bounds at its first
 * occurrence in the page only (a mark per dictionary entry), instead of
 * every value with memcmp. */
void ks__pq_stats_scan_dict(const ks_column *c, ks__pq_dict *d,
                            const uint32_t *idx, const ks__pq_span *s,
                            ks__pq_stats *st) {
  st->null_count += (int64_t)((s->e1 - s->e0) - (s->v1 - s->v0));
  if (s->v1 <= s->v0)
    return;
  uint8_t *seen = ks__pq_dict_marks(d);
  const uint8_t *base = ks__pq_values(c);
  for (size_t v = s->v0; v < s->v1; v++) {
    uint32_t i = idx[v];
    if (seen[i])
      continue;
    seen[i] = 1;
    widen(st, base + d->ents[i].off, d->ents[i].len);
  }
  for (size_t v = s->v0; v < s->v1; v++)
    seen[idx[v]] = 0;
}

void ks__pq_stats_scan(const ks_column *c, ks__pq_kind kind,
                       const ks__pq_span *s, ks__pq_stats *st) {
  st->null_count += (int64_t)((s->e1 - s->e0) - (s->v1 - s->v0));
  if (s->v1 <= s->v0)
    return;
  switch (kind) {
  case KS__K_BOOL:
    scan_bool(c, s, st);
    break;
  case KS__K_I32:
    SCAN_INT(int32_t, i);
    break;
  case KS__K_I64:
    SCAN_INT(int64_t, i);
    break;
  case KS__K_FLBA:
    SCAN_INT(ks_int128, q);
    break;
  case KS__K_DOUBLE:
  case KS__K_FLOAT:
    scan_double(c, s, st);
    break;
  case KS__K_BYTES:
    scan_bytes(c, s, st);
    break;
  }
}

void ks__pq_stats_add(ks__pq_stats *to, ks__pq_kind kind,
                      const ks__pq_stats *st) {
  to->null_count += st->null_count;
  to->nan_count += st->nan_count;
  if (!st->has_minmax)
    return;
  int first = !to->has_minmax;
  to->has_minmax = 1;
  switch (kind) {
  case KS__K_DOUBLE:
  case KS__K_FLOAT:
    if (first || st->min.d < to->min.d)
      to->min.d = st->min.d;
    if (first || st->max.d > to->max.d)
      to->max.d = st->max.d;
    break;
  case KS__K_BYTES:
    if (first ||
        ks__pq_bytes_cmp(st->min_s, st->min_n, to->min_s, to->min_n) < 0) {
      to->min_s = st->min_s;
      to->min_n = st->min_n;
    }
    if (first ||
        ks__pq_bytes_cmp(st->max_s, st->max_n, to->max_s, to->max_n) > 0) {
      to->max_s = st->max_s;
      to->max_n = st->max_n;
    }
    break;
  case KS__K_FLBA:
    if (first || st->min.q < to->min.q)
      to->min.q = st->min.q;
    if (first || st->max.q > to->max.q)
      to->max.q = st->max.q;
    break;
  default:
    if (first || st->min.i < to->min.i)
      to->min.i = st->min.i;
    if (first || st->max.i > to->max.i)
      to->max.i = st->max.i;
    break;
  }
}

static void fix_zero_bounds(double *lo, double *hi) {
  if (*lo == 0.0)
    *lo = -0.0;
  if (*hi == 0.0)
    *hi = 0.0;
}

static void set_bytes(ks_buf *b, const void *p, size_t n) {
  ks_buf_reset(b);
  ks_buf_append(b, p, n);
}

void ks__pq_stats_merge(ks_pq_colstats *f, ks__pq_kind kind,
                        const ks__pq_stats *st) {
  f->null_count += st->null_count;
  if (!st->has_minmax)
    return;
  int first = !f->has_minmax;
  f->has_minmax = 1;
  switch (kind) {
  case KS__K_DOUBLE:
  case KS__K_FLOAT:
    if (first || st->min.d < f->min.d)
      f->min.d = st->min.d;
    if (first || st->max.d > f->max.d)
      f->max.d = st->max.d;
    fix_zero_bounds(&f->min.d, &f->max.d);
    break;
  case KS__K_BYTES:
    /* copied once per row group, not per value */
    if (first || ks__pq_bytes_cmp(st->min_s, st->min_n, f->min_s.data,
                                  f->min_s.len) < 0)
      set_bytes(&f->min_s, st->min_s, st->min_n);
    if (first || ks__pq_bytes_cmp(st->max_s, st->max_n, f->max_s.data,
                                  f->max_s.len) > 0)
      set_bytes(&f->max_s, st->max_s, st->max_n);
    break;
  case KS__K_FLBA: {
    ks_int128 lo, hi;
    if (!first) {
      memcpy(&lo, f->min_s.data, 16);
      memcpy(&hi, f->max_s.data, 16);
    }
    if (first || st->min.q < lo)
      set_bytes(&f->min_s, &st->min.q, 16);
    if (first || st->max.q > hi)
      set_bytes(&f->max_s, &st->max.q, 16);
    break;
  }
  default:
    if (first || st->min.i < f->min.i)
      f->min.i = st->min.i;
    if (first || st->max.i > f->max.i)
      f->max.i = st->max.i;
    break;
  }
}

/* ---- truncation ------------------------------------------------------ */

/* Length of the UTF-8 sequence starting at s[i], or 0 if invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n, size_t i) {
  uint8_t b = s[i];
  size_t k = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3
                          : (b >> 3) == 30 ? 4 : 0;
  if (k == 0 || i + k > n)
    return 0;
  for (size_t j = 1; j < k; j++)
    if ((s[i + j] & 0xc0) != 0x80)
      return 0;
  return k;
}

/* Start of every code point of s, or -1 if s is not UTF-8. The cut is the
 * last boundary <= max. */
static long utf8_cut(const uint8_t *s, size_t n, size_t max) {
  size_t i = 0, cut = 0;
  while (i < n) {
    size_t k = utf8_seq(s, n, i);
    if (!k)
      return -1;
    if (i + k > max)
      break;
    i += k;
    cut = i;
  }
  return (long)cut;
}

size_t ks__pq_trunc_min(const uint8_t *s, size_t n, size_t max) {
  if (n <= max)
    return n;
  long cut = utf8_cut(s, n, max);
  return cut < 0 ? max : (size_t)cut;
}

static uint32_t decode_cp(const uint8_t *p, size_t k) {
  if (k == 1)
    return p[0];
  uint32_t cp = p[0] & (0x7f >> k);
  for (size_t j = 1; j < k; j++)
    cp = cp << 6 | (p[j] & 0x3f);
  return cp;
}

static size_t encode_cp(uint32_t cp, uint8_t *p) {
  if (cp < 0x80) {
    p[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    p[0] = (uint8_t)(0xc0 | cp >> 6);
    p[1] = (uint8_t)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    p[0] = (uint8_t)(0xe0 | cp >> 12);
    p[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    p[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
  }
  p[0] = (uint8_t)(0xf0 | cp >> 18);
  p[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
  p[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
  p[3] = (uint8_t)(0x80 | (cp & 0x3f));
  return 4;
}

/* UTF-8 keeps code point order in byte order and no sequence is a prefix
 * of another, so prefix + (last code point + 1) is above every string
 * starting with the prefix, and stays valid UTF-8 for readers that show
 * bounds as text. Without a code point to increment (all U+10FFFF), or for
 * bytes that are not UTF-8, the last byte below 0xFF is incremented. */
int ks__pq_trunc_max(const uint8_t *s, size_t n, size_t max, uint8_t *out,
                     size_t *out_n) {
  long cut = utf8_cut(s, n, max);
  if (cut >= 0) {
    size_t end = (size_t)cut;
    while (end > 0) {
      size_t st = end - 1;
      while (st > 0 && (s[st] & 0xc0) == 0x80)
        st--;
      uint32_t cp = decode_cp(s + st, end - st) + 1;
      if (cp == 0xd800)
        cp = 0xe000;
      if (cp <= 0x10ffff) {
        memcpy(out, s, st);
        *out_n = st + encode_cp(cp, out + st);
        return 1;
      }
      end = st;
    }
    return 0;
  }
  size_t end = n < max ? n : max;
  while (end > 0 && s[end - 1] == 0xff)
    end--;
  if (end == 0)
    return 0;
  memcpy(out, s, end);
  out[end - 1]++;
  *out_n = end;
  return 1;
}

/* ---- bounds as written ----------------------------------------------- */

static size_t blob_put(ks_pq_writer *w, const void *p, size_t n) {
  size_t at = w->blob.len;
  ks_buf_append(&w->blob, p, n); /* unlimited scratch */
  return at;
}

int ks__pq_bounds_make(ks_pq_writer *w, const ks_pq_node *leaf,
                       const ks__pq_stats *st, ks__pq_bounds *b) {
  ks__pq_kind kind = ks__pq_kind_of(leaf);
  memset(b, 0, sizeof *b);
  b->null_count = st->null_count;
  b->nan_count = st->nan_count;
  b->has_nan = kind == KS__K_DOUBLE || kind == KS__K_FLOAT;
  b->max_exact = b->min_exact = 1;
  if (!st->has_minmax)
    return 0;
  uint8_t lo[16], hi[16];
  size_t n = 0;
  b->legacy = kind == KS__K_I32 || kind == KS__K_I64 ||
              kind == KS__K_DOUBLE || kind == KS__K_FLOAT;
  switch (kind) {
  case KS__K_BOOL:
    lo[0] = (uint8_t)st->min.i;
    hi[0] = (uint8_t)st->max.i;
    n = 1;
    break;
  case KS__K_I32: {
    int32_t a = (int32_t)st->min.i, z = (int32_t)st->max.i;
    memcpy(lo, &a, 4);
    memcpy(hi, &z, 4);
    n = 4;
    break;
  }
  case KS__K_I64:
    memcpy(lo, &st->min.i, 8);
    memcpy(hi, &st->max.i, 8);
    n = 8;
    break;
  case KS__K_DOUBLE: {
    double a = st->min.d, z = st->max.d;
    fix_zero_bounds(&a, &z);
    memcpy(lo, &a, 8);
    memcpy(hi, &z, 8);
    n = 8;
    break;
  }
  case KS__K_FLOAT: {
    double a = st->min.d, z = st->max.d;
    fix_zero_bounds(&a, &z);
    float fa = (float)a, fz = (float)z;
    memcpy(lo, &fa, 4);
    memcpy(hi, &fz, 4);
    n = 4;
    break;
  }
  case KS__K_FLBA: {
    n = (size_t)ks_pq_decimal_width(leaf->precision);
    uint8_t a[16], z[16];
    memcpy(a, &st->min.q, 16);
    memcpy(z, &st->max.q, 16);
    for (size_t k = 0; k < n; k++) {
      lo[k] = a[n - 1 - k];
      hi[k] = z[n - 1 - k];
    }
    break;
  }
  case KS__K_BYTES: {
    size_t ln = ks__pq_trunc_min(st->min_s, st->min_n, w->stats_bytes);
    b->min_off = blob_put(w, st->min_s, ln);
    b->min_n = ln;
    b->min_exact = ln == st->min_n;
    b->has_min = 1;
    if (st->max_n <= w->stats_bytes) {
      b->max_off = blob_put(w, st->max_s, st->max_n);
      b->max_n = st->max_n;
      b->has_max = 1;
    } else {
      uint8_t tmp[4096];
      size_t cap = w->stats_bytes < sizeof tmp - 4 ? w->stats_bytes
                                                   : sizeof tmp - 4;
      size_t tn;
      b->max_exact = 0;
      if (ks__pq_trunc_max(st->max_s, st->max_n, cap, tmp, &tn)) {
        b->max_off = blob_put(w, tmp, tn);
        b->max_n = tn;
        b->has_max = 1;
      }
    }
    return 0;
  }
  }
  b->min_off = blob_put(w, lo, n);
  b->max_off = blob_put(w, hi, n);
  b->min_n = b->max_n = n;
  b->has_min = b->has_max = 1;
  return 0;
}

/* A Statistics struct as field `id` of the open struct. Bounds are PLAIN
 * bytes (no length prefix for strings). The deprecated min/max (fields 1,
 * 2) are defined as signed order: written for the signed numeric types
 * only, where they equal min_value/max_value. */
void ks__pq_bounds_encode(ks__thrift *t, int16_t id, const ks_pq_writer *w,
                          const ks__pq_bounds *b) {
  const uint8_t *blob = w->blob.data;
  ks__thrift_field_struct(t, id);
  if (b->legacy && b->has_min && b->has_max) {
    ks__thrift_field_binary(t, 1, blob + b->max_off, b->max_n);
    ks__thrift_field_binary(t, 2, blob + b->min_off, b->min_n);
  }
  ks__thrift_field_i64(t, 3, b->null_count);
  if (b->has_max)
    ks__thrift_field_binary(t, 5, blob + b->max_off, b->max_n);
  if (b->has_min)
    ks__thrift_field_binary(t, 6, blob + b->min_off, b->min_n);
  if (b->has_max || !b->max_exact)
    ks__thrift_field_bool(t, 7, b->max_exact);
  if (b->has_min)
    ks__thrift_field_bool(t, 8, b->min_exact);
  ks__thrift_struct_end(t);
}
