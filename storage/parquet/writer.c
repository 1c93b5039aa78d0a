#include "storage/parquet/internal.h"

#include <string.h>

#define PAGE_BYTES_DEFAULT ((size_t)1 << 20)
#define DICT_BYTES_DEFAULT ((size_t)1 << 20)
#define STATS_BYTES_DEFAULT ((size_t)64)
#define ROWGROUP_BYTES_DEFAULT ((size_t)128 << 20)

static ks_pq_writer *writer_new(const ks_pq_schema *s, ks_pq_schema *owned,
                                const ks_pq_options *opt, ks_pq_sink_fn sink,
                                void *arg) {
  ks_pq_writer *w = ks_calloc(1, sizeof *w);
  w->schema = s;
  w->owned = owned;
  w->ncols = s ? ks_pq_schema_nleaves(s) : 0;
  w->sink = sink;
  w->arg = arg;
  ks_pq_options o = {0};
  if (opt)
    o = *opt;
  w->page_bytes = o.page_bytes ? o.page_bytes : PAGE_BYTES_DEFAULT;
  w->dict_bytes = o.dict_bytes ? o.dict_bytes : DICT_BYTES_DEFAULT;
  w->stats_bytes = o.stats_bytes ? o.stats_bytes : STATS_BYTES_DEFAULT;
  w->rowgroup_bytes =
      o.rowgroup_bytes ? o.rowgroup_bytes : ROWGROUP_BYTES_DEFAULT;
  w->use_dict = !o.no_dictionary;
  w->page_v2 = o.page_v2 != 0;
  w->created_by =
      ks_strdup(o.created_by ? o.created_by : "ksink version " KS_VERSION);
  ks__pq_codec_init(&w->codec, o.codec, o.zstd_level);
  w->stats = ks_calloc(w->ncols ? w->ncols : 1, sizeof *w->stats);
  for (size_t i = 0; i < w->ncols; i++) {
    ks_buf_init(&w->stats[i].min_s, 0);
    ks_buf_init(&w->stats[i].max_s, 0);
  }
  ks_buf *bufs[] = {&w->chunks, &w->rgs,  &w->pages, &w->blob, &w->page,
                    &w->levels, &w->comp, &w->hdr,   &w->idx,  &w->kv};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    ks_buf_init(bufs[i], 0);
  if (!s || ks__pq_codec_thrift_id(w->codec.codec) < 0)
    w->err = KS_EINVAL;
  return w;
}

ks_pq_writer *ks_pq_writer_new(const ks_colspec *specs, size_t ncols,
                               const ks_pq_options *opt, ks_pq_sink_fn sink,
                               void *arg) {
  ks_pq_schema *s = ks_pq_schema_flat(specs, ncols);
  return writer_new(s, s, opt, sink, arg);
}

ks_pq_writer *ks_pq_writer_new_schema(const ks_pq_schema *s,
                                      const ks_pq_options *opt,
                                      ks_pq_sink_fn sink, void *arg) {
  return writer_new(s, NULL, opt, sink, arg);
}

void ks_pq_writer_free(ks_pq_writer *w) {
  if (!w)
    return;
  for (size_t i = 0; i < w->ncols; i++) {
    ks_buf_free(&w->stats[i].min_s);
    ks_buf_free(&w->stats[i].max_s);
  }
  ks_free(w->stats);
  ks__pq_codec_free(&w->codec);
  ks__pq_dict_free(&w->dict);
  ks_buf *bufs[] = {&w->chunks, &w->rgs,  &w->pages, &w->blob, &w->page,
                    &w->levels, &w->comp, &w->hdr,   &w->idx,  &w->kv};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    ks_buf_free(bufs[i]);
  ks_pq_schema_free(w->owned);
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

int ks_pq_writer_rowgroup_full(const ks_pq_writer *w, const ks_rowgroup *rg) {
  return ks_rowgroup_bytes(rg) >= w->rowgroup_bytes;
}

/* Two leaves describe the same column: same name, path shape, type and
 * levels (the row group may come from an equal copy of the schema). */
static int same_leaf(const ks_pq_node *a, const ks_pq_node *b) {
  for (; a && b; a = a->parent, b = b->parent) {
    if (a == b)
      return 1;
    if (a->repetition != b->repetition || a->is_leaf != b->is_leaf ||
        a->group != b->group || strcmp(a->name, b->name) != 0 ||
        (a->is_leaf && (a->spec.type != b->spec.type ||
                        a->precision != b->precision ||
                        a->scale != b->scale)))
      return 0;
  }
  return !a && !b;
}

/* Columns must match the writer's leaf for leaf: the footer describes
 * every row group with one schema. Checked before a byte goes out, so a
 * bad row group leaves the file writable. */
static int check_rowgroup(const ks_pq_writer *w, const ks_rowgroup *rg) {
  if (rg->ncols != w->ncols)
    return KS_EINVAL;
  for (size_t i = 0; i < w->ncols; i++) {
    if (!same_leaf(rg->cols[i].node, ks__pq_leaf(w, i)))
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
  ks__pq_rowgroup g = {(int64_t)rg->nrows, (int64_t)w->offset, 0, 0};
  size_t at = w->chunks.len;
  if ((r = ks_buf_reserve(&w->chunks, w->ncols * sizeof(ks__pq_chunk))))
    return w->err = r;
  w->chunks.len += w->ncols * sizeof(ks__pq_chunk);
  for (size_t i = 0; i < w->ncols; i++) {
    ks__pq_chunk *ch = (ks__pq_chunk *)(void *)(w->chunks.data + at) + i;
    if ((r = ks__pq_write_chunk(w, &rg->cols[i], ch)))
      return w->err = r;
    g.raw += ch->uncompressed;
    g.comp += ch->compressed;
  }
  if ((r = ks_buf_append(&w->rgs, &g, sizeof g)))
    return w->err = r;
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
  if (r || (r = ks__pq_index_write(w)) || (r = ks__pq_footer_write(w)))
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
