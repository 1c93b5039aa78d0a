/*
 * A tiny XML scanner for S3 answers. S3's documents are flat and
 * machine-written (no CDATA, comments, or attributes on the elements we
 * read), so finding "<Tag>" ... "</Tag>" and unescaping the text is all
 * that is needed; a full parser would add a dependency for nothing.
 */
#include "storage/s3/s3_int.h"

#include <stdlib.h>
#include <string.h>

int ks__xml_next(const char **cur, const char *end, const char *tag,
                 const char **val, size_t *vlen) {
  size_t tl = strlen(tag);
  const char *p = *cur;
  while (p < end) {
    const char *lt = memchr(p, '<', (size_t)(end - p));
    if (lt == NULL || (size_t)(end - lt) < tl + 2)
      return KS_ENOENT;
    if (strncmp(lt + 1, tag, tl) == 0 && (lt[tl + 1] == '>' ||
                                          lt[tl + 1] == ' ')) {
      const char *gt = memchr(lt, '>', (size_t)(end - lt));
      if (gt == NULL)
        return KS_ENOENT;
      if (gt[-1] == '/') { /* <Tag/> */
        *val = gt;
        *vlen = 0;
        *cur = gt + 1;
        return 0;
      }
      /* Find the matching close tag; nested same-name elements do not
       * occur in S3 answers. */
      const char *q = gt + 1;
      for (;;) {
        const char *c = memmem(q, (size_t)(end - q), "</", 2);
        if (c == NULL || (size_t)(end - c) < tl + 3)
          return KS_ENOENT;
        if (strncmp(c + 2, tag, tl) == 0 && c[tl + 2] == '>') {
          *val = gt + 1;
          *vlen = (size_t)(c - (gt + 1));
          *cur = c + tl + 3;
          return 0;
        }
        q = c + 2;
      }
    }
    p = lt + 1;
  }
  return KS_ENOENT;
}

static int utf8_put(char *o, unsigned long cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

char *ks__xml_unescape(const char *s, size_t n) {
  char *out = ks_malloc(n + 1), *o = out;
  static const struct {
    const char *name;
    char c;
  } ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'},
              {"apos;", '\''}};
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '&') {
      *o++ = s[i];
      continue;
    }
    const char *semi = memchr(s + i, ';', n - i);
    if (semi == NULL) {
      *o++ = s[i];
      continue;
    }
    size_t el = (size_t)(semi - (s + i)); /* from '&' to before ';' */
    int done = 0;
    for (size_t k = 0; k < KS_ARRAY_SIZE(ents) && !done; k++) {
      size_t nl = strlen(ents[k].name);
      if (el + 1 == nl + 1 && strncmp(s + i + 1, ents[k].name, nl) == 0) {
        *o++ = ents[k].c;
        i += nl;
        done = 1;
      }
    }
    if (!done && el >= 2 && s[i + 1] == '#') {
      char num[16];
      size_t nl = el - 2 < sizeof num - 1 ? el - 2 : sizeof num - 1;
      memcpy(num, s + i + 2, nl);
      num[nl] = '\0';
      unsigned long cp = num[0] == 'x' ? strtoul(num + 1, NULL, 16)
                                       : strtoul(num, NULL, 10);
      if (cp > 0 && cp <= 0x10FFFF) {
        o += utf8_put(o, cp); /* at most 4 bytes for >= 4 input bytes */
        i += el;
        done = 1;
      }
    }
    if (!done)
      *o++ = s[i];
  }
  *o = '\0';
  return out;
}

int ks__xml_get(const char *s, size_t n, const char *tag, char *out,
                size_t cap) {
  const char *cur = s, *v;
  size_t vl;
  if (ks__xml_next(&cur, s + n, tag, &v, &vl))
    return KS_ENOENT;
  char *t = ks__xml_unescape(v, vl);
  size_t tl = strlen(t);
  if (tl >= cap)
    tl = cap - 1;
  memcpy(out, t, tl);
  out[tl] = '\0';
  ks_free(t);
  return 0;
}

int ks__xml_escape(ks_buf *b, const char *s) {
  int r = 0;
  for (; *s && r == 0; s++) {
    switch (*s) {
    case '&':
      r = ks_buf_append_str(b, "&amp;");
      break;
    case '<':
      r = ks_buf_append_str(b, "&lt;");
      break;
    case '>':
      r = ks_buf_append_str(b, "&gt;");
      break;
    case '"':
      r = ks_buf_append_str(b, "&quot;");
      break;
    case '\'':
      r = ks_buf_append_str(b, "&apos;");
      break;
    default:
      r = ks_buf_append_byte(b, (uint8_t)*s);
    }
  }
  return r;
}
