#include "storage/parquet/internal.h"

#include <string.h>

#define PAGE_BYTES_DEFAULT ((size_t)1 << 20)

ks_pq_writer *ks_pq_writer_new(const ks_colspec *specs, size_t ncols,
                               const ks_pq_options *opt, ks_pq_sink_fn sink,
                               void *arg) {
  ks_pq_writer *w = ks_calloc(1, sizeof *w);
  w->specs = specs;
  w->ncols = ncols;
  w->sink = sink;
  w->arg = arg;
  w->page_bytes = opt && opt->page_bytes ? opt->page_bytes : PAGE_BYTES_DEFAULT;
  w->created_by = ks_strdup(
      opt && opt->created_by ? opt->created_by : "ksink version " KS_VERSION);
  ks__pq_codec_init(&w->codec, opt ? opt->codec : KS_CODEC_NONE,
                    opt ? opt->zstd_level : 0);
  w->stats = ks_calloc(ncols ? ncols : 1, sizeof *w->stats);
  w->chunks = ks_calloc(ncols ? ncols : 1, sizeof *w->chunks);
  for (size_t i = 0; i < ncols; i++) {
    ks_buf_init(&w->stats[i].min_s, 0);
    ks_buf_init(&w->stats[i].max_s, 0);
  }
  ks_buf_init(&w->page, 0);
  ks_buf_init(&w->comp, 0);
  ks_buf_init(&w->hdr, 0);
  ks_buf_init(&w->rowgroups, 0);
  ks_buf_init(&w->kv, 0);
  if (ks__pq_codec_thrift_id(w->codec.codec) < 0)
    w->err = KS_EINVAL;
  return w;
}

void ks_pq_writer_free(ks_pq_writer *w) {
  if (!w)
    return;
  for (size_t i = 0; i < w->ncols; i++) {
    ks_buf_free(&w->stats[i].min_s);
    ks_buf_free(&w->stats[i].max_s);
  }
  ks_free(w->stats);
  ks_free(w->chunks);
  ks__pq_codec_free(&w->codec);
  ks_buf_free(&w->page);
  ks_buf_free(&w->comp);
  ks_buf_free(&w->hdr);
  ks_buf_free(&w->rowgroups);
  ks_buf_free(&w->kv);
  ks_free(w->created_by);
  ks_free(w);
}

int ks__pq_emit(ks_pq_writer *w, const void *p, size_t n) {
  if (w->err)
    return w->err;
  int r = n ? w->sink(w->arg, p, n) : 0;
  if (r)
    return w->err = r < 0 ? r : KS_EIO;
  w->offset += n;
  return 0;
}

static int emit_magic(ks_pq_writer *w) {
  return w->offset == 0 ? ks__pq_emit(w, "PAR1", 4) : 0;
}

int ks_pq_writer_add_kv(ks_pq_writer *w, const char *key, const char *value) {
  if (w->closed)
    return KS_EINVAL;
  ks__thrift t;
  ks__thrift_init(&t, &w->kv);
  ks__thrift_struct_begin(&t);
  ks__thrift_field_string(&t, 1, key);
  if (value)
    ks__thrift_field_string(&t, 2, value);
  ks__thrift_struct_end(&t);
  if (t.err)
    return t.err;
  w->nkv++;
  return 0;
}

/* Specs must match the writer's column for column (the same array, or an
 * equal copy): the footer describes every row group with one schema.
 * Checked before a byte goes out, so a bad row group leaves the file
 * writable. */
static int check_rowgroup(const ks_pq_writer *w, const ks_rowgroup *rg) {
  if (rg->ncols != w->ncols)
    return KS_EINVAL;
  for (size_t i = 0; i < w->ncols; i++) {
    const ks_colspec *a = rg->cols[i].spec, *b = &w->specs[i];
    if (a != b && (a->type != b->type || a->nullable != b->nullable ||
                   strcmp(a->name, b->name) != 0))
      return KS_EINVAL;
    int r = ks__pq_check_column(&rg->cols[i], rg->nrows);
    if (r)
      return r;
  }
  return 0;
}

/* A failure part-way leaves a truncated file behind: the writer is
 * poisoned and the caller discards the file (its upload is aborted). */
int ks_pq_writer_write_rowgroup(ks_pq_writer *w, const ks_rowgroup *rg) {
  if (w->err)
    return w->err;
  if (w->closed)
    return KS_EINVAL;
  int r = check_rowgroup(w, rg);
  if (r)
    return r;
  if (rg->nrows == 0)
    return 0;
  if ((r = emit_magic(w)))
    return r;
  int64_t start = (int64_t)w->offset;
  for (size_t i = 0; i < w->ncols; i++) {
    if ((r = ks__pq_write_chunk(w, &rg->cols[i], rg->nrows, &w->chunks[i])))
      return w->err = r;
  }
  ks__pq_footer_rowgroup(w, (int64_t)rg->nrows, start);
  for (size_t i = 0; i < w->ncols; i++)
    ks__pq_stats_merge(&w->stats[i], &w->specs[i], &w->chunks[i].st);
  w->rows += (int64_t)rg->nrows;
  w->nrowgroups++;
  return 0;
}

int ks_pq_writer_close(ks_pq_writer *w) {
  if (w->err)
    return w->err;
  if (w->closed)
    return KS_EINVAL;
  w->closed = 1;
  int r = emit_magic(w);
  if (r || (r = ks__pq_footer_write(w)))
    return w->err = r;
  return 0;
}

uint64_t ks_pq_writer_bytes(const ks_pq_writer *w) {
  return w->offset;
}

int64_t ks_pq_writer_rows(const ks_pq_writer *w) {
  return w->rows;
}

const ks_pq_colstats *ks_pq_writer_stats(const ks_pq_writer *w, size_t col) {
  return col < w->ncols ? &w->stats[col] : NULL;
}
