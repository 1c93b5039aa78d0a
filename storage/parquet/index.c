/*
 * Page indexes (PageIndex.md): for every column chunk an OffsetIndex (where
 * each data page starts, its size and first row) and, when every page has
 * bounds, a ColumnIndex (per page: null flag, min, max, null count). All
 * column indexes, then all offset indexes, go after the last row group and
 * before the footer, which points at them.
 */
#include "storage/parquet/internal.h"

static ks__pq_chunk *chunk_at(ks_pq_writer *w, size_t k) {
  return (ks__pq_chunk *)(void *)w->chunks.data + k;
}

static const ks__pq_pageinfo *page_at(const ks_pq_writer *w, size_t k) {
  return (const ks__pq_pageinfo *)(const void *)w->pages.data + k;
}

/* A page with values but no bounds (only NaN, or a max that cannot be
 * truncated) makes the chunk's column index impossible: min_values and
 * max_values are required for every non-null page. */
static int indexable(const ks_pq_writer *w, const ks__pq_chunk *ch) {
  for (size_t p = 0; p < ch->npages; p++) {
    const ks__pq_pageinfo *pi = page_at(w, ch->page0 + p);
    if (!pi->null_page && (!pi->b.has_min || !pi->b.has_max))
      return 0;
  }
  return 1;
}

static int column_index(ks_pq_writer *w, ks__pq_chunk *ch) {
  ks__thrift t;
  const uint8_t *blob = w->blob.data;
  ks_buf_reset(&w->page);
  ks__thrift_init(&t, &w->page);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_list(&t, 1, KS__T_BOOL_TRUE, ch->npages);
  for (size_t p = 0; p < ch->npages; p++) {
    /* compact protocol: a bool list element is one byte, 1 true 2 false */
    uint8_t b = page_at(w, ch->page0 + p)->null_page ? 1 : 2;
    ks__thrift_append(&t, &b, 1);
  }
  for (int16_t f = 2; f <= 3; f++) {
    ks__thrift_field_list(&t, f, KS__T_BINARY, ch->npages);
    for (size_t p = 0; p < ch->npages; p++) {
      const ks__pq_pageinfo *pi = page_at(w, ch->page0 + p);
      if (pi->null_page)
        ks__thrift_elem_binary(&t, "", 0);
      else if (f == 2)
        ks__thrift_elem_binary(&t, blob + pi->b.min_off, pi->b.min_n);
      else
        ks__thrift_elem_binary(&t, blob + pi->b.max_off, pi->b.max_n);
    }
  }
  ks__thrift_field_i32(&t, 4, 0); /* boundary_order: UNORDERED */
  ks__thrift_field_list(&t, 5, KS__T_I64, ch->npages);
  for (size_t p = 0; p < ch->npages; p++)
    ks__thrift_elem_i64(&t, page_at(w, ch->page0 + p)->b.null_count);
  ks__thrift_struct_end(&t);
  if (t.err)
    return t.err;
  ch->ci_off = (int64_t)w->offset;
  ch->ci_len = (int64_t)w->page.len;
  return ks__pq_emit(w, w->page.data, w->page.len);
}

static int offset_index(ks_pq_writer *w, ks__pq_chunk *ch) {
  ks__thrift t;
  ks_buf_reset(&w->page);
  ks__thrift_init(&t, &w->page);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_list(&t, 1, KS__T_STRUCT, ch->npages);
  for (size_t p = 0; p < ch->npages; p++) {
    const ks__pq_pageinfo *pi = page_at(w, ch->page0 + p);
    ks__thrift_struct_begin(&t); /* PageLocation */
    ks__thrift_field_i64(&t, 1, pi->offset);
    ks__thrift_field_i32(&t, 2, pi->size);
    ks__thrift_field_i64(&t, 3, pi->first_row);
    ks__thrift_struct_end(&t);
  }
  ks__thrift_struct_end(&t);
  if (t.err)
    return t.err;
  ch->oi_off = (int64_t)w->offset;
  ch->oi_len = (int64_t)w->page.len;
  return ks__pq_emit(w, w->page.data, w->page.len);
}

int ks__pq_index_write(ks_pq_writer *w) {
  size_t n = w->chunks.len / sizeof(ks__pq_chunk);
  int r;
  for (size_t k = 0; k < n; k++) {
    ks__pq_chunk *ch = chunk_at(w, k);
    if (ch->npages && indexable(w, ch) && (r = column_index(w, ch)))
      return r;
  }
  for (size_t k = 0; k < n; k++) {
    ks__pq_chunk *ch = chunk_at(w, k);
    if (ch->npages && (r = offset_index(w, ch)))
      return r;
  }
  return 0;
}
