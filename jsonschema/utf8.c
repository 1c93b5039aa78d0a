#include "jsonschema/jsonschema.h"

#include <string.h>

static int cont(uint8_t c) {
  return (c & 0xC0) == 0x80;
}

/* Table-free decoder: an all-ASCII string (nearly every record string) is
 * settled by ks__utf8_any_high; otherwise ASCII runs are skipped eight bytes at a
 * time. */
int ks_utf8_check(const uint8_t *s, size_t n, size_t *ncp) {
  if (!ks__utf8_any_high(s, n)) {
    if (ncp)
      *ncp = n;
    return 0;
  }
  size_t i = 0, extra = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
    } else if (c < 0xC2) {
      return -1; /* continuation byte as lead, or overlong 2-byte form */
    } else if (c < 0xE0) {
      if (i + 1 >= n || !cont(s[i + 1]))
        return -1;
      i += 2;
      extra += 1;
    } else if (c < 0xF0) {
      uint8_t lo = c == 0xE0 ? 0xA0 : 0x80; /* overlong */
      uint8_t hi = c == 0xED ? 0x9F : 0xBF; /* surrogates */
      if (i + 2 >= n || s[i + 1] < lo || s[i + 1] > hi || !cont(s[i + 2]))
        return -1;
      i += 3;
      extra += 2;
    } else if (c < 0xF5) {
      uint8_t lo = c == 0xF0 ? 0x90 : 0x80; /* overlong */
      uint8_t hi = c == 0xF4 ? 0x8F : 0xBF; /* past U+10FFFF */
      if (i + 3 >= n || s[i + 1] < lo || s[i + 1] > hi || !cont(s[i + 2]) ||
          !cont(s[i + 3]))
        return -1;
      i += 4;
      extra += 3;
    } else {
      return -1;
    }
  }
  if (ncp)
    *ncp = n - extra;
  return 0;
}

size_t ks_utf8_prefix(const uint8_t *s, size_t n, size_t max) {
  if (n <= max)
    return n;
  size_t i = max;
  while (i > 0 && cont(s[i]))
    i--;
  return i;
}
