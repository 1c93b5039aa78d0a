/*
 * Thrift compact protocol encoder, only as much of it as Parquet's footer
 * and page headers need (structs, i8/i16/i32/i64, bool, binary, lists).
 * Used by the page and footer writers of this folder; nothing here decodes.
 *
 * Errors are sticky: every call appends to the output buffer and the first
 * failure (the buffer's cap) is kept in t->err, so a whole header is written
 * with straight-line code and checked once at the end.
 */
#ifndef KS_STORAGE_PARQUET_THRIFT_H
#define KS_STORAGE_PARQUET_THRIFT_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Compact protocol type codes (the low nibble of a field header). */
enum ks__thrift_type {
  KS__T_BOOL_TRUE = 1,
  KS__T_BOOL_FALSE = 2,
  KS__T_I8 = 3,
  KS__T_I16 = 4,
  KS__T_I32 = 5,
  KS__T_I64 = 6,
  KS__T_DOUBLE = 7,
  KS__T_BINARY = 8,
  KS__T_LIST = 9,
  KS__T_SET = 10,
  KS__T_MAP = 11,
  KS__T_STRUCT = 12
};

/* Parquet nests at most 5 structs deep; 16 leaves room to spare. */
#define KS__THRIFT_MAX_DEPTH 16

typedef struct ks__thrift {
  ks_buf *out;
  int err;
  int depth;
  int16_t last[KS__THRIFT_MAX_DEPTH]; /* last field id of each open struct */
} ks__thrift;

void ks__thrift_init(ks__thrift *t, ks_buf *out);

/* A struct that is not a field: the top-level message or a list element.
 * Every struct is closed with ks__thrift_struct_end (writes the stop byte). */
void ks__thrift_struct_begin(ks__thrift *t);
void ks__thrift_struct_end(ks__thrift *t);

/* Fields of the innermost open struct; ids must be > 0. */
void ks__thrift_field_struct(ks__thrift *t, int16_t id); /* then fields, end */
void ks__thrift_field_bool(ks__thrift *t, int16_t id, int v);
void ks__thrift_field_i8(ks__thrift *t, int16_t id, int8_t v);
void ks__thrift_field_i16(ks__thrift *t, int16_t id, int16_t v);
void ks__thrift_field_i32(ks__thrift *t, int16_t id, int32_t v);
void ks__thrift_field_i64(ks__thrift *t, int16_t id, int64_t v);
void ks__thrift_field_binary(ks__thrift *t, int16_t id, const void *p,
                             size_t n);
void ks__thrift_field_string(ks__thrift *t, int16_t id, const char *s);
/* A list field of n elements of elem_type; then write n elements. */
void ks__thrift_field_list(ks__thrift *t, int16_t id, int elem_type, size_t n);

/* List elements. Struct elements use ks__thrift_struct_begin/end. */
void ks__thrift_elem_i32(ks__thrift *t, int32_t v);
void ks__thrift_elem_i64(ks__thrift *t, int64_t v);
void ks__thrift_elem_binary(ks__thrift *t, const void *p, size_t n);
void ks__thrift_elem_string(ks__thrift *t, const char *s);

/* Raw pieces, exposed for tests and for splicing pre-encoded elements. */
void ks__thrift_varint(ks__thrift *t, uint64_t v);
void ks__thrift_append(ks__thrift *t, const void *p, size_t n);
static inline uint64_t ks__thrift_zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

#endif
