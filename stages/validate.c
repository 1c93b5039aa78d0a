/*
 * The streaming validator: a stack of frames, one per open object or
 * array, each pointing at the compiled schema node of its container. Every
 * yajl event is one call here; the schema of the next value is always the
 * top frame's (items of an array, the member's schema after a key), so the
 * cost per value is a type mask test plus the node's few keyword checks.
 * Only the first failure is reported: the caller stops the parse on it.
 */
#include "stages/datetime.h"
#include "stages/schema_int.h"
#include "stages/utf8.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- numbers ---- */

/* Decides integrality exactly from the decimal text: strip the fraction
 * and exponent into (significant digits, power of ten), then an integer is
 * a non-negative power after trailing zeros are dropped. No double
 * rounding: 9007199254740993 stays exact, 1e400 is an integer too big for
 * int64, 1.5 is not an integer. */
void ks__num_parse(ks__num *n, const char *t, size_t len) {
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

double ks__num_double(ks__num *n) {
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

/* ---- failures ---- */

static size_t put(char *out, size_t outlen, size_t o, const char *s, size_t n) {
  for (size_t i = 0; i < n && o + 1 < outlen; i++)
    out[o++] = s[i];
  out[o < outlen ? o : outlen - 1] = 0;
  return o;
}

/* Byte truncation may cut a UTF-8 sequence: drop the incomplete tail. */
static size_t trim_partial(char *out, size_t o) {
  size_t l = o;
  while (l > 0 && o - l < 4 && ((uint8_t)out[l - 1] & 0xC0) == 0x80)
    l--;
  if (l > 0 && (uint8_t)out[l - 1] >= 0xC0) {
    uint8_t c = (uint8_t)out[l - 1];
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (o - (l - 1) < need)
      o = l - 1;
  }
  out[o] = 0;
  return o;
}

static size_t render_path(const ks__validator *v, size_t nseg, char *out,
                          size_t outlen) {
  size_t o = 0;
  out[0] = 0;
  for (size_t i = 0; i < nseg; i++) {
    const ks__frame *f = &v->stack[i];
    o = put(out, outlen, o, "/", 1);
    if (f->is_array) {
      char num[24];
      int k = snprintf(num, sizeof num, "%" PRIu32, f->count - 1);
      o = put(out, outlen, o, num, (size_t)k);
      continue;
    }
    if (f->key_len == 0)
      continue; /* "" as a key: the segment is just "/" */
    const char *key = (const char *)v->keys.data + f->key_off;
    for (uint32_t k = 0; k < f->key_len; k++) {
      if (key[k] == '~')
        o = put(out, outlen, o, "~0", 2);
      else if (key[k] == '/')
        o = put(out, outlen, o, "~1", 2);
      else
        o = put(out, outlen, o, key + k, 1);
    }
  }
  return trim_partial(out, o);
}

int ks__v_fail(ks__validator *v, int code, const char *reason, int container,
               const char *fmt, ...) {
  ks_reject *rej = v->rej;
  if (rej == NULL)
    return code;
  rej->code = code;
  rej->reason = reason;
  size_t nseg = v->depth - (container && v->depth ? 1 : 0);
  size_t plen = render_path(v, nseg, rej->path, sizeof rej->path);
  memcpy(rej->message, rej->path, plen);
  size_t o = put(rej->message, sizeof rej->message, plen, ": ", 2);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rej->message + o, sizeof rej->message - o, fmt, ap);
  va_end(ap);
  trim_partial(rej->message, strlen(rej->message));
  return code;
}

void ks__quote(char *out, size_t outlen, const uint8_t *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t keep = ks_utf8_prefix(s, n, 64), o = 0;
  o = put(out, outlen, o, "\"", 1);
  for (size_t i = 0; i < keep; i++) {
    char e[7];
    size_t el = 2;
    e[0] = '\\';
    switch (s[i]) {
    case '"':
      e[1] = '"';
      break;
    case '\\':
      e[1] = '\\';
      break;
    case '\n':
      e[1] = 'n';
      break;
    case '\r':
      e[1] = 'r';
      break;
    case '\t':
      e[1] = 't';
      break;
    default:
      if (s[i] < 0x20 || s[i] == 0x7f) {
        memcpy(e + 1, "u00", 3);
        e[4] = hex[s[i] >> 4];
        e[5] = hex[s[i] & 15];
        el = 6;
      } else {
        e[0] = (char)s[i];
        el = 1;
      }
    }
    o = put(out, outlen, o, e, el);
  }
  o = put(out, outlen, o, keep < n ? "\"..." : "\"", keep < n ? 4 : 1);
}

static const char *kind_name(unsigned kind) {
  switch (kind) {
  case KS__T_NULL:
    return "null";
  case KS__T_BOOLEAN:
    return "boolean";
  case KS__T_INTEGER:
    return "integer";
  case KS__T_NUMBER:
    return "number";
  case KS__T_STRING:
    return "string";
  case KS__T_OBJECT:
    return "object";
  default:
    return "array";
  }
}

/* "integer or null" for the expected side of a type mismatch. */
static void type_list(unsigned types, char *out, size_t outlen) {
  static const unsigned order[] = {KS__T_OBJECT,  KS__T_ARRAY,  KS__T_STRING,
                                   KS__T_INTEGER, KS__T_NUMBER, KS__T_BOOLEAN,
                                   KS__T_NULL};
  size_t o = 0;
  out[0] = 0;
  if ((types & KS__T_NUMBER))
    types &= ~(unsigned)KS__T_INTEGER; /* number covers integer */
  for (size_t i = 0; i < KS_ARRAY_SIZE(order); i++) {
    if (!(types & order[i]))
      continue;
    if (o)
      o = put(out, outlen, o, " or ", 4);
    const char *nm = kind_name(order[i]);
    o = put(out, outlen, o, nm, strlen(nm));
  }
}

/* ---- positions and type checks ---- */

/* Schema of the value that starts now. */
static const ks__snode *position(ks__validator *v) {
  if (v->depth == 0)
    return v->schema->root;
  ks__frame *f = &v->stack[v->depth - 1];
  if (f->is_array) {
    f->count++;
    return f->node->items;
  }
  return f->child;
}

static int check_type(ks__validator *v, const ks__snode *n, unsigned kind) {
  if (n->flags & KS__N_FALSE)
    return ks__v_fail(v, KS_EINVALID, "schema", 0,
                      "no value is allowed here (the schema is false)");
  unsigned ok = kind == KS__T_INTEGER ? KS__T_INTEGER | KS__T_NUMBER : kind;
  if (n->types & ok)
    return 0;
  char want[96];
  type_list(n->types, want, sizeof want);
  return ks__v_fail(v, KS_EINVALID,
                    kind == KS__T_NULL ? "null_value" : "schema", 0,
                    "expected %s, got %s", want, kind_name(kind));
}

static int not_in_enum(ks__validator *v, const char *shown) {
  return ks__v_fail(v, KS_EINVALID, "schema", 0,
                    "%s is not one of the allowed values (enum)", shown);
}

int ks__v_null(ks__validator *v) {
  const ks__snode *n = position(v);
  int r = check_type(v, n, KS__T_NULL);
  if (r == 0 && (n->flags & KS__N_ENUM)) {
    for (size_t i = 0; i < n->nenums; i++)
      if (n->enums[i].kind == KS__T_NULL)
        return 0;
    return not_in_enum(v, "null");
  }
  return r;
}

int ks__v_bool(ks__validator *v, int b) {
  const ks__snode *n = position(v);
  int r = check_type(v, n, KS__T_BOOLEAN);
  if (r == 0 && (n->flags & KS__N_ENUM)) {
    for (size_t i = 0; i < n->nenums; i++)
      if (n->enums[i].kind == KS__T_BOOLEAN && n->enums[i].b == b)
        return 0;
    return not_in_enum(v, b ? "true" : "false");
  }
  return r;
}

static int num_eq(ks__num *a, ks__num *b) {
  if (a->is_int != b->is_int)
    return 0;
  if (a->fits && b->fits)
    return a->i == b->i;
  return ks__num_double(a) == ks__num_double(b);
}

/* value < bound (sign -1) or value > bound (sign 1) */
static int beyond(ks__num *num, double bd, int bd_int, int64_t bi, int sign) {
  if (num->fits && bd_int)
    return sign < 0 ? num->i < bi : num->i > bi;
  double d = ks__num_double(num);
  return sign < 0 ? d < bd : d > bd;
}

static void bound_text(char *out, size_t outlen, double d, int is_int,
                       int64_t i) {
  if (is_int)
    snprintf(out, outlen, "%" PRId64, i);
  else
    snprintf(out, outlen, "%.17g", d);
}

int ks__v_number(ks__validator *v, ks__num *num) {
  const ks__snode *n = position(v);
  int r = check_type(v, n, num->is_int ? KS__T_INTEGER : KS__T_NUMBER);
  if (r || !(n->flags & (KS__N_MIN | KS__N_MAX | KS__N_ENUM)))
    return r;
  char shown[80], bt[40];
  snprintf(shown, sizeof shown, "%.*s%s", (int)(num->len > 64 ? 64 : num->len),
           num->text, num->len > 64 ? "..." : "");
  if ((n->flags & KS__N_MIN) &&
      beyond(num, n->min, n->min_is_int, n->min_i, -1)) {
    bound_text(bt, sizeof bt, n->min, n->min_is_int, n->min_i);
    return ks__v_fail(v, KS_EINVALID, "schema", 0,
                      "%s is less than the minimum %s", shown, bt);
  }
  if ((n->flags & KS__N_MAX) &&
      beyond(num, n->max, n->max_is_int, n->max_i, 1)) {
    bound_text(bt, sizeof bt, n->max, n->max_is_int, n->max_i);
    return ks__v_fail(v, KS_EINVALID, "schema", 0,
                      "%s is greater than the maximum %s", shown, bt);
  }
  if (n->flags & KS__N_ENUM) {
    for (size_t i = 0; i < n->nenums; i++) {
      ks__enumval *e = (ks__enumval *)&n->enums[i];
      if ((e->kind & (KS__T_INTEGER | KS__T_NUMBER)) && num_eq(num, &e->num))
        return 0;
    }
    return not_in_enum(v, shown);
  }
  return 0;
}

int ks__v_string(ks__validator *v, ks__str *s) {
  const ks__snode *n = position(v);
  int r = check_type(v, n, KS__T_STRING);
  if (r)
    return r;
  char shown[160];
  if ((n->flags & KS__N_MINLEN) && s->ncp < n->min_len)
    return ks__v_fail(v, KS_EINVALID, "schema", 0,
                      "string of %zu characters is shorter than minLength "
                      "%" PRIu64,
                      s->ncp, n->min_len);
  if ((n->flags & KS__N_MAXLEN) && s->ncp > n->max_len)
    return ks__v_fail(v, KS_EINVALID, "schema", 0,
                      "string of %zu characters is longer than maxLength "
                      "%" PRIu64,
                      s->ncp, n->max_len);
  if (n->format == KS__FMT_DATE_TIME &&
      ks_datetime_parse((const char *)s->p, s->len, &s->ts)) {
    ks__quote(shown, sizeof shown, s->p, s->len);
    return ks__v_fail(v, KS_EINVALID, "schema", 0,
                      "%s is not a valid date-time (RFC 3339, like "
                      "2024-01-31T12:00:00Z)",
                      shown);
  }
  if (n->format == KS__FMT_DATE &&
      ks_date_parse((const char *)s->p, s->len, &s->days)) {
    ks__quote(shown, sizeof shown, s->p, s->len);
    return ks__v_fail(v, KS_EINVALID, "schema", 0,
                      "%s is not a valid date (like 2024-01-31)", shown);
  }
  if (n->flags & KS__N_ENUM) {
    for (size_t i = 0; i < n->nenums; i++) {
      const ks__enumval *e = &n->enums[i];
      if (e->kind == KS__T_STRING && e->len == s->len &&
          memcmp(e->str, s->p, s->len) == 0)
        return 0;
    }
    ks__quote(shown, sizeof shown, s->p, s->len);
    return not_in_enum(v, shown);
  }
  return 0;
}

/* ---- containers ---- */

int ks__v_open(ks__validator *v, int is_array) {
  const ks__snode *n = position(v);
  unsigned kind = is_array ? KS__T_ARRAY : KS__T_OBJECT;
  int r = check_type(v, n, kind);
  if (r)
    return r;
  if (n->flags & KS__N_ENUM)
    return not_in_enum(v, is_array ? "an array" : "an object");
  if (v->depth == KS__MAX_DEPTH)
    return ks__v_fail(v, KS_ETOOBIG, "too_large", 0,
                      "nesting too deep (more than %d levels)", KS__MAX_DEPTH);
  ks__frame *f = &v->stack[v->depth++];
  f->node = n;
  f->child = &v->schema->any;
  f->prop = -1;
  f->count = 0;
  f->is_array = (uint8_t)is_array;
  f->key_off = (uint32_t)v->keys.len;
  f->key_len = 0;
  f->seen = (uint32_t)v->seen_len;
  if (!is_array && n->nprops) {
    size_t words = (n->nprops + 63) / 64;
    if (v->seen_len + words > v->seen_cap) {
      v->seen_cap = (v->seen_len + words) * 2;
      v->seen = ks_realloc(v->seen, v->seen_cap * sizeof *v->seen);
    }
    memset(v->seen + v->seen_len, 0, words * sizeof *v->seen);
    v->seen_len += words;
  }
  return 0;
}

int ks__v_key(ks__validator *v, const uint8_t *key, size_t len) {
  ks__frame *f = &v->stack[v->depth - 1];
  f->count++;
  v->keys.len = f->key_off;
  if (ks_buf_append(&v->keys, key, len))
    return ks__v_fail(v, KS_ETOOBIG, "too_large", 1, "key too long");
  f->key_len = (uint32_t)len;
  const ks__snode *n = f->node;
  int32_t p = ks__snode_find(n, (const char *)key, len);
  f->prop = p;
  if (p >= 0) {
    uint64_t *w = &v->seen[f->seen + (uint32_t)p / 64];
    uint64_t bit = (uint64_t)1 << ((uint32_t)p % 64);
    if (*w & bit)
      return ks__v_fail(v, KS_EINVALID, "schema", 0, "duplicate property");
    *w |= bit;
    if (!n->props[p].additional) {
      f->child = n->props[p].node;
      return 0;
    }
  }
  f->child = n->additional;
  if (f->child->flags & KS__N_FALSE)
    return ks__v_fail(v, KS_EINVALID, "schema", 0,
                      "additional property not allowed");
  return 0;
}

int ks__v_seen(const ks__validator *v, uint32_t i) {
  const ks__frame *f = &v->stack[v->depth - 1];
  return (v->seen[f->seen + i / 64] >> (i % 64)) & 1;
}

int ks__v_close_check(ks__validator *v) {
  const ks__frame *f = &v->stack[v->depth - 1];
  const ks__snode *n = f->node;
  for (uint32_t k = 0; k < n->nrequired && !f->is_array; k++) {
    uint32_t i = n->required[k];
    if (!ks__v_seen(v, i)) {
      char shown[160];
      ks__quote(shown, sizeof shown, (const uint8_t *)n->props[i].name,
                n->props[i].len);
      return ks__v_fail(v, KS_EINVALID, "schema", 1,
                        "missing required property %s", shown);
    }
  }
  return 0;
}

void ks__v_pop(ks__validator *v) {
  ks__frame *f = &v->stack[--v->depth];
  v->keys.len = f->key_off;
  v->seen_len = f->seen;
}

void ks__v_init(ks__validator *v, const ks_schema *s) {
  memset(v, 0, sizeof *v);
  v->schema = s;
  ks_buf_init(&v->keys, 0);
}

void ks__v_free(ks__validator *v) {
  ks_buf_free(&v->keys);
  ks_free(v->seen);
}

void ks__v_reset(ks__validator *v, ks_reject *rej) {
  v->depth = 0;
  v->keys.len = 0;
  v->seen_len = 0;
  v->rej = rej;
}
