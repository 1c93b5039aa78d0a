/*
 * Thrift compact protocol decoder (thrift.h). Parquet footers and page
 * headers of any writer pass through here, so nothing is trusted: lengths
 * and counts are checked against the bytes left before use.
 */
#include "storage/parquet/thrift.h"

#include "base/ks.h"

#include <string.h>

static void fail(ks__thrift_rd *r) {
  if (r->err == 0)
    r->err = KS_ECORRUPT;
  r->p = r->end;
}

void ks__thrift_rd_init(ks__thrift_rd *r, const uint8_t *p, size_t n) {
  r->p = p;
  r->end = p + n;
  r->err = 0;
  r->depth = 0;
}

static uint8_t rd_byte(ks__thrift_rd *r) {
  if (r->err || r->p >= r->end) {
    fail(r);
    return 0;
  }
  return *r->p++;
}

static uint64_t rd_varint(ks__thrift_rd *r) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b = rd_byte(r);
    if (r->err)
      return 0;
    v |= (uint64_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0)
      return v;
  }
  fail(r); /* more than 10 bytes */
  return 0;
}

static int64_t unzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

void ks__thrift_rd_struct_begin(ks__thrift_rd *r) {
  if (r->err)
    return;
  if (r->depth >= KS__THRIFT_MAX_DEPTH) {
    fail(r);
    return;
  }
  r->last[r->depth++] = 0;
}

int ks__thrift_rd_field(ks__thrift_rd *r, int16_t *id, int *type) {
  if (r->err || r->depth == 0) {
    fail(r);
    return 0;
  }
  uint8_t b = rd_byte(r);
  if (r->err)
    return 0;
  if (b == 0) {
    r->depth--;
    return 0;
  }
  int t = b & 0x0f;
  int delta = b >> 4;
  int16_t *last = &r->last[r->depth - 1];
  if (delta) {
    *id = (int16_t)(*last + delta);
  } else {
    int64_t v = unzigzag(rd_varint(r));
    if (v < INT16_MIN || v > INT16_MAX)
      fail(r);
    *id = (int16_t)v;
  }
  if (t < KS__T_BOOL_TRUE || t > KS__T_STRUCT)
    fail(r);
  if (r->err)
    return 0;
  *last = *id;
  *type = t;
  return 1;
}

int64_t ks__thrift_rd_int(ks__thrift_rd *r, int type) {
  switch (type) {
  case KS__T_BOOL_TRUE:
    return 1;
  case KS__T_BOOL_FALSE:
    return 0;
  case KS__T_I8:
    return (int8_t)rd_byte(r);
  case KS__T_I16:
  case KS__T_I32:
  case KS__T_I64:
    return unzigzag(rd_varint(r));
  default:
    fail(r);
    return 0;
  }
}

void ks__thrift_rd_binary(ks__thrift_rd *r, const uint8_t **p, size_t *n) {
  uint64_t len = rd_varint(r);
  if (r->err || len > (uint64_t)(r->end - r->p)) {
    fail(r);
    *p = (const uint8_t *)"";
    *n = 0;
    return;
  }
  *p = r->p;
  *n = (size_t)len;
  r->p += len;
}

void ks__thrift_rd_list(ks__thrift_rd *r, int *elem_type, size_t *n) {
  uint8_t b = rd_byte(r);
  uint64_t count = b >> 4;
  if (count == 15)
    count = rd_varint(r);
  *elem_type = b & 0x0f;
  /* every element takes at least one byte, bools included */
  if (r->err || count > (uint64_t)(r->end - r->p)) {
    fail(r);
    *n = 0;
    return;
  }
  *n = (size_t)count;
}

static void skip_depth(ks__thrift_rd *r, int type, int depth);

static void skip_struct(ks__thrift_rd *r, int depth) {
  ks__thrift_rd_struct_begin(r);
  int16_t id;
  int t;
  while (!r->err && ks__thrift_rd_field(r, &id, &t))
    skip_depth(r, t, depth + 1);
}

static void skip_elem(ks__thrift_rd *r, int type, int depth) {
  /* a bool inside a list or map is one byte */
  if (type == KS__T_BOOL_TRUE || type == KS__T_BOOL_FALSE)
    rd_byte(r);
  else
    skip_depth(r, type, depth);
}

static void skip_depth(ks__thrift_rd *r, int type, int depth) {
  if (r->err)
    return;
  if (depth > KS__THRIFT_MAX_DEPTH) {
    fail(r);
    return;
  }
  const uint8_t *p;
  size_t n;
  switch (type) {
  case KS__T_BOOL_TRUE:
  case KS__T_BOOL_FALSE:
    return;
  case KS__T_I8:
    rd_byte(r);
    return;
  case KS__T_I16:
  case KS__T_I32:
  case KS__T_I64:
    rd_varint(r);
    return;
  case KS__T_DOUBLE:
    if (r->end - r->p < 8)
      fail(r);
    else
      r->p += 8;
    return;
  case KS__T_BINARY:
    ks__thrift_rd_binary(r, &p, &n);
    return;
  case KS__T_LIST:
  case KS__T_SET: {
    int et;
    ks__thrift_rd_list(r, &et, &n);
    for (size_t i = 0; i < n && !r->err; i++)
      skip_elem(r, et, depth + 1);
    return;
  }
  case KS__T_MAP: {
    uint64_t count = rd_varint(r);
    if (count == 0)
      return;
    uint8_t kv = rd_byte(r);
    if (r->err || count > (uint64_t)(r->end - r->p)) {
      fail(r);
      return;
    }
    for (uint64_t i = 0; i < count && !r->err; i++) {
      skip_elem(r, kv >> 4, depth + 1);
      skip_elem(r, kv & 0x0f, depth + 1);
    }
    return;
  }
  case KS__T_STRUCT:
    skip_struct(r, depth);
    return;
  default:
    fail(r);
  }
}

void ks__thrift_rd_skip(ks__thrift_rd *r, int type) {
  skip_depth(r, type, r->depth);
}
