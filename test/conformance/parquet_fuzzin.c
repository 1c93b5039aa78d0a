/* Bytes -> schema, options and records: see parquet_fuzzin.h. */
#include "parquet_fuzzin.h"

#include <stdio.h>

typedef struct fz_rd {
  const uint8_t *p, *end;
  int seq;
} fz_rd;

static int fz_byte(fz_rd *r) { return r->p < r->end ? *r->p++ : 0; }

static void fz_node(fz_rd *r, ks_pq_node *parent, const char *name, int depth) {
  int b = fz_byte(r);
  ks_pq_repetition rep = b & 1 ? KS_PQ_OPTIONAL : KS_PQ_REQUIRED;
  int kind = depth <= 0 ? 0 : (b >> 1) & 3;
  char fname[16];
  if (kind == 0) {
    int t = (b >> 3) % 10;
    static const int prec[3][2] = {{7, 2}, {18, 6}, {38, 10}};
    if (t < 7)
      ks_pq_add_leaf(parent, name, rep, (ks_coltype)t);
    else
      ks_pq_add_decimal(parent, name, rep, prec[t - 7][0], prec[t - 7][1]);
  } else if (kind == 1) {
    ks_pq_node *s = ks_pq_add_struct(parent, name, rep);
    int n = 1 + (b >> 3) % 3;
    for (int i = 0; i < n; i++) {
      snprintf(fname, sizeof fname, "f%d", r->seq++);
      fz_node(r, s, fname, depth - 1);
    }
  } else if (kind == 2) {
    fz_node(r, ks_pq_add_list(parent, name, rep), "element", depth - 1);
  } else {
    fz_node(r, ks_pq_add_map(parent, name, rep), "value", depth - 1);
  }
}

int fz_decode(const uint8_t *data, size_t n, fz_case *c) {
  fz_rd r = {data, data + n, 0};
  int o = fz_byte(&r);
  c->opt = (ks_pq_options){0};
  c->opt.codec = (ks_codec)(o & 3);
  c->opt.no_dictionary = ((o >> 2) & 3) == 1;
  if (((o >> 2) & 3) == 2)
    c->opt.dict_bytes = 64;
  c->opt.page_v2 = (o >> 4) & 1;
  c->opt.page_bytes = (o >> 5) & 1 ? 256 : 0;
  c->rg_rows = 1 + (size_t)(fz_byte(&r) % 16);
  c->schema = ks_pq_schema_new();
  int top = 1 + (r.p < r.end ? *r.p % 4 : 0);
  char fname[16];
  for (int i = 0; i < top; i++) {
    snprintf(fname, sizeof fname, "c%d", i);
    fz_node(&r, ks_pq_schema_root(c->schema), fname, 4);
  }
  if (ks_pq_schema_finish(c->schema)) {
    ks_pq_schema_free(c->schema);
    c->schema = NULL;
    return -1;
  }
  c->recs = r.p;
  c->recs_len = (size_t)(r.end - r.p);
  return 0;
}
