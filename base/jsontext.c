#include "base/jsontext.h"

#include <stdint.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
    } else if ((ch == '}' || ch == ']') && depth > 0) {
      depth--; /* never below 0: "]]][[[" must not hide its depth */
    }
  }
  return 0;
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
  unsigned cp, lo;
  ks_json_hex4(s + 2, s + 6, &cp); /* the parser checked the digits */
  took = 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) { /* paired: the parser checked */
    ks_json_hex4(s + 8, s + 12, &lo);
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
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

#define LOW7 (ONES * 0x7F)

static uint64_t load8(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* Exact per-byte tests (no borrow between bytes): 0x01 in each byte of w
 * that equals c / that is below 0x21 (a space or a control character). */
static uint64_t lanes_eq(uint64_t w, uint8_t c) {
  uint64_t x = w ^ (ONES * c);
  return (~(((x & LOW7) + LOW7) | x) & (ONES << 7)) >> 7;
}

static uint64_t lanes_below_21(uint64_t w) {
  return (~(((w & LOW7) + ONES * (0x80 - 0x21)) | w) & (ONES << 7)) >> 7;
}

/* 1 when text is its own compact form: no escape anywhere and no
 * whitespace between tokens, as compact producers write it. Eight bytes
 * at a time: the quotes' running parity (a prefix XOR across the word's
 * bytes) says which bytes are inside strings. */
static int is_compact(const uint8_t *s, size_t n) {
  uint64_t inside = 0; /* ONES while a string is open across words */
  size_t i = 0;
#ifdef __SSE2__
  /* Sixteen bytes at a time, one bit per byte. A byte below 0x21 in a
   * signed compare also catches bytes past 0x7F: those are only ever
   * inside strings, where the parity masks them out. */
  unsigned open = 0; /* 0xFFFF while a string is open across blocks */
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))))
      return 0;
    unsigned p = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    unsigned low = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, _mm_set1_epi8(0x21)));
    p ^= p << 1, p ^= p << 2, p ^= p << 4, p ^= p << 8;
    p = (p ^ open) & 0xFFFF;
    if (low & ~p)
      return 0;
    open = p & 0x8000 ? 0xFFFF : 0;
  }
  inside = open ? ONES : 0;
#endif
  for (; i + 8 <= n; i += 8) {
    uint64_t w = load8(s + i);
    if (lanes_eq(w, '\\'))
      return 0;
    uint64_t p = lanes_eq(w, '"');
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    p ^= p << 8, p ^= p << 16, p ^= p << 32; /* parity up to each byte */
#else
    p ^= p >> 8, p ^= p >> 16, p ^= p >> 32;
#endif
    p ^= inside;
    if (lanes_below_21(w) & ~p)
      return 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    inside = (p >> 56) & 1 ? ONES : 0;
#else
    inside = p & 1 ? ONES : 0;
#endif
  }
  int in = inside != 0;
  for (; i < n; i++) {
    uint8_t c = s[i];
    if (c == '\\' || (!in && c <= ' '))
      return 0;
    in ^= c == '"';
  }
  return 1;
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
  if (is_compact(s, n)) {
    memcpy(o, s, n);
    b->len += n;
    return 0;
  }
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

/* ---- ks_json_skim ---- */

size_t ks_json_ws(const void *text, size_t n) {
  const uint8_t *s = text, *p = s, *end = s + n;
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
    p++;
  return (size_t)(p - s);
}

size_t ks_json_ws_yajl(const void *text, size_t n) {
  const uint8_t *s = text, *p = s, *end = s + n;
  while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
    p++;
  return (size_t)(p - s);
}

/* ---- ks_json_value_end ---- */

/* The parse stops at the top value's last token: a scalar outside every
 * container, or the close that ends the outermost one. */
static int ve_more(int *depth) {
  return *depth > 0;
}
static int ve_null(void *ctx) {
  return ve_more(ctx);
}
static int ve_boolean(void *ctx, int b) {
  (void)b;
  return ve_more(ctx);
}
static int ve_number(void *ctx, const char *t, size_t n) {
  (void)t, (void)n;
  return ve_more(ctx);
}
static int ve_string(void *ctx, const unsigned char *s, size_t n) {
  (void)s, (void)n;
  return ve_more(ctx);
}
static int ve_key(void *ctx, const unsigned char *s, size_t n) {
  (void)ctx, (void)s, (void)n;
  return 1;
}
static int ve_open(void *ctx) {
  ++*(int *)ctx;
  return 1;
}
static int ve_close(void *ctx) {
  return --*(int *)ctx > 0;
}

size_t ks_json_value_end(const void *text, size_t n) {
  static const yajl_callbacks cbs = {
      .yajl_null = ve_null,
      .yajl_boolean = ve_boolean,
      .yajl_number = ve_number,
      .yajl_string = ve_string,
      .yajl_start_map = ve_open,
      .yajl_map_key = ve_key,
      .yajl_end_map = ve_close,
      .yajl_start_array = ve_open,
      .yajl_end_array = ve_close,
  };
  int depth = 0;
  size_t end = 0;
  yajl_handle h = yajl_alloc(&cbs, NULL, &depth);
  if (h == NULL)
    return 0;
  yajl_status st = yajl_parse(h, text, n);
  if (st == yajl_status_client_canceled)
    end = yajl_get_bytes_consumed(h);
  else if (st == yajl_status_ok &&
           yajl_complete_parse(h) == yajl_status_client_canceled)
    end = n; /* a number the text's end closed */
  yajl_free(h);
  return end;
}

int ks_json_hex4(const uint8_t *p, const uint8_t *end, unsigned *cp) {
  *cp = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t c = p + i < end ? p[i] : 0, l = c | 0x20;
    unsigned h;
    if (c >= '0' && c <= '9')
      h = c - '0';
    else if (l >= 'a' && l <= 'f')
      h = l - 'a' + 10u;
    else
      return -1;
    *cp = *cp << 4 | h;
  }
  return 0;
}

static const uint8_t *skim_ws(const uint8_t *p, const uint8_t *end) {
  return p + ks_json_ws(p, (size_t)(end - p));
}

/* The first byte from p on that may end a plain run inside a string (a
 * quote, a backslash, a control byte; bytes past 0x7F may be reported
 * too), or end. */
static const uint8_t *skim_run(const uint8_t *p, const uint8_t *end) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'),
                space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* signed: below 0x20, or past 0x7F */
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bs)),
        _mm_cmplt_epi8(v, space)));
    if (m)
      return p + __builtin_ctz(m);
    p += 16;
  }
#endif
  while (p < end && *p != '"' && *p != '\\' && *p >= 0x20)
    p++;
  return p;
}

/* Past a string's closing quote (p just after its opening one), or NULL;
 * *loose set when it has an escape. */
static const uint8_t *skim_string(const uint8_t *p, const uint8_t *end,
                                  int *loose) {
  for (;;) {
    p = skim_run(p, end);
    if (p == end)
      return NULL;
    uint8_t c = *p++;
    if (c == '"')
      return p;
    if (c >= 0x80)
      continue;
    if (c < 0x20)
      return NULL;
    /* a backslash */
    *loose = 1;
    if (p == end)
      return NULL;
    c = *p++;
    if (c == 'u') {
      unsigned cp;
      if (ks_json_hex4(p, end, &cp) || (cp >= 0xD800 && cp <= 0xDFFF))
        return NULL; /* surrogates and their pairs: the parser's to judge */
      p += 4;
    } else if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' &&
               c != 'n' && c != 'r' && c != 't') {
      return NULL;
    }
  }
}

static const uint8_t *skim_digits(const uint8_t *p, const uint8_t *end) {
  const uint8_t *q = p;
  while (q < end && *q >= '0' && *q <= '9')
    q++;
  return q > p ? q : NULL;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static const uint8_t *skim_number(const uint8_t *p, const uint8_t *end) {
  if (*p == '-' && ++p == end)
    return NULL;
  if (*p == '0')
    p++;
  else if ((p = skim_digits(p, end)) == NULL)
    return NULL;
  if (p < end && *p == '.' && (p = skim_digits(p + 1, end)) == NULL)
    return NULL;
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    p = skim_digits(p, end);
  }
  return p;
}

static const uint8_t *skim_literal(const uint8_t *p, const uint8_t *end,
                                   const char *word, size_t n) {
  return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

/* Whitespace at p is rare in compact producers' text: one compare
 * settles the common case. */
#define SKIM_WS(p)                                                             \
  do {                                                                         \
    if ((p) < end && *(p) <= ' ') {                                            \
      (p) = skim_ws((p), end);                                                 \
      loose = 1;                                                               \
    }                                                                          \
  } while (0)

size_t ks_json_skim(const void *text, size_t n, unsigned max_depth,
                    int *compact) {
  const uint8_t *s = text, *p = s, *end = s + n;
  uint64_t arrays = 0; /* bit i: the container at depth i is an array */
  unsigned depth = 0;
  int loose = 0; /* whitespace between tokens, or an escape */
  *compact = 0;
  if (max_depth > 64)
    max_depth = 64;
  if (n == 0 || (*p != '{' && *p != '['))
    return 0;
value:
  SKIM_WS(p);
  if (p == end)
    return 0;
  switch (*p) {
  case '{':
  case '[':
    if (depth >= max_depth)
      return 0;
    if (*p == '[')
      arrays |= UINT64_C(1) << depth;
    else
      arrays &= ~(UINT64_C(1) << depth);
    depth++;
    p++;
    SKIM_WS(p);
    if (p < end && *p == (arrays >> (depth - 1) & 1 ? ']' : '}')) {
      p++, depth--;
      goto after;
    }
    if (arrays >> (depth - 1) & 1)
      goto value;
    goto key;
  case '"':
    p = skim_string(p + 1, end, &loose);
    break;
  case 't':
    p = skim_literal(p, end, "true", 4);
    break;
  case 'f':
    p = skim_literal(p, end, "false", 5);
    break;
  case 'n':
    p = skim_literal(p, end, "null", 4);
    break;
  default:
    if (*p != '-' && (*p < '0' || *p > '9'))
      return 0;
    p = skim_number(p, end);
  }
  if (p == NULL)
    return 0;
after:
  if (depth == 0) {
    *compact = !loose;
    return (size_t)(p - s);
  }
  SKIM_WS(p);
  if (p == end)
    return 0;
  if (*p == ',') {
    p++;
    if (arrays >> (depth - 1) & 1)
      goto value;
    goto key;
  }
  if (*p != (arrays >> (depth - 1) & 1 ? ']' : '}'))
    return 0;
  p++, depth--;
  goto after;
key:
  SKIM_WS(p);
  if (p == end || *p != '"' || (p = skim_string(p + 1, end, &loose)) == NULL)
    return 0;
  SKIM_WS(p);
  if (p == end || *p != ':')
    return 0;
  p++;
  goto value;
}
