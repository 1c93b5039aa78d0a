#include "storage/parquet/internal.h"
#include "storage/parquet/rle.h"

#include <string.h>

/* Bits a value takes in PLAIN encoding (strings: see string_page). */
static uint64_t value_bits(ks_coltype t) {
  switch (t) {
  case KS_COL_BOOLEAN:
    return 1;
  case KS_COL_INT32:
  case KS_COL_DATE:
    return 32;
  case KS_COL_INT64:
  case KS_COL_TIMESTAMP:
  case KS_COL_DOUBLE:
    return 64;
  case KS_COL_STRING:
    break;
  }
  return 0;
}

static size_t value_bytes(ks_coltype t) {
  return (size_t)value_bits(t) / 8;
}

/* One page of a column: rows [r0, r1) holding values [v0, v1); `soff` is
 * the byte offset of value v0 in a string column's buffer. */
typedef struct page_span {
  size_t r0, r1, v0, v1;
  size_t soff;
  uint64_t bits; /* PLAIN size of the values */
} page_span;

/* Extends the span from r0/v0 until its values reach `limit` bits (at
 * least one row). Required columns have one value per row and need no walk
 * over the levels, unless they hold strings. */
static void page_split(const ks_column *c, size_t nrows, uint64_t limit,
                       page_span *s) {
  const uint8_t *defs = c->defs.data;
  size_t r = s->r0, v = s->v0;
  uint64_t bits = 0;
  if (c->spec->type == KS_COL_STRING) {
    const uint8_t *lens = c->lens.data;
    do {
      if (defs[r]) {
        uint32_t len;
        memcpy(&len, lens + v * 4, 4);
        bits += 8 * (4 + (uint64_t)len);
        v++;
      }
      r++;
    } while (r < nrows && bits < limit);
  } else if (!c->spec->nullable) {
    uint64_t vb = value_bits(c->spec->type);
    uint64_t k = (limit + vb - 1) / vb;
    size_t left = nrows - r;
    size_t take = k == 0 ? 1 : k < left ? (size_t)k : left;
    r += take;
    v += take;
    bits = (uint64_t)take * vb;
  } else {
    uint64_t vb = value_bits(c->spec->type);
    size_t n = 0;
    do {
      n += defs[r++];
    } while (r < nrows && n * vb < limit);
    v += n;
    bits = n * vb;
  }
  s->r1 = r;
  s->v1 = v;
  s->bits = bits;
}

/* PLAIN strings (4-byte length, bytes) with the min/max scan fused in, so
 * every string is touched once. */
static int string_page(ks_buf *out, const ks_column *c, page_span *s,
                       ks__pq_chunkstats *st) {
  int r = ks_buf_reserve(out, (size_t)(s->bits / 8));
  if (r)
    return r;
  const uint8_t *lens = c->lens.data;
  const uint8_t *src = c->values.data + s->soff;
  uint8_t *p = out->data + out->len;
  const uint8_t *lo = st->min_s, *hi = st->max_s;
  size_t nlo = st->min_n, nhi = st->max_n;
  int has = st->has_minmax;
  for (size_t v = s->v0; v < s->v1; v++) {
    uint32_t len;
    memcpy(&len, lens + v * 4, 4);
    memcpy(p, &len, 4);
    if (len)
      memcpy(p + 4, src, len);
    p += 4 + (size_t)len;
    if (!has) {
      lo = hi = src;
      nlo = nhi = len;
      has = 1;
    } else if (ks__pq_bytes_cmp(src, len, lo, nlo) < 0) {
      lo = src;
      nlo = len;
    } else if (ks__pq_bytes_cmp(src, len, hi, nhi) > 0) {
      hi = src;
      nhi = len;
    }
    src += len;
  }
  out->len = (size_t)(p - out->data);
  s->soff = (size_t)(src - c->values.data);
  st->min_s = lo;
  st->max_s = hi;
  st->min_n = nlo;
  st->max_n = nhi;
  st->has_minmax = has;
  return 0;
}

/* Levels (nullable columns only) then values, uncompressed, into w->page. */
static int page_body(ks_pq_writer *w, const ks_column *c, page_span *s,
                     ks__pq_chunkstats *st) {
  ks_buf *out = &w->page;
  int r;
  ks_buf_reset(out);
  if (c->spec->nullable &&
      (r = ks__rle_encode_levels(out, c->defs.data + s->r0, s->r1 - s->r0, 1)))
    return r;
  ks_coltype t = c->spec->type;
  if (t == KS_COL_STRING)
    return string_page(out, c, s, st);
  if (t == KS_COL_BOOLEAN)
    r = ks__bitpack_bools(out, c->values.data + s->v0, s->v1 - s->v0);
  else
    r = ks_buf_append(out, c->values.data + s->v0 * value_bytes(t),
                      (s->v1 - s->v0) * value_bytes(t));
  if (r)
    return r;
  ks__pq_stats_fixed(c, s->v0, s->v1, st);
  return 0;
}

static void page_header(ks_buf *hdr, size_t nvalues, size_t raw, size_t comp) {
  ks__thrift t;
  ks_buf_reset(hdr);
  ks__thrift_init(&t, hdr);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_i32(&t, 1, KS__PQ_PAGE_DATA);
  ks__thrift_field_i32(&t, 2, (int32_t)raw);
  ks__thrift_field_i32(&t, 3, (int32_t)comp);
  ks__thrift_field_struct(&t, 5); /* DataPageHeader */
  ks__thrift_field_i32(&t, 1, (int32_t)nvalues);
  ks__thrift_field_i32(&t, 2, KS__PQ_ENC_PLAIN);
  ks__thrift_field_i32(&t, 3, KS__PQ_ENC_RLE);
  ks__thrift_field_i32(&t, 4, KS__PQ_ENC_RLE);
  ks__thrift_struct_end(&t);
  ks__thrift_struct_end(&t);
  /* a page header is a few dozen bytes: the unlimited scratch cannot fail */
}

int ks__pq_check_column(const ks_column *c, size_t nrows) {
  ks_coltype t = c->spec->type;
  size_t width = t == KS_COL_BOOLEAN ? 1 : value_bytes(t);
  if (c->defs.len != nrows || c->nvalues > nrows)
    return KS_EINVAL;
  /* REQUIRED columns have no levels in the file: a null cannot be said */
  if (!c->spec->nullable && c->nvalues != nrows)
    return KS_EINVAL;
  if (t == KS_COL_STRING ? c->lens.len != c->nvalues * 4
                         : c->values.len != c->nvalues * width)
    return KS_EINVAL;
  return 0;
}

int ks__pq_write_chunk(ks_pq_writer *w, const ks_column *c, size_t nrows,
                       ks__pq_chunk *ch) {
  memset(ch, 0, sizeof *ch);
  ch->num_values = (int64_t)nrows;
  ch->data_page_offset = (int64_t)w->offset;
  ch->st.null_count = (int64_t)(nrows - c->nvalues);

  uint64_t limit = (uint64_t)w->page_bytes * 8;
  page_span s = {0};
  int r;
  while (s.r0 < nrows) {
    page_split(c, nrows, limit, &s);
    if ((r = page_body(w, c, &s, &ch->st)))
      return r;
    const ks_buf *body = &w->page;
    if (w->codec.codec != KS_CODEC_NONE) {
      if ((r = ks__pq_compress(&w->codec, w->page.data, w->page.len, &w->comp)))
        return r;
      body = &w->comp;
    }
    if (w->page.len > INT32_MAX || body->len > INT32_MAX ||
        s.r1 - s.r0 > INT32_MAX)
      return KS_ETOOBIG;
    page_header(&w->hdr, s.r1 - s.r0, w->page.len, body->len);
    ch->uncompressed += (int64_t)(w->hdr.len + w->page.len);
    ch->compressed += (int64_t)(w->hdr.len + body->len);
    if ((r = ks__pq_emit(w, w->hdr.data, w->hdr.len)) ||
        (r = ks__pq_emit(w, body->data, body->len)))
      return r;
    s.r0 = s.r1;
    s.v0 = s.v1;
  }
  return 0;
}
