/*
 * Value conversions for the column types a JSON value does not name by
 * itself, used by the shredder (shred.c) for tables whose columns come
 * from a Delta schemaString: timestamp_ntz from a date-time without a zone
 * offset, binary from base64 text, and the syntax check of a decimal
 * given as a JSON string. Each is a pure function of its input.
 */
#include "stages/record/shred.h"

#include <string.h>

int ks__ntz_parse(const uint8_t *s, size_t n, int64_t *us) {
  /* "2024-01-02T03:04:05[.ffffff]" (or a space for the T): the engine's
   * RFC 3339 parser reads it with a "Z" appended, once the text is known
   * to carry no offset of its own */
  char buf[64];
  if (n < 19 || n > sizeof buf - 2 || (s[10] != 'T' && s[10] != 't' &&
                                       s[10] != ' '))
    return -1;
  for (size_t i = 11; i < n; i++)
    if (s[i] == 'Z' || s[i] == 'z' || s[i] == '+' || s[i] == '-')
      return -2;
  memcpy(buf, s, n);
  buf[10] = 'T';
  buf[n] = 'Z';
  return ks_datetime_parse(buf, n + 1, us) ? -1 : 0;
}

static int b64_digit(uint8_t c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

int ks__base64_decode(const uint8_t *s, size_t n, uint8_t *out,
                      size_t *outn) {
  /* RFC 4648 standard alphabet; the padding may be left out */
  while (n > 0 && s[n - 1] == '=' && n % 4 != 1) {
    n--;
    if (n > 0 && s[n - 1] == '=') {
      n--;
      break;
    }
  }
  if (n % 4 == 1)
    return -1;
  size_t k = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int d = b64_digit(s[i]);
    if (d < 0)
      return -1;
    acc = acc << 6 | (uint32_t)d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[k++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) /* non-canonical trailing bits */
    return -1;
  *outn = k;
  return 0;
}

int ks__decimal_text(const uint8_t *s, size_t n) {
  /* the JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  size_t i = 0;
  if (i < n && s[i] == '-')
    i++;
  if (i >= n || s[i] < '0' || s[i] > '9')
    return -1;
  if (s[i] == '0')
    i++;
  else
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
  if (i < n && s[i] == '.') {
    size_t f = ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
    if (i == f)
      return -1;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    size_t e = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
      i++;
    if (i == e)
      return -1;
  }
  return i == n ? 0 : -1;
}
