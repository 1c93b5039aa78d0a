/*
 * Parquet schema trees: the shape of a file's columns. The shredder
 * (stages/) builds one from a JSON Schema -- objects become struct groups,
 * arrays become standard 3-level LISTs, objects with only
 * additionalProperties become MAP<string, V> -- and hands it to
 * ks_rowgroup_init_schema and ks_pq_writer_new_schema. The flat
 * ks_colspec API builds a one-level tree of its own.
 *
 *   <name> (LIST)            ks_pq_add_list returns the `list` group:
 *     repeated group list    add exactly one child, named "element"
 *       <rep> element
 *   <name> (MAP)             ks_pq_add_map returns the `key_value` group,
 *     repeated group key_value   `key` (required STRING) already added:
 *       required binary key (STRING)   add exactly one child, "value"
 *       <rep> value
 *
 * ks_pq_schema_finish numbers the leaves (depth first: the column order of
 * the file) and gives each its maximum definition level (the OPTIONAL and
 * REPEATED nodes on its path, itself included) and maximum repetition level
 * (the REPEATED nodes on its path).
 */
#ifndef KS_STORAGE_PARQUET_SCHEMA_TREE_H
#define KS_STORAGE_PARQUET_SCHEMA_TREE_H

#include "storage/parquet/column.h"

/* Values of parquet.thrift's FieldRepetitionType. */
typedef enum ks_pq_repetition {
  KS_PQ_REQUIRED = 0,
  KS_PQ_OPTIONAL = 1,
  KS_PQ_REPEATED = 2
} ks_pq_repetition;

typedef enum ks_pq_group {
  KS_PQ_STRUCT, /* named fields (also the root and the repeated groups) */
  KS_PQ_LIST,   /* LIST-annotated outer group */
  KS_PQ_MAP     /* MAP-annotated outer group */
} ks_pq_group;

/* Levels are kept in one byte per entry; deeper trees are refused. */
#define KS_PQ_MAX_LEVEL 127

typedef struct ks_pq_node ks_pq_node;
struct ks_pq_node {
  char *name;
  ks_pq_repetition repetition;
  int is_leaf;
  ks_pq_group group; /* groups only */
  /* leaves: spec.type is the type of the values the column holds; spec.name
   * is the leaf's own name; spec.nullable is max_def > 0 */
  ks_colspec spec;
  int precision, scale; /* DECIMAL(precision, scale) when precision > 0 */
  /* SchemaElement.field_id (Delta column mapping, Iceberg); 0: none */
  int32_t field_id;
  /* set by ks_pq_schema_finish */
  int max_def, max_rep;
  size_t leaf; /* leaves: column number */
  ks_pq_node *parent;
  ks_pq_node **children;
  size_t nchildren, cap;
};

typedef struct ks_pq_schema ks_pq_schema;

ks_pq_schema *ks_pq_schema_new(void);
void ks_pq_schema_free(ks_pq_schema *s);
/* The root group (its name is "schema"): top-level fields are its children. */
ks_pq_node *ks_pq_schema_root(ks_pq_schema *s);

/* Add a child to a group and return it. Names are copied. Types: every
 * ks_coltype; UUIDs are STRING columns. */
ks_pq_node *ks_pq_add_leaf(ks_pq_node *parent, const char *name,
                           ks_pq_repetition rep, ks_coltype type);
/* DECIMAL(precision 1..38, scale 0..precision): INT32 up to 9 digits, INT64
 * up to 18, FIXED_LEN_BYTE_ARRAY (big-endian two's complement, the fewest
 * bytes that hold the precision) beyond. Values are appended unscaled with
 * ks_column_append_decimal. */
ks_pq_node *ks_pq_add_decimal(ks_pq_node *parent, const char *name,
                              ks_pq_repetition rep, int precision, int scale);
ks_pq_node *ks_pq_add_struct(ks_pq_node *parent, const char *name,
                             ks_pq_repetition rep);
ks_pq_node *ks_pq_add_list(ks_pq_node *parent, const char *name,
                           ks_pq_repetition rep);
ks_pq_node *ks_pq_add_map(ks_pq_node *parent, const char *name,
                          ks_pq_repetition rep);

/* Checks the tree (every group has children, LIST/MAP shapes complete, a
 * DECIMAL's precision and scale in range, levels <= KS_PQ_MAX_LEVEL) and
 * computes levels and leaf numbers. 0 or KS_EINVAL. Nodes may not be added
 * afterwards. */
int ks_pq_schema_finish(ks_pq_schema *s);
size_t ks_pq_schema_nleaves(const ks_pq_schema *s);
const ks_pq_node *ks_pq_schema_leaf(const ks_pq_schema *s, size_t i);

/* A finished one-level tree of the flat columns (for the ks_colspec API). */
ks_pq_schema *ks_pq_schema_flat(const ks_colspec *specs, size_t n);

/* Bytes of a DECIMAL's FIXED_LEN_BYTE_ARRAY for this precision (> 18). */
int ks_pq_decimal_width(int precision);

#endif
