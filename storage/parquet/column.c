#include "storage/parquet/column.h"
#include "storage/parquet/schema_tree.h"

/* One cap per column buffer: a single row group column past 2 GiB cannot be
 * encoded (page sizes are int32 in the format) and means a runaway input. */
#define KS_COLUMN_MAX ((size_t)1 << 31)

static uint8_t value_width(const ks_pq_node *n) {
  if (n->precision > 18)
    return 16;
  switch (n->spec.type) {
  case KS_COL_BOOLEAN:
    return 1;
  case KS_COL_INT32:
  case KS_COL_DATE:
  case KS_COL_INT8:
  case KS_COL_INT16:
  case KS_COL_FLOAT:
    return 4;
  case KS_COL_INT64:
  case KS_COL_TIMESTAMP:
  case KS_COL_TIMESTAMP_NTZ:
  case KS_COL_DOUBLE:
    return 8;
  case KS_COL_STRING:
  case KS_COL_BINARY:
    break;
  }
  return 0;
}

static void column_init(ks_column *c, const ks_colspec *spec,
                        const ks_pq_node *node) {
  c->spec = spec;
  c->node = node;
  c->max_def = (uint8_t)node->max_def;
  c->max_rep = (uint8_t)node->max_rep;
  c->width = value_width(node);
  ks_buf_init(&c->values, KS_COLUMN_MAX);
  ks_buf_init(&c->lens, KS_COLUMN_MAX);
  ks_buf_init(&c->defs, KS_COLUMN_MAX);
  ks_buf_init(&c->reps, KS_COLUMN_MAX);
}

void ks_rowgroup_init(ks_rowgroup *rg, const ks_colspec *specs, size_t n) {
  rg->flat = ks_pq_schema_flat(specs, n);
  rg->cols = ks_calloc(n ? n : 1, sizeof *rg->cols);
  rg->ncols = n;
  rg->nrows = 0;
  rg->counted_bytes = rg->counted_rows = 0;
  for (size_t i = 0; i < n; i++)
    column_init(&rg->cols[i], &specs[i], ks_pq_schema_leaf(rg->flat, i));
}

void ks_rowgroup_init_schema(ks_rowgroup *rg, const ks_pq_schema *s) {
  size_t n = ks_pq_schema_nleaves(s);
  rg->flat = NULL;
  rg->cols = ks_calloc(n ? n : 1, sizeof *rg->cols);
  rg->ncols = n;
  rg->nrows = 0;
  rg->counted_bytes = rg->counted_rows = 0;
  for (size_t i = 0; i < n; i++) {
    const ks_pq_node *leaf = ks_pq_schema_leaf(s, i);
    column_init(&rg->cols[i], &leaf->spec, leaf);
  }
}

void ks_rowgroup_free(ks_rowgroup *rg) {
  for (size_t i = 0; i < rg->ncols; i++) {
    ks_buf_free(&rg->cols[i].values);
    ks_buf_free(&rg->cols[i].lens);
    ks_buf_free(&rg->cols[i].defs);
    ks_buf_free(&rg->cols[i].reps);
  }
  ks_free(rg->cols);
  ks_pq_schema_free(rg->flat);
  rg->flat = NULL;
  rg->cols = NULL;
  rg->ncols = rg->nrows = 0;
}

void ks_rowgroup_reset(ks_rowgroup *rg) {
  for (size_t i = 0; i < rg->ncols; i++) {
    ks_column *c = &rg->cols[i];
    ks_buf_reset(&c->values);
    ks_buf_reset(&c->lens);
    ks_buf_reset(&c->defs);
    ks_buf_reset(&c->reps);
    c->nvalues = 0;
    c->mark_values = c->mark_defs = c->mark_nvalues = 0;
  }
  rg->nrows = 0;
  rg->counted_bytes = rg->counted_rows = 0;
}

size_t ks_rowgroup_bytes(const ks_rowgroup *rg) {
  size_t n = 0;
  for (size_t i = 0; i < rg->ncols; i++) {
    const ks_column *c = &rg->cols[i];
    n += c->values.len + c->lens.len + c->defs.len + c->reps.len;
  }
  return n;
}

size_t ks_rowgroup_bytes_approx(ks_rowgroup *rg) {
  size_t since = rg->nrows - rg->counted_rows;
  if (rg->counted_rows && rg->nrows >= rg->counted_rows && since < 16)
    return rg->counted_bytes + since * (rg->counted_bytes / rg->counted_rows);
  rg->counted_bytes = ks_rowgroup_bytes(rg);
  rg->counted_rows = rg->nrows;
  return rg->counted_bytes;
}

void ks_column_mark(ks_column *c) {
  c->mark_values = c->values.len;
  c->mark_defs = c->defs.len;
  c->mark_nvalues = c->nvalues;
}

void ks_column_rollback(ks_column *c) {
  ks_buf_truncate(&c->values, c->mark_values);
  if (c->width == 0)
    ks_buf_truncate(&c->lens, c->mark_nvalues * 4);
  ks_buf_truncate(&c->defs, c->mark_defs);
  if (c->max_rep)
    ks_buf_truncate(&c->reps, c->mark_defs);
  c->nvalues = c->mark_nvalues;
}

void ks_rowgroup_mark_row(ks_rowgroup *rg) {
  for (size_t i = 0; i < rg->ncols; i++)
    ks_column_mark(&rg->cols[i]);
}

void ks_rowgroup_rollback_row(ks_rowgroup *rg) {
  for (size_t i = 0; i < rg->ncols; i++)
    ks_column_rollback(&rg->cols[i]);
}

void ks_rowgroup_commit_row(ks_rowgroup *rg) { rg->nrows++; }

/* Levels of one entry; on failure nothing is left appended. */
static int put_levels(ks_column *c, int rep, int def) {
  int r = ks_buf_append_byte(&c->defs, (uint8_t)def);
  if (r == 0 && c->max_rep && (r = ks_buf_append_byte(&c->reps, (uint8_t)rep)))
    c->defs.len--;
  return r;
}

int ks_column_append_levels(ks_column *c, int rep, int def) {
  if (def < 0 || def >= c->max_def || rep < 0 || rep > c->max_rep)
    return KS_EINVAL;
  return put_levels(c, rep, def);
}

int ks_column_append_null(ks_column *c) { return put_levels(c, 0, 0); }

int ks_column_append_fixed_(ks_column *c, int rep, const void *v, size_t n) {
  if (rep < 0 || rep > c->max_rep)
    return KS_EINVAL;
  int r = ks_buf_append(&c->values, v, n);
  if (r)
    return r;
  if ((r = put_levels(c, rep, c->max_def))) {
    c->values.len -= n;
    return r;
  }
  c->nvalues++;
  return 0;
}

int ks_column_append_decimal(ks_column *c, int rep, ks_int128 v) {
  const ks_pq_node *n = c->node;
  if (n->precision <= 0 || n->precision > 38)
    return KS_EINVAL;
  static const uint64_t p10[19] = {1ULL,
                                   10ULL,
                                   100ULL,
                                   1000ULL,
                                   10000ULL,
                                   100000ULL,
                                   1000000ULL,
                                   10000000ULL,
                                   100000000ULL,
                                   1000000000ULL,
                                   10000000000ULL,
                                   100000000000ULL,
                                   1000000000000ULL,
                                   10000000000000ULL,
                                   100000000000000ULL,
                                   1000000000000000ULL,
                                   10000000000000000ULL,
                                   100000000000000000ULL,
                                   1000000000000000000ULL};
  ks_int128 lim = 1; /* 10^precision, up to 18 digits at a time */
  for (int d = n->precision; d > 0; d -= 18)
    lim *= (ks_int128)p10[d < 18 ? d : 18];
  if (v >= lim || v <= -lim)
    return KS_EINVAL;
  if (n->precision <= 9) {
    int32_t x = (int32_t)v;
    return ks_column_fixed_(c, rep, &x, sizeof x);
  }
  if (n->precision <= 18) {
    int64_t x = (int64_t)v;
    return ks_column_fixed_(c, rep, &x, sizeof x);
  }
  return ks_column_fixed_(c, rep, &v, sizeof v);
}

int ks_column_str_end_slow_(ks_column *c, size_t start, int rep) {
  size_t n = c->values.len - start;
  int r = 0;
  if (n > UINT32_MAX)
    r = KS_ETOOBIG;
  else if (rep < 0 || rep > c->max_rep)
    r = KS_EINVAL;
  uint32_t len = (uint32_t)n;
  if (r == 0 && (r = ks_buf_append(&c->lens, &len, sizeof len)) == 0 &&
      (r = put_levels(c, rep, c->max_def)) != 0)
    c->lens.len -= sizeof len;
  if (r) {
    c->values.len = start;
    return r;
  }
  c->nvalues++;
  return 0;
}

size_t ks_column_rows_nested_(const ks_column *c) {
  size_t n = 0;
  for (size_t i = 0; i < c->reps.len; i++)
    n += c->reps.data[i] == 0;
  return n;
}
