/*
 * Avro binary (avro.h). Each value is read and turned into the event the
 * JSON path would produce: numbers as their decimal text (the columns
 * parse integers exactly; a float also hands over the double it widens
 * to), timestamps and dates as RFC 3339 text (what the date-time and date
 * columns take), bytes as base64, a multi-branch union as
 * {"<branch>": value}. Every read checks the bytes left; a
 * budget of values per record stops blocks of zero-sized items (arrays
 * of nulls) from spinning on a few bytes of hostile input.
 */
#include "stages/record/avro.h"
#include "base/civil.h"
#include "stages/record/decode_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 64

struct ks_avro_decoder {
  ks_decoder *d;
  const uint8_t *p, *start, *end;
  size_t budget;
  int depth;
  int skip_nulls; /* ks_avro_decoder_skip_null_fields */
  ks_buf scratch;
  char msg[160];
};

ks_avro_decoder *ks_avro_decoder_new(ks_decoder *d) {
  ks_avro_decoder *a = ks_calloc(1, sizeof *a);
  a->d = d;
  ks_buf_init(&a->scratch, 0);
  return a;
}

void ks_avro_decoder_skip_null_fields(ks_avro_decoder *a, int on) {
  a->skip_nulls = on;
}

void ks_avro_decoder_free(ks_avro_decoder *a) {
  if (a == NULL)
    return;
  ks_buf_free(&a->scratch);
  ks_free(a);
}

static int bad(ks_avro_decoder *a, const char *what) {
  snprintf(a->msg, sizeof a->msg, "Avro value at byte %zu: %s",
           (size_t)(a->p - a->start), what);
  return ks__decoder_fail(a->d, KS_REASON_BAD_WIRE_FORMAT, a->msg);
}

/* A zig-zag varint of at most max bytes: 10 for a long, 5 for an int
 * (Java's decoder refuses a longer int, "Invalid int encoding", even when
 * its value would fit). */
static int read_varint(ks_avro_decoder *a, int64_t *out, int max) {
  uint64_t v = 0;
  *out = 0;
  for (int i = 0; i < max; i++) {
    if (a->p >= a->end)
      return bad(a, "ends inside a number");
    uint8_t b = *a->p++;
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
      return 0;
    }
  }
  return bad(a, max == 5 ? "an int longer than 5 bytes"
                         : "a number longer than 10 bytes");
}

static int read_long(ks_avro_decoder *a, int64_t *out) {
  return read_varint(a, out, 10);
}

/* An int: values of type int, enum symbols' and union branches' indexes. */
static int read_int(ks_avro_decoder *a, int64_t *out) {
  return read_varint(a, out, 5);
}

static int read_len(ks_avro_decoder *a, size_t *out) {
  int64_t n;
  int r = read_long(a, &n);
  if (r)
    return r;
  if (n < 0 || (uint64_t)n > (uint64_t)(a->end - a->p))
    return bad(a, "a length past the end of the record");
  *out = (size_t)n;
  return 0;
}

static int emit_int(ks_avro_decoder *a, int64_t v) {
  char t[24];
  char *e = t + sizeof t, *p = e;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    *--p = '-';
  return ks__decoder_number(a->d, p, (size_t)(e - p));
}

/* NaN and the infinities are valid Avro but no JSON number, and a
 * double column refuses an infinity from JSON (1e999) as out of range:
 * refused the same way, as a value the columns cannot hold. */
static int non_finite(ks_avro_decoder *a, double v, const char *type) {
  char m[200];
  snprintf(m, sizeof m,
           "%s (an Avro %s) is out of range for a number: the columns take "
           "JSON's numbers, which have no NaN or infinity",
           isnan(v) ? "NaN"
           : v > 0  ? "Infinity"
                    : "-Infinity",
           type);
  return ks_js_fail_value(&a->d->v, KS_EINVALID, KS_KEYWORD_TYPE, m);
}

static int emit_double(ks_avro_decoder *a, double v) {
  if (!isfinite(v))
    return non_finite(a, v, "double");
  char t[40];
  int n = snprintf(t, sizeof t, "%.17g", v);
  return ks__decoder_number(a->d, t, (size_t)n);
}

/* The shortest text that reads back as f (Java's Float.toString is as
 * short). Six digits (FLT_DIG) give it for every normal float that has
 * one that short; a subnormal may need fewer. */
static int float_text(char *t, size_t cap, float f) {
  int n = 0;
  for (int prec = fabsf(f) < FLT_MIN ? 1 : 6; prec <= 9; prec++) {
    n = snprintf(t, cap, "%.*g", prec, (double)f);
    if (strtof(t, NULL) == f)
      break;
  }
  return n;
}

/* A float is the double it widens to, exactly (what Spark and Avro's
 * readers see: 0.1f is 0.10000000149011612); a JSON text column keeps
 * the float's own short text. The number event carries both: the text
 * and the double the columns take. Transforms pass numbers on as text,
 * which holds one value: there the widened double's text, so number
 * columns still get it exactly and JSON text columns a longer text of
 * the same value. */
static int emit_float(ks_avro_decoder *a, float f) {
  if (!isfinite(f))
    return non_finite(a, f, "float");
  ks_decoder *d = a->d;
  char t[40];
  if (d->xf) {
    int n = snprintf(t, sizeof t, "%.17g", (double)f);
    return ks__decoder_number(d, t, (size_t)n);
  }
  ks_js_num num;
  ks_js_num_parse(&num, t, (size_t)float_text(t, sizeof t, f));
  num.have_d = 1;
  num.d = (double)f;
  return ks__dec_sink_num(d, &num) ? 0 : KS_EINVALID;
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" from microseconds since the epoch. */
static int emit_timestamp(ks_avro_decoder *a, int64_t us) {
  int64_t days = us / 86400000000LL, rem = us % 86400000000LL;
  if (rem < 0) {
    rem += 86400000000LL;
    days--;
  }
  int64_t y;
  unsigned m, d;
  ks_civil_from_days(days, &y, &m, &d);
  char t[64];
  int64_t s = rem / 1000000;
  int n = snprintf(t, sizeof t, "%04lld-%02u-%02uT%02d:%02d:%02d.%06dZ",
                   (long long)y, m, d, (int)(s / 3600), (int)(s / 60 % 60),
                   (int)(s % 60), (int)(rem % 1000000));
  return ks__decoder_string(a->d, (const uint8_t *)t, (size_t)n);
}

static int emit_date(ks_avro_decoder *a, int64_t days) {
  int64_t y;
  unsigned m, d;
  ks_civil_from_days(days, &y, &m, &d);
  char t[48];
  int n = snprintf(t, sizeof t, "%04lld-%02u-%02u", (long long)y, m, d);
  return ks__decoder_string(a->d, (const uint8_t *)t, (size_t)n);
}

static int emit_base64(ks_avro_decoder *a, const uint8_t *s, size_t n) {
  static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  ks_buf *b = &a->scratch;
  ks_buf_reset(b);
  if (ks_buf_reserve(b, (n + 2) / 3 * 4 + 1))
    return bad(a, "bytes too large");
  uint8_t *o = b->data;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    *o++ = (uint8_t)tab[v >> 18];
    *o++ = (uint8_t)tab[v >> 12 & 63];
    *o++ = (uint8_t)tab[v >> 6 & 63];
    *o++ = (uint8_t)tab[v & 63];
  }
  if (n - i) {
    uint32_t v = (uint32_t)s[i] << 16 | (n - i > 1 ? (uint32_t)s[i + 1] << 8 : 0);
    *o++ = (uint8_t)tab[v >> 18];
    *o++ = (uint8_t)tab[v >> 12 & 63];
    *o++ = n - i > 1 ? (uint8_t)tab[v >> 6 & 63] : '=';
    *o++ = '=';
  }
  return ks__decoder_string(a->d, b->data, (size_t)(o - b->data));
}

/* Two's-complement big-endian unscaled value -> its decimal text. */
static int emit_decimal(ks_avro_decoder *a, const ks_avro_node *w,
                        const uint8_t *s, size_t n) {
  if (n == 0)
    return bad(a, "a decimal of no bytes");
  size_t skip = 0;
  /* sign-extension bytes beyond 16 must all equal the sign */
  while (n - skip > 16) {
    uint8_t ext = s[skip + 1] & 0x80 ? 0xff : 0x00;
    if (s[skip] != ext)
      return bad(a, "a decimal past 38 digits");
    skip++;
  }
  ks_int128 v = (s[skip] & 0x80) ? -1 : 0;
  for (size_t i = skip; i < n; i++)
    v = (ks_int128)(((unsigned __int128)v << 8) | s[i]);
  int neg = v < 0;
  unsigned __int128 u = neg ? (unsigned __int128)0 - (unsigned __int128)v
                            : (unsigned __int128)v;
  char digits[48], t[64];
  int nd = 0;
  do {
    digits[nd++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u && nd < 45);
  int o = 0;
  if (neg)
    t[o++] = '-';
  int sc = w->scale;
  if (nd <= sc) {
    t[o++] = '0';
    t[o++] = '.';
    for (int i = 0; i < sc - nd; i++)
      t[o++] = '0';
    while (nd)
      t[o++] = digits[--nd];
  } else {
    while (nd) {
      if (nd == sc)
        t[o++] = '.';
      t[o++] = digits[--nd];
    }
  }
  if (sc == 0 && w->precision > 18) /* a string column (avro_schema.c) */
    return ks__decoder_string(a->d, (const uint8_t *)t, (size_t)o);
  return ks__decoder_number(a->d, t, (size_t)o);
}

static int value(ks_avro_decoder *a, const ks_avro_node *w);

static int bytes_value(ks_avro_decoder *a, const ks_avro_node *w,
                       const uint8_t *s, size_t n) {
  if (w->logical == KS_AVL_DECIMAL)
    return emit_decimal(a, w, s, n);
  return emit_base64(a, s, n);
}

static int blocks(ks_avro_decoder *a, const ks_avro_node *w) {
  int is_map = w->kind == KS_AV_MAP, r;
  if ((r = ks__decoder_open(a->d, !is_map)) != 0)
    return r;
  for (;;) {
    int64_t count;
    if ((r = read_long(a, &count)) != 0)
      return r;
    if (count == 0)
      break;
    if (count < 0) { /* a block with its size in bytes: skip-able */
      int64_t size;
      if (count == INT64_MIN)
        return bad(a, "a block count out of range");
      count = -count;
      if ((r = read_long(a, &size)) != 0)
        return r;
    }
    if ((uint64_t)count > a->budget)
      return bad(a, "more items than the record can hold");
    for (int64_t i = 0; i < count; i++) {
      if (is_map) {
        size_t kl = 0;
        if ((r = read_len(a, &kl)) != 0)
          return r;
        const uint8_t *k = a->p;
        a->p += kl;
        if ((r = ks__decoder_key(a->d, k, kl)) != 0)
          return r;
      }
      if ((r = value(a, w->kids[0])) != 0)
        return r;
    }
  }
  return ks__decoder_close(a->d, !is_map);
}

static int record(ks_avro_decoder *a, const ks_avro_node *w) {
  int r;
  if ((r = ks__decoder_open(a->d, 0)) != 0)
    return r;
  for (uint32_t i = 0; i < w->n; i++) {
    const ks_avro_node *t = w->kids[i];
    if (a->skip_nulls && t->kind == KS_AV_UNION && t->null_branch >= 0) {
      /* ["null", X] holding null: the field is left out, which the
       * table's nullable column reads as null at a fraction of the cost */
      int64_t b;
      if ((r = read_int(a, &b)) != 0)
        return r;
      if (b != 0 && b != 1)
        return bad(a, "a union branch the schema does not have");
      if (b == t->null_branch)
        continue;
      t = t->kids[b];
    }
    if ((r = ks__decoder_key(a->d, (const uint8_t *)w->names[i],
                             w->name_lens[i])) != 0 ||
        (r = value(a, t)) != 0)
      return r;
  }
  return ks__decoder_close(a->d, 0);
}

static int branch(ks_avro_decoder *a, const ks_avro_node *w) {
  int64_t i;
  int r;
  if ((r = read_int(a, &i)) != 0)
    return r;
  if (i < 0 || (uint64_t)i >= w->n)
    return bad(a, "a union branch the schema does not have");
  const ks_avro_node *b = w->kids[i];
  if (w->null_branch >= 0 || b->kind == KS_AV_NULL)
    return value(a, b);
  /* {"<branch>": value}, Avro's JSON encoding of a union */
  const char *bn = b->name ? b->short_name
                   : b->kind == KS_AV_ARRAY ? "array"
                   : b->kind == KS_AV_MAP   ? "map"
                   : b->kind == KS_AV_BOOLEAN ? "boolean"
                   : b->kind == KS_AV_INT     ? "int"
                   : b->kind == KS_AV_LONG    ? "long"
                   : b->kind == KS_AV_FLOAT   ? "float"
                   : b->kind == KS_AV_DOUBLE  ? "double"
                   : b->kind == KS_AV_BYTES   ? "bytes"
                                              : "string";
  if ((r = ks__decoder_open(a->d, 0)) != 0 ||
      (r = ks__decoder_key(a->d, (const uint8_t *)bn, strlen(bn))) != 0 ||
      (r = value(a, b)) != 0)
    return r;
  return ks__decoder_close(a->d, 0);
}

static int value(ks_avro_decoder *a, const ks_avro_node *w) {
  int64_t v = 0;
  size_t n = 0;
  int r;
  if (a->budget == 0)
    return bad(a, "more values than the record can hold");
  a->budget--;
  if (++a->depth > MAX_NEST) {
    a->depth--;
    return bad(a, "nested too deep");
  }
  switch (w->kind) {
  case KS_AV_NULL: r = ks__decoder_null(a->d); break;
  case KS_AV_BOOLEAN:
    if (a->p >= a->end || *a->p > 1)
      r = bad(a, "not a boolean");
    else
      r = ks__decoder_bool(a->d, *a->p++);
    break;
  case KS_AV_INT:
  case KS_AV_LONG:
    if ((r = w->kind == KS_AV_INT ? read_int(a, &v) : read_long(a, &v)) != 0)
      break;
    if (w->kind == KS_AV_INT && (v < INT32_MIN || v > INT32_MAX))
      r = bad(a, "an int past 32 bits");
    else if (w->logical == KS_AVL_DATE)
      r = emit_date(a, v);
    else if (w->logical == KS_AVL_TS_MILLIS ||
             w->logical == KS_AVL_LOCAL_TS_MILLIS) {
      if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
        r = bad(a, "a timestamp out of range");
      else
        r = emit_timestamp(a, v * 1000);
    } else if (w->logical == KS_AVL_TS_MICROS ||
               w->logical == KS_AVL_LOCAL_TS_MICROS)
      r = emit_timestamp(a, v);
    else
      r = emit_int(a, v);
    break;
  case KS_AV_FLOAT:
  case KS_AV_DOUBLE: {
    size_t sz = w->kind == KS_AV_FLOAT ? 4 : 8;
    if ((size_t)(a->end - a->p) < sz) {
      r = bad(a, "ends inside a floating-point number");
      break;
    }
    uint64_t bits = 0;
    for (size_t i = 0; i < sz; i++)
      bits |= (uint64_t)a->p[i] << (8 * i);
    a->p += sz;
    if (sz == 4) {
      uint32_t b32 = (uint32_t)bits;
      float f;
      memcpy(&f, &b32, 4);
      r = emit_float(a, f);
    } else {
      double d;
      memcpy(&d, &bits, 8);
      r = emit_double(a, d);
    }
    break;
  }
  case KS_AV_BYTES:
  case KS_AV_STRING:
    if ((r = read_len(a, &n)) != 0)
      break;
    a->p += n;
    r = w->kind == KS_AV_STRING ? ks__decoder_string(a->d, a->p - n, n)
                                : bytes_value(a, w, a->p - n, n);
    break;
  case KS_AV_FIXED:
    if ((size_t)(a->end - a->p) < w->size) {
      r = bad(a, "ends inside a fixed");
      break;
    }
    a->p += w->size;
    r = bytes_value(a, w, a->p - w->size, w->size);
    break;
  case KS_AV_ENUM:
    if ((r = read_int(a, &v)) != 0)
      break;
    if (v < 0 || (uint64_t)v >= w->n)
      r = bad(a, "an enum index the schema does not have");
    else
      r = ks__decoder_string(a->d, (const uint8_t *)w->names[v],
                             w->name_lens[v]);
    break;
  case KS_AV_RECORD: r = record(a, w); break;
  case KS_AV_ARRAY:
  case KS_AV_MAP: r = blocks(a, w); break;
  case KS_AV_UNION: r = branch(a, w); break;
  default: r = bad(a, "an unknown type"); break;
  }
  a->depth--;
  return r;
}

int ks_avro_decoder_feed(ks_avro_decoder *a, const ks_avro_node *w,
                         const uint8_t *p, size_t n, ks_reject *r) {
  ks__decoder_begin(a->d);
  /* the table's max_record_bytes, measured as the JSON path measures it:
   * the value as handed to the decoder, after the wire prefix */
  if (ks__dec_too_large(a->d, n))
    return ks__decoder_end(a->d, 1, r);
  a->p = a->start = p;
  a->end = p + n;
  a->depth = 0;
  a->budget = 16 * n + 4096;
  int failed = value(a, w) != 0;
  if (!failed && a->p != a->end)
    failed = bad(a, "bytes left after the record") != 0;
  return ks__decoder_end(a->d, failed, r);
}
