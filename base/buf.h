/*
 * ks_buf: the one growable byte buffer. Every buffer has a cap (curl's
 * dynbuf "toobig"): appends past it fail with KS_ETOOBIG instead of letting
 * one bad input eat the process. Buffers are reused across row groups by
 * ks_buf_reset(), which keeps the allocation.
 */
#ifndef KS_BASE_BUF_H
#define KS_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct ks_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  size_t max; /* hard cap on len */
} ks_buf;

#define KS_BUF_UNLIMITED ((size_t)1 << 46)

void ks_buf_init(ks_buf *b, size_t max);
void ks_buf_free(ks_buf *b);
/* Make room for n more bytes; KS_ETOOBIG past the cap. */
int ks_buf_reserve(ks_buf *b, size_t n);
int ks_buf_append_slow_(ks_buf *b, const void *p, size_t n);
/* The hot path of every column append: inline when it fits. */
static inline int ks_buf_append(ks_buf *b, const void *p, size_t n) {
  if (n <= b->cap - b->len && b->len + n <= b->max) {
    if (n)
      memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
  }
  return ks_buf_append_slow_(b, p, n);
}
int ks_buf_append_str(ks_buf *b, const char *s);
int ks_buf_appendf(ks_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* cap may exceed max by one (room for ks_buf_cstr's NUL): the fast path
 * checks max too, or the byte at the cap would count as data. */
static inline int ks_buf_append_byte(ks_buf *b, uint8_t c) {
  if (b->len < b->cap && b->len < b->max) {
    b->data[b->len++] = c;
    return 0;
  }
  return ks_buf_append(b, &c, 1);
}
static inline void ks_buf_reset(ks_buf *b) { b->len = 0; }
static inline void ks_buf_truncate(ks_buf *b, size_t len) {
  if (len < b->len)
    b->len = len;
}
/* NUL-terminates without counting the NUL in len. */
int ks_buf_cstr(ks_buf *b);
/* Hands the bytes to the caller (who frees them with ks_free). */
uint8_t *ks_buf_steal(ks_buf *b, size_t *len);

/* Append s as a JSON string literal (quotes included, RFC 8259 escaping). */
int ks_buf_append_json_str(ks_buf *b, const char *s, size_t n);
/* Append "/<tok>" to a JSON pointer (RFC 6901 escaping: ~0, ~1). */
int ks_buf_append_json_pointer(ks_buf *b, const char *tok);

#endif
