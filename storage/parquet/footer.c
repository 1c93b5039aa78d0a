/*
 * The footer: FileMetaData with the schema tree flattened depth first,
 * one RowGroup per row group written, key/value metadata, created_by and
 * the column orders. No field ids (Delta column mapping is off).
 */
#include "storage/parquet/internal.h"

#include <string.h>

/* ConvertedType values of parquet.thrift */
enum {
  CT_UTF8 = 0,
  CT_MAP = 1,
  CT_LIST = 3,
  CT_DECIMAL = 5,
  CT_DATE = 6,
  CT_TIMESTAMP_MICROS = 10,
  CT_INT_8 = 15,
  CT_INT_16 = 16,
  CT_INT_32 = 17,
  CT_INT_64 = 18
};

static int physical_type(const ks_pq_node *leaf) {
  switch (ks__pq_kind_of(leaf)) {
  case KS__K_BOOL:
    return KS__PQ_BOOLEAN;
  case KS__K_I32:
    return KS__PQ_INT32;
  case KS__K_I64:
    return KS__PQ_INT64;
  case KS__K_DOUBLE:
    return KS__PQ_DOUBLE;
  case KS__K_FLOAT:
    return KS__PQ_FLOAT;
  case KS__K_BYTES:
    return KS__PQ_BYTE_ARRAY;
  case KS__K_FLBA:
    return KS__PQ_FIXED_LEN_BYTE_ARRAY;
  }
  return -1;
}

/* logicalType (field 10) holding one empty-struct member `member` */
static void logical_empty(ks__thrift *t, int16_t member) {
  ks__thrift_field_struct(t, 10);
  ks__thrift_field_struct(t, member);
  ks__thrift_struct_end(t);
  ks__thrift_struct_end(t);
}

/* Both the LogicalType and the legacy ConvertedType are written: the spec
 * asks for both, and older readers know only the latter. */
static void leaf_annotations(ks__thrift *t, const ks_pq_node *n) {
  if (n->precision > 0) {
    ks__thrift_field_i32(t, 6, CT_DECIMAL);
    ks__thrift_field_i32(t, 7, n->scale);
    ks__thrift_field_i32(t, 8, n->precision);
    ks__thrift_field_struct(t, 10);
    ks__thrift_field_struct(t, 5); /* DECIMAL: DecimalType */
    ks__thrift_field_i32(t, 1, n->scale);
    ks__thrift_field_i32(t, 2, n->precision);
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    return;
  }
  switch (n->spec.type) {
  case KS_COL_BOOLEAN:
  case KS_COL_DOUBLE:
  case KS_COL_FLOAT:
  case KS_COL_BINARY: /* plain bytes: no annotation */
    break;
  case KS_COL_TIMESTAMP_NTZ:
    /* no ConvertedType: TIMESTAMP_MICROS means UTC-adjusted */
    ks__thrift_field_struct(t, 10);
    ks__thrift_field_struct(t, 8);  /* TIMESTAMP: TimestampType */
    ks__thrift_field_bool(t, 1, 0); /* isAdjustedToUTC */
    ks__thrift_field_struct(t, 2);  /* unit: TimeUnit */
    ks__thrift_field_struct(t, 2);  /* MICROS: MicroSeconds {} */
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    break;
  case KS_COL_INT8:
  case KS_COL_INT16:
  case KS_COL_INT32:
  case KS_COL_INT64: {
    int bits = n->spec.type == KS_COL_INT8    ? 8
               : n->spec.type == KS_COL_INT16 ? 16
               : n->spec.type == KS_COL_INT32 ? 32
                                              : 64;
    ks__thrift_field_i32(t, 6,
                         bits == 8    ? CT_INT_8
                         : bits == 16 ? CT_INT_16
                         : bits == 32 ? CT_INT_32
                                      : CT_INT_64);
    ks__thrift_field_struct(t, 10);
    ks__thrift_field_struct(t, 10); /* INTEGER: IntType */
    ks__thrift_field_i8(t, 1, bits);
    ks__thrift_field_bool(t, 2, 1); /* isSigned */
    ks__thrift_struct_end(t);
    ks__thrift_struct_end(t);
    break;
  }
  case KS_COL_STRING:
    ks__thrift_field_i32(t, 6, CT_UTF8);
    logical_empty(t, 1); /* STRING: StringType {} */
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
    logical_empty(t, 6); /* DATE: DateType {} */
    break;
  }
}

static void schema_element(ks__thrift *t, const ks_pq_node *n, int root) {
  ks__thrift_struct_begin(t);
  if (n->is_leaf) {
    ks__thrift_field_i32(t, 1, physical_type(n));
    if (n->precision > 18)
      ks__thrift_field_i32(t, 2, ks_pq_decimal_width(n->precision));
  }
  if (!root)
    ks__thrift_field_i32(t, 3, (int32_t)n->repetition);
  ks__thrift_field_string(t, 4, n->name);
  if (!n->is_leaf)
    ks__thrift_field_i32(t, 5, (int32_t)n->nchildren);
  if (n->is_leaf) {
    leaf_annotations(t, n);
  } else if (n->group == KS_PQ_LIST) {
    ks__thrift_field_i32(t, 6, CT_LIST);
    logical_empty(t, 3); /* LIST: ListType {} */
  } else if (n->group == KS_PQ_MAP) {
    ks__thrift_field_i32(t, 6, CT_MAP);
    logical_empty(t, 2); /* MAP: MapType {} */
  }
  if (n->field_id > 0) /* after field 10: the long field header */
    ks__thrift_field_i32(t, 9, n->field_id);
  ks__thrift_struct_end(t);
  for (size_t i = 0; i < n->nchildren; i++)
    schema_element(t, n->children[i], 0);
}

static size_t count_nodes(const ks_pq_node *n) {
  size_t k = 1;
  for (size_t i = 0; i < n->nchildren; i++)
    k += count_nodes(n->children[i]);
  return k;
}

static void path_in_schema(ks__thrift *t, const ks_pq_node *leaf) {
  const ks_pq_node *path[KS_PQ_MAX_LEVEL * 2 + 2];
  size_t n = 0;
  for (const ks_pq_node *p = leaf; p->parent && n < sizeof path / sizeof *path;
       p = p->parent)
    path[n++] = p;
  ks__thrift_field_list(t, 3, KS__T_BINARY, n);
  while (n)
    ks__thrift_elem_string(t, path[--n]->name);
}

static void encoding_stat(ks__thrift *t, int page_type, int enc, int32_t n) {
  ks__thrift_struct_begin(t);
  ks__thrift_field_i32(t, 1, page_type);
  ks__thrift_field_i32(t, 2, enc);
  ks__thrift_field_i32(t, 3, n);
  ks__thrift_struct_end(t);
}

static void column_chunk(ks__thrift *t, const ks_pq_writer *w,
                         const ks_pq_node *leaf, const ks__pq_chunk *ch) {
  int levels = leaf->max_def > 0 || leaf->max_rep > 0;
  int plain = ch->dict_pages > 0 || ch->plain_data_pages > 0;
  int dict = ch->dict_data_pages > 0;
  int data_type = w->page_v2 ? KS__PQ_PAGE_DATA_V2 : KS__PQ_PAGE_DATA;
  int64_t start =
      ch->dict_page_offset >= 0 ? ch->dict_page_offset : ch->data_page_offset;

  ks__thrift_struct_begin(t);
  ks__thrift_field_i64(t, 2, start); /* file_offset (deprecated) */
  ks__thrift_field_struct(t, 3);     /* ColumnMetaData */
  ks__thrift_field_i32(t, 1, physical_type(leaf));
  ks__thrift_field_list(t, 2, KS__T_I32, (size_t)(plain + levels + dict));
  if (plain)
    ks__thrift_elem_i32(t, KS__PQ_ENC_PLAIN);
  if (levels)
    ks__thrift_elem_i32(t, KS__PQ_ENC_RLE);
  if (dict)
    ks__thrift_elem_i32(t, KS__PQ_ENC_RLE_DICTIONARY);
  path_in_schema(t, leaf);
  ks__thrift_field_i32(t, 4, ks__pq_codec_thrift_id(w->codec.codec));
  ks__thrift_field_i64(t, 5, ch->num_values);
  ks__thrift_field_i64(t, 6, ch->uncompressed);
  ks__thrift_field_i64(t, 7, ch->compressed);
  ks__thrift_field_i64(t, 9, ch->data_page_offset);
  if (ch->dict_page_offset >= 0)
    ks__thrift_field_i64(t, 11, ch->dict_page_offset);
  ks__pq_bounds_encode(t, 12, w, &ch->b);
  size_t nstats = (ch->dict_pages > 0) + (ch->dict_data_pages > 0) +
                  (ch->plain_data_pages > 0);
  ks__thrift_field_list(t, 13, KS__T_STRUCT, nstats);
  if (ch->dict_pages)
    encoding_stat(t, KS__PQ_PAGE_DICTIONARY, KS__PQ_ENC_PLAIN, ch->dict_pages);
  if (ch->dict_data_pages)
    encoding_stat(t, data_type, KS__PQ_ENC_RLE_DICTIONARY, ch->dict_data_pages);
  if (ch->plain_data_pages)
    encoding_stat(t, data_type, KS__PQ_ENC_PLAIN, ch->plain_data_pages);
  ks__thrift_struct_end(t);
  if (ch->oi_len) {
    ks__thrift_field_i64(t, 4, ch->oi_off);
    ks__thrift_field_i32(t, 5, (int32_t)ch->oi_len);
  }
  if (ch->ci_len) {
    ks__thrift_field_i64(t, 6, ch->ci_off);
    ks__thrift_field_i32(t, 7, (int32_t)ch->ci_len);
  }
  ks__thrift_struct_end(t);
}

static void rowgroups(ks__thrift *t, const ks_pq_writer *w) {
  const ks__pq_rowgroup *g = (const ks__pq_rowgroup *)(const void *)w->rgs.data;
  const ks__pq_chunk *ch = (const ks__pq_chunk *)(const void *)w->chunks.data;
  ks__thrift_field_list(t, 4, KS__T_STRUCT, w->nrowgroups);
  for (size_t r = 0; r < w->nrowgroups; r++) {
    ks__thrift_struct_begin(t);
    ks__thrift_field_list(t, 1, KS__T_STRUCT, w->ncols);
    for (size_t i = 0; i < w->ncols; i++)
      column_chunk(t, w, ks__pq_leaf(w, i), &ch[r * w->ncols + i]);
    ks__thrift_field_i64(t, 2, g[r].raw);
    ks__thrift_field_i64(t, 3, g[r].nrows);
    ks__thrift_field_i64(t, 5, g[r].offset);
    ks__thrift_field_i64(t, 6, g[r].comp);
    if (r <= INT16_MAX)
      ks__thrift_field_i16(t, 7, (int16_t)r);
    ks__thrift_struct_end(t);
  }
}

/* FileMetaData, its length and the closing magic. */
int ks__pq_footer_write(ks_pq_writer *w) {
  ks_buf *out = &w->page;
  ks__thrift t;
  ks_buf_reset(out);
  ks__thrift_init(&t, out);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_i32(&t, 1, 1); /* version */
  const ks_pq_node *root = ks_pq_schema_root((ks_pq_schema *)w->schema);
  ks__thrift_field_list(&t, 2, KS__T_STRUCT, count_nodes(root));
  schema_element(&t, root, 1);
  ks__thrift_field_i64(&t, 3, w->rows);
  rowgroups(&t, w);
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
