/*
 * add.stats of a file that holds exactly the rows of several others
 * (optimize): numRecords and nullCount add up, minValues takes the
 * smallest and maxValues the largest of each column. A column is kept
 * only where every input states it with comparable values; anything else
 * is left out, which readers take as "unknown", never as a wrong bound.
 *
 * Values are compared as they are rendered: integers as integers, other
 * numbers exactly as decimal text (a DECIMAL's "12.34"; doubles with an
 * exponent fall back to double comparison), strings bytewise -- UTF-8
 * order is code point order, and ISO-8601 dates sort as text. Timestamps
 * do not always: Spark renders them in its session's time zone
 * (2024-01-01T10:00:00.000+05:00 is before 2024-01-01T06:00:00.000Z), and
 * a fraction or none changes the order too. Two strings that both read as
 * timestamps are compared by text only where the text's order is their
 * instants' order; elsewhere the column's bound is left out (the schema
 * is not at hand to say whether the column is a string, whose bound is
 * the bytewise one). The chosen value is copied as its input text, so a
 * merge never rounds.
 */
#include "storage/delta/delta_int.h"

#include "base/civil.h"
#include "base/jsontree.h"
#include "base/ks.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

static yajl_val get(yajl_val obj, const char *key) {
  const char *path[] = {key, NULL};
  return YAJL_IS_OBJECT(obj) ? yajl_tree_get(obj, path, yajl_t_any) : NULL;
}

/* Decimal text without an exponent: sign, integer and fraction digits. */
static int decimal_parts(const char *s, int *neg, const char **ip, size_t *in,
                         const char **fp, size_t *fn) {
  *neg = *s == '-';
  if (*s == '-' || *s == '+')
    s++;
  while (*s == '0' && s[1] >= '0' && s[1] <= '9')
    s++;
  *ip = s;
  *in = strspn(s, "0123456789");
  s += *in;
  *fp = "";
  *fn = 0;
  if (*s == '.') {
    *fp = ++s;
    *fn = strspn(s, "0123456789");
    s += *fn;
    while (*fn && (*fp)[*fn - 1] == '0')
      (*fn)--;
  }
  if (*in == 1 && **ip == '0')
    *in = 0;
  return *s == '\0' && (*in || *fn || (*ip)[0] == '0');
}

static int cmp_magnitude(const char *ai, size_t an, const char *af, size_t afn,
                         const char *bi, size_t bn, const char *bf,
                         size_t bfn) {
  if (an != bn)
    return an < bn ? -1 : 1;
  int c = memcmp(ai, bi, an);
  if (c)
    return c < 0 ? -1 : 1;
  size_t m = afn < bfn ? afn : bfn;
  c = memcmp(af, bf, m);
  if (c)
    return c < 0 ? -1 : 1;
  return afn == bfn ? 0 : afn < bfn ? -1 : 1;
}

static int digits(const char *s, int n, int64_t *v) {
  *v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    *v = *v * 10 + (s[i] - '0');
  }
  return 1;
}

/* "YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]": 1 with the instant
 * in microseconds (digits past them dropped; without a zone, the wall
 * clock's) and *zoned, or 0 for any other text. */
static int timestamp_text(const char *s, int64_t *us, int *zoned) {
  int64_t y, mo, d, h, mi, sec, f = 0;
  if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
      s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' ||
      !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
      s[16] != ':' || !digits(s + 17, 2, &sec) || mo < 1 || mo > 12 || d < 1 ||
      d > 31 || h > 23 || mi > 59 || sec > 59)
    return 0;
  const char *p = s + 19;
  if (*p == '.') {
    int n = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, n++)
      if (n < 6)
        f = f * 10 + (*p - '0');
    if (n == 0)
      return 0;
    for (; n < 6; n++)
      f *= 10;
  }
  int64_t off = 0;
  *zoned = *p != '\0';
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int64_t oh, om;
    if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) ||
        oh > 18 || om > 59)
      return 0;
    off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    p += 6;
  }
  if (*p != '\0')
    return 0;
  int64_t days = ks_days_from_civil(y, (unsigned)mo, (unsigned)d);
  *us = ((days * 86400 + h * 3600 + mi * 60 + sec) - off) * 1000000 + f;
  return 1;
}

/* Bytewise order of two strings, or 2 when both are timestamps whose
 * instants are in another order (or not comparable: one with a zone, one
 * without). */
static int cmp_strings(const char *a, const char *b) {
  int c = strcmp(a, b);
  c = c < 0 ? -1 : c > 0;
  int64_t x, y;
  int xz, yz;
  if (!timestamp_text(a, &x, &xz) || !timestamp_text(b, &y, &yz))
    return c;
  if (xz != yz || (x < y ? -1 : x > y) != c)
    return 2;
  return c;
}

/* -1, 0, 1; 2 when not comparable (different kinds). */
static int cmp_values(yajl_val a, yajl_val b) {
  if (YAJL_IS_NUMBER(a) && YAJL_IS_NUMBER(b)) {
    if (YAJL_IS_INTEGER(a) && YAJL_IS_INTEGER(b)) {
      long long x = YAJL_GET_INTEGER(a), y = YAJL_GET_INTEGER(b);
      return x < y ? -1 : x > y;
    }
    int an, bn;
    const char *ai, *af, *bi, *bf;
    size_t ain, afn, bin, bfn;
    if (decimal_parts(YAJL_GET_NUMBER(a), &an, &ai, &ain, &af, &afn) &&
        decimal_parts(YAJL_GET_NUMBER(b), &bn, &bi, &bin, &bf, &bfn)) {
      int zero_a = ain == 0 && afn == 0, zero_b = bin == 0 && bfn == 0;
      if (zero_a && zero_b)
        return 0;
      if (an != bn || zero_a || zero_b) {
        double x = zero_a ? 0 : an ? -1 : 1, y = zero_b ? 0 : bn ? -1 : 1;
        return x < y ? -1 : x > y;
      }
      int c = cmp_magnitude(ai, ain, af, afn, bi, bin, bf, bfn);
      return an ? -c : c;
    }
    double x = strtod(YAJL_GET_NUMBER(a), NULL);
    double y = strtod(YAJL_GET_NUMBER(b), NULL);
    if (x != x || y != y)
      return 2;
    return x < y ? -1 : x > y;
  }
  if (YAJL_IS_STRING(a) && YAJL_IS_STRING(b))
    return cmp_strings(a->u.string, b->u.string);
  if ((YAJL_IS_TRUE(a) || YAJL_IS_FALSE(a)) &&
      (YAJL_IS_TRUE(b) || YAJL_IS_FALSE(b)))
    return YAJL_IS_TRUE(a) - YAJL_IS_TRUE(b);
  return 2;
}

static int append_scalar(ks_buf *out, yajl_val v) {
  if (YAJL_IS_NUMBER(v))
    return ks_buf_append_str(out, YAJL_GET_NUMBER(v));
  if (YAJL_IS_STRING(v))
    return ks_buf_append_json_str(out, v->u.string, strlen(v->u.string));
  return ks_buf_append_str(out, YAJL_IS_TRUE(v) ? "true" : "false");
}

typedef enum merge_kind { MERGE_MIN, MERGE_MAX, MERGE_SUM } merge_kind;

/* The merge of n objects (vals[i]) as one JSON object appended to out;
 * *members is how many it got. */
static int merge_object(ks_buf *out, yajl_val *vals, size_t n, merge_kind kind,
                        size_t *members) {
  *members = 0;
  yajl_val first = vals[0];
  yajl_val *kids = ks_calloc(n, sizeof *kids);
  int rc = ks_buf_append_byte(out, '{');
  for (size_t k = 0; rc == 0 && k < first->u.object.len; k++) {
    const char *key = first->u.object.keys[k];
    int objects = 1, scalars = 1;
    for (size_t i = 0; i < n; i++) {
      kids[i] = i ? get(vals[i], key) : first->u.object.values[k];
      objects &= YAJL_IS_OBJECT(kids[i]);
      scalars &= kids[i] && !YAJL_IS_OBJECT(kids[i]) &&
                 !YAJL_IS_ARRAY(kids[i]) && !YAJL_IS_NULL(kids[i]);
    }
    if (!objects && !scalars)
      continue;
    size_t mark = out->len;
    if ((*members && (rc = ks_buf_append_byte(out, ','))) ||
        (rc = ks_buf_append_json_str(out, key, strlen(key))) ||
        (rc = ks_buf_append_byte(out, ':')))
      break;
    if (objects) {
      size_t sub;
      if ((rc = merge_object(out, kids, n, kind, &sub)))
        break;
      if (sub == 0) {
        ks_buf_truncate(out, mark);
        continue;
      }
    } else if (kind == MERGE_SUM) {
      long long sum = 0;
      int ok = 1;
      for (size_t i = 0; i < n && ok; i++) {
        ok = YAJL_IS_INTEGER(kids[i]) && YAJL_GET_INTEGER(kids[i]) >= 0 &&
             !__builtin_add_overflow(sum, YAJL_GET_INTEGER(kids[i]), &sum);
      }
      if (!ok) {
        ks_buf_truncate(out, mark);
        continue;
      }
      if ((rc = ks_buf_appendf(out, "%lld", sum)))
        break;
    } else {
      yajl_val best = kids[0];
      int ok = 1;
      for (size_t i = 1; i < n && ok; i++) {
        int c = cmp_values(kids[i], best);
        ok = c != 2;
        if ((kind == MERGE_MIN && c < 0) || (kind == MERGE_MAX && c == 1))
          best = kids[i];
      }
      if (!ok) {
        ks_buf_truncate(out, mark);
        continue;
      }
      if ((rc = append_scalar(out, best)))
        break;
    }
    (*members)++;
  }
  ks_free(kids);
  return rc ? rc : ks_buf_append_byte(out, '}');
}

int ks_delta_stats_merge(ks_buf *out, const char *const *stats, size_t n) {
  size_t start = out->len;
  if (n == 0)
    return KS_EINVAL;
  yajl_val *trees = ks_calloc(n, sizeof *trees);
  yajl_val *parts = ks_calloc(n, sizeof *parts);
  long long rows = 0;
  int rc = 0, ok = 1;
  for (size_t i = 0; i < n && ok; i++) {
    trees[i] = stats[i] ? ks_json_tree_parse(stats[i], KS_JSON_MAX_DEPTH, NULL, 0) : NULL;
    yajl_val nr = get(trees[i], "numRecords");
    ok = YAJL_IS_INTEGER(nr) && YAJL_GET_INTEGER(nr) >= 0 &&
         !__builtin_add_overflow(rows, YAJL_GET_INTEGER(nr), &rows);
  }
  if (!ok) {
    rc = KS_ENOENT; /* no count for some input: no stats at all */
    goto done;
  }
  rc = ks_buf_appendf(out, "{\"numRecords\":%lld", rows);
  static const struct {
    const char *name;
    merge_kind kind;
  } objs[] = {{"minValues", MERGE_MIN},
              {"maxValues", MERGE_MAX},
              {"nullCount", MERGE_SUM}};
  for (size_t o = 0; rc == 0 && o < sizeof objs / sizeof *objs; o++) {
    int all = 1;
    for (size_t i = 0; i < n; i++) {
      parts[i] = get(trees[i], objs[o].name);
      all &= YAJL_IS_OBJECT(parts[i]);
    }
    if (!all)
      continue;
    size_t mark = out->len, members;
    if ((rc = ks_buf_appendf(out, ",\"%s\":", objs[o].name)) ||
        (rc = merge_object(out, parts, n, objs[o].kind, &members)))
      break;
    if (members == 0)
      ks_buf_truncate(out, mark);
  }
  /* tightBounds (deletion vectors): tight only when every input's is */
  int tight = 1, stated = 1;
  for (size_t i = 0; i < n; i++) {
    yajl_val tb = get(trees[i], "tightBounds");
    stated &= YAJL_IS_TRUE(tb) || YAJL_IS_FALSE(tb);
    tight &= YAJL_IS_TRUE(tb);
  }
  if (rc == 0 && stated)
    rc = ks_buf_appendf(out, ",\"tightBounds\":%s", tight ? "true" : "false");
  if (rc == 0)
    rc = ks_buf_append_byte(out, '}');
done:
  for (size_t i = 0; i < n; i++)
    ks_json_tree_free(trees[i]);
  ks_free(trees);
  ks_free(parts);
  if (rc)
    ks_buf_truncate(out, start);
  return rc;
}
