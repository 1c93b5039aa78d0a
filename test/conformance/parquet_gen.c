/* Seeded schema and record generators: see parquet_gen.h. */
#include "parquet_gen.h"

#include "base/civil.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

uint64_t gen_next(gen *g) {
  uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t pick(gen *g, uint64_t n) { return gen_next(g) % n; }

/* low-cardinality columns draw a small index instead of fresh bits */
static uint64_t draw(gen *g) {
  return g->card > 0 ? pick(g, (uint64_t)g->card) * 0x9e3779b97f4a7c15ULL
                     : gen_next(g);
}

static const char *const pieces[] = {
    "a", "Z", "é", "中文", "😀", "\\\"", "\\\\", "\\n", "\\u0001", "/", " ",
    "\\u00ff", "\xf4\x8f\xbf\xbf" /* U+10FFFF */, "~", "0"};

static void gen_string(gen *g, uint64_t x, ks_buf *o) {
  ks_buf_append_byte(o, '"');
  size_t n;
  if (g->long_pct && (x % 100) < (uint64_t)g->long_pct)
    n = 40 + (size_t)((x >> 8) % 120); /* pieces, so up to ~500 bytes */
  else
    n = (size_t)((x >> 8) % 6);
  uint64_t y = x;
  for (size_t i = 0; i < n; i++) {
    if ((i & 7) == 0)
      y = y * 6364136223846793005ULL + 1442695040888963407ULL;
    /* mostly one piece repeated, so truncation meets runs of U+10FFFF and
     * multi-byte sequences at the cut */
    size_t k = (size_t)((y >> (8 * (i & 7))) % 19);
    ks_buf_append_str(o, pieces[k < 15 ? k : (x >> 20) % 15]);
  }
  ks_buf_append_byte(o, '"');
}

static void gen_leaf_value(gen *g, const ks_pq_node *n, ks_buf *o) {
  uint64_t x = draw(g);
  if (n->precision) {
    /* up to `precision` digits, all nines now and then */
    int nd = 1 + (int)(x % (uint64_t)n->precision);
    if ((x >> 8) % 8 == 0)
      nd = n->precision;
    ks_int128 u = 0;
    uint64_t y = x;
    for (int i = 0; i < nd; i++) {
      if (i % 16 == 0)
        y = gen_next(g);
      u = u * 10 + ((x >> 16) % 8 == 0 ? 9 : (int)((y >> (4 * (i % 16))) % 10));
    }
    if ((x >> 24) & 1) {
      ks_buf_append_byte(o, '-');
    }
    ks_int128 p10 = 1;
    for (int i = 0; i < n->scale; i++)
      p10 *= 10;
    char ip[48], fp[48];
    int k = 0;
    ks_int128 q = u / p10, r = u % p10;
    do {
      ip[k++] = (char)('0' + (int)(q % 10));
      q /= 10;
    } while (q);
    while (k)
      ks_buf_append_byte(o, (uint8_t)ip[--k]);
    if (n->scale) {
      for (int i = n->scale - 1; i >= 0; i--) {
        fp[i] = (char)('0' + (int)(r % 10));
        r /= 10;
      }
      ks_buf_append_byte(o, '.');
      ks_buf_append(o, fp, (size_t)n->scale);
    }
    return;
  }
  switch (n->spec.type) {
  case KS_COL_BOOLEAN:
    ks_buf_append_str(o, x & 1 ? "true" : "false");
    return;
  case KS_COL_INT32: {
    static const int32_t ex[] = {INT32_MIN, INT32_MAX, 0, -1, 1};
    int32_t v = (x >> 8) % 8 == 0 ? ex[(x >> 12) % 5]
                                  : (int32_t)((int64_t)(x % 2001) - 1000);
    if ((x >> 16) % 4 == 0)
      v = (int32_t)(uint32_t)(x >> 32);
    ks_buf_appendf(o, "%" PRId32, v);
    return;
  }
  case KS_COL_INT64: {
    static const int64_t ex[] = {INT64_MIN, INT64_MAX, 0, -1,
                                 (int64_t)1 << 53 | 1};
    int64_t v = (x >> 8) % 8 == 0 ? ex[(x >> 12) % 5] : (int64_t)(x >> 1);
    if ((x >> 16) % 3 == 0 && v != INT64_MIN)
      v = -v;
    ks_buf_appendf(o, "%" PRId64, v);
    return;
  }
  case KS_COL_DOUBLE: {
    static const char *ex[] = {"0.0", "-0.0", "1e300", "-1e-300", "5e-324",
                               "1.7976931348623157e308", "0.1", "-2.5"};
    if ((x >> 8) % 4 == 0) {
      ks_buf_append_str(o, ex[(x >> 12) % 8]);
      return;
    }
    double v = (double)(int64_t)(x >> 11) / (double)((x & 0xff) + 1);
    if (x & 0x100)
      v = -v;
    ks_buf_appendf(o, "%.17g", v);
    return;
  }
  case KS_COL_STRING:
    gen_string(g, x, o);
    return;
  case KS_COL_TIMESTAMP:
  case KS_COL_DATE: {
    /* years 1000..9999: four digits, every reader's range */
    int64_t lo = ks_days_from_civil(1000, 1, 1),
            hi = ks_days_from_civil(9999, 12, 31);
    int64_t days = lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
    if ((x >> 40) % 4 == 0)
      days = (int64_t)((x >> 8) % 40000) - 5000; /* around the epoch */
    int64_t y;
    unsigned m, d;
    ks_civil_from_days(days, &y, &m, &d);
    ks_buf_appendf(o, "\"%04" PRId64 "-%02u-%02u", y, m, d);
    if (n->spec.type == KS_COL_TIMESTAMP) {
      uint64_t t = (x >> 13) % 86400000000ULL;
      ks_buf_appendf(o, "T%02u:%02u:%02u", (unsigned)(t / 3600000000ULL),
                     (unsigned)(t / 60000000 % 60),
                     (unsigned)(t / 1000000 % 60));
      if (t % 3)
        ks_buf_appendf(o, ".%06u", (unsigned)(t % 1000000));
      ks_buf_append_byte(o, 'Z');
    }
    ks_buf_append_byte(o, '"');
    return;
  }
  default: /* not in the generated schemas */
    ks_buf_append_str(o, "null");
    return;
  }
}

static void gen_node(gen *g, const ks_pq_node *n, ks_buf *o);

static void gen_fields(gen *g, const ks_pq_node *n, ks_buf *o) {
  ks_buf_append_byte(o, '{');
  int first = 1;
  for (size_t i = 0; i < n->nchildren; i++) {
    const ks_pq_node *c = n->children[i];
    /* an optional field is sometimes absent rather than null */
    if (c->repetition == KS_PQ_OPTIONAL && gen_pct(g, g->null_pct / 2 + 1) &&
        gen_pct(g, 50))
      continue;
    if (!first)
      ks_buf_append_byte(o, ',');
    first = 0;
    ks_buf_append_json_str(o, c->name, strlen(c->name));
    ks_buf_append_byte(o, ':');
    gen_node(g, c, o);
  }
  ks_buf_append_byte(o, '}');
}

static void gen_node(gen *g, const ks_pq_node *n, ks_buf *o) {
  if (n->repetition == KS_PQ_OPTIONAL && gen_pct(g, g->null_pct)) {
    ks_buf_append_str(o, "null");
    return;
  }
  if (n->is_leaf) {
    gen_leaf_value(g, n, o);
    return;
  }
  if (n->group == KS_PQ_STRUCT) {
    gen_fields(g, n, o);
    return;
  }
  const ks_pq_node *grp = n->children[0];
  int len = gen_pct(g, g->empty_pct) ? 0 : 1 + (int)pick(g, (uint64_t)g->max_len);
  int list = n->group == KS_PQ_LIST;
  ks_buf_append_byte(o, list ? '[' : '{');
  for (int i = 0; i < len; i++) {
    if (i)
      ks_buf_append_byte(o, ',');
    if (!list) /* distinct keys, never integer-like (JS objects reorder) */
      ks_buf_appendf(o, "\"k%d%s\":", i, (gen_next(g) & 3) == 0 ? "é" : "");
    gen_node(g, grp->children[list ? 0 : 1], o);
  }
  ks_buf_append_byte(o, list ? ']' : '}');
}

void gen_record(gen *g, const ks_pq_schema *s, ks_buf *out) {
  gen_fields(g, ks_pq_schema_root((ks_pq_schema *)s), out);
}

ks_pq_node *gen_leaf(gen *g, ks_pq_node *parent, const char *name,
                     ks_pq_repetition rep) {
  uint64_t k = pick(g, 10);
  if (k < 7)
    return ks_pq_add_leaf(parent, name, rep, (ks_coltype)k);
  static const int prec[3][2] = {{7, 2}, {18, 6}, {38, 10}};
  return ks_pq_add_decimal(parent, name, rep, prec[k - 7][0], prec[k - 7][1]);
}

static void gen_tree(gen *g, ks_pq_node *parent, const char *name, int depth,
                     int *seq) {
  ks_pq_repetition rep = pick(g, 10) < 6 ? KS_PQ_OPTIONAL : KS_PQ_REQUIRED;
  uint64_t k = depth <= 0 ? 0 : pick(g, 10);
  char fname[16];
  if (k < 4) {
    gen_leaf(g, parent, name, rep);
  } else if (k < 6) {
    ks_pq_node *s = ks_pq_add_struct(parent, name, rep);
    int n = 1 + (int)pick(g, 3);
    for (int i = 0; i < n; i++) {
      snprintf(fname, sizeof fname, "f%d", (*seq)++);
      gen_tree(g, s, fname, depth - 1, seq);
    }
  } else if (k < 8) {
    gen_tree(g, ks_pq_add_list(parent, name, rep), "element", depth - 1, seq);
  } else {
    gen_tree(g, ks_pq_add_map(parent, name, rep), "value", depth - 1, seq);
  }
}

ks_pq_schema *gen_schema(gen *g, int max_depth) {
  ks_pq_schema *s = ks_pq_schema_new();
  int n = 1 + (int)pick(g, 4), seq = 0;
  char fname[16];
  for (int i = 0; i < n; i++) {
    snprintf(fname, sizeof fname, "c%d", i);
    gen_tree(g, ks_pq_schema_root(s), fname, max_depth, &seq);
  }
  if (ks_pq_schema_finish(s)) {
    ks_pq_schema_free(s);
    return NULL;
  }
  return s;
}
