/*
 * Column buffers: the row group under construction. stages/ (the shredder
 * and the metadata transform) append one entry per row to every column;
 * storage/parquet encodes them into pages. Values are kept contiguous, one
 * buffer per column, so encoding is a linear scan with no per-value
 * allocation. A record that fails validation is rolled back by truncating
 * every column to the mark taken at the row's start.
 */
#ifndef KS_STORAGE_PARQUET_COLUMN_H
#define KS_STORAGE_PARQUET_COLUMN_H

#include "base/buf.h"
#include "base/ks.h"

#include <stdint.h>

typedef enum ks_coltype {
  KS_COL_BOOLEAN,   /* BOOLEAN; values: 1 byte (0/1) each */
  KS_COL_INT32,     /* INT32 INTEGER(32,signed); values: int32_t LE */
  KS_COL_INT64,     /* INT64 INTEGER(64,signed); values: int64_t LE */
  KS_COL_DOUBLE,    /* DOUBLE; values: double */
  KS_COL_STRING,    /* BYTE_ARRAY STRING; values: bytes, lens: uint32_t */
  KS_COL_TIMESTAMP, /* INT64 TIMESTAMP(MICROS, UTC); values: int64_t us */
  KS_COL_DATE       /* INT32 DATE; values: int32_t days since epoch */
} ks_coltype;

typedef struct ks_colspec {
  char *name;
  ks_coltype type;
  int nullable; /* OPTIONAL (1) or REQUIRED (0) */
} ks_colspec;

typedef struct ks_column {
  const ks_colspec *spec;
  ks_buf values; /* non-null values, packed (see ks_coltype) */
  ks_buf lens;   /* KS_COL_STRING only: uint32_t length per non-null value */
  ks_buf defs;   /* one byte per row: 1 value present, 0 null */
  size_t nvalues; /* non-null values */
  /* row mark for rollback */
  size_t mark_values, mark_lens, mark_defs, mark_nvalues;
} ks_column;

typedef struct ks_rowgroup {
  ks_column *cols;
  size_t ncols;
  size_t nrows;
} ks_rowgroup;

/* Columns reference specs (not copied): specs outlive the row group. */
void ks_rowgroup_init(ks_rowgroup *rg, const ks_colspec *specs, size_t n);
void ks_rowgroup_free(ks_rowgroup *rg);
/* Empty the row group, keeping buffers for reuse. */
void ks_rowgroup_reset(ks_rowgroup *rg);
/* Bytes held by values (what the flush byte target counts). */
size_t ks_rowgroup_bytes(const ks_rowgroup *rg);

/* Row protocol: mark, append exactly one entry to every column, then
 * ks_rowgroup_commit_row; or ks_rowgroup_rollback_row to drop the row. */
void ks_rowgroup_mark_row(ks_rowgroup *rg);
void ks_rowgroup_rollback_row(ks_rowgroup *rg);
void ks_rowgroup_commit_row(ks_rowgroup *rg);

/* Appends (return 0 or KS_ETOOBIG when a buffer passes its cap). */
int ks_column_append_null(ks_column *c);
int ks_column_append_bool(ks_column *c, int v);
int ks_column_append_i32(ks_column *c, int32_t v);
int ks_column_append_i64(ks_column *c, int64_t v);
int ks_column_append_double(ks_column *c, double v);
int ks_column_append_str(ks_column *c, const void *s, size_t n);
/* Strings built in pieces: begin, append bytes to c->values, end. */
void ks_column_str_begin(ks_column *c, size_t *start);
int ks_column_str_end(ks_column *c, size_t start);
/* Rows in the column so far (== defs.len). */
static inline size_t ks_column_rows(const ks_column *c) { return c->defs.len; }

#endif
