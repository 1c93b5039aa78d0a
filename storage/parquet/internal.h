/*
 * Internals shared by the files of storage/parquet: the writer's state,
 * the column-chunk encoder (page.c), statistics (stats.c), page compression
 * (compress.c) and the footer (footer.c). Nothing outside this folder
 * includes it.
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
  KS__PQ_DOUBLE = 5,
  KS__PQ_BYTE_ARRAY = 6
};
enum { KS__PQ_ENC_PLAIN = 0, KS__PQ_ENC_RLE = 3 };
enum { KS__PQ_PAGE_DATA = 0 };

/* Statistics of one column chunk. String bounds point into the column
 * buffer, valid while the row group is being written. */
typedef struct ks__pq_chunkstats {
  int64_t null_count;
  int64_t nan_count; /* DOUBLE only */
  int has_minmax;
  union {
    int64_t i;
    double d;
  } min, max;
  const uint8_t *min_s, *max_s;
  size_t min_n, max_n;
} ks__pq_chunkstats;

/* What the footer says about one column chunk. */
typedef struct ks__pq_chunk {
  int64_t num_values; /* rows, nulls included */
  int64_t data_page_offset;
  int64_t uncompressed; /* page headers included */
  int64_t compressed;
  ks__pq_chunkstats st;
} ks__pq_chunk;

typedef struct ks__pq_codec {
  ks_codec codec;
  int level;
  ZSTD_CCtx *zstd; /* created on first use, reused for every page */
  z_stream *gz;
} ks__pq_codec;

struct ks_pq_writer {
  const ks_colspec *specs;
  size_t ncols;
  size_t page_bytes;
  char *created_by;
  ks_pq_sink_fn sink;
  void *arg;

  uint64_t offset; /* bytes emitted */
  int64_t rows;
  size_t nrowgroups;
  int err; /* sticky: the first failure poisons the writer */
  int closed;

  ks_pq_colstats *stats; /* per column, whole file */
  ks__pq_chunk *chunks;  /* per column, the row group being written */
  ks__pq_codec codec;

  /* scratch, reused across pages and row groups */
  ks_buf page; /* uncompressed page: levels + values */
  ks_buf comp; /* compressed page */
  ks_buf hdr;  /* thrift page header */
  /* footer parts built as the file goes */
  ks_buf rowgroups; /* encoded RowGroup structs, back to back */
  ks_buf kv;        /* encoded KeyValue structs */
  size_t nkv;
};

/* Passes bytes to the sink, counting them; poisons the writer on error. */
int ks__pq_emit(ks_pq_writer *w, const void *p, size_t n);

/* page.c: 0 if column c holds nrows consistent entries, else KS_EINVAL. */
int ks__pq_check_column(const ks_column *c, size_t nrows);
/* page.c: encodes column c (nrows rows) as data pages and emits them. */
int ks__pq_write_chunk(ks_pq_writer *w, const ks_column *c, size_t nrows,
                       ks__pq_chunk *ch);

/* stats.c */
void ks__pq_stats_fixed(const ks_column *c, size_t v0, size_t v1,
                        ks__pq_chunkstats *st);
int ks__pq_bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);
void ks__pq_stats_merge(ks_pq_colstats *f, const ks_colspec *spec,
                        const ks__pq_chunkstats *st);
void ks__pq_stats_encode(ks__thrift *t, int16_t id, const ks_colspec *spec,
                         const ks__pq_chunkstats *st);

/* compress.c */
void ks__pq_codec_init(ks__pq_codec *c, ks_codec codec, int level);
void ks__pq_codec_free(ks__pq_codec *c);
int ks__pq_codec_thrift_id(ks_codec codec);
/* Replaces out's contents with in[0..n) compressed. */
int ks__pq_compress(ks__pq_codec *c, const uint8_t *in, size_t n, ks_buf *out);

/* footer.c */
void ks__pq_footer_rowgroup(ks_pq_writer *w, int64_t nrows, int64_t offset);
int ks__pq_footer_write(ks_pq_writer *w);

#endif
