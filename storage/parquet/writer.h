/*
 * Parquet file writer. The table writer (stages/flush) feeds it row groups
 * of column buffers; it encodes pages (dictionary or PLAIN values,
 * RLE/bit-packed repetition and definition levels, data page v1 or v2),
 * compresses them and pushes bytes to an output sink as it goes, so a file
 * is never assembled whole in memory. Statistics are kept per column chunk
 * (in the footer, with a column index and an offset index per chunk) and
 * per file (for Delta's add.stats).
 */
#ifndef KS_STORAGE_PARQUET_WRITER_H
#define KS_STORAGE_PARQUET_WRITER_H

#include "storage/parquet/column.h"
#include "storage/parquet/schema_tree.h"

typedef struct ks_pq_writer ks_pq_writer;

/* Receives the file's bytes in order; returns 0 or an error code. */
typedef int (*ks_pq_sink_fn)(void *arg, const uint8_t *data, size_t len);

/* Every field's zero is its default, so `{.codec = ...}` is complete. */
typedef struct ks_pq_options {
  ks_codec codec;
  int zstd_level;       /* 0: library default */
  size_t page_bytes;    /* target uncompressed page size; 0: 1 MiB */
  const char *created_by; /* NULL: "ksink version " KS_VERSION */
  int no_dictionary;    /* 1: PLAIN only; 0: RLE_DICTIONARY where it fits */
  size_t dict_bytes;    /* dictionary limit per column chunk (PLAIN bytes),
                           then PLAIN for the rest; 0: 1 MiB */
  int page_v2;          /* 1: DATA_PAGE_V2; 0: DATA_PAGE (v1) */
  size_t stats_bytes;   /* string min/max longer than this are truncated
                           in the footer (not in ks_pq_colstats); 0: 64 */
  size_t rowgroup_bytes; /* ks_pq_writer_rowgroup_full's target; 0: 128 MiB */
} ks_pq_options;

/* File-level statistics of one column (merged over its row groups). */
typedef struct ks_pq_colstats {
  int64_t null_count;
  int has_minmax;
  union {
    int64_t i; /* BOOLEAN, INT32, INT64, TIMESTAMP, DATE */
    double d;
  } min, max;
  ks_buf min_s, max_s; /* STRING: full values; DECIMAL > 18 digits: the
                          16-byte little-endian ks_int128 */
} ks_pq_colstats;

/* specs must outlive the writer. */
ks_pq_writer *ks_pq_writer_new(const ks_colspec *specs, size_t ncols,
                               const ks_pq_options *opt, ks_pq_sink_fn sink,
                               void *arg);
/* A writer for a finished schema tree (which outlives the writer); row
 * groups come from ks_rowgroup_init_schema on the same tree. */
ks_pq_writer *ks_pq_writer_new_schema(const ks_pq_schema *s,
                                      const ks_pq_options *opt,
                                      ks_pq_sink_fn sink, void *arg);
/* 1 when rg holds at least the row-group byte target. */
int ks_pq_writer_rowgroup_full(const ks_pq_writer *w, const ks_rowgroup *rg);
/* Encodes the row group and emits it; rg is left untouched (the caller
 * resets it). A row group of 0 rows is skipped. */
int ks_pq_writer_write_rowgroup(ks_pq_writer *w, const ks_rowgroup *rg);
/* Adds a key/value pair to the footer's key_value_metadata (value may be
 * NULL). Any time before close. */
int ks_pq_writer_add_kv(ks_pq_writer *w, const char *key, const char *value);
/* Writes the footer. No row group may follow. */
int ks_pq_writer_close(ks_pq_writer *w);
uint64_t ks_pq_writer_bytes(const ks_pq_writer *w); /* emitted so far */
int64_t ks_pq_writer_rows(const ks_pq_writer *w);
/* Per leaf column, in schema order. */
const ks_pq_colstats *ks_pq_writer_stats(const ks_pq_writer *w, size_t col);
void ks_pq_writer_free(ks_pq_writer *w);

#endif
