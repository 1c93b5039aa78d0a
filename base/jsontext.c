#include "base/jsontext.h"

#include <stdint.h>
#include <string.h>

int ks_json_too_deep(const void *text, size_t n, int max_depth) {
  const uint8_t *s = text;
  int depth = 0, in_str = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = s[i];
    if (in_str) {
      if (ch == '\\')
        i++;
      else if (ch == '"')
        in_str = 0;
    } else if (ch == '"') {
      in_str = 1;
    } else if (ch == '{' || ch == '[') {
      if (++depth > max_depth)
        return 1;
    } else if (ch == '}' || ch == ']') {
      depth--;
    }
  }
  return 0;
}

static unsigned hex4(const uint8_t *p) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t c = p[i];
    v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

/* One escape at s (s[0] == '\\'), re-escaped into o the way
 * ks_buf_append_json_str writes its decoded character. Returns the input
 * bytes it took; *o moves past what it wrote (never more than it took). */
static size_t reescape(const uint8_t *s, uint8_t **op) {
  static const char hex[] = "0123456789abcdef";
  uint8_t *o = *op, e = s[1];
  size_t took = 2;
  if (e != 'u') {
    /* \" \\ \b \f \n \r \t stay as written; \/ is a plain '/' */
    if (e == '/')
      *o++ = '/';
    else
      *o++ = '\\', *o++ = e;
    *op = o;
    return took;
  }
  unsigned cp = hex4(s + 2);
  took = 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) { /* paired: the parser checked */
    cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(s + 8) - 0xDC00);
    took = 12;
  }
  if (cp < 0x20 || cp == '"' || cp == '\\') {
    static const char shortform[] = "btn\0fr"; /* 8..13; \v has none */
    *o++ = '\\';
    if (cp == '"' || cp == '\\')
      *o++ = (uint8_t)cp;
    else if (cp >= 8 && cp <= 13 && cp != 11)
      *o++ = (uint8_t)shortform[cp - 8];
    else
      *o++ = 'u', *o++ = '0', *o++ = '0', *o++ = (uint8_t)hex[cp >> 4],
      *o++ = (uint8_t)hex[cp & 15];
  } else if (cp < 0x80) {
    *o++ = (uint8_t)cp;
  } else if (cp < 0x800) {
    *o++ = (uint8_t)(0xC0 | cp >> 6);
    *o++ = (uint8_t)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *o++ = (uint8_t)(0xE0 | cp >> 12);
    *o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (uint8_t)(0x80 | (cp & 0x3F));
  } else {
    *o++ = (uint8_t)(0xF0 | cp >> 18);
    *o++ = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    *o++ = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    *o++ = (uint8_t)(0x80 | (cp & 0x3F));
  }
  *op = o;
  return took;
}

#define ONES 0x0101010101010101ULL

/* High bit set in the bytes of w equal to c (exact for the first one). */
static uint64_t bytes_eq(uint64_t w, uint8_t c) {
  uint64_t x = w ^ (ONES * c);
  return (x - ONES) & ~x & (ONES << 7);
}

/* The compact text is never longer than the input (whitespace only goes,
 * and an escape's re-escaped form is at most as long as the escape:
 * \u00e9 becomes two bytes, \u0001 stays six), so one reservation covers
 * it; eight more let string runs be copied a word at a time. String bodies
 * (most of the bytes) are scanned eight bytes at a time for '"' and '\\'. */
int ks_json_compact(ks_buf *b, const void *text, size_t n) {
  const uint8_t *s = text, *end = s + n;
  /* near the buffer's cap, no word stores past the text's own length */
  int wide = ks_buf_reserve(b, n + 8) == 0;
  int r = wide ? 0 : ks_buf_reserve(b, n);
  if (r)
    return r;
  uint8_t *o = b->data + b->len;
  while (s < end) {
    uint8_t c = *s;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      s++;
      continue;
    }
    *o++ = *s++;
    if (c != '"')
      continue; /* punctuation, numbers and literals as written */
    for (;;) { /* a string's body, up to and with its closing quote */
      while (wide && end - s >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        memcpy(o, &w, 8);
        uint64_t m = bytes_eq(w, '"') | bytes_eq(w, '\\');
        if (m == 0) {
          s += 8, o += 8;
          continue;
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        size_t k = (size_t)__builtin_ctzll(m) >> 3;
#else
        size_t k = 0;
        while (s[k] != '"' && s[k] != '\\')
          k++;
#endif
        s += k, o += k;
        break;
      }
      while (s < end && *s != '"' && *s != '\\')
        *o++ = *s++;
      if (s >= end)
        break;
      if (*s == '"') {
        *o++ = *s++;
        break;
      }
      s += reescape(s, &o);
    }
  }
  b->len = (size_t)(o - b->data);
  return 0;
}
