#include "storage/parquet/internal.h"

#include <string.h>

/* ConvertedType values of parquet.thrift */
enum {
  CT_UTF8 = 0,
  CT_DATE = 6,
  CT_TIMESTAMP_MICROS = 10,
  CT_INT_32 = 17,
  CT_INT_64 = 18
};

static int physical_type(ks_coltype t) {
  switch (t) {
  case KS_COL_BOOLEAN:
    return KS__PQ_BOOLEAN;
  case KS_COL_INT32:
  case KS_COL_DATE:
    return KS__PQ_INT32;
  case KS_COL_INT64:
  case KS_COL_TIMESTAMP:
    return KS__PQ_INT64;
  case KS_COL_DOUBLE:
    return KS__PQ_DOUBLE;
  case KS_COL_STRING:
    return KS__PQ_BYTE_ARRAY;
  }
  return -1;
}

/* A leaf SchemaElement. Both the LogicalType and the legacy ConvertedType
 * are written: the spec asks for both, and older readers know only the
 * latter. */
static void schema_leaf(ks__thrift *t, const ks_colspec *s) {
  ks__thrift_struct_begin(t);
  ks__thrift_field_i32(t, 1, physical_type(s->type));
  ks__thrift_field_i32(t, 3, s->nullable ? 1 : 0); /* OPTIONAL : REQUIRED */
  ks__thrift_field_string(t, 4, s->name);
  switch (s->type) {
  case KS_COL_BOOLEAN:
  case KS_COL_DOUBLE:
    break;
  case KS_COL_INT32:
  case KS_COL_INT64:
    ks__thrift_field_i32(t, 6, s->type == KS_COL_INT32 ? CT_INT_32 : CT_INT_64);
    ks__thrift_field_struct(t, 10);
    ks__thrift_field_struct(t, 10); /* INTEGER: IntType */
    ks__thrift_field_i8(t, 1, s->type == KS_COL_INT32 ? 32 : 64);
    ks__thrift_field_bool(t, 2, 1); /* isSigned */
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    break;
  case KS_COL_STRING:
    ks__thrift_field_i32(t, 6, CT_UTF8);
    ks__thrift_field_struct(t, 10);
    ks__thrift_field_struct(t, 1); /* STRING: StringType {} */
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    break;
  case KS_COL_TIMESTAMP:
    ks__thrift_field_i32(t, 6, CT_TIMESTAMP_MICROS);
    ks__thrift_field_struct(t, 10);
    ks__thrift_field_struct(t, 8);  /* TIMESTAMP: TimestampType */
    ks__thrift_field_bool(t, 1, 1); /* isAdjustedToUTC */
    ks__thrift_field_struct(t, 2);  /* unit: TimeUnit */
    ks__thrift_field_struct(t, 2);  /* MICROS: MicroSeconds {} */
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    break;
  case KS_COL_DATE:
    ks__thrift_field_i32(t, 6, CT_DATE);
    ks__thrift_field_struct(t, 10);
    ks__thrift_field_struct(t, 6); /* DATE: DateType {} */
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    break;
  }
  ks__thrift_struct_end(t);
}

static void column_chunk(ks__thrift *t, const ks_pq_writer *w,
                         const ks_colspec *s, const ks__pq_chunk *ch) {
  ks__thrift_struct_begin(t);
  /* 0: no ColumnMetaData is written outside the footer (the field is
   * deprecated and required) */
  ks__thrift_field_i64(t, 2, 0);
  ks__thrift_field_struct(t, 3); /* ColumnMetaData */
  ks__thrift_field_i32(t, 1, physical_type(s->type));
  ks__thrift_field_list(t, 2, KS__T_I32, 2);
  ks__thrift_elem_i32(t, KS__PQ_ENC_PLAIN);
  ks__thrift_elem_i32(t, KS__PQ_ENC_RLE); /* levels */
  ks__thrift_field_list(t, 3, KS__T_BINARY, 1);
  ks__thrift_elem_string(t, s->name);
  ks__thrift_field_i32(t, 4, ks__pq_codec_thrift_id(w->codec.codec));
  ks__thrift_field_i64(t, 5, ch->num_values);
  ks__thrift_field_i64(t, 6, ch->uncompressed);
  ks__thrift_field_i64(t, 7, ch->compressed);
  ks__thrift_field_i64(t, 9, ch->data_page_offset);
  ks__pq_stats_encode(t, 12, s, &ch->st);
  ks__thrift_struct_end(t);
  ks__thrift_struct_end(t);
}

/* Encodes the RowGroup just written (from w->chunks) and keeps it for the
 * footer. String statistics point into the caller's column buffers, so
 * this runs before ks_pq_writer_write_rowgroup returns. */
void ks__pq_footer_rowgroup(ks_pq_writer *w, int64_t nrows, int64_t offset) {
  ks__thrift t;
  int64_t raw = 0, comp = 0;
  for (size_t i = 0; i < w->ncols; i++) {
    raw += w->chunks[i].uncompressed;
    comp += w->chunks[i].compressed;
  }
  ks__thrift_init(&t, &w->rowgroups);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_list(&t, 1, KS__T_STRUCT, w->ncols);
  for (size_t i = 0; i < w->ncols; i++)
    column_chunk(&t, w, &w->specs[i], &w->chunks[i]);
  ks__thrift_field_i64(&t, 2, raw);
  ks__thrift_field_i64(&t, 3, nrows);
  ks__thrift_field_i64(&t, 5, offset);
  ks__thrift_field_i64(&t, 6, comp);
  if (w->nrowgroups <= INT16_MAX)
    ks__thrift_field_i16(&t, 7, (int16_t)w->nrowgroups);
  ks__thrift_struct_end(&t);
}

/* FileMetaData, its length and the closing magic. */
int ks__pq_footer_write(ks_pq_writer *w) {
  ks_buf *out = &w->page;
  ks__thrift t;
  ks_buf_reset(out);
  ks__thrift_init(&t, out);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_i32(&t, 1, 1); /* version */
  ks__thrift_field_list(&t, 2, KS__T_STRUCT, w->ncols + 1);
  ks__thrift_struct_begin(&t); /* root */
  ks__thrift_field_string(&t, 4, "schema");
  ks__thrift_field_i32(&t, 5, (int32_t)w->ncols);
  ks__thrift_struct_end(&t);
  for (size_t i = 0; i < w->ncols; i++)
    schema_leaf(&t, &w->specs[i]);
  ks__thrift_field_i64(&t, 3, w->rows);
  ks__thrift_field_list(&t, 4, KS__T_STRUCT, w->nrowgroups);
  ks__thrift_append(&t, w->rowgroups.data, w->rowgroups.len);
  if (w->nkv) {
    ks__thrift_field_list(&t, 5, KS__T_STRUCT, w->nkv);
    ks__thrift_append(&t, w->kv.data, w->kv.len);
  }
  ks__thrift_field_string(&t, 6, w->created_by);
  ks__thrift_field_list(&t, 7, KS__T_STRUCT, w->ncols);
  for (size_t i = 0; i < w->ncols; i++) {
    ks__thrift_struct_begin(&t);    /* ColumnOrder */
    ks__thrift_field_struct(&t, 1); /* TYPE_ORDER: TypeDefinedOrder {} */
    ks__thrift_struct_end(&t);
    ks__thrift_struct_end(&t);
  }
  ks__thrift_struct_end(&t);
  if (t.err)
    return t.err;
  if (out->len > UINT32_MAX)
    return KS_ETOOBIG;
  uint8_t tail[8];
  uint32_t len = (uint32_t)out->len;
  for (int b = 0; b < 4; b++)
    tail[b] = (uint8_t)(len >> (8 * b));
  memcpy(tail + 4, "PAR1", 4);
  int r = ks__pq_emit(w, out->data, out->len);
  return r ? r : ks__pq_emit(w, tail, sizeof tail);
}
