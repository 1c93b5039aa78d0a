/*
 * The table-mapped schema: a JSON Schema compiled by the engine
 * (jsonschema/jsonschema.h) plus its mapping to table columns. Loaded once
 * at start-up by the pipeline, `ksink validate` and schema inference;
 * records are then checked and shredded by stages/record/decode without a
 * DOM.
 *
 * Table mapping (columns.c has the rules, the README the table):
 * properties become columns in declaration order, objects with properties
 * structs, arrays lists, objects with only additionalProperties maps,
 * free-form and mixed-kind values JSON text; `type: [X, "null"]` or not in
 * `required` -> nullable. Only type, enum/const, format and a decimal
 * multipleOf with bounds decide a column; every other keyword validates.
 */
#ifndef KS_STAGES_RECORD_SCHEMA_H
#define KS_STAGES_RECORD_SCHEMA_H

#include "jsonschema/jsonschema.h"
#include "storage/delta/constraint.h"
#include "storage/parquet/column.h"
#include "storage/parquet/schema_tree.h"

#include <stddef.h>

typedef struct ks_schema ks_schema;

/* How a schema is loaded. */
typedef struct ks_schema_opts {
  int table;               /* map to columns (the pipeline); 0: validate only,
                              any root schema (ksink validate) */
  int format_assertion;    /* "format" asserts (default 1) */
  int allow_no_columns;    /* a root without properties maps to no data
                              columns (a schemaless table before its first
                              record) */
  const char *remote_dir;  /* $ref to a URI under remote_base reads the */
  const char *remote_base; /* file at the same path under remote_dir */
} ks_schema_opts;

/* On failure returns KS_ESCHEMA and writes "<file>: <schema path>: reason".
 * The _opts forms take NULL for the pipeline defaults (table, format on). */
int ks_schema_load_file_opts(const char *path, const ks_schema_opts *o,
                             ks_schema **out, char *err, size_t errlen);
int ks_schema_load_opts(const char *json, size_t len, const char *name,
                        const ks_schema_opts *o, ks_schema **out, char *err,
                        size_t errlen);
int ks_schema_load_file(const char *path, ks_schema **out, char *err,
                        size_t errlen);
int ks_schema_load_string(const char *json, size_t len, const char *name,
                          ks_schema **out, char *err, size_t errlen);
void ks_schema_free(ks_schema *s);
/* The compiled schema it wraps. */
const ks_js_schema *ks_schema_js(const ks_schema *s);

/* The Parquet leaves a record of this schema shreds into, in file order;
 * names are dotted paths ("a.list.element.b"). */
size_t ks_schema_ncolumns(const ks_schema *s);
const ks_colspec *ks_schema_columns(const ks_schema *s);
/* The finished Parquet schema tree of the data columns (decoders shred
 * into ks_rowgroup_init_schema row groups of this tree, or of a table
 * tree). */
const ks_pq_schema *ks_schema_tree(const ks_schema *s);
/* A new finished tree: the data columns, then `extra` top-level flat
 * columns (the pipeline's _kafka_* columns); leaves keep the data
 * columns' numbers. NULL and err when an extra name clashes with a
 * property (names compare case-insensitively, as Delta's do). */
ks_pq_schema *ks_schema_table_tree(const ks_schema *s, const ks_colspec *extra,
                                   size_t nextra, char *err, size_t errlen);

/* Reorders the columns to follow an existing table's tree (schema
 * evolution): at every struct, the fields the table has come first in the
 * table's order, the others after them in declaration order; the _kafka_*
 * style extras of ks_schema_table_tree still go last. Only the order
 * changes (ks_delta_schema_diff decides whether the columns may change);
 * call it before any decoder of s exists. 0 or KS_ESCHEMA with err. */
int ks_schema_conform(ks_schema *s, const ks_pq_schema *table, char *err,
                      size_t errlen);

/* A Delta table's constraints (invariants, CHECK constraints, generated
 * columns as `column <=> expression`), bound to s's top-level columns and
 * checked on every record the decoder shreds (stages/record/checks.c): a
 * record for which one is not TRUE is rejected with the reason
 * `constraint`. 0, or KS_EUNSUPPORTED with err ("table feature <name>:
 * ...") when one cannot be evaluated (a function, a nested or date
 * column, a type mismatch). Replaces any earlier set. */
int ks_schema_set_checks(ks_schema *s, const ks_delta_constraints *c,
                         char *err, size_t errlen);

#endif
