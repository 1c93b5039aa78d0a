/*
 * Parquet concatenation (concat.h). An input is walked twice: once when it
 * is added (checks, chunk ranges, its offset index re-encoded with the
 * chunk's new position) and once more at the end, when its row groups are
 * transcoded into the new footer. One set of walkers does both: with a
 * writer they transcode, without one they only read. Fields that need no
 * change are copied as their encoded bytes behind a re-encoded field
 * header (the compact protocol's field ids are deltas, so a header depends
 * on the field written before it; a value's bytes never do).
 *
 * Output layout, as ksink's writer lays out its own files: "PAR1", the
 * column chunks in input order, all column indexes, all offset indexes,
 * the footer, its length and "PAR1".
 */
#include "storage/parquet/concat.h"

#include "base/buf.h"
#include "base/ks.h"
#include "storage/parquet/reader.h"
#include "storage/parquet/reader_int.h"
#include "storage/parquet/thrift.h"

#include <string.h>

/* A column chunk of an input: where it was, where it goes. */
typedef struct cat_chunk {
  int64_t start, len;     /* byte range in the input */
  int64_t ci_off, ci_len; /* column index in the input (len 0: none) */
  int64_t oi_off, oi_len;
  int64_t shift;         /* output offset - input offset */
  size_t ci_pos, oi_pos; /* in the concatenation's index buffers */
  size_t oi_new_len;
} cat_chunk;

typedef struct cat_input {
  uint8_t *footer; /* FileMetaData bytes, copied */
  size_t footer_len;
  size_t rg_off;                 /* row_groups list header within footer */
  size_t schema_off, schema_len; /* encoded schema list within footer */
  size_t order_off, order_len;   /* column_orders (len 0: absent) */
  int64_t rows;
  size_t nrgs;
  cat_chunk *chunks;
  size_t nchunks, cap_chunks;
  size_t ncols; /* column chunks per row group */
} cat_input;

struct ks_pq_concat {
  ks_pq_concat_sink sink;
  void *sink_arg;
  int failed;
  uint64_t offset;
  int64_t rows;
  size_t nrgs;
  cat_input *inputs;
  size_t ninputs, cap_inputs;
  ks_buf ci, oi; /* column and offset indexes, written by finish */
};

/* Footer walk state. w is NULL while an input is being added. */
typedef struct walk {
  ks__thrift_rd *r;
  ks__thrift *w;
  cat_input *in;
  int64_t limit;   /* input data ends here (the footer starts) */
  size_t k;        /* next chunk */
  const char *bad; /* why the input is refused */
  int code;
} walk;

static void refuse(walk *x, int code, const char *why) {
  if (x->bad == NULL) {
    x->bad = why;
    x->code = code;
  }
}

/* The value just skipped (it began at s), behind a new field header. */
static void copy_skipped(ks__thrift_rd *r, ks__thrift *w, int16_t id, int type,
                         const uint8_t *s) {
  ks__thrift_field_begin(w, id, type);
  ks__thrift_append(w, s, (size_t)(r->p - s));
}

static void copy(walk *x, int16_t id, int type, const uint8_t *s) {
  if (x->w)
    copy_skipped(x->r, x->w, id, type, s);
}

static int range_ok(const walk *x, int64_t off, int64_t len) {
  return off >= 4 && len > 0 && off <= x->limit && len <= x->limit - off;
}

static void walk_column_meta(walk *x, cat_chunk *cc) {
  ks__thrift_rd *r = x->r;
  int16_t id;
  int t;
  int64_t data_off = -1, dict_off = -1, index_off = -1;
  int64_t len = -1;
  ks__thrift_rd_struct_begin(r);
  if (x->w)
    ks__thrift_struct_begin(x->w);
  while (ks__thrift_rd_field(r, &id, &t)) {
    const uint8_t *s = r->p;
    if ((id == 9 || id == 10 || id == 11) && t == KS__T_I64) {
      int64_t v = ks__thrift_rd_int(r, t);
      if (id == 9)
        data_off = v;
      else if (id == 10)
        index_off = v;
      else if (v > 0) /* some writers state 0 for "no dictionary" */
        dict_off = v;
      if (x->w)
        ks__thrift_field_i64(x->w, id, v > 0 ? v + cc->shift : v);
      continue;
    }
    if (id == 7 && t == KS__T_I64) {
      len = ks__thrift_rd_int(r, t);
      if (x->w)
        ks__thrift_field_i64(x->w, id, len);
      continue;
    }
    ks__thrift_rd_skip(r, t);
    if (id == 14 || id == 15) /* bloom filter: not copied */
      continue;
    copy(x, id, t, s);
  }
  if (x->w) { /* the range was checked when the input was added */
    ks__thrift_struct_end(x->w);
    return;
  }
  int64_t start = data_off;
  if (dict_off > 0 && dict_off < start)
    start = dict_off;
  if (index_off > 0 && index_off < start)
    start = index_off;
  cc->start = start;
  cc->len = len;
  if (!r->err && !range_ok(x, cc->start, cc->len))
    refuse(x, KS_ECORRUPT, "a column chunk lies outside the file");
}

static cat_chunk *next_chunk(walk *x) {
  cat_input *in = x->in;
  if (x->w) {
    if (x->k >= in->nchunks) {
      refuse(x, KS_ECORRUPT, "footer changed");
      return NULL;
    }
    return &in->chunks[x->k++];
  }
  if (in->nchunks == in->cap_chunks) {
    in->cap_chunks = in->cap_chunks ? in->cap_chunks * 2 : 16;
    in->chunks = ks_realloc(in->chunks, in->cap_chunks * sizeof *in->chunks);
  }
  cat_chunk *cc = &in->chunks[in->nchunks++];
  memset(cc, 0, sizeof *cc);
  x->k++;
  return cc;
}

static void walk_column_chunk(walk *x) {
  ks__thrift_rd *r = x->r;
  cat_chunk *cc = next_chunk(x);
  if (cc == NULL)
    return;
  int16_t id;
  int t;
  int has_meta = 0;
  ks__thrift_rd_struct_begin(r);
  if (x->w)
    ks__thrift_struct_begin(x->w);
  while (ks__thrift_rd_field(r, &id, &t)) {
    const uint8_t *s = r->p;
    if (id == 1 || id == 8 || id == 9) {
      refuse(x, KS_EUNSUPPORTED,
             id == 1 ? "a column chunk stored in another file"
                     : "an encrypted column");
      ks__thrift_rd_skip(r, t);
      continue;
    }
    if (id == 3 && t == KS__T_STRUCT) {
      has_meta = 1;
      if (x->w)
        ks__thrift_field_begin(x->w, id, t);
      walk_column_meta(x, cc);
      continue;
    }
    if ((id == 2 || id == 4 || id == 6) && t == KS__T_I64) {
      int64_t v = ks__thrift_rd_int(r, t);
      if (x->w == NULL) {
        if (id == 4)
          cc->oi_off = v;
        else if (id == 6)
          cc->ci_off = v;
        continue;
      }
      if (id == 2)
        ks__thrift_field_i64(x->w, id, v + cc->shift);
      else if (id == 4 && cc->oi_len > 0)
        ks__thrift_field_i64(x->w, id, (int64_t)cc->oi_pos);
      else if (id == 6 && cc->ci_len > 0)
        ks__thrift_field_i64(x->w, id, (int64_t)cc->ci_pos);
      continue;
    }
    if ((id == 5 || id == 7) && t == KS__T_I32) {
      int64_t v = ks__thrift_rd_int(r, t);
      if (x->w == NULL && id == 5)
        cc->oi_len = v;
      else if (x->w == NULL)
        cc->ci_len = v;
      else if (id == 5 && cc->oi_len > 0)
        ks__thrift_field_i32(x->w, id, (int32_t)cc->oi_new_len);
      else if (id == 7 && cc->ci_len > 0)
        ks__thrift_field_i32(x->w, id, (int32_t)cc->ci_len);
      continue;
    }
    ks__thrift_rd_skip(r, t);
    copy(x, id, t, s);
  }
  if (x->w)
    ks__thrift_struct_end(x->w);
  if (!has_meta)
    refuse(x, KS_EUNSUPPORTED, "a column chunk without its metadata");
  if (x->w)
    return;
  /* an index that is only half stated, or out of range, is dropped */
  if (cc->oi_len <= 0 || !range_ok(x, cc->oi_off, cc->oi_len))
    cc->oi_len = 0;
  if (cc->ci_len <= 0 || !range_ok(x, cc->ci_off, cc->ci_len))
    cc->ci_len = 0;
}

static void walk_row_group(walk *x, int64_t ordinal) {
  ks__thrift_rd *r = x->r;
  int16_t id;
  int t;
  size_t first = x->k, ncols = 0;
  ks__thrift_rd_struct_begin(r);
  if (x->w)
    ks__thrift_struct_begin(x->w);
  while (ks__thrift_rd_field(r, &id, &t)) {
    const uint8_t *s = r->p;
    if (id == 1 && t == KS__T_LIST) {
      int et;
      ks__thrift_rd_list(r, &et, &ncols);
      if (et != KS__T_STRUCT) {
        refuse(x, KS_ECORRUPT, "row group columns are not structs");
        return;
      }
      if (x->w) {
        ks__thrift_field_begin(x->w, id, t);
        ks__thrift_list_begin(x->w, et, ncols);
      }
      for (size_t i = 0; i < ncols && !r->err && !x->bad; i++)
        walk_column_chunk(x);
      continue;
    }
    if (id == 5 && t == KS__T_I64) {
      int64_t v = ks__thrift_rd_int(r, t);
      if (x->w && first < x->in->nchunks)
        ks__thrift_field_i64(x->w, id, v + x->in->chunks[first].shift);
      continue;
    }
    if (id == 7 && t == KS__T_I16) {
      ks__thrift_rd_int(r, t);
      if (x->w && ordinal <= INT16_MAX)
        ks__thrift_field_i16(x->w, id, (int16_t)ordinal);
      continue;
    }
    ks__thrift_rd_skip(r, t);
    copy(x, id, t, s);
  }
  if (x->w)
    ks__thrift_struct_end(x->w);
  if (x->w == NULL) {
    if (x->in->nrgs == 0)
      x->in->ncols = ncols;
    else if (ncols != x->in->ncols)
      refuse(x, KS_ECORRUPT, "row groups with different column counts");
    x->in->nrgs++;
  }
}

/* The row_groups list at the reader's position. */
static void walk_row_groups(walk *x, int64_t *ordinal) {
  int et;
  size_t n;
  ks__thrift_rd_list(x->r, &et, &n);
  if (et != KS__T_STRUCT && n) {
    refuse(x, KS_ECORRUPT, "row groups are not structs");
    return;
  }
  for (size_t i = 0; i < n && !x->r->err && !x->bad; i++)
    walk_row_group(x, (*ordinal)++);
}

/* Top level of an input's FileMetaData, reading only. */
static void walk_file(walk *x) {
  ks__thrift_rd *r = x->r;
  cat_input *in = x->in;
  const uint8_t *base = in->footer;
  int16_t id;
  int t;
  int has_rgs = 0;
  int64_t ordinal = 0;
  ks__thrift_rd_struct_begin(r);
  while (ks__thrift_rd_field(r, &id, &t)) {
    const uint8_t *s = r->p;
    if (id == 4 && t == KS__T_LIST) {
      has_rgs = 1;
      in->rg_off = (size_t)(s - base);
      walk_row_groups(x, &ordinal);
      continue;
    }
    if (id == 3 && t == KS__T_I64) {
      in->rows = ks__thrift_rd_int(r, t);
      continue;
    }
    if (id == 8 || id == 9)
      refuse(x, KS_EUNSUPPORTED, "an encrypted file");
    ks__thrift_rd_skip(r, t);
    if (id == 2) {
      in->schema_off = (size_t)(s - base);
      in->schema_len = (size_t)(r->p - s);
    } else if (id == 7) {
      in->order_off = (size_t)(s - base);
      in->order_len = (size_t)(r->p - s);
    }
  }
  if (!r->err && (!has_rgs || in->schema_len == 0))
    refuse(x, KS_ECORRUPT, "footer without schema or row groups");
}

static void input_free(cat_input *in) {
  ks_free(in->footer);
  ks_free(in->chunks);
  memset(in, 0, sizeof *in);
}

ks_pq_concat *ks_pq_concat_new(ks_pq_concat_sink sink, void *arg) {
  ks_pq_concat *c = ks_calloc(1, sizeof *c);
  c->sink = sink;
  c->sink_arg = arg;
  ks_buf_init(&c->ci, 0);
  ks_buf_init(&c->oi, 0);
  return c;
}

void ks_pq_concat_free(ks_pq_concat *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->ninputs; i++)
    input_free(&c->inputs[i]);
  ks_free(c->inputs);
  ks_buf_free(&c->ci);
  ks_buf_free(&c->oi);
  ks_free(c);
}

size_t ks_pq_concat_files(const ks_pq_concat *c) {
  return c->ninputs;
}
int64_t ks_pq_concat_rows(const ks_pq_concat *c) {
  return c->rows;
}
uint64_t ks_pq_concat_bytes(const ks_pq_concat *c) {
  return c->offset;
}

static int emit(ks_pq_concat *c, const void *p, size_t n) {
  if (c->failed)
    return c->failed;
  int rc = n ? c->sink(c->sink_arg, p, n) : 0;
  if (rc)
    c->failed = rc;
  else
    c->offset += n;
  return rc;
}

/* The chunk's offset index with every page offset moved by its shift,
 * appended to out; 0 or KS_ECORRUPT (a page outside the chunk). */
static int offset_index(const uint8_t *p, size_t n, const cat_chunk *cc,
                        ks_buf *out) {
  ks__thrift_rd r;
  ks__thrift w;
  ks__thrift_rd_init(&r, p, n);
  ks__thrift_init(&w, out);
  int16_t id;
  int t, bad = 0;
  ks__thrift_rd_struct_begin(&r);
  ks__thrift_struct_begin(&w);
  while (ks__thrift_rd_field(&r, &id, &t)) {
    const uint8_t *s = r.p;
    if (id != 1 || t != KS__T_LIST) {
      ks__thrift_rd_skip(&r, t);
      copy_skipped(&r, &w, id, t, s);
      continue;
    }
    int et;
    size_t np;
    ks__thrift_rd_list(&r, &et, &np);
    bad |= et != KS__T_STRUCT && np;
    ks__thrift_field_list(&w, id, et, np);
    for (size_t i = 0; i < np && !r.err && !bad; i++) {
      int16_t pid;
      int pt;
      ks__thrift_rd_struct_begin(&r);
      ks__thrift_struct_begin(&w);
      while (ks__thrift_rd_field(&r, &pid, &pt)) {
        const uint8_t *ps = r.p;
        if (pid == 1 && pt == KS__T_I64) {
          int64_t off = ks__thrift_rd_int(&r, pt);
          bad |= off < cc->start || off >= cc->start + cc->len;
          ks__thrift_field_i64(&w, pid, off + cc->shift);
          continue;
        }
        ks__thrift_rd_skip(&r, pt);
        copy_skipped(&r, &w, pid, pt, ps);
      }
      ks__thrift_struct_end(&w);
    }
  }
  ks__thrift_struct_end(&w);
  if (r.err || bad)
    return KS_ECORRUPT;
  return w.err;
}

/* The walk of an input being added; fills in (its footer copied). */
static int read_input(ks_pq_concat *c, cat_input *in, const uint8_t *data,
                      size_t len, char *err, size_t errlen) {
  if (len >= 12 && memcmp(data + len - 4, "PARE", 4) == 0)
    return ks__pq_errf(err, errlen, KS_EUNSUPPORTED,
                       "an encrypted file (PARE)");
  if (len < 12 || memcmp(data, "PAR1", 4) || memcmp(data + len - 4, "PAR1", 4))
    return ks__pq_errf(err, errlen, KS_ECORRUPT,
                       "not a Parquet file (no PAR1)");
  const uint8_t *t = data + len - 8;
  size_t flen = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 |
                (size_t)t[3] << 24;
  if (flen == 0 || flen > len - 12)
    return ks__pq_errf(err, errlen, KS_ECORRUPT, "footer length out of range");
  /* the reader checks the schema tree and the chunks' own metadata */
  ks_pq_file *pf;
  int rc = ks_pq_file_open(data, len, &pf, err, errlen);
  if (rc)
    return rc;
  ks_pq_file_free(pf);
  in->footer_len = flen;
  in->footer = ks_malloc(flen);
  memcpy(in->footer, data + len - 8 - flen, flen);
  ks__thrift_rd r;
  ks__thrift_rd_init(&r, in->footer, flen);
  walk x = {.r = &r, .in = in, .limit = (int64_t)(len - 8 - flen)};
  walk_file(&x);
  if (r.err)
    return ks__pq_errf(err, errlen, KS_ECORRUPT, "malformed footer");
  if (x.bad)
    return ks__pq_errf(err, errlen, x.code, "%s", x.bad);
  if (c->ninputs) {
    const cat_input *f = &c->inputs[0];
    if (in->schema_len != f->schema_len ||
        memcmp(in->footer + in->schema_off, f->footer + f->schema_off,
               f->schema_len) ||
        in->order_len != f->order_len ||
        memcmp(in->footer + in->order_off, f->footer + f->order_off,
               f->order_len))
      return ks__pq_errf(err, errlen, KS_ESCHEMA,
                         "its Parquet schema differs from the first file's");
  }
  /* where each chunk goes, and its indexes */
  uint64_t at = c->offset ? c->offset : 4;
  for (size_t i = 0; i < in->nchunks; i++) {
    cat_chunk *cc = &in->chunks[i];
    cc->shift = (int64_t)at - cc->start;
    at += (uint64_t)cc->len;
    if (cc->oi_len) {
      cc->oi_pos = c->oi.len;
      if (offset_index(data + cc->oi_off, (size_t)cc->oi_len, cc, &c->oi)) {
        ks_buf_truncate(&c->oi, cc->oi_pos);
        return ks__pq_errf(
            err, errlen, KS_ECORRUPT,
            "an offset index that does not match its column chunk");
      }
      cc->oi_new_len = c->oi.len - cc->oi_pos;
    }
    if (cc->ci_len) {
      cc->ci_pos = c->ci.len;
      if ((rc = ks_buf_append(&c->ci, data + cc->ci_off, (size_t)cc->ci_len)))
        return rc;
    }
  }
  return 0;
}

int ks_pq_concat_add(ks_pq_concat *c, const uint8_t *data, size_t len,
                     char *err, size_t errlen) {
  if (c->failed)
    return c->failed;
  if (c->ninputs == c->cap_inputs) {
    c->cap_inputs = c->cap_inputs ? c->cap_inputs * 2 : 8;
    c->inputs = ks_realloc(c->inputs, c->cap_inputs * sizeof *c->inputs);
  }
  cat_input *in = &c->inputs[c->ninputs];
  memset(in, 0, sizeof *in);
  size_t ci_len = c->ci.len, oi_len = c->oi.len;
  int rc = read_input(c, in, data, len, err, errlen);
  if (rc) {
    input_free(in);
    ks_buf_truncate(&c->ci, ci_len);
    ks_buf_truncate(&c->oi, oi_len);
    return rc;
  }
  c->ninputs++;
  if (c->offset == 0 && (rc = emit(c, "PAR1", 4)))
    return rc;
  for (size_t i = 0; i < in->nchunks && rc == 0; i++)
    rc = emit(c, data + in->chunks[i].start, (size_t)in->chunks[i].len);
  c->rows += in->rows;
  c->nrgs += in->nrgs;
  return rc;
}

/* FileMetaData: the first input's, with the row count and the row groups
 * of every input. */
static int footer(ks_pq_concat *c, uint64_t ci_base, uint64_t oi_base,
                  ks_buf *out) {
  for (size_t i = 0; i < c->ninputs; i++)
    for (size_t k = 0; k < c->inputs[i].nchunks; k++) {
      cat_chunk *cc = &c->inputs[i].chunks[k];
      cc->ci_pos += ci_base;
      cc->oi_pos += oi_base;
    }
  cat_input *f = &c->inputs[0];
  ks__thrift w;
  ks__thrift_rd r;
  ks__thrift_init(&w, out);
  ks__thrift_rd_init(&r, f->footer, f->footer_len);
  int16_t id;
  int t;
  ks__thrift_rd_struct_begin(&r);
  ks__thrift_struct_begin(&w);
  while (ks__thrift_rd_field(&r, &id, &t)) {
    const uint8_t *s = r.p;
    ks__thrift_rd_skip(&r, t);
    if (id == 3) {
      ks__thrift_field_i64(&w, id, c->rows);
    } else if (id == 4) {
      ks__thrift_field_list(&w, id, KS__T_STRUCT, c->nrgs);
      int64_t ordinal = 0;
      for (size_t i = 0; i < c->ninputs; i++) {
        cat_input *in = &c->inputs[i];
        ks__thrift_rd ir;
        ks__thrift_rd_init(&ir, in->footer + in->rg_off,
                           in->footer_len - in->rg_off);
        walk x = {.r = &ir, .w = &w, .in = in, .limit = INT64_MAX};
        walk_row_groups(&x, &ordinal);
        if (ir.err || x.bad)
          return KS_ECORRUPT;
      }
    } else {
      copy_skipped(&r, &w, id, t, s);
    }
  }
  ks__thrift_struct_end(&w);
  if (r.err)
    return KS_ECORRUPT;
  return w.err;
}

int ks_pq_concat_finish(ks_pq_concat *c) {
  if (c->failed)
    return c->failed;
  if (c->ninputs == 0)
    return KS_EINVAL;
  uint64_t ci_base = c->offset;
  int rc = emit(c, c->ci.data, c->ci.len);
  uint64_t oi_base = c->offset;
  if (rc == 0)
    rc = emit(c, c->oi.data, c->oi.len);
  if (rc)
    return rc;
  ks_buf meta;
  ks_buf_init(&meta, 0);
  rc = footer(c, ci_base, oi_base, &meta);
  if (rc == 0 && meta.len > UINT32_MAX)
    rc = KS_ETOOBIG;
  if (rc == 0) {
    uint8_t tail[8];
    for (int b = 0; b < 4; b++)
      tail[b] = (uint8_t)(meta.len >> (8 * b));
    memcpy(tail + 4, "PAR1", 4);
    if ((rc = emit(c, meta.data, meta.len)) == 0)
      rc = emit(c, tail, sizeof tail);
  }
  ks_buf_free(&meta);
  if (rc)
    c->failed = rc;
  return rc;
}
