#include "storage/parquet/column.h"

/* One cap per column buffer: a single row group column past 2 GiB cannot be
 * encoded (page sizes are int32 in the format) and means a runaway input. */
#define KS_COLUMN_MAX ((size_t)1 << 31)

void ks_rowgroup_init(ks_rowgroup *rg, const ks_colspec *specs, size_t n) {
  rg->cols = ks_calloc(n, sizeof *rg->cols);
  rg->ncols = n;
  rg->nrows = 0;
  for (size_t i = 0; i < n; i++) {
    ks_column *c = &rg->cols[i];
    c->spec = &specs[i];
    ks_buf_init(&c->values, KS_COLUMN_MAX);
    ks_buf_init(&c->lens, KS_COLUMN_MAX);
    ks_buf_init(&c->defs, KS_COLUMN_MAX);
  }
}

void ks_rowgroup_free(ks_rowgroup *rg) {
  for (size_t i = 0; i < rg->ncols; i++) {
    ks_buf_free(&rg->cols[i].values);
    ks_buf_free(&rg->cols[i].lens);
    ks_buf_free(&rg->cols[i].defs);
  }
  ks_free(rg->cols);
  rg->cols = NULL;
  rg->ncols = rg->nrows = 0;
}

void ks_rowgroup_reset(ks_rowgroup *rg) {
  for (size_t i = 0; i < rg->ncols; i++) {
    ks_column *c = &rg->cols[i];
    ks_buf_reset(&c->values);
    ks_buf_reset(&c->lens);
    ks_buf_reset(&c->defs);
    c->nvalues = 0;
    c->mark_values = c->mark_lens = c->mark_defs = c->mark_nvalues = 0;
  }
  rg->nrows = 0;
}

size_t ks_rowgroup_bytes(const ks_rowgroup *rg) {
  size_t n = 0;
  for (size_t i = 0; i < rg->ncols; i++)
    n += rg->cols[i].values.len + rg->cols[i].lens.len + rg->cols[i].defs.len;
  return n;
}

void ks_rowgroup_mark_row(ks_rowgroup *rg) {
  for (size_t i = 0; i < rg->ncols; i++) {
    ks_column *c = &rg->cols[i];
    c->mark_values = c->values.len;
    c->mark_lens = c->lens.len;
    c->mark_defs = c->defs.len;
    c->mark_nvalues = c->nvalues;
  }
}

void ks_rowgroup_rollback_row(ks_rowgroup *rg) {
  for (size_t i = 0; i < rg->ncols; i++) {
    ks_column *c = &rg->cols[i];
    ks_buf_truncate(&c->values, c->mark_values);
    ks_buf_truncate(&c->lens, c->mark_lens);
    ks_buf_truncate(&c->defs, c->mark_defs);
    c->nvalues = c->mark_nvalues;
  }
}

void ks_rowgroup_commit_row(ks_rowgroup *rg) { rg->nrows++; }

int ks_column_append_null(ks_column *c) {
  return ks_buf_append_byte(&c->defs, 0);
}

static int append_fixed(ks_column *c, const void *v, size_t n) {
  int r = ks_buf_append(&c->values, v, n);
  if (r)
    return r;
  if ((r = ks_buf_append_byte(&c->defs, 1))) {
    c->values.len -= n;
    return r;
  }
  c->nvalues++;
  return 0;
}

int ks_column_append_bool(ks_column *c, int v) {
  uint8_t b = v ? 1 : 0;
  return append_fixed(c, &b, 1);
}

int ks_column_append_i32(ks_column *c, int32_t v) {
  return append_fixed(c, &v, sizeof v);
}

int ks_column_append_i64(ks_column *c, int64_t v) {
  return append_fixed(c, &v, sizeof v);
}

int ks_column_append_double(ks_column *c, double v) {
  return append_fixed(c, &v, sizeof v);
}

int ks_column_append_str(ks_column *c, const void *s, size_t n) {
  size_t start;
  ks_column_str_begin(c, &start);
  int r = ks_buf_append(&c->values, s, n);
  if (r)
    return r;
  return ks_column_str_end(c, start);
}

void ks_column_str_begin(ks_column *c, size_t *start) {
  *start = c->values.len;
}

int ks_column_str_end(ks_column *c, size_t start) {
  size_t n = c->values.len - start;
  if (n > UINT32_MAX)
    return KS_ETOOBIG;
  uint32_t len = (uint32_t)n;
  int r = ks_buf_append(&c->lens, &len, sizeof len);
  if (r == 0 && (r = ks_buf_append_byte(&c->defs, 1)) != 0)
    c->lens.len -= sizeof len;
  if (r) {
    c->values.len = start;
    return r;
  }
  c->nvalues++;
  return 0;
}
