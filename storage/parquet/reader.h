/*
 * A small Parquet reader for files held whole in memory: the Delta
 * checkpoints of storage/delta (ksink's own and other writers'). It reads
 * the footer, the schema tree and one leaf column at a time into per-entry
 * arrays of repetition level, definition level and value, which the caller
 * assembles into records with the levels (column.h explains them).
 *
 * Supported: PLAIN, PLAIN_DICTIONARY and RLE_DICTIONARY values, RLE /
 * bit-packed levels, RLE booleans, data pages v1 and v2, uncompressed,
 * snappy, gzip and zstd chunks, physical types BOOLEAN, INT32, INT64,
 * FLOAT, DOUBLE, BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY. Anything else
 * (DELTA_* encodings, INT96, LZ4) fails the column with KS_EUNSUPPORTED.
 * The input is outside data: every offset, length and count is checked,
 * and a column larger than the entry limit fails with KS_ETOOBIG.
 */
#ifndef KS_STORAGE_PARQUET_READER_H
#define KS_STORAGE_PARQUET_READER_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Physical types (parquet.thrift Type). */
enum {
  KS_PQR_BOOLEAN = 0,
  KS_PQR_INT32 = 1,
  KS_PQR_INT64 = 2,
  KS_PQR_INT96 = 3,
  KS_PQR_FLOAT = 4,
  KS_PQR_DOUBLE = 5,
  KS_PQR_BYTE_ARRAY = 6,
  KS_PQR_FLBA = 7
};

typedef struct ks_pq_rnode {
  char *name;
  int repetition; /* 0 required, 1 optional, 2 repeated */
  int is_leaf;
  int type;        /* leaves: KS_PQR_* */
  int type_length; /* FIXED_LEN_BYTE_ARRAY */
  int converted;   /* ConvertedType, -1 when absent */
  int def;         /* definition level of this node being present */
  int rep;         /* repetition level of this node's repeated ancestors */
  size_t leaf;     /* leaves: column number */
  size_t parent;   /* node index; the root is its own parent */
  size_t first_child, nchildren; /* children are nodes [first, first+n) */
} ks_pq_rnode;

/* One entry per leaf slot. vals[i] is meaningful when defs[i] equals the
 * leaf's def: integers and booleans in .i, FLOAT/DOUBLE in .d, byte
 * strings as (.s.off, .s.len) into blob. */
typedef union ks_pq_rval {
  int64_t i;
  double d;
  struct {
    uint32_t off, len;
  } s;
} ks_pq_rval;

typedef struct ks_pq_rcolumn {
  size_t n;
  uint8_t *defs, *reps;
  ks_pq_rval *vals;
  ks_buf blob;
} ks_pq_rcolumn;

typedef struct ks_pq_file ks_pq_file;

/* Parses the footer of data[0..len) (which must outlive the handle).
 * KS_ECORRUPT, KS_EUNSUPPORTED or KS_ENOMEM with a message in err. */
int ks_pq_file_open(const uint8_t *data, size_t len, ks_pq_file **out,
                    char *err, size_t errlen);
void ks_pq_file_free(ks_pq_file *f);
/* Largest number of entries read_column accepts (default 1 << 26). */
void ks_pq_file_set_max_entries(ks_pq_file *f, size_t max);
int64_t ks_pq_file_rows(const ks_pq_file *f);
/* Node 0 is the root. */
const ks_pq_rnode *ks_pq_file_node(const ks_pq_file *f, size_t i);
size_t ks_pq_file_nleaves(const ks_pq_file *f);
/* The child of node called name (exact match), or NULL. */
const ks_pq_rnode *ks_pq_file_child(const ks_pq_file *f,
                                    const ks_pq_rnode *node, const char *name);
/* The i-th child, or NULL. */
const ks_pq_rnode *ks_pq_file_child_at(const ks_pq_file *f,
                                       const ks_pq_rnode *node, size_t i);
/* Reads every row group of leaf column `leaf` into out (initialized here;
 * free with ks_pq_rcolumn_free even on failure). */
int ks_pq_file_read_column(ks_pq_file *f, size_t leaf, ks_pq_rcolumn *out,
                           char *err, size_t errlen);
void ks_pq_rcolumn_free(ks_pq_rcolumn *c);

#endif
