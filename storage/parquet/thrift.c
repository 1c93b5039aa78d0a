#include "storage/parquet/thrift.h"

#include "base/ks.h"

#include <string.h>

void ks__thrift_init(ks__thrift *t, ks_buf *out) {
  t->out = out;
  t->err = 0;
  t->depth = 0;
}

void ks__thrift_append(ks__thrift *t, const void *p, size_t n) {
  if (t->err)
    return;
  t->err = ks_buf_append(t->out, p, n);
}

static void put_byte(ks__thrift *t, uint8_t b) {
  if (t->err)
    return;
  t->err = ks_buf_append_byte(t->out, b);
}

void ks__thrift_varint(ks__thrift *t, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  ks__thrift_append(t, tmp, n);
}

/* Short form (delta << 4 | type) when the id is 1..15 above the previous
 * one; otherwise the type byte then the id as a zigzag varint i16. */
void ks__thrift_field_begin(ks__thrift *t, int16_t id, int type) {
  int16_t *last = &t->last[t->depth > 0 ? t->depth - 1 : 0];
  int delta = id - *last;
  if (delta > 0 && delta <= 15) {
    put_byte(t, (uint8_t)(delta << 4 | type));
  } else {
    put_byte(t, (uint8_t)type);
    ks__thrift_varint(t, ks__thrift_zigzag(id));
  }
  *last = id;
}

void ks__thrift_struct_begin(ks__thrift *t) {
  if (t->depth >= KS__THRIFT_MAX_DEPTH) {
    t->err = t->err ? t->err : KS_EINVAL;
    return;
  }
  t->last[t->depth++] = 0;
}

void ks__thrift_struct_end(ks__thrift *t) {
  put_byte(t, 0);
  if (t->depth > 0)
    t->depth--;
}

void ks__thrift_field_struct(ks__thrift *t, int16_t id) {
  ks__thrift_field_begin(t, id, KS__T_STRUCT);
  ks__thrift_struct_begin(t);
}

void ks__thrift_field_bool(ks__thrift *t, int16_t id, int v) {
  ks__thrift_field_begin(t, id, v ? KS__T_BOOL_TRUE : KS__T_BOOL_FALSE);
}

void ks__thrift_field_i8(ks__thrift *t, int16_t id, int8_t v) {
  ks__thrift_field_begin(t, id, KS__T_I8);
  put_byte(t, (uint8_t)v);
}

void ks__thrift_field_i16(ks__thrift *t, int16_t id, int16_t v) {
  ks__thrift_field_begin(t, id, KS__T_I16);
  ks__thrift_varint(t, ks__thrift_zigzag(v));
}

void ks__thrift_field_i32(ks__thrift *t, int16_t id, int32_t v) {
  ks__thrift_field_begin(t, id, KS__T_I32);
  ks__thrift_varint(t, ks__thrift_zigzag(v));
}

void ks__thrift_field_i64(ks__thrift *t, int16_t id, int64_t v) {
  ks__thrift_field_begin(t, id, KS__T_I64);
  ks__thrift_varint(t, ks__thrift_zigzag(v));
}

void ks__thrift_field_binary(ks__thrift *t, int16_t id, const void *p,
                             size_t n) {
  ks__thrift_field_begin(t, id, KS__T_BINARY);
  ks__thrift_elem_binary(t, p, n);
}

void ks__thrift_field_string(ks__thrift *t, int16_t id, const char *s) {
  ks__thrift_field_binary(t, id, s, strlen(s));
}

void ks__thrift_field_list(ks__thrift *t, int16_t id, int elem_type, size_t n) {
  ks__thrift_field_begin(t, id, KS__T_LIST);
  ks__thrift_list_begin(t, elem_type, n);
}

void ks__thrift_list_begin(ks__thrift *t, int elem_type, size_t n) {
  if (n < 15) {
    put_byte(t, (uint8_t)(n << 4 | (size_t)elem_type));
  } else {
    put_byte(t, (uint8_t)(0xf0 | elem_type));
    ks__thrift_varint(t, n);
  }
}

void ks__thrift_elem_i32(ks__thrift *t, int32_t v) {
  ks__thrift_varint(t, ks__thrift_zigzag(v));
}

void ks__thrift_elem_i64(ks__thrift *t, int64_t v) {
  ks__thrift_varint(t, ks__thrift_zigzag(v));
}

void ks__thrift_elem_binary(ks__thrift *t, const void *p, size_t n) {
  ks__thrift_varint(t, n);
  ks__thrift_append(t, p, n);
}

void ks__thrift_elem_string(ks__thrift *t, const char *s) {
  ks__thrift_elem_binary(t, s, strlen(s));
}
