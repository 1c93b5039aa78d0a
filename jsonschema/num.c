/*
 * JSON numbers for the validator: exact integrality from the decimal text,
 * comparisons, and multipleOf in exact decimal arithmetic. Numbers are
 * classified from their text because a double cannot tell 1e400 from
 * infinity or 9007199254740993 from 9007199254740992.
 */
#include "jsonschema/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Decides integrality exactly from the decimal text: strip the fraction
 * and exponent into (significant digits, power of ten), then an integer is
 * a non-negative power after trailing zeros are dropped. No double
 * rounding: 9007199254740993 stays exact, 1e400 is an integer too big for
 * int64, 1.5 is not an integer. */
void ks_js_num_parse(ks_js_num *n, const char *t, size_t len) {
  const char *p = t, *end = t + len;
  int neg = 0;
  n->text = t;
  n->len = len;
  n->is_int = n->fits = n->have_d = 0;
  n->i = 0;
  n->d = 0;
  if (p < end && *p == '-') {
    neg = 1;
    p++;
  }
  /* plain integers of up to 18 digits (ids, counts: most numbers in
   * records) fit int64 whatever the digits: no scan for the significant
   * run */
  if (end - p <= 18) {
    uint64_t v = 0;
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9')
      v = v * 10 + (uint64_t)(*q++ - '0');
    if (q == end && q > p) {
      n->is_int = n->fits = 1;
      n->i = neg ? -(int64_t)v : (int64_t)v;
      return;
    }
  }
  const char *ip = p;
  while (p < end && *p >= '0' && *p <= '9')
    p++;
  const char *ie = p, *fp = p, *fe = p;
  if (p < end && *p == '.') {
    fp = ++p;
    while (p < end && *p >= '0' && *p <= '9')
      p++;
    fe = p;
  }
  int64_t exp = 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    int eneg = 0;
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      eneg = *p++ == '-';
    while (p < end && *p >= '0' && *p <= '9') {
      if (exp < 100000000)
        exp = exp * 10 + (*p - '0');
      p++;
    }
    if (eneg)
      exp = -exp;
  }
  /* the digit sequence is int part then fraction; find the significant
   * run [first, last] and the power of ten that scales it */
  size_t il = (size_t)(ie - ip), fl = (size_t)(fe - fp), total = il + fl;
#define DIGIT(k) ((k) < il ? ip[(k)] : fp[(k)-il])
  size_t first = 0, last = total;
  while (first < total && DIGIT(first) == '0')
    first++;
  if (first == total) { /* zero, in any spelling */
    n->is_int = n->fits = 1;
    return;
  }
  while (DIGIT(last - 1) == '0')
    last--;
  int64_t pow10 = exp - (int64_t)fl + (int64_t)(total - last);
  if (pow10 < 0)
    return;
  n->is_int = 1;
  size_t nsig = last - first;
  if ((int64_t)nsig + pow10 > 19)
    return;
  uint64_t m = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (size_t k = 0; k < nsig + (size_t)pow10; k++) {
    unsigned dd = k < nsig ? (unsigned)(DIGIT(first + k) - '0') : 0;
    if (m > (lim - dd) / 10)
      return;
    m = m * 10 + dd;
  }
#undef DIGIT
  n->fits = 1;
  n->i = neg ? (int64_t)(0 - m) : (int64_t)m;
}

double ks_js_num_double(ks_js_num *n) {
  if (n->have_d)
    return n->d;
  char small[64];
  char *buf = n->len < sizeof small ? small : ks_malloc(n->len + 1);
  memcpy(buf, n->text, n->len);
  buf[n->len] = 0;
  n->d = strtod(buf, NULL);
  if (buf != small)
    ks_free(buf);
  n->have_d = 1;
  return n->d;
}

int ks__num_cmp(ks_js_num *a, ks_js_num *b) {
  if (a->fits && b->fits)
    return a->i < b->i ? -1 : a->i > b->i;
  double x = ks_js_num_double(a), y = ks_js_num_double(b);
  return x < y ? -1 : x > y;
}

/* value = m * 10^p with m holding at most 18 significant digits; -1 when
 * there are more. */
static int decimal(const char *t, size_t len, uint64_t *m, int64_t *p) {
  const char *end = t + len;
  if (t < end && *t == '-')
    t++;
  uint64_t mant = 0;
  int nsig = 0;
  int64_t scale = 0;
  int in_frac = 0;
  int64_t exp = 0;
  for (; t < end; t++) {
    if (*t == '.') {
      in_frac = 1;
      continue;
    }
    if (*t == 'e' || *t == 'E') {
      int eneg = 0;
      t++;
      if (t < end && (*t == '+' || *t == '-'))
        eneg = *t++ == '-';
      for (; t < end; t++)
        if (exp < 100000000)
          exp = exp * 10 + (*t - '0');
      if (eneg)
        exp = -exp;
      break;
    }
    unsigned d = (unsigned)(*t - '0');
    if (in_frac)
      scale--;
    if (mant == 0 && d == 0)
      continue;
    if (nsig == 18)
      return -1;
    mant = mant * 10 + d;
    nsig++;
  }
  while (mant && mant % 10 == 0) {
    mant /= 10;
    scale++;
  }
  *m = mant;
  *p = scale + exp;
  return 0;
}

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) {
  return (uint64_t)((unsigned __int128)a * b % m);
}

static uint64_t powmod10(int64_t e, uint64_t m) {
  uint64_t r = 1 % m, base = 10 % m;
  while (e > 0) {
    if (e & 1)
      r = mulmod(r, base, m);
    base = mulmod(base, base, m);
    e >>= 1;
  }
  return r;
}

int ks__num_multiple(ks_js_num *a, ks_js_num *b) {
  uint64_t ma, mb;
  int64_t pa, pb;
  if (decimal(a->text, a->len, &ma, &pa) == 0 &&
      decimal(b->text, b->len, &mb, &pb) == 0 && mb != 0) {
    if (ma == 0)
      return 1;
    if (pa >= pb) /* a/b = (ma * 10^(pa-pb)) / mb */
      return mulmod(ma % mb, powmod10(pa - pb, mb), mb) == 0;
    /* a/b = ma / (mb * 10^(pb-pa)): needs ma divisible by that */
    uint64_t d = mb;
    for (int64_t k = 0; k < pb - pa; k++) {
      if (d > UINT64_MAX / 10)
        return 0; /* divisor exceeds ma */
      d *= 10;
    }
    return ma % d == 0;
  }
  double x = ks_js_num_double(a), y = ks_js_num_double(b);
  double q = x / y;
  if (!isfinite(q))
    return 0;
  return q == floor(q);
}
