/*
 * Column inference for schemaless tables (`schema:` omitted): the columns
 * a table has learnt from its records, as a tree, and how a record that
 * carries fields the tree lacks grows it.
 *
 * The rule is Spark's JSON inference kept monotonic: integers (no '.' or
 * exponent in the text) -> long, other numbers -> double, strings ->
 * string, booleans -> boolean, objects -> struct of their members, arrays
 * -> array of the union of their elements; every learnt column is
 * nullable. A column never changes type: a long column meeting 1.5, or a
 * string column meeting an object, is a type conflict and the record is
 * rejected. null, [] and {} say nothing about a type, so a field seen only
 * with those values gets no column yet (it reads as null). The tree also
 * starts from an existing table's schemaString, where the columns may be
 * timestamp, date, map or required as well.
 *
 * The tree is turned into a JSON Schema (ks_infer_json_schema) that the
 * ordinary compiler maps back to exactly these columns, so schemaless
 * tables are decoded, validated and shredded by the same code as the
 * others. Callers: stages/schemaless.c.
 */
#ifndef KS_STAGES_RECORD_INFER_H
#define KS_STAGES_RECORD_INFER_H

#include "base/buf.h"
#include "stages/record/decode.h"
#include "storage/parquet/schema_tree.h"

#include <stddef.h>
#include <stdint.h>

typedef enum ks_infer_kind {
  KS_INF_LONG,
  KS_INF_DOUBLE,
  KS_INF_STRING,
  KS_INF_BOOLEAN,
  KS_INF_TIMESTAMP, /* only from an existing table */
  KS_INF_DATE,      /* only from an existing table */
  KS_INF_STRUCT,
  KS_INF_ARRAY, /* kids[0]: the element */
  KS_INF_MAP,   /* only from an existing table; kids[0]: the value */
  KS_INF_INT,   /* 32-bit integer, only from an existing table */
  /* only from an existing table, each its Delta type exactly: */
  KS_INF_BYTE,   /* integers -128..127 */
  KS_INF_SHORT,  /* integers -32768..32767 */
  KS_INF_FLOAT,  /* numbers, rounded to float */
  KS_INF_BINARY, /* base64 strings */
  KS_INF_DECIMAL, /* numbers or their text, exact: precision, scale */
  KS_INF_TIMESTAMP_NTZ /* date-time strings without offset */
} ks_infer_kind;

typedef struct ks_infer_node ks_infer_node;
struct ks_infer_node {
  ks_infer_kind kind;
  int nullable;
  int precision, scale; /* KS_INF_DECIMAL */
  char *name; /* "" for the root, "element" / "value" inside arrays, maps */
  ks_infer_node **kids;
  size_t nkids, cap;
};

/* The root of a table with no columns yet. */
ks_infer_node *ks_infer_root(void);
ks_infer_node *ks_infer_copy(const ks_infer_node *n);
void ks_infer_free(ks_infer_node *n);
/* Leaves below n (the Parquet columns it makes). */
size_t ks_infer_nleaves(const ks_infer_node *n);

/* The tree of an existing table's columns, leaving out the top-level
 * fields named in skip (ksink's _kafka_* columns). KS_EUNSUPPORTED and err
 * naming the column for a type schemaless mode does not write (int,
 * decimal, ...). */
int ks_infer_from_tree(const ks_pq_schema *s, const char *const *skip,
                       size_t nskip, ks_infer_node **out, char *err,
                       size_t errlen);

/* Grows root by the fields of one record (a JSON text that parses). Sets
 * *changed when a column was added. 0, or KS_EINVALID with rej filled:
 * reason "type_conflict" (a value whose kind its column, or another
 * element of the same new array, cannot hold), "new_field" (a name that
 * cannot be a Delta column: empty, one of ` ,;{}()\n\t=` or a control
 * character, a case-insensitive twin of another field, or one of
 * `reserved` at the top level), or "malformed_json". root is unchanged
 * on failure. */
int ks_infer_learn(ks_infer_node *root, const uint8_t *json, size_t len,
                   const char *const *reserved, size_t nreserved,
                   int *changed, ks_reject *rej);

/* Adds to `into` (this process's columns) every field of `from` (the
 * table's, as another writer left them) it lacks. 0, or KS_ECONFLICT with
 * err naming the first column the two trees type or spell differently (into is
 * then partly merged: callers merge into a copy). */
int ks_infer_union(ks_infer_node *into, const ks_infer_node *from,
                   int *changed, char *err, size_t errlen);

/* A draft-07 JSON Schema whose table mapping (stages/record/columns.c) is
 * exactly the tree's columns, in the tree's order. */
void ks_infer_json_schema(const ks_infer_node *root, ks_buf *out);
/* That JSON Schema, compiled for a table (no data columns allowed). */
int ks_infer_compile(const ks_infer_node *root, const char *name,
                     ks_schema **out, char *err, size_t errlen);

#endif
