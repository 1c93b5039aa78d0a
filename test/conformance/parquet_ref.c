/* Reference side of the conformance suite: see parquet_ref.h. */
#include "parquet_ref.h"

#include "base/civil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON DOM ---------------------------------------------------------- */

static void *jalloc(jarena *a, size_t n) {
  if (a->n == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 16;
    a->blocks = realloc(a->blocks, a->cap * sizeof *a->blocks);
  }
  void *p = calloc(1, n ? n : 1);
  a->blocks[a->n++] = p;
  return p;
}

void jarena_free(jarena *a) {
  for (size_t i = 0; i < a->n; i++)
    free(a->blocks[i]);
  free(a->blocks);
  memset(a, 0, sizeof *a);
}

typedef struct jp {
  jarena *a;
  const char *p, *end;
  int depth;
} jp;

static void ws(jp *j) {
  while (j->p < j->end &&
         (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
    j->p++;
}

static int hex4(const char *p, unsigned *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0)
      return -1;
    *v = *v << 4 | (unsigned)d;
  }
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xc0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | cp >> 12);
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | cp >> 18);
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode 3.9 table 3-7:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  unsigned c = p[0];
  size_t k;
  unsigned lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    k = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    k = 3;
    if (c == 0xe0)
      lo = 0xa0;
    else if (c == 0xed)
      hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    k = 4;
    if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f;
  } else {
    return 0;
  }
  if (n < k || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < k; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  return k;
}

static int jstring(jp *j, const char **s, size_t *n) {
  j->p++; /* opening quote */
  char *o = jalloc(j->a, (size_t)(j->end - j->p) + 1);
  size_t k = 0;
  while (j->p < j->end && *j->p != '"') {
    unsigned char c = (unsigned char)*j->p;
    if (c < 0x20)
      return -1;
    if (c >= 0x80) {
      /* A JSON text is UTF-8 (RFC 8259 8.1), as the pipeline's decoder
       * insists: a STRING column never holds other bytes. */
      size_t len =
          utf8_len((const unsigned char *)j->p, (size_t)(j->end - j->p));
      if (len == 0)
        return -1;
      memcpy(o + k, j->p, len);
      k += len;
      j->p += len;
      continue;
    }
    if (c != '\\') {
      o[k++] = (char)c;
      j->p++;
      continue;
    }
    if (j->end - j->p < 2)
      return -1;
    char e = j->p[1];
    j->p += 2;
    switch (e) {
    case '"':
      o[k++] = '"';
      break;
    case '\\':
      o[k++] = '\\';
      break;
    case '/':
      o[k++] = '/';
      break;
    case 'b':
      o[k++] = '\b';
      break;
    case 'f':
      o[k++] = '\f';
      break;
    case 'n':
      o[k++] = '\n';
      break;
    case 'r':
      o[k++] = '\r';
      break;
    case 't':
      o[k++] = '\t';
      break;
    case 'u': {
      unsigned cp, lo;
      if (j->end - j->p < 4 || hex4(j->p, &cp))
        return -1;
      j->p += 4;
      if (cp >= 0xd800 && cp < 0xdc00) {
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
            hex4(j->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
          return -1;
        j->p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      } else if (cp >= 0xdc00 && cp < 0xe000) {
        return -1;
      }
      k += put_utf8(o + k, cp);
      break;
    }
    default:
      return -1;
    }
  }
  if (j->p >= j->end)
    return -1;
  j->p++;
  *s = o;
  *n = k;
  return 0;
}

static int jvalue(jp *j, jval *v);

static int jcontainer(jp *j, jval *v, int obj) {
  char close = obj ? '}' : ']';
  size_t cap = 4;
  v->t = obj ? J_OBJ : J_ARR;
  v->items = jalloc(j->a, cap * sizeof *v->items);
  if (obj) {
    v->keys = jalloc(j->a, cap * sizeof *v->keys);
    v->klens = jalloc(j->a, cap * sizeof *v->klens);
  }
  j->p++;
  ws(j);
  if (j->p < j->end && *j->p == close) {
    j->p++;
    return 0;
  }
  for (;;) {
    if (v->len == cap) {
      cap *= 2;
      jval *ni = jalloc(j->a, cap * sizeof *ni);
      memcpy(ni, v->items, v->len * sizeof *ni);
      v->items = ni;
      if (obj) {
        const char **nk = jalloc(j->a, cap * sizeof *nk);
        size_t *nl = jalloc(j->a, cap * sizeof *nl);
        memcpy(nk, v->keys, v->len * sizeof *nk);
        memcpy(nl, v->klens, v->len * sizeof *nl);
        v->keys = nk;
        v->klens = nl;
      }
    }
    ws(j);
    if (obj) {
      if (j->p >= j->end || *j->p != '"' ||
          jstring(j, &v->keys[v->len], &v->klens[v->len]))
        return -1;
      ws(j);
      if (j->p >= j->end || *j->p != ':')
        return -1;
      j->p++;
    }
    if (jvalue(j, &v->items[v->len]))
      return -1;
    v->len++;
    ws(j);
    if (j->p < j->end && *j->p == ',') {
      j->p++;
      continue;
    }
    if (j->p < j->end && *j->p == close) {
      j->p++;
      return 0;
    }
    return -1;
  }
}

static int jnumber(jp *j, jval *v) {
  const char *s = j->p;
  if (j->p < j->end && *j->p == '-')
    j->p++;
  const char *d = j->p;
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
    j->p++;
  if (j->p == d || (*d == '0' && j->p - d > 1))
    return -1;
  if (j->p < j->end && *j->p == '.') {
    const char *f = ++j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
      j->p++;
    if (j->p == f)
      return -1;
  }
  if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
    j->p++;
    if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
      j->p++;
    const char *e = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
      j->p++;
    if (j->p == e)
      return -1;
  }
  v->t = J_NUM;
  v->s = s;
  v->n = (size_t)(j->p - s);
  return 0;
}

static int word(jp *j, const char *w) {
  size_t n = strlen(w);
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
    return -1;
  j->p += n;
  return 0;
}

static int jvalue(jp *j, jval *v) {
  memset(v, 0, sizeof *v);
  ws(j);
  if (j->p >= j->end || ++j->depth > 64)
    return -1;
  int r;
  switch (*j->p) {
  case '{':
  case '[':
    r = jcontainer(j, v, *j->p == '{');
    break;
  case '"':
    v->t = J_STR;
    r = jstring(j, &v->s, &v->n);
    break;
  case 't':
    v->t = J_BOOL;
    v->b = 1;
    r = word(j, "true");
    break;
  case 'f':
    v->t = J_BOOL;
    r = word(j, "false");
    break;
  case 'n':
    v->t = J_NULL;
    r = word(j, "null");
    break;
  default:
    r = jnumber(j, v);
  }
  j->depth--;
  return r;
}

int jparse(jarena *a, const char *text, size_t n, jval *out) {
  jp j = {a, text, text + n, 0};
  if (jvalue(&j, out))
    return -1;
  ws(&j);
  return j.p == j.end ? 0 : -1;
}

const jval *jget(const jval *obj, const char *key) {
  if (!obj || obj->t != J_OBJ)
    return NULL;
  size_t kn = strlen(key);
  for (size_t i = 0; i < obj->len; i++)
    if (obj->klens[i] == kn && memcmp(obj->keys[i], key, kn) == 0)
      return &obj->items[i];
  return NULL;
}

/* ---- leaf values --------------------------------------------------------- */

static int parse_int(const jval *v, int64_t lo, int64_t hi, int64_t *out) {
  if (v->t != J_NUM || v->n > 20)
    return -1;
  char tmp[24];
  memcpy(tmp, v->s, v->n);
  tmp[v->n] = 0;
  char *e;
  errno = 0;
  long long x = strtoll(tmp, &e, 10);
  if (*e || errno || x < lo || x > hi)
    return -1;
  *out = x;
  return 0;
}

static int digits(const char *s, size_t n, int64_t *out) {
  int64_t x = 0;
  if (n == 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    x = x * 10 + (s[i] - '0');
  }
  *out = x;
  return 0;
}

/* "YYYY-MM-DD" -> days since 1970-01-01 */
static int parse_date(const char *s, size_t n, int64_t *days) {
  int64_t y, m, d;
  if (n != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) ||
      digits(s + 5, 2, &m) || digits(s + 8, 2, &d) || m < 1 || m > 12 ||
      d < 1 || d > 31)
    return -1;
  *days = ks_days_from_civil(y, (unsigned)m, (unsigned)d);
  return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z" -> microseconds since the epoch */
static int parse_ts(const char *s, size_t n, int64_t *us) {
  int64_t days, h, mi, se, frac = 0;
  if (n < 20 || s[n - 1] != 'Z' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || parse_date(s, 10, &days) || digits(s + 11, 2, &h) ||
      digits(s + 14, 2, &mi) || digits(s + 17, 2, &se) || h > 23 || mi > 59 ||
      se > 59)
    return -1;
  size_t k = 19;
  if (k < n - 1) {
    size_t f = n - 1 - (k + 1);
    if (s[k] != '.' || f < 1 || f > 6 || digits(s + k + 1, f, &frac))
      return -1;
    for (; f < 6; f++)
      frac *= 10;
  }
  *us = ((days * 24 + h) * 60 + mi) * 60000000 + se * 1000000 + frac;
  return 0;
}

/* A JSON number with at most `scale` fraction digits and no exponent ->
 * the unscaled value. */
static int parse_decimal(const jval *v, int scale, ks_int128 *out) {
  if (v->t != J_NUM)
    return -1;
  const char *s = v->s, *e = v->s + v->n;
  int neg = *s == '-';
  s += neg;
  ks_int128 x = 0;
  int frac = -1, nd = 0;
  for (; s < e; s++) {
    if (*s == '.') {
      frac = 0;
      continue;
    }
    if (*s < '0' || *s > '9' || ++nd > 38)
      return -1;
    x = x * 10 + (*s - '0');
    if (frac >= 0)
      frac++;
  }
  if (frac < 0)
    frac = 0;
  if (frac > scale || nd + (scale - frac) > 38)
    return -1; /* more digits than any DECIMAL holds */
  for (; frac < scale; frac++)
    x *= 10;
  *out = neg ? -x : x;
  return 0;
}

static int put_value(ks_column *c, const ks_pq_node *n, const jval *v,
                     int rep) {
  int64_t i;
  if (n->precision > 0) {
    ks_int128 q;
    return parse_decimal(v, n->scale, &q) ? -1
                                          : ks_column_append_decimal(c, rep, q);
  }
  switch (n->spec.type) {
  case KS_COL_BOOLEAN:
    return v->t != J_BOOL ? -1 : ks_column_append_bool_rep(c, rep, v->b);
  case KS_COL_INT32:
    return parse_int(v, INT32_MIN, INT32_MAX, &i)
               ? -1
               : ks_column_append_i32_rep(c, rep, (int32_t)i);
  case KS_COL_INT64:
    return parse_int(v, INT64_MIN, INT64_MAX, &i)
               ? -1
               : ks_column_append_i64_rep(c, rep, i);
  case KS_COL_DOUBLE: {
    if (v->t != J_NUM || v->n > 64)
      return -1;
    char tmp[72];
    memcpy(tmp, v->s, v->n);
    tmp[v->n] = 0;
    return ks_column_append_double_rep(c, rep, strtod(tmp, NULL));
  }
  case KS_COL_STRING:
    return v->t != J_STR ? -1 : ks_column_append_str_rep(c, rep, v->s, v->n);
  case KS_COL_TIMESTAMP:
    return v->t != J_STR || parse_ts(v->s, v->n, &i)
               ? -1
               : ks_column_append_i64_rep(c, rep, i);
  case KS_COL_DATE:
    return v->t != J_STR || parse_date(v->s, v->n, &i) || i < INT32_MIN ||
                   i > INT32_MAX
               ? -1
               : ks_column_append_i32_rep(c, rep, (int32_t)i);
  default: /* types the reference shredder's schemas never hold */
    break;
  }
  return -1;
}

/* ---- shredding ------------------------------------------------------------
 */

typedef struct shred {
  ks_rowgroup *rg;
} shred;

/* An entry without a value for every leaf under n. */
static int put_absent(shred *sh, const ks_pq_node *n, int rep, int def) {
  if (n->is_leaf)
    return ks_column_append_levels(&sh->rg->cols[n->leaf], rep, def) ? -1 : 0;
  for (size_t i = 0; i < n->nchildren; i++)
    if (put_absent(sh, n->children[i], rep, def))
      return -1;
  return 0;
}

static int has_duplicate_keys(const jval *v) {
  for (size_t i = 0; i < v->len; i++)
    for (size_t k = 0; k < i; k++)
      if (v->klens[i] == v->klens[k] &&
          memcmp(v->keys[i], v->keys[k], v->klens[i]) == 0)
        return 1;
  return 0;
}

/* Node n (OPTIONAL or REQUIRED, never the repeated groups themselves)
 * holding v (NULL when absent), reached with levels rep/def. */
static int shred_node(shred *sh, const ks_pq_node *n, const jval *v, int rep,
                      int def) {
  if (!v || v->t == J_NULL) {
    if (n->repetition == KS_PQ_REQUIRED)
      return -1;
    return put_absent(sh, n, rep, def);
  }
  if (n->repetition == KS_PQ_OPTIONAL)
    def++;
  if (n->is_leaf)
    return put_value(&sh->rg->cols[n->leaf], n, v, rep) ? -1 : 0;
  if (v->t == J_OBJ && has_duplicate_keys(v))
    return -1; /* ambiguous as a struct, invalid as a map */
  if (n->group == KS_PQ_STRUCT) {
    if (v->t != J_OBJ)
      return -1;
    for (size_t i = 0; i < v->len; i++) { /* no unknown keys */
      size_t k = 0;
      while (k < n->nchildren &&
             (strlen(n->children[k]->name) != v->klens[i] ||
              memcmp(n->children[k]->name, v->keys[i], v->klens[i]) != 0))
        k++;
      if (k == n->nchildren)
        return -1;
    }
    for (size_t i = 0; i < n->nchildren; i++)
      if (shred_node(sh, n->children[i], jget(v, n->children[i]->name), rep,
                     def))
        return -1;
    return 0;
  }
  const ks_pq_node *g = n->children[0]; /* the repeated group */
  if (n->group == KS_PQ_LIST ? v->t != J_ARR : v->t != J_OBJ)
    return -1;
  if (v->len == 0) /* defined, empty: def stays below the repeated group */
    return put_absent(sh, n, rep, def);
  for (size_t i = 0; i < v->len; i++) {
    int r = i == 0 ? rep : g->max_rep;
    if (n->group == KS_PQ_LIST) {
      if (shred_node(sh, g->children[0], &v->items[i], r, def + 1))
        return -1;
      continue;
    }
    jval key = {.t = J_STR, .s = v->keys[i], .n = v->klens[i]};
    if (shred_node(sh, g->children[0], &key, r, def + 1) ||
        shred_node(sh, g->children[1], &v->items[i], r, def + 1))
      return -1;
  }
  return 0;
}

int ref_shred(ks_rowgroup *rg, const ks_pq_schema *s, const jval *rec) {
  shred sh = {rg};
  ks_rowgroup_mark_row(rg);
  const ks_pq_node *root = ks_pq_schema_root((ks_pq_schema *)s);
  int bad = rec->t != J_OBJ;
  jval fields = *rec;
  fields.t = J_OBJ;
  /* the root is a required struct */
  ks_pq_node top = *root;
  top.repetition = KS_PQ_REQUIRED;
  if (!bad)
    bad = shred_node(&sh, &top, &fields, 0, 0);
  if (bad) {
    ks_rowgroup_rollback_row(rg);
    return -1;
  }
  ks_rowgroup_commit_row(rg);
  return 0;
}

/* ---- schema description ---------------------------------------------------
 */

static const char *rep_name(ks_pq_repetition r) {
  return r == KS_PQ_REQUIRED   ? "required"
         : r == KS_PQ_OPTIONAL ? "optional"
                               : "repeated";
}

static const char *type_name(const ks_pq_node *n) {
  static const char *t[] = {"boolean", "int32",     "int64", "double",
                            "string",  "timestamp", "date"};
  return n->precision ? "decimal" : t[n->spec.type];
}

static void describe(ks_buf *o, const ks_pq_node *n) {
  ks_buf_append_str(o, "{\"name\":");
  ks_buf_append_json_str(o, n->name, strlen(n->name));
  ks_buf_appendf(o, ",\"rep\":\"%s\"", rep_name(n->repetition));
  if (n->is_leaf) {
    ks_buf_appendf(o,
                   ",\"kind\":\"leaf\",\"type\":\"%s\",\"maxDef\":%d,"
                   "\"maxRep\":%d",
                   type_name(n), n->max_def, n->max_rep);
    if (n->precision)
      ks_buf_appendf(o, ",\"precision\":%d,\"scale\":%d", n->precision,
                     n->scale);
  } else if (n->group == KS_PQ_STRUCT) {
    ks_buf_append_str(o, ",\"kind\":\"struct\",\"fields\":[");
    for (size_t i = 0; i < n->nchildren; i++) {
      if (i)
        ks_buf_append_byte(o, ',');
      describe(o, n->children[i]);
    }
    ks_buf_append_byte(o, ']');
  } else {
    const ks_pq_node *g = n->children[0];
    int list = n->group == KS_PQ_LIST;
    ks_buf_appendf(o, ",\"kind\":\"%s\",\"%s\":", list ? "list" : "map",
                   list ? "element" : "value");
    describe(o, g->children[list ? 0 : 1]);
  }
  ks_buf_append_byte(o, '}');
}

void ref_describe(ks_buf *out, const ks_pq_schema *s) {
  const ks_pq_node *root = ks_pq_schema_root((ks_pq_schema *)s);
  ks_buf_append_byte(out, '[');
  for (size_t i = 0; i < root->nchildren; i++) {
    if (i)
      ks_buf_append_byte(out, ',');
    describe(out, root->children[i]);
  }
  ks_buf_append_byte(out, ']');
}
