/*
 * Column chunk encoder: an optional dictionary page, then data pages (v1:
 * levels and values compressed together; v2: levels uncompressed before
 * the compressed values), each ending at a row start. Dictionary pages
 * cover the chunk's rows up to the one where the dictionary passed its
 * limit; PLAIN pages take the rest.
 */
#include "storage/parquet/internal.h"
#include "storage/parquet/rle.h"

#include <string.h>

ks__pq_kind ks__pq_kind_of(const ks_pq_node *leaf) {
  if (leaf->precision > 18)
    return KS__K_FLBA;
  switch (leaf->spec.type) {
  case KS_COL_BOOLEAN:
    return KS__K_BOOL;
  case KS_COL_INT32:
  case KS_COL_DATE:
  case KS_COL_INT8:
  case KS_COL_INT16:
    return KS__K_I32;
  case KS_COL_INT64:
  case KS_COL_TIMESTAMP:
  case KS_COL_TIMESTAMP_NTZ:
    return KS__K_I64;
  case KS_COL_DOUBLE:
    return KS__K_DOUBLE;
  case KS_COL_FLOAT:
    return KS__K_FLOAT;
  case KS_COL_STRING:
  case KS_COL_BINARY:
    break;
  }
  return KS__K_BYTES;
}

int ks__pq_check_column(const ks_column *c, size_t nrows) {
  size_t E = c->defs.len;
  if (c->max_rep ? c->reps.len != E : c->reps.len != 0)
    return KS_EINVAL;
  if (c->width ? c->values.len != c->nvalues * c->width || c->lens.len
               : c->lens.len != c->nvalues * 4)
    return KS_EINVAL;
  /* levels in range, one value per def == max_def, nrows row starts; a
   * REQUIRED flat column has def 0 == max_def for values and nulls alike,
   * so a null there shows as a value count short of the entries */
  size_t values = 0, rows = 0;
  const uint8_t *d = c->defs.data, *r = c->reps.data;
  if (c->max_def > 127 || c->max_rep > 127 || (c->max_rep && E && r[0] != 0))
    return KS_EINVAL;
  uint64_t above = 0;
  size_t e = 0;
  for (; e + 8 <= E; e += 8) {
    uint64_t w;
    memcpy(&w, d + e, 8);
    above |= ks__lanes_above(w, c->max_def);
    values += ks__lanes_count(ks__lanes_equal(w, c->max_def));
    if (c->max_rep) {
      memcpy(&w, r + e, 8);
      above |= ks__lanes_above(w, c->max_rep);
      rows += ks__lanes_count(ks__lanes_equal(w, 0));
    }
  }
  if (above)
    return KS_EINVAL;
  for (; e < E; e++) {
    if (d[e] > c->max_def)
      return KS_EINVAL;
    values += d[e] == c->max_def;
    if (c->max_rep) {
      if (r[e] > c->max_rep || (e == 0 && r[e] != 0))
        return KS_EINVAL;
      rows += r[e] == 0;
    }
  }
  if (!c->max_rep)
    rows = E;
  if (values != c->nvalues || rows != nrows)
    return KS_EINVAL;
  return 0;
}

/* PLAIN values [v0, v1) of the span. */
static int plain_values(ks_buf *out, const ks_column *c, ks__pq_kind kind,
                        const ks__pq_span *s) {
  size_t n = s->v1 - s->v0;
  const uint8_t *src = ks__pq_values(c);
  int r;
  if (n == 0)
    return 0;
  switch (kind) {
  case KS__K_BOOL:
    return ks__bitpack_bools(out, src + s->v0, n);
  case KS__K_I32:
  case KS__K_I64:
  case KS__K_DOUBLE:
  case KS__K_FLOAT:
    return ks_buf_append(out, src + s->v0 * c->width, n * c->width);
  case KS__K_FLBA: {
    size_t w = (size_t)ks_pq_decimal_width(c->node->precision);
    if ((r = ks_buf_reserve(out, n * w)))
      return r;
    uint8_t *p = out->data + out->len;
    for (size_t v = s->v0; v < s->v1; v++, p += w)
      for (size_t k = 0; k < w; k++)
        p[k] = src[v * 16 + w - 1 - k];
    out->len += n * w;
    return 0;
  }
  case KS__K_BYTES:
    break;
  }
  if ((r = ks_buf_reserve(out, n * 4 + (s->s1 - s->s0))))
    return r;
  const uint8_t *lens = c->lens.data;
  uint8_t *p = out->data + out->len;
  src += s->s0;
  for (size_t v = s->v0; v < s->v1; v++) {
    uint32_t len;
    memcpy(&len, lens + v * 4, 4);
    memcpy(p, &len, 4);
    if (len)
      memcpy(p + 4, src, len);
    p += 4 + (size_t)len;
    src += len;
  }
  out->len = (size_t)(p - out->data);
  return 0;
}

static int dict_values(ks_buf *out, const ks_pq_writer *w, int bw,
                       const ks__pq_span *s) {
  int r = ks_buf_append_byte(out, (uint8_t)bw);
  if (r)
    return r;
  const uint32_t *idx = (const uint32_t *)(const void *)w->idx.data;
  return ks__rle_encode32(out, idx + s->v0, s->v1 - s->v0, bw);
}

typedef struct page_desc {
  int type; /* KS__PQ_PAGE_* */
  int encoding;
  size_t entries, nulls, rows;
  size_t raw, comp;     /* sizes as the header states them */
  size_t rep_n, def_n;  /* v2 */
  int compressed;       /* v2 */
} page_desc;

static void page_header(ks_buf *hdr, const page_desc *p) {
  ks__thrift t;
  ks_buf_reset(hdr);
  ks__thrift_init(&t, hdr);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_i32(&t, 1, p->type);
  ks__thrift_field_i32(&t, 2, (int32_t)p->raw);
  ks__thrift_field_i32(&t, 3, (int32_t)p->comp);
  switch (p->type) {
  case KS__PQ_PAGE_DATA:
    ks__thrift_field_struct(&t, 5); /* DataPageHeader */
    ks__thrift_field_i32(&t, 1, (int32_t)p->entries);
    ks__thrift_field_i32(&t, 2, p->encoding);
    ks__thrift_field_i32(&t, 3, KS__PQ_ENC_RLE);
    ks__thrift_field_i32(&t, 4, KS__PQ_ENC_RLE);
    break;
  case KS__PQ_PAGE_DICTIONARY:
    ks__thrift_field_struct(&t, 7); /* DictionaryPageHeader */
    ks__thrift_field_i32(&t, 1, (int32_t)p->entries);
    /* PLAIN, as Encodings.md asks of dictionary pages (PLAIN_DICTIONARY
     * is deprecated) */
    ks__thrift_field_i32(&t, 2, KS__PQ_ENC_PLAIN);
    break;
  case KS__PQ_PAGE_DATA_V2:
    ks__thrift_field_struct(&t, 8); /* DataPageHeaderV2 */
    ks__thrift_field_i32(&t, 1, (int32_t)p->entries);
    ks__thrift_field_i32(&t, 2, (int32_t)p->nulls);
    ks__thrift_field_i32(&t, 3, (int32_t)p->rows);
    ks__thrift_field_i32(&t, 4, p->encoding);
    ks__thrift_field_i32(&t, 5, (int32_t)p->def_n);
    ks__thrift_field_i32(&t, 6, (int32_t)p->rep_n);
    ks__thrift_field_bool(&t, 7, p->compressed);
    break;
  }
  ks__thrift_struct_end(&t);
  ks__thrift_struct_end(&t);
  /* a page header is a few dozen bytes: the unlimited scratch cannot fail */
}

/* Compresses w->page (unless the codec is none or, for v2, the page is
 * not compressed) and emits header, v2 levels and body. */
static int emit_page(ks_pq_writer *w, page_desc *p, ks__pq_chunk *ch) {
  const ks_buf *body = &w->page;
  int r;
  size_t lv = p->type == KS__PQ_PAGE_DATA_V2 ? w->levels.len : 0;
  if (w->codec.codec != KS_CODEC_NONE) {
    if ((r = ks__pq_compress(&w->codec, w->page.data, w->page.len, &w->comp)))
      return r;
    body = &w->comp;
  }
  p->compressed = w->codec.codec != KS_CODEC_NONE;
  p->raw = lv + w->page.len;
  p->comp = lv + body->len;
  if (p->raw > INT32_MAX || p->comp > INT32_MAX || p->entries > INT32_MAX)
    return KS_ETOOBIG;
  page_header(&w->hdr, p);
  ch->uncompressed += (int64_t)(w->hdr.len + p->raw);
  ch->compressed += (int64_t)(w->hdr.len + p->comp);
  if ((r = ks__pq_emit(w, w->hdr.data, w->hdr.len)) ||
      (lv && (r = ks__pq_emit(w, w->levels.data, lv))) ||
      (r = ks__pq_emit(w, body->data, body->len)))
    return r;
  return 0;
}

static int dict_page(ks_pq_writer *w, const ks_column *c, ks__pq_kind kind,
                     ks__pq_chunk *ch) {
  int r = ks__pq_dict_page(&w->dict, c, kind, &w->page);
  if (r)
    return r;
  page_desc p = {.type = KS__PQ_PAGE_DICTIONARY, .entries = w->dict.n};
  ch->dict_page_offset = (int64_t)w->offset;
  ch->dict_pages++;
  return emit_page(w, &p, ch);
}

/* One data page of span s; dictionary indices when bw > 0. */
static int data_page(ks_pq_writer *w, const ks_column *c, ks__pq_kind kind,
                     const ks__pq_span *s, int bw, int64_t first_row,
                     ks__pq_chunk *ch, ks__pq_stats *chunk_st) {
  page_desc p = {.type = w->page_v2 ? KS__PQ_PAGE_DATA_V2 : KS__PQ_PAGE_DATA,
                 .encoding = bw ? KS__PQ_ENC_RLE_DICTIONARY : KS__PQ_ENC_PLAIN,
                 .entries = s->e1 - s->e0,
                 .nulls = (s->e1 - s->e0) - (s->v1 - s->v0),
                 .rows = s->rows};
  int r;
  ks_buf_reset(&w->page);
  ks_buf_reset(&w->levels);
  ks_buf *lv = w->page_v2 ? &w->levels : &w->page;
  if ((r = ks__pq_levels(lv, c, s->e0, s->e1, !w->page_v2, &p.rep_n,
                         &p.def_n)))
    return r;
  r = bw ? dict_values(&w->page, w, bw, s)
         : plain_values(&w->page, c, kind, s);
  if (r)
    return r;

  ks__pq_stats st = {0};
  if (bw && kind == KS__K_BYTES)
    ks__pq_stats_scan_dict(c, &w->dict,
                           (const uint32_t *)(const void *)w->idx.data, s, &st);
  else
    ks__pq_stats_scan(c, kind, s, &st);
  ks__pq_stats_add(chunk_st, kind, &st);
  ks__pq_pageinfo pi = {.offset = (int64_t)w->offset,
                        .first_row = first_row,
                        .null_page = s->v1 == s->v0};
  int64_t before = ch->compressed;
  if ((r = ks__pq_bounds_make(w, c->node, &st, &pi.b)) ||
      (r = emit_page(w, &p, ch)))
    return r;
  pi.size = (int32_t)(ch->compressed - before);
  if (bw)
    ch->dict_data_pages++;
  else
    ch->plain_data_pages++;
  return ks_buf_append(&w->pages, &pi, sizeof pi);
}

/* PLAIN bytes of values [0, v) of a column. */
static uint64_t plain_bytes(const ks_column *c, ks__pq_kind kind, size_t v) {
  if (kind == KS__K_BYTES) {
    uint64_t n = 4 * (uint64_t)v;
    for (size_t k = 0; k < v; k++) {
      uint32_t len;
      memcpy(&len, c->lens.data + k * 4, 4);
      n += len;
    }
    return n;
  }
  if (kind == KS__K_FLBA)
    return (uint64_t)v * (uint64_t)ks_pq_decimal_width(c->node->precision);
  return (uint64_t)v * c->width;
}

/* A chunk of at least DICT_PROBE_FROM values is tried on its first
 * DICT_PROBE: when nine in ten of those are distinct (ids, timestamps,
 * offsets, free text), the dictionary would not pay and the rest are not
 * hashed. */
#define DICT_PROBE_FROM 4096
#define DICT_PROBE 512

/* Entries [0, *e_dict) are dictionary-encoded; 0 when the dictionary does
 * not pay for itself (its PLAIN size plus the indices reach the PLAIN size
 * of the values it covers: nearly every value distinct). */
static int plan_dict(ks_pq_writer *w, const ks_column *c, ks__pq_kind kind,
                     size_t *e_dict) {
  *e_dict = 0;
  size_t N = c->nvalues;
  if (!w->use_dict || kind == KS__K_BOOL || N == 0)
    return 0;
  ks__pq_dict_start(&w->dict, &w->idx, c, kind);
  size_t got = N;
  if (N >= DICT_PROBE_FROM) {
    got = ks__pq_dict_build(&w->dict, &w->idx, c, kind, w->dict_bytes,
                            DICT_PROBE);
    if (got == DICT_PROBE && w->dict.n * 10 > (size_t)DICT_PROBE * 9)
      return 0;
  }
  got = ks__pq_dict_build(&w->dict, &w->idx, c, kind, w->dict_bytes, N);
  size_t e = c->defs.len, v = N;
  if (got < N)
    ks__pq_row_of_value(c, got, &e, &v);
  if (v == 0 || w->dict.n == 0)
    return 0;
  int bw = ks__rle_bit_width((uint32_t)(w->dict.n - 1));
  if (bw == 0)
    bw = 1;
  if (w->dict.bytes + ((uint64_t)v * (uint64_t)bw + 7) / 8 >=
      plain_bytes(c, kind, v))
    return 0;
  *e_dict = e;
  return bw;
}

int ks__pq_write_chunk(ks_pq_writer *w, const ks_column *c,
                       ks__pq_chunk *ch) {
  memset(ch, 0, sizeof *ch);
  ks__pq_kind kind = ks__pq_kind_of(c->node);
  size_t E = c->defs.len;
  ch->num_values = (int64_t)E;
  ch->dict_page_offset = -1;
  ch->page0 = w->pages.len / sizeof(ks__pq_pageinfo);

  size_t e_dict;
  int bw = plan_dict(w, c, kind, &e_dict);
  int r;
  if (bw && (r = dict_page(w, c, kind, ch)))
    return r;
  ch->data_page_offset = (int64_t)w->offset;

  uint64_t limit = (uint64_t)w->page_bytes * 8;
  ks__pq_stats st = {0};
  ks__pq_span s = {0};
  int64_t row = 0;
  while (s.e0 < E) {
    int in_dict = s.e0 < e_dict;
    ks__pq_split(c, in_dict ? e_dict : E, limit, in_dict ? bw : 0, &s);
    if ((r = data_page(w, c, kind, &s, in_dict ? bw : 0, row, ch, &st)))
      return r;
    row += (int64_t)s.rows;
    s.e0 = s.e1;
    s.v0 = s.v1;
    s.s0 = s.s1;
  }
  ch->npages = w->pages.len / sizeof(ks__pq_pageinfo) - ch->page0;
  if ((r = ks__pq_bounds_make(w, c->node, &st, &ch->b)))
    return r;
  ks__pq_stats_merge(&w->stats[c->node->leaf], kind, &st);
  return 0;
}
