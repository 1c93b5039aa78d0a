/*
 * Thrift compact protocol encoder, only as much of it as Parquet's footer
 * and page headers need (structs, i8/i16/i32/i64, bool, binary, lists),
 * and a bounds-checked decoder for the file reader (reader.c), whose input
 * is outside data: every read checks the remaining bytes, nesting is
 * bounded, and skipping an unknown field never recurses without limit.
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

/* A field header of any type, for copying a value already encoded (its
 * bytes follow with ks__thrift_append; a bool's value is its type). */
void ks__thrift_field_begin(ks__thrift *t, int16_t id, int type);
/* A list header that is not a field (a list written in pieces). */
void ks__thrift_list_begin(ks__thrift *t, int elem_type, size_t n);

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

/* ---- decoding ---------------------------------------------------------- */

/* Errors are sticky as in the encoder: after the first failure (KS_ECORRUPT:
 * truncated input, bad type code, nesting too deep) every read returns 0
 * and the caller checks r->err once per struct. */
typedef struct ks__thrift_rd {
  const uint8_t *p, *end;
  int err;
  int depth;
  int16_t last[KS__THRIFT_MAX_DEPTH];
} ks__thrift_rd;

void ks__thrift_rd_init(ks__thrift_rd *r, const uint8_t *p, size_t n);
/* Enters a struct (the top-level message, a struct field or element). */
void ks__thrift_rd_struct_begin(ks__thrift_rd *r);
/* The next field of the innermost struct: 1 with its id and type, or 0 at
 * the struct's stop byte (the struct is then left) or on error. A bool
 * field's value is its type (KS__T_BOOL_TRUE / KS__T_BOOL_FALSE). */
int ks__thrift_rd_field(ks__thrift_rd *r, int16_t *id, int *type);
/* An integer of type KS__T_I8/I16/I32/I64 (KS__T_BOOL_* give 1/0, so a bool
 * field reads with the same call). */
int64_t ks__thrift_rd_int(ks__thrift_rd *r, int type);
/* Binary/string: points into the input. */
void ks__thrift_rd_binary(ks__thrift_rd *r, const uint8_t **p, size_t *n);
/* A list or set header: element type and count (at most the bytes left). */
void ks__thrift_rd_list(ks__thrift_rd *r, int *elem_type, size_t *n);
/* Skips one value of the type (structs, lists and maps included). */
void ks__thrift_rd_skip(ks__thrift_rd *r, int type);
/* Bytes consumed so far. */
static inline size_t ks__thrift_rd_pos(const ks__thrift_rd *r,
                                       const uint8_t *start) {
  return (size_t)(r->p - start);
}

#endif
