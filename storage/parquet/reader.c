/*
 * The Parquet reader (reader.h): footer and schema, then one column chunk
 * after another, page by page. Every page is decompressed into a scratch
 * buffer whose size the page header states (and the codec must produce
 * exactly), so a lying header costs at most the declared page size, which
 * is itself capped: by the entry limit, and by its compressed size times
 * the most any codec plausibly expands (a few KB never become a GiB).
 * The footer's counts are held to what its bytes can describe (every
 * list element takes a byte), and a leaf outside any repeated group holds
 * one entry per row, so the file's stated rows bound its columns.
 */
#include "storage/parquet/reader.h"
#include "storage/parquet/reader_int.h"

#include "base/ks.h"
#include "storage/parquet/rle.h"
#include "storage/parquet/thrift.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_SCHEMA_DEPTH 64
#define MAX_PAGE_BYTES ((size_t)1 << 28)
/* Decompressed bytes per compressed byte past the floor: snappy tops out
 * near 21, deflate near 1032; zstd can go further, but a writer's page of
 * that ratio is tiny anyway and fits under the floor. */
#define MAX_PAGE_RATIO 1024
#define PAGE_RATIO_FLOOR ((size_t)16 << 20)
/* Schema elements a footer may declare (columns of nested structs). */
#define MAX_SCHEMA_ELEMS ((size_t)1 << 17)
#define DEFAULT_MAX_ENTRIES ((size_t)1 << 26)

typedef struct chunk_meta {
  int type;
  int codec;
  int64_t num_values;
  int64_t data_off, dict_off; /* dict_off -1: none */
  int64_t comp_size;
} chunk_meta;

struct ks_pq_file {
  const uint8_t *data;
  size_t len;
  size_t max_entries;
  size_t max_page; /* decompressed page bytes */
  size_t refused_raw, refused_comp; /* the page decompress refused */
  int64_t num_rows;
  ks_pq_rnode *nodes;
  size_t nnodes;
  size_t *kids;      /* children lists, see ks_pq_rnode.first_child */
  size_t *leaf_node; /* leaf -> node index */
  size_t nleaves;
  chunk_meta *chunks; /* nrgs * nleaves */
  size_t nrgs;
  /* scratch */
  ks_buf page;
  uint32_t *idx;
  size_t idx_cap;
};

int ks__pq_errf(char *err, size_t errlen, int code, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* ---- footer ------------------------------------------------------------ */

typedef struct schema_elem {
  const uint8_t *name;
  size_t name_n;
  int type, type_length, repetition, converted;
  int64_t num_children;
} schema_elem;

static void read_schema_elem(ks__thrift_rd *r, schema_elem *e) {
  memset(e, 0, sizeof *e);
  e->type = -1;
  e->converted = -1;
  e->name = (const uint8_t *)"";
  int16_t id;
  int t;
  ks__thrift_rd_struct_begin(r);
  while (ks__thrift_rd_field(r, &id, &t)) {
    if (id == 1 && t == KS__T_I32)
      e->type = (int)ks__thrift_rd_int(r, t);
    else if (id == 2 && t == KS__T_I32)
      e->type_length = (int)ks__thrift_rd_int(r, t);
    else if (id == 3 && t == KS__T_I32)
      e->repetition = (int)ks__thrift_rd_int(r, t);
    else if (id == 4 && t == KS__T_BINARY)
      ks__thrift_rd_binary(r, &e->name, &e->name_n);
    else if (id == 5 && t == KS__T_I32)
      e->num_children = ks__thrift_rd_int(r, t);
    else if (id == 6 && t == KS__T_I32)
      e->converted = (int)ks__thrift_rd_int(r, t);
    else
      ks__thrift_rd_skip(r, t);
  }
}

static void read_column_meta(ks__thrift_rd *r, chunk_meta *c) {
  int16_t id;
  int t;
  ks__thrift_rd_struct_begin(r);
  while (ks__thrift_rd_field(r, &id, &t)) {
    if (id == 1 && t == KS__T_I32)
      c->type = (int)ks__thrift_rd_int(r, t);
    else if (id == 4 && t == KS__T_I32)
      c->codec = (int)ks__thrift_rd_int(r, t);
    else if (id == 5 && t == KS__T_I64)
      c->num_values = ks__thrift_rd_int(r, t);
    else if (id == 7 && t == KS__T_I64)
      c->comp_size = ks__thrift_rd_int(r, t);
    else if (id == 9 && t == KS__T_I64)
      c->data_off = ks__thrift_rd_int(r, t);
    else if (id == 11 && t == KS__T_I64)
      c->dict_off = ks__thrift_rd_int(r, t);
    else
      ks__thrift_rd_skip(r, t);
  }
}

static void read_row_group(ks__thrift_rd *r, chunk_meta *cols, size_t ncols,
                           size_t *got) {
  int16_t id;
  int t;
  *got = 0;
  ks__thrift_rd_struct_begin(r);
  while (ks__thrift_rd_field(r, &id, &t)) {
    if (id != 1 || t != KS__T_LIST) {
      ks__thrift_rd_skip(r, t);
      continue;
    }
    int et;
    size_t n;
    ks__thrift_rd_list(r, &et, &n);
    for (size_t i = 0; i < n && !r->err; i++) {
      if (et != KS__T_STRUCT) {
        ks__thrift_rd_skip(r, et);
        continue;
      }
      chunk_meta c = {.type = -1, .dict_off = -1, .data_off = -1};
      ks__thrift_rd_struct_begin(r);
      int16_t cid;
      int ct;
      while (ks__thrift_rd_field(r, &cid, &ct)) {
        if (cid == 3 && ct == KS__T_STRUCT)
          read_column_meta(r, &c);
        else
          ks__thrift_rd_skip(r, ct);
      }
      if (*got < ncols)
        cols[*got] = c;
      (*got)++;
    }
  }
}

/* Builds the node of elems[*next] and its subtree, depth first. */
static int build_node(ks_pq_file *f, const schema_elem *elems, size_t nelems,
                      size_t *next, size_t *nkids, size_t parent, int depth,
                      int def, int rep) {
  if (*next >= nelems || depth > MAX_SCHEMA_DEPTH)
    return KS_ECORRUPT;
  const schema_elem *e = &elems[*next];
  size_t at = (*next)++;
  ks_pq_rnode *n = &f->nodes[at];
  n->name = ks_strndup((const char *)e->name, e->name_n);
  n->repetition = at == 0 ? 0 : e->repetition;
  if (n->repetition < 0 || n->repetition > 2)
    return KS_ECORRUPT;
  n->def = def + (n->repetition != 0);
  n->rep = rep + (n->repetition == 2);
  if (n->def > 255 || n->rep > 255)
    return KS_ECORRUPT;
  n->parent = parent;
  n->converted = e->converted;
  if (e->num_children <= 0 && at != 0) {
    n->is_leaf = 1;
    n->type = e->type;
    n->type_length = e->type_length;
    if (n->type < 0 || n->type > KS_PQR_FLBA ||
        (n->type == KS_PQR_FLBA && n->type_length <= 0))
      return KS_ECORRUPT;
    n->leaf = f->nleaves;
    f->leaf_node[f->nleaves++] = at;
    return 0;
  }
  if (e->num_children < 0 || (uint64_t)e->num_children > nelems - *next)
    return KS_ECORRUPT;
  size_t nk = (size_t)e->num_children;
  size_t *tmp = ks_calloc(nk ? nk : 1, sizeof *tmp);
  int rc = 0;
  for (size_t i = 0; i < nk && rc == 0; i++) {
    tmp[i] = *next;
    rc = build_node(f, elems, nelems, next, nkids, at, depth + 1,
                    f->nodes[at].def, f->nodes[at].rep);
  }
  if (rc == 0) {
    n = &f->nodes[at];
    n->first_child = *nkids;
    n->nchildren = nk;
    memcpy(f->kids + *nkids, tmp, nk * sizeof *tmp);
    *nkids += nk;
  }
  ks_free(tmp);
  return rc;
}

static int parse_footer(ks_pq_file *f, const uint8_t *p, size_t n, char *err,
                        size_t errlen) {
  ks__thrift_rd r;
  ks__thrift_rd_init(&r, p, n);
  schema_elem *elems = NULL;
  size_t nelems = 0;
  int have_rgs = 0;
  int rc = 0;
  int16_t id;
  int t;
  /* row groups are read after the schema (the field order is not
   * guaranteed): remember where the list starts */
  const uint8_t *rg_at = NULL;
  ks__thrift_rd_struct_begin(&r);
  while (ks__thrift_rd_field(&r, &id, &t)) {
    if (id == 2 && t == KS__T_LIST && elems == NULL) {
      int et;
      ks__thrift_rd_list(&r, &et, &nelems);
      if (et != KS__T_STRUCT || nelems == 0 || nelems > MAX_SCHEMA_ELEMS) {
        r.err = KS_ECORRUPT;
        break;
      }
      elems = ks_calloc(nelems, sizeof *elems);
      for (size_t i = 0; i < nelems && !r.err; i++)
        read_schema_elem(&r, &elems[i]);
    } else if (id == 3 && (t == KS__T_I64 || t == KS__T_I32)) {
      f->num_rows = ks__thrift_rd_int(&r, t);
    } else if (id == 4 && t == KS__T_LIST) {
      rg_at = r.p;
      have_rgs = 1;
      ks__thrift_rd_skip(&r, t);
    } else {
      ks__thrift_rd_skip(&r, t);
    }
  }
  if (r.err || elems == NULL) {
    ks_free(elems);
    return ks__pq_errf(err, errlen, KS_ECORRUPT, "parquet footer: malformed");
  }
  f->nodes = ks_calloc(nelems, sizeof *f->nodes);
  f->nnodes = nelems;
  f->kids = ks_calloc(nelems, sizeof *f->kids);
  f->leaf_node = ks_calloc(nelems, sizeof *f->leaf_node);
  size_t next = 0, nkids = 0;
  rc = build_node(f, elems, nelems, &next, &nkids, 0, 0, 0, 0);
  ks_free(elems);
  if (rc || next != nelems)
    return ks__pq_errf(err, errlen, KS_ECORRUPT,
                       "parquet footer: malformed schema");
  if (!have_rgs)
    return 0;
  ks__thrift_rd_init(&r, rg_at, (size_t)(p + n - rg_at));
  int et;
  size_t nrg;
  ks__thrift_rd_list(&r, &et, &nrg);
  if (r.err || (nrg && et != KS__T_STRUCT))
    return ks__pq_errf(err, errlen, KS_ECORRUPT, "parquet footer: malformed");
  size_t ncols = f->nleaves ? f->nleaves : 1;
  /* each column chunk of each row group takes a byte of the footer at
   * least: counts beyond that are lies, refused before any allocation */
  size_t avail = (size_t)(r.end - r.p);
  if (nrg > avail || (nrg && ncols > avail / nrg))
    return ks__pq_errf(err, errlen, KS_ECORRUPT,
                       "parquet footer: %zu row groups of %zu columns in %zu "
                       "bytes",
                       nrg, ncols, avail);
  f->chunks = ks_calloc(nrg ? nrg * ncols : 1, sizeof *f->chunks);
  f->nrgs = nrg;
  for (size_t g = 0; g < nrg && !r.err; g++) {
    size_t got;
    read_row_group(&r, f->chunks + g * ncols, f->nleaves, &got);
    if (!r.err && got != f->nleaves)
      return ks__pq_errf(err, errlen, KS_ECORRUPT,
                         "parquet footer: row group %zu has %zu columns, the "
                         "schema %zu",
                         g, got, f->nleaves);
  }
  if (r.err)
    return ks__pq_errf(err, errlen, KS_ECORRUPT, "parquet footer: malformed");
  return 0;
}

int ks_pq_file_open(const uint8_t *data, size_t len, ks_pq_file **out,
                    char *err, size_t errlen) {
  *out = NULL;
  if (len < 12 || memcmp(data, "PAR1", 4) != 0 ||
      memcmp(data + len - 4, "PAR1", 4) != 0)
    return ks__pq_errf(err, errlen, KS_ECORRUPT,
                       "not a parquet file (no PAR1)");
  uint32_t flen = (uint32_t)data[len - 8] | (uint32_t)data[len - 7] << 8 |
                  (uint32_t)data[len - 6] << 16 | (uint32_t)data[len - 5] << 24;
  if (flen > len - 12)
    return ks__pq_errf(err, errlen, KS_ECORRUPT, "parquet footer: bad length");
  ks_pq_file *f = ks_calloc(1, sizeof *f);
  f->data = data;
  f->len = len;
  ks_buf_init(&f->page, MAX_PAGE_BYTES);
  ks_pq_file_set_max_entries(f, DEFAULT_MAX_ENTRIES);
  int rc = parse_footer(f, data + len - 8 - flen, flen, err, errlen);
  if (rc) {
    ks_pq_file_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

void ks_pq_file_free(ks_pq_file *f) {
  if (f == NULL)
    return;
  for (size_t i = 0; i < f->nnodes; i++)
    ks_free(f->nodes[i].name);
  ks_free(f->nodes);
  ks_free(f->kids);
  ks_free(f->leaf_node);
  ks_free(f->chunks);
  ks_buf_free(&f->page);
  ks_free(f->idx);
  ks_free(f);
}

/* A page holds few bytes per entry: the page cap follows the entry cap. */
void ks_pq_file_set_max_entries(ks_pq_file *f, size_t max) {
  f->max_entries = max;
  f->max_page = max > MAX_PAGE_BYTES / 64 ? MAX_PAGE_BYTES : max * 64;
}

int64_t ks_pq_file_rows(const ks_pq_file *f) {
  return f->num_rows;
}

const ks_pq_rnode *ks_pq_file_node(const ks_pq_file *f, size_t i) {
  return i < f->nnodes ? &f->nodes[i] : NULL;
}

size_t ks_pq_file_nleaves(const ks_pq_file *f) {
  return f->nleaves;
}

const ks_pq_rnode *ks_pq_file_child_at(const ks_pq_file *f,
                                       const ks_pq_rnode *node, size_t i) {
  if (node == NULL || node->is_leaf || i >= node->nchildren)
    return NULL;
  return &f->nodes[f->kids[node->first_child + i]];
}

const ks_pq_rnode *ks_pq_file_child(const ks_pq_file *f,
                                    const ks_pq_rnode *node, const char *name) {
  for (size_t i = 0; node && !node->is_leaf && i < node->nchildren; i++) {
    const ks_pq_rnode *c = ks_pq_file_child_at(f, node, i);
    if (strcmp(c->name, name) == 0)
      return c;
  }
  return NULL;
}

/* ---- pages ----------------------------------------------------------- */

typedef struct page_hdr {
  int type;
  int64_t raw, comp;
  int64_t num_values;
  int encoding, def_enc, rep_enc;
  int64_t def_len, rep_len; /* v2 */
  int compressed;           /* v2 */
} page_hdr;

static void read_data_hdr(ks__thrift_rd *r, page_hdr *h, int v2) {
  int16_t id;
  int t;
  ks__thrift_rd_struct_begin(r);
  while (ks__thrift_rd_field(r, &id, &t)) {
    if (t != KS__T_I32 && t != KS__T_BOOL_TRUE && t != KS__T_BOOL_FALSE) {
      ks__thrift_rd_skip(r, t);
      continue;
    }
    int64_t v = ks__thrift_rd_int(r, t);
    if (id == 1)
      h->num_values = v;
    else if (id == 2 && v2 == 0)
      h->encoding = (int)v;
    else if (id == 3 && v2 == 0)
      h->def_enc = (int)v;
    else if (id == 4 && v2 == 0)
      h->rep_enc = (int)v;
    else if (id == 4 && v2)
      h->encoding = (int)v;
    else if (id == 5 && v2)
      h->def_len = v;
    else if (id == 6 && v2)
      h->rep_len = v;
    else if (id == 7 && v2)
      h->compressed = (int)v;
  }
}

/* Parses the page header at p; *hlen gets its size. */
static int read_page_hdr(const uint8_t *p, size_t n, page_hdr *h,
                         size_t *hlen) {
  memset(h, 0, sizeof *h);
  h->type = -1;
  h->compressed = 1;
  h->def_enc = h->rep_enc = 3;
  ks__thrift_rd r;
  ks__thrift_rd_init(&r, p, n);
  int16_t id;
  int t;
  ks__thrift_rd_struct_begin(&r);
  while (ks__thrift_rd_field(&r, &id, &t)) {
    if (id == 1 && t == KS__T_I32)
      h->type = (int)ks__thrift_rd_int(&r, t);
    else if (id == 2 && t == KS__T_I32)
      h->raw = ks__thrift_rd_int(&r, t);
    else if (id == 3 && t == KS__T_I32)
      h->comp = ks__thrift_rd_int(&r, t);
    else if ((id == 5 || id == 7) && t == KS__T_STRUCT)
      read_data_hdr(&r, h, 0); /* DictionaryPageHeader: 1 num, 2 encoding */
    else if (id == 8 && t == KS__T_STRUCT)
      read_data_hdr(&r, h, 1);
    else
      ks__thrift_rd_skip(&r, t);
  }
  if (r.err || h->raw < 0 || h->comp < 0 || h->num_values < 0)
    return KS_ECORRUPT;
  *hlen = ks__thrift_rd_pos(&r, p);
  return 0;
}

/* Replaces f->page with in[0..n) decompressed to exactly raw bytes. */
static int decompress(ks_pq_file *f, int codec, const uint8_t *in, size_t n,
                      size_t raw) {
  ks_buf_reset(&f->page);
  f->refused_raw = raw;
  f->refused_comp = n;
  if (raw > f->max_page)
    return KS_ETOOBIG;
  if (raw > PAGE_RATIO_FLOOR && raw / MAX_PAGE_RATIO > n)
    return KS_ECORRUPT; /* a page bomb, or a lying header */
  f->refused_raw = 0;
  if (codec == 0) {
    if (n != raw)
      return KS_ECORRUPT;
    return ks_buf_append(&f->page, in, n);
  }
  int rc = ks_buf_reserve(&f->page, raw ? raw : 1);
  if (rc == 0)
    rc = ks__pq_decompress(codec, in, n, f->page.data, raw);
  if (rc)
    return rc;
  f->page.len = raw;
  return 0;
}

/* ---- values ---------------------------------------------------------- */

typedef struct dict {
  ks_pq_rval *vals;
  size_t n;
  ks_buf blob;
} dict;

static uint32_t *idx_scratch(ks_pq_file *f, size_t n) {
  if (n > f->idx_cap) {
    f->idx_cap = n;
    f->idx = ks_realloc(f->idx, n * sizeof *f->idx);
  }
  return f->idx;
}

static int decode_values(ks_pq_file *f, const ks_pq_rnode *leaf, int enc,
                         const uint8_t *p, size_t n, size_t count,
                         const dict *d, ks_pq_rval *out, ks_buf *blob) {
  if (count == 0)
    return 0;
  if (enc == 0)
    return ks__pq_decode_plain(leaf, p, n, count, out, blob);
  if (enc == 2 || enc == 8) { /* PLAIN_DICTIONARY, RLE_DICTIONARY */
    if (d == NULL || n < 1)
      return KS_ECORRUPT;
    uint32_t *idx = idx_scratch(f, count);
    int rc = ks__rle_decode32(p + 1, n - 1, p[0], idx, count);
    if (rc)
      return rc;
    for (size_t i = 0; i < count; i++) {
      if (idx[i] >= d->n)
        return KS_ECORRUPT;
      const ks_pq_rval *dv = &d->vals[idx[i]];
      if (leaf->type == KS_PQR_BYTE_ARRAY || leaf->type == KS_PQR_FLBA) {
        if ((rc = ks__pq_put_bytes(blob,
                                   dv->s.len ? d->blob.data + dv->s.off
                                             : (const uint8_t *)"",
                                   dv->s.len, &out[i])))
          return rc;
      } else {
        out[i] = *dv;
      }
    }
    return 0;
  }
  if (enc == 5 && (leaf->type == KS_PQR_INT32 || leaf->type == KS_PQR_INT64))
    return ks__pq_decode_delta_ints(leaf, p, n, count, out);
  if ((enc == 6 || enc == 7) && leaf->type == KS_PQR_BYTE_ARRAY)
    return ks__pq_decode_delta_bytes(p, n, count, enc == 7, out, blob);
  if (enc == 3 && leaf->type == KS_PQR_BOOLEAN) { /* RLE booleans */
    if (n < 4)
      return KS_ECORRUPT;
    uint32_t len;
    memcpy(&len, p, 4);
    if (len > n - 4)
      return KS_ECORRUPT;
    uint32_t *idx = idx_scratch(f, count);
    int rc = ks__rle_decode32(p + 4, len, 1, idx, count);
    for (size_t i = 0; rc == 0 && i < count; i++)
      out[i].i = idx[i];
    return rc;
  }
  return KS_EUNSUPPORTED;
}

/* ---- column ----------------------------------------------------------- */

static int grow(ks_pq_rcolumn *c, size_t *cap, size_t need) {
  if (need <= *cap)
    return 0;
  size_t nc = *cap ? *cap : 256;
  while (nc < need)
    nc *= 2;
  c->defs = ks_realloc(c->defs, nc);
  c->reps = ks_realloc(c->reps, nc);
  c->vals = ks_realloc(c->vals, nc * sizeof *c->vals);
  *cap = nc;
  return 0;
}

/* Levels of a page: v1 with a 4-byte length (prefix), v2 without. */
static int decode_levels(ks_pq_file *f, const uint8_t **p, size_t *n,
                         size_t given, int prefix, int max, uint8_t *out,
                         size_t count) {
  if (max == 0) {
    if (count)
      memset(out, 0, count);
    return 0;
  }
  size_t len = given;
  if (prefix) {
    if (*n < 4)
      return KS_ECORRUPT;
    uint32_t l;
    memcpy(&l, *p, 4);
    *p += 4;
    *n -= 4;
    len = l;
  }
  if (len > *n)
    return KS_ECORRUPT;
  uint32_t *tmp = idx_scratch(f, count);
  int rc =
      ks__rle_decode32(*p, len, ks__rle_bit_width((uint32_t)max), tmp, count);
  if (rc)
    return rc;
  for (size_t i = 0; i < count; i++) {
    if (tmp[i] > (uint32_t)max)
      return KS_ECORRUPT;
    out[i] = (uint8_t)tmp[i];
  }
  *p += len;
  *n -= len;
  return 0;
}

static int read_chunk(ks_pq_file *f, const ks_pq_rnode *leaf,
                      const chunk_meta *cm, ks_pq_rcolumn *c, size_t *cap,
                      char *err, size_t errlen) {
  if (cm->type != leaf->type)
    return ks__pq_errf(err, errlen, KS_ECORRUPT,
                       "column %s: chunk type differs from the schema",
                       leaf->name);
  int64_t start = cm->data_off;
  if (cm->dict_off > 0 && cm->dict_off < start)
    start = cm->dict_off;
  size_t limit = f->len - 8;
  if (start < 4 || (uint64_t)start >= limit || cm->comp_size < 0 ||
      (uint64_t)cm->comp_size > limit - (uint64_t)start || cm->num_values < 0)
    return ks__pq_errf(err, errlen, KS_ECORRUPT,
                       "column %s: chunk offsets outside the file", leaf->name);
  size_t pos = (size_t)start, end = pos + (size_t)cm->comp_size;
  dict d = {0};
  ks_buf_init(&d.blob, 0);
  uint64_t left = (uint64_t)cm->num_values;
  int rc = 0;
  while (left > 0 && rc == 0) {
    page_hdr h;
    size_t hlen;
    if (pos >= end || read_page_hdr(f->data + pos, end - pos, &h, &hlen)) {
      rc = ks__pq_errf(err, errlen, KS_ECORRUPT, "column %s: bad page header",
                       leaf->name);
      break;
    }
    pos += hlen;
    if ((uint64_t)h.comp > end - pos) {
      rc = ks__pq_errf(err, errlen, KS_ECORRUPT,
                       "column %s: page past the chunk", leaf->name);
      break;
    }
    const uint8_t *body = f->data + pos;
    size_t blen = (size_t)h.comp;
    pos += blen;
    if (h.type == 2) { /* dictionary page */
      if (d.vals || h.num_values > (int64_t)f->max_entries ||
          (h.encoding != 0 && h.encoding != 2)) {
        rc = ks__pq_errf(err, errlen, KS_ECORRUPT,
                         "column %s: bad dictionary page", leaf->name);
        break;
      }
      if ((rc = decompress(f, cm->codec, body, blen, (size_t)h.raw)))
        break;
      d.n = (size_t)h.num_values;
      if (d.n / 8 > f->page.len) { /* every value takes a bit at least */
        rc = ks__pq_errf(err, errlen, KS_ECORRUPT,
                         "column %s: bad dictionary page", leaf->name);
        break;
      }
      d.vals = ks_calloc(d.n ? d.n : 1, sizeof *d.vals);
      rc = ks__pq_decode_plain(leaf, f->page.data, f->page.len, d.n, d.vals,
                               &d.blob);
      continue;
    }
    if (h.type != 0 && h.type != 3)
      continue; /* index pages and the like */
    size_t count = (size_t)h.num_values;
    if (leaf->rep == 0 && (uint64_t)(c->n + count) > (uint64_t)f->num_rows) {
      rc = ks__pq_errf(err, errlen, KS_ECORRUPT,
                       "column %s: more values than the file's %" PRId64
                       " rows",
                       leaf->name, f->num_rows);
      break;
    }
    if ((uint64_t)h.num_values > left || c->n + count > f->max_entries) {
      rc = ks__pq_errf(
          err, errlen, c->n + count > f->max_entries ? KS_ETOOBIG : KS_ECORRUPT,
          "column %s: more values than the chunk states or the limit "
          "allows",
          leaf->name);
      break;
    }
    grow(c, cap, c->n + count + 1); /* never NULL, even for 0 entries */
    uint8_t *reps = c->reps + c->n, *defs = c->defs + c->n;
    const uint8_t *p;
    size_t n;
    if (h.type == 0) {
      if ((h.rep_enc != 3 && leaf->rep) || (h.def_enc != 3 && leaf->def)) {
        rc = ks__pq_errf(err, errlen, KS_EUNSUPPORTED,
                         "column %s: level encoding %d/%d unsupported",
                         leaf->name, h.rep_enc, h.def_enc);
        break;
      }
      if ((rc = decompress(f, cm->codec, body, blen, (size_t)h.raw)))
        break;
      p = f->page.data;
      n = f->page.len;
      if ((rc = decode_levels(f, &p, &n, 0, 1, leaf->rep, reps, count)) ||
          (rc = decode_levels(f, &p, &n, 0, 1, leaf->def, defs, count)))
        break;
    } else {
      if (h.rep_len < 0 || h.def_len < 0 ||
          (uint64_t)h.rep_len + (uint64_t)h.def_len > blen) {
        rc = KS_ECORRUPT;
        break;
      }
      p = body;
      n = (size_t)(h.rep_len + h.def_len);
      if ((rc = decode_levels(f, &p, &n, (size_t)h.rep_len, 0, leaf->rep, reps,
                              count)) ||
          (rc = decode_levels(f, &p, &n, (size_t)h.def_len, 0, leaf->def, defs,
                              count)))
        break;
      size_t lv = (size_t)(h.rep_len + h.def_len);
      if (h.compressed) {
        if (h.raw < (int64_t)lv) {
          rc = KS_ECORRUPT;
          break;
        }
        rc = decompress(f, cm->codec, body + lv, blen - lv, (size_t)h.raw - lv);
      } else {
        rc = decompress(f, 0, body + lv, blen - lv, blen - lv);
      }
      if (rc)
        break;
      p = f->page.data;
      n = f->page.len;
    }
    if (leaf->rep && count && reps[0] != 0 && c->n == 0) {
      rc = KS_ECORRUPT; /* the first entry must start a row */
      break;
    }
    size_t present = 0;
    for (size_t i = 0; i < count; i++)
      present += defs[i] == leaf->def;
    ks_pq_rval *tmp = ks_calloc(present ? present : 1, sizeof *tmp);
    rc = decode_values(f, leaf, h.encoding, p, n, present, d.vals ? &d : NULL,
                       tmp, &c->blob);
    if (rc == 0) {
      size_t k = 0;
      for (size_t i = 0; i < count; i++) {
        if (defs[i] == leaf->def)
          c->vals[c->n + i] = tmp[k++];
        else
          c->vals[c->n + i].i = 0;
      }
      c->n += count;
      left -= count;
    }
    ks_free(tmp);
  }
  ks_free(d.vals);
  ks_buf_free(&d.blob);
  if (rc && err && errlen && err[0] == '\0' && f->refused_raw)
    ks__pq_errf(err, errlen, rc,
                "column %s: a page of %zu bytes from %zu compressed (limit "
                "%zu, or %d times the compressed size past %zu)",
                leaf->name, f->refused_raw, f->refused_comp, f->max_page,
                MAX_PAGE_RATIO, PAGE_RATIO_FLOOR);
  if (rc && err && errlen && err[0] == '\0')
    ks__pq_errf(err, errlen, rc, "column %s: %s", leaf->name, ks_strerror(rc));
  return rc;
}

int ks_pq_file_read_column(ks_pq_file *f, size_t leaf, ks_pq_rcolumn *out,
                           char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  ks_buf_init(&out->blob, 0);
  if (err && errlen)
    err[0] = '\0';
  if (leaf >= f->nleaves)
    return KS_EINVAL;
  const ks_pq_rnode *ln = &f->nodes[f->leaf_node[leaf]];
  size_t cap = 0;
  for (size_t g = 0; g < f->nrgs; g++) {
    int rc = read_chunk(f, ln, &f->chunks[g * f->nleaves + leaf], out, &cap,
                        err, errlen);
    if (rc)
      return rc;
  }
  return 0;
}

void ks_pq_rcolumn_free(ks_pq_rcolumn *c) {
  ks_free(c->defs);
  ks_free(c->reps);
  ks_free(c->vals);
  ks_buf_free(&c->blob);
  memset(c, 0, sizeof *c);
}
