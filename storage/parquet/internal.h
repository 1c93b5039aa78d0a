/*
 * Internals shared by the files of storage/parquet: the writer's state,
 * the column-chunk encoder (page.c, levels.c, dict.c), statistics
 * (stats.c), page compression (compress.c), the page indexes (index.c)
 * and the footer (footer.c). Nothing outside this folder includes it.
 */
#ifndef KS_STORAGE_PARQUET_INTERNAL_H
#define KS_STORAGE_PARQUET_INTERNAL_H

#include "storage/parquet/thrift.h"
#include "storage/parquet/writer.h"

#include <zlib.h>
#include <zstd.h>

/* The column buffers hold values in host order and PLAIN is little-endian:
 * pages are copied straight from them. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "ksink's parquet writer assumes a little-endian host");

/* parquet.thrift enum values used here */
enum {
  KS__PQ_BOOLEAN = 0,
  KS__PQ_INT32 = 1,
  KS__PQ_INT64 = 2,
  KS__PQ_FLOAT = 4,
  KS__PQ_DOUBLE = 5,
  KS__PQ_BYTE_ARRAY = 6,
  KS__PQ_FIXED_LEN_BYTE_ARRAY = 7
};
enum {
  KS__PQ_ENC_PLAIN = 0,
  KS__PQ_ENC_RLE = 3,
  KS__PQ_ENC_RLE_DICTIONARY = 8
};
enum {
  KS__PQ_PAGE_DATA = 0,
  KS__PQ_PAGE_DICTIONARY = 2,
  KS__PQ_PAGE_DATA_V2 = 3
};

/* How values are stored and encoded, from the leaf node. */
typedef enum ks__pq_kind {
  KS__K_BOOL,
  KS__K_I32,
  KS__K_I64,
  KS__K_DOUBLE,
  KS__K_FLOAT, /* FLOAT: float in the column; stats kept as double */
  KS__K_BYTES,
  KS__K_FLBA /* DECIMAL > 18 digits: ks_int128 in the column */
} ks__pq_kind;
ks__pq_kind ks__pq_kind_of(const ks_pq_node *leaf);

/* Raw statistics of a page or chunk. String bounds point into the column
 * buffer, valid while the row group is being written. */
typedef struct ks__pq_stats {
  int64_t null_count;
  int64_t nan_count; /* DOUBLE only */
  int has_minmax;
  union {
    int64_t i;
    double d;
    ks_int128 q;
  } min, max;
  const uint8_t *min_s, *max_s;
  size_t min_n, max_n;
} ks__pq_stats;

/* Statistics as the file states them (PLAIN bytes, strings truncated),
 * bytes kept in the writer's `blob` until the footer is written. */
typedef struct ks__pq_bounds {
  int64_t null_count, nan_count;
  int has_min, has_max, min_exact, max_exact;
  int legacy;  /* the deprecated signed min/max may be written too */
  int has_nan; /* nan_count is meaningful (DOUBLE) */
  size_t min_off, min_n, max_off, max_n;
} ks__pq_bounds;

/* One data page, for the offset and column indexes. */
typedef struct ks__pq_pageinfo {
  int64_t offset;
  int32_t size; /* compressed, header included */
  int64_t first_row;
  int null_page;
  ks__pq_bounds b;
} ks__pq_pageinfo;

/* What the footer says about one column chunk. */
typedef struct ks__pq_chunk {
  int64_t num_values; /* entries: values and nulls */
  int64_t data_page_offset;
  int64_t dict_page_offset; /* -1: none */
  int64_t uncompressed; /* page headers included */
  int64_t compressed;
  int32_t dict_pages, dict_data_pages, plain_data_pages;
  ks__pq_bounds b;
  size_t page0, npages; /* in w->pages */
  int64_t ci_off, ci_len, oi_off, oi_len; /* page indexes; 0 len: none */
} ks__pq_chunk;

typedef struct ks__pq_rowgroup {
  int64_t nrows, offset, raw, comp;
} ks__pq_rowgroup;

typedef struct ks__pq_codec {
  ks_codec codec;
  int level;
  ZSTD_CCtx *zstd; /* created on first use, reused for every page */
  z_stream *gz;
} ks__pq_codec;

/* Dictionary of one column chunk: open addressing on a power-of-two table
 * of entry numbers + 1 (0: empty), entries referencing the first
 * occurrence of each value in the column buffer. Reused across chunks. */
typedef struct ks__pq_dict_entry {
  uint32_t off, len; /* byte offset in values, length */
  uint64_t hash;
} ks__pq_dict_entry;

typedef struct ks__pq_dict {
  uint32_t *slots;
  size_t cap; /* slots, a power of two */
  ks__pq_dict_entry *ents;
  size_t n, ents_cap;
  uint64_t bytes; /* PLAIN size of the entries */
  int raw;        /* entries' hash holds the value itself (widths 4 and 8) */
  size_t done, off; /* values indexed so far, and their bytes */
  int stopped;      /* the limit was reached: no more values go in */
  uint8_t *marks;   /* ks__pq_dict_marks: one byte per entry, all zero */
  size_t marks_cap;
} ks__pq_dict;

struct ks_pq_writer {
  const ks_pq_schema *schema;
  ks_pq_schema *owned; /* the flat tree of ks_pq_writer_new */
  size_t ncols;
  size_t page_bytes, dict_bytes, stats_bytes, rowgroup_bytes;
  int use_dict, page_v2;
  char *created_by;
  ks_pq_sink_fn sink;
  void *arg;

  uint64_t offset; /* bytes emitted */
  int64_t rows;
  size_t nrowgroups;
  int err; /* sticky: the first failure poisons the writer */
  int closed;

  ks_pq_colstats *stats; /* per column, whole file */
  ks_buf chunks;         /* ks__pq_chunk per column per row group */
  ks_buf rgs;            /* ks__pq_rowgroup per row group */
  ks_buf pages;          /* ks__pq_pageinfo per data page */
  ks_buf blob;           /* bytes of every ks__pq_bounds */
  ks__pq_codec codec;
  ks__pq_dict dict;

  /* scratch, reused across pages and row groups */
  ks_buf page;   /* uncompressed page: levels + values (v1) or values (v2) */
  ks_buf levels; /* v2: levels, kept out of the compressed block */
  ks_buf comp;   /* compressed page */
  ks_buf hdr;    /* thrift page header */
  ks_buf idx;    /* uint32 dictionary index per value */
  ks_buf kv;     /* encoded KeyValue structs */
  size_t nkv;
};

static inline const ks_pq_node *ks__pq_leaf(const ks_pq_writer *w, size_t i) {
  return ks_pq_schema_leaf(w->schema, i);
}

/* A column's values; never NULL (a buffer that got only empty strings or
 * no value at all has no allocation, and NULL + 0 is undefined). */
static inline const uint8_t *ks__pq_values(const ks_column *c) {
  return c->values.data ? c->values.data : (const uint8_t *)"";
}

/* Passes bytes to the sink, counting them; poisons the writer on error. */
int ks__pq_emit(ks_pq_writer *w, const void *p, size_t n);

/* page.c: 0 if column c holds nrows consistent rows, else KS_EINVAL. */
int ks__pq_check_column(const ks_column *c, size_t nrows);
/* page.c: encodes column c as a dictionary page and data pages. */
int ks__pq_write_chunk(ks_pq_writer *w, const ks_column *c,
                       ks__pq_chunk *ch);

/* levels.c: where the next page ends -- at a row start after `limit`
 * bits of levels and values, or at e_end. */
typedef struct ks__pq_span {
  size_t e0, e1;   /* entries */
  size_t v0, v1;   /* values */
  size_t s0, s1;   /* strings: byte offsets of v0, v1 */
  size_t rows;     /* rows starting in [e0, e1) */
} ks__pq_span;
void ks__pq_split(const ks_column *c, size_t e_end, uint64_t limit,
                  int idx_bits, ks__pq_span *s);
/* Entry index of the start of the row holding value v, and the values
 * before it. */
void ks__pq_row_of_value(const ks_column *c, size_t v, size_t *e, size_t *vb);
/* Levels of entries [e0, e1): v1 with a 4-byte length before each run
 * (prefix 1), v2 without. Returns 0 or an error; *rep_n and *def_n get the
 * bytes of each part. */
int ks__pq_levels(ks_buf *out, const ks_column *c, size_t e0, size_t e1,
                  int prefix, size_t *rep_n, size_t *def_n);

/* dict.c: the dictionary of c's values, each value's index into idx.
 * ks__pq_dict_start empties it for c; ks__pq_dict_build then indexes the
 * values up to upto (or c's last) from where the last call stopped, until
 * the dictionary's PLAIN size would pass limit. Returns the number of
 * values indexed so far. */
void ks__pq_dict_start(ks__pq_dict *d, ks_buf *idx, const ks_column *c,
                       ks__pq_kind kind);
size_t ks__pq_dict_build(ks__pq_dict *d, ks_buf *idx, const ks_column *c,
                         ks__pq_kind kind, uint64_t limit, size_t upto);
/* PLAIN bytes of the dictionary's entries. */
int ks__pq_dict_page(const ks__pq_dict *d, const ks_column *c,
                     ks__pq_kind kind, ks_buf *out);
void ks__pq_dict_free(ks__pq_dict *d);
/* A zero byte per entry, for a caller that marks entries and clears every
 * mark it made before the next call. */
uint8_t *ks__pq_dict_marks(ks__pq_dict *d);

/* stats.c */
void ks__pq_stats_scan(const ks_column *c, ks__pq_kind kind,
                       const ks__pq_span *s, ks__pq_stats *st);
/* The same for a span of strings encoded with dictionary d (idx: every
 * value's entry): the same bounds, each distinct string compared once. */
void ks__pq_stats_scan_dict(const ks_column *c, ks__pq_dict *d,
                            const uint32_t *idx, const ks__pq_span *s,
                            ks__pq_stats *st);
void ks__pq_stats_add(ks__pq_stats *to, ks__pq_kind kind,
                      const ks__pq_stats *st);
int ks__pq_bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);
void ks__pq_stats_merge(ks_pq_colstats *f, ks__pq_kind kind,
                        const ks__pq_stats *st);
/* Encodes raw statistics as the file states them: PLAIN bytes in w->blob,
 * strings longer than w->stats_bytes truncated. */
int ks__pq_bounds_make(ks_pq_writer *w, const ks_pq_node *leaf,
                       const ks__pq_stats *st, ks__pq_bounds *b);
void ks__pq_bounds_encode(ks__thrift *t, int16_t id, const ks_pq_writer *w,
                          const ks__pq_bounds *b);
/* The longest prefix of s at most max bytes that does not split a UTF-8
 * sequence (a plain byte cut for invalid UTF-8), and the smallest string
 * above every string starting with that prefix: the prefix with its last
 * code point (byte, when not UTF-8) incremented. Returns 0 if none exists. */
size_t ks__pq_trunc_min(const uint8_t *s, size_t n, size_t max);
int ks__pq_trunc_max(const uint8_t *s, size_t n, size_t max, uint8_t *out,
                     size_t *out_n);

/* compress.c */
void ks__pq_codec_init(ks__pq_codec *c, ks_codec codec, int level);
void ks__pq_codec_free(ks__pq_codec *c);
int ks__pq_codec_thrift_id(ks_codec codec);
/* Replaces out's contents with in[0..n) compressed. */
int ks__pq_compress(ks__pq_codec *c, const uint8_t *in, size_t n, ks_buf *out);

/* index.c: the column index and offset index of every chunk, written
 * after the last row group. */
int ks__pq_index_write(ks_pq_writer *w);

/* footer.c */
int ks__pq_footer_write(ks_pq_writer *w);

#endif
