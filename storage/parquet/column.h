/*
 * Column buffers: the row group under construction. stages/ (the shredder
 * and the metadata transform) append entries to every column; storage/parquet
 * encodes them into pages. Values are kept contiguous, one buffer per
 * column, so encoding is a linear scan with no per-value allocation. A
 * record that fails validation is rolled back by truncating every column to
 * the mark taken at the row's start.
 *
 * Levels. Each column is a leaf of a schema tree (schema_tree.h) with a
 * maximum definition level D and repetition level R. A column holds one
 * *entry* per leaf slot: `defs` one byte per entry, `reps` one byte per
 * entry when R > 0 (empty otherwise).
 *   - def: how many OPTIONAL/REPEATED nodes on the leaf's path are present
 *     (defined, or for a repeated node: has at least one element). A value
 *     is present iff def == D; an entry with def < D carries no value.
 *   - rep: 0 starts a new row; r > 0 continues the list whose repeated node
 *     is the r-th on the path (a new element of that list).
 * A row appends one or more entries to every column: at least one, with
 * rep 0 first. Flat columns (no nesting, the ks_colspec API) have D = 1
 * when nullable, 0 when REQUIRED, and R = 0: ks_column_append_<type>
 * writes def D and ks_column_append_null def 0, so their entries are rows.
 *
 * Example: leaf `a.list.element.b` with `a` OPTIONAL LIST, element
 * OPTIONAL struct, b OPTIONAL INT64: D = 4 (a, list, element, b), R = 1.
 *   {"a": null}                 -> (rep 0, def 0)
 *   {"a": []}                   -> (rep 0, def 1)
 *   {"a": [null, {"b": null}, {"b": 1}]}
 *                               -> (0, 2), (1, 3), value 1 with rep 1
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
  KS_COL_DATE,      /* INT32 DATE; values: int32_t days since epoch */
  KS_COL_INT8,      /* INT32 INTEGER(8,signed); values: int32_t LE */
  KS_COL_INT16,     /* INT32 INTEGER(16,signed); values: int32_t LE */
  KS_COL_FLOAT,     /* FLOAT; values: float */
  KS_COL_BINARY,    /* BYTE_ARRAY without annotation; values as STRING's */
  KS_COL_TIMESTAMP_NTZ /* INT64 TIMESTAMP(MICROS, not UTC-adjusted): a
                          wall-clock time without zone; values: int64_t us */
} ks_coltype;
/* The last ks_coltype (tables indexed by type size themselves by it). */
#define KS_COL_LAST KS_COL_TIMESTAMP_NTZ
/* DECIMAL leaves (schema_tree.h) hold int32_t (precision <= 9), int64_t
 * (<= 18) or ks_int128 (> 18) unscaled values; their spec.type says
 * KS_COL_INT32 / KS_COL_INT64 / KS_COL_STRING respectively and is not
 * what the file holds: the leaf node is. */
typedef __int128 ks_int128;

/* The shape of a table's extra top-level column (the pipeline's _kafka_*
 * columns, stages/record/schema.h); the flat ks_colspec API ignores it. */
typedef enum ks_colshape {
  KS_SHAPE_FLAT,    /* one leaf of `type` */
  KS_SHAPE_MAP_STR, /* map<string, string> (values nullable) */
  KS_SHAPE_LIST_STR /* list<string> */
} ks_colshape;

typedef struct ks_colspec {
  char *name;
  ks_coltype type;
  int nullable; /* OPTIONAL (1) or REQUIRED (0) */
  ks_colshape shape;
} ks_colspec;

struct ks_pq_node;
struct ks_pq_schema;

typedef struct ks_column {
  const ks_colspec *spec;
  ks_buf values; /* present values, packed (see ks_coltype) */
  ks_buf lens;   /* KS_COL_STRING only: uint32_t length per present value */
  ks_buf defs;   /* definition level of each entry */
  size_t nvalues; /* present values */
  /* row mark for rollback: at a row boundary lens holds 4 bytes per
   * value (strings) and reps one per entry (max_rep > 0), so their
   * lengths follow from these */
  size_t mark_values, mark_defs, mark_nvalues;
  /* nesting (every column has a leaf node, flat ones too) */
  const struct ks_pq_node *node;
  ks_buf reps; /* repetition level of each entry; empty when max_rep == 0 */
  uint8_t max_def, max_rep;
  uint8_t width; /* bytes per fixed value; 0 for strings */
} ks_column;

typedef struct ks_rowgroup {
  ks_column *cols;
  size_t ncols;
  size_t nrows;
  struct ks_pq_schema *flat; /* the tree built by ks_rowgroup_init */
  size_t counted_bytes, counted_rows; /* ks_rowgroup_bytes_approx's count */
} ks_rowgroup;

/* Columns reference specs (not copied): specs outlive the row group. */
void ks_rowgroup_init(ks_rowgroup *rg, const ks_colspec *specs, size_t n);
/* One column per leaf of a finished schema tree, which outlives rg. */
void ks_rowgroup_init_schema(ks_rowgroup *rg, const struct ks_pq_schema *s);
void ks_rowgroup_free(ks_rowgroup *rg);
/* Empty the row group, keeping buffers for reuse. */
void ks_rowgroup_reset(ks_rowgroup *rg);
/* Bytes held by values and levels (what the flush byte target counts). */
size_t ks_rowgroup_bytes(const ks_rowgroup *rg);
/* The same for a check made after every row, without a loop over every
 * column each time: counted exactly every 16th row, in between the last
 * count plus its mean row size per row since. A byte target is passed at
 * most 15 rows late. */
size_t ks_rowgroup_bytes_approx(ks_rowgroup *rg);

/* Row protocol: mark, append the row's entries to every column, then
 * ks_rowgroup_commit_row; or ks_rowgroup_rollback_row to drop every entry
 * appended since the mark. */
void ks_rowgroup_mark_row(ks_rowgroup *rg);
void ks_rowgroup_rollback_row(ks_rowgroup *rg);
void ks_rowgroup_commit_row(ks_rowgroup *rg);
/* The same for one column (a shredder that keeps its own marks). */
void ks_column_mark(ks_column *c);
void ks_column_rollback(ks_column *c);

/* Flat appends: one entry with rep 0 (return 0 or KS_ETOOBIG when a buffer
 * passes its cap). */
int ks_column_append_null(ks_column *c);
/* ks_column_append_bool, _i32, _i64, _double and _str, and strings built
 * in pieces (ks_column_str_begin, bytes appended to c->values,
 * ks_column_str_end) are inline, below the nested appends they call. */

/* Nested appends. An entry without a value (a null or absent node, an
 * empty list): def < max_def, rep <= max_rep, else KS_EINVAL. */
int ks_column_append_levels(ks_column *c, int rep, int def);

/* A present value (def == max_def) with repetition level rep. Every
 * record appends a few of these, so their common case is inline: each
 * buffer the entry touches already has room, and rep is in range. Else
 * the out-of-line half grows the buffers, checks rep (KS_EINVAL) and
 * reports KS_ETOOBIG past a cap, leaving nothing appended. */
int ks_column_append_fixed_(ks_column *c, int rep, const void *v, size_t n);
int ks_column_str_end_slow_(ks_column *c, size_t start, int rep);

static inline int ks_column_room_(const ks_buf *b, size_t n) {
  return n <= b->cap - b->len && b->len + n <= b->max;
}

/* The entry's levels go where room was checked: defs, and reps when the
 * column repeats. */
static inline int ks_column_levels_fit_(const ks_column *c, int rep) {
  return (unsigned)rep <= c->max_rep && ks_column_room_(&c->defs, 1) &&
         (c->max_rep == 0 || ks_column_room_(&c->reps, 1));
}

static inline void ks_column_levels_put_(ks_column *c, int rep) {
  c->defs.data[c->defs.len++] = c->max_def;
  if (c->max_rep)
    c->reps.data[c->reps.len++] = (uint8_t)rep;
  c->nvalues++;
}

static inline int ks_column_fixed_(ks_column *c, int rep, const void *v,
                                   size_t n) {
  if (ks_column_levels_fit_(c, rep) && ks_column_room_(&c->values, n)) {
    memcpy(c->values.data + c->values.len, v, n);
    c->values.len += n;
    ks_column_levels_put_(c, rep);
    return 0;
  }
  return ks_column_append_fixed_(c, rep, v, n);
}

static inline int ks_column_append_bool_rep(ks_column *c, int rep, int v) {
  uint8_t b = v ? 1 : 0;
  return ks_column_fixed_(c, rep, &b, 1);
}
static inline int ks_column_append_i32_rep(ks_column *c, int rep, int32_t v) {
  return ks_column_fixed_(c, rep, &v, sizeof v);
}
static inline int ks_column_append_i64_rep(ks_column *c, int rep, int64_t v) {
  return ks_column_fixed_(c, rep, &v, sizeof v);
}
static inline int ks_column_append_double_rep(ks_column *c, int rep, double v) {
  return ks_column_fixed_(c, rep, &v, sizeof v);
}
static inline int ks_column_append_float_rep(ks_column *c, int rep, float v) {
  return ks_column_fixed_(c, rep, &v, sizeof v);
}

/* The string's bytes are c->values[start, len). */
static inline int ks_column_str_end_rep(ks_column *c, size_t start, int rep) {
  size_t n = c->values.len - start;
  if (n <= UINT32_MAX && ks_column_levels_fit_(c, rep) &&
      ks_column_room_(&c->lens, 4)) {
    uint32_t len = (uint32_t)n;
    memcpy(c->lens.data + c->lens.len, &len, 4);
    c->lens.len += 4;
    ks_column_levels_put_(c, rep);
    return 0;
  }
  return ks_column_str_end_slow_(c, start, rep);
}

static inline int ks_column_append_str_rep(ks_column *c, int rep, const void *s,
                                           size_t n) {
  size_t start = c->values.len;
  int r = ks_buf_append(&c->values, s, n);
  return r ? r : ks_column_str_end_rep(c, start, rep);
}

static inline void ks_column_str_begin(ks_column *c, size_t *start) {
  *start = c->values.len;
}
static inline int ks_column_append_bool(ks_column *c, int v) {
  return ks_column_append_bool_rep(c, 0, v);
}
static inline int ks_column_append_i32(ks_column *c, int32_t v) {
  return ks_column_append_i32_rep(c, 0, v);
}
static inline int ks_column_append_i64(ks_column *c, int64_t v) {
  return ks_column_append_i64_rep(c, 0, v);
}
static inline int ks_column_append_double(ks_column *c, double v) {
  return ks_column_append_double_rep(c, 0, v);
}
static inline int ks_column_append_str(ks_column *c, const void *s, size_t n) {
  return ks_column_append_str_rep(c, 0, s, n);
}
static inline int ks_column_str_end(ks_column *c, size_t start) {
  return ks_column_str_end_rep(c, start, 0);
}
/* DECIMAL leaves: the unscaled value (12.34 in DECIMAL(5,2) is 1234);
 * KS_EINVAL when it has more digits than the precision. */
int ks_column_append_decimal(ks_column *c, int rep, ks_int128 unscaled);

/* Rows in the column so far: its entries with repetition level 0. */
size_t ks_column_rows_nested_(const ks_column *c);
static inline size_t ks_column_rows(const ks_column *c) {
  return c->max_rep ? ks_column_rows_nested_(c) : c->defs.len;
}
static inline size_t ks_column_entries(const ks_column *c) {
  return c->defs.len;
}

#endif
