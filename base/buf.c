#include "base/buf.h"
#include "base/ks.h"

#include <stdarg.h>
#include <stdio.h>

void ks_buf_init(ks_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max ? max : KS_BUF_UNLIMITED;
}

void ks_buf_free(ks_buf *b) {
  ks_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int ks_buf_reserve(ks_buf *b, size_t n) {
  if (n > b->max || b->len > b->max - n)
    return KS_ETOOBIG;
  size_t need = b->len + n;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  if (cap >= b->max)
    cap = b->max + 1; /* room for a NUL at the cap */
  b->data = ks_realloc(b->data, cap);
  b->cap = cap;
  return 0;
}

int ks_buf_append_slow_(ks_buf *b, const void *p, size_t n) {
  int r = ks_buf_reserve(b, n);
  if (r)
    return r;
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

int ks_buf_append_str(ks_buf *b, const char *s) {
  return ks_buf_append(b, s, strlen(s));
}

int ks_buf_appendf(ks_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0)
    return KS_EINVAL;
  if ((size_t)n < sizeof tmp)
    return ks_buf_append(b, tmp, (size_t)n);
  int r = ks_buf_reserve(b, (size_t)n + 1);
  if (r)
    return r;
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

int ks_buf_cstr(ks_buf *b) {
  if (b->len < b->cap) {
    b->data[b->len] = 0;
    return 0;
  }
  int r = ks_buf_reserve(b, 1);
  if (r) {
    /* reserve keeps one spare byte past max for exactly this */
    if (b->cap > b->len) {
      b->data[b->len] = 0;
      return 0;
    }
    return r;
  }
  b->data[b->len] = 0;
  return 0;
}

uint8_t *ks_buf_steal(ks_buf *b, size_t *len) {
  ks_buf_cstr(b);
  uint8_t *p = b->data;
  if (len)
    *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

int ks_buf_append_json_str(ks_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  int r = ks_buf_reserve(b, n + 2);
  if (r)
    return r;
  b->data[b->len++] = '"';
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    /* skip 8 bytes at a time while none is '"', '\\' or below 0x20 */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      const uint64_t ones = 0x0101010101010101ULL, high = ones << 7;
      uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
      uint64_t special = ((w - ones * 0x20) | (q - ones) | (bs - ones)) &
                         ~w & high;
      if (special)
        break;
      i += 8;
    }
    if (i >= n)
      break;
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[7];
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    default:
      if (c < 0x20) {
        u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
        u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = 0;
        esc = u;
      }
    }
    if (esc) {
      if ((r = ks_buf_append(b, s + start, i - start)) ||
          (r = ks_buf_append_str(b, esc)))
        return r;
      start = i + 1;
    }
  }
  if ((r = ks_buf_append(b, s + start, n - start)))
    return r;
  return ks_buf_append_byte(b, '"');
}

int ks_buf_append_json_pointer(ks_buf *b, const char *tok) {
  int r = ks_buf_append_byte(b, '/');
  for (const char *p = tok; r == 0 && *p; p++)
    r = *p == '~'   ? ks_buf_append_str(b, "~0")
        : *p == '/' ? ks_buf_append_str(b, "~1")
                    : ks_buf_append_byte(b, (uint8_t)*p);
  return r;
}
