/*
 * JSON Schema (draft-07) compiled for streaming validation, and its mapping
 * to table columns. A schema is loaded and compiled once at start-up (the
 * schema document may be parsed into a tree: it is not a record); records
 * are then checked by stages/decode without a DOM.
 *
 * Column mapping (top-level properties, in declaration order):
 *   integer -> INT64, number -> DOUBLE, boolean -> BOOLEAN, string -> STRING,
 *   string + format date-time -> TIMESTAMP (micros, UTC),
 *   string + format date -> DATE, object/array -> STRING holding the value's
 *   JSON text; `type: [X, "null"]` or not in `required` -> nullable.
 */
#ifndef KS_STAGES_SCHEMA_H
#define KS_STAGES_SCHEMA_H

#include "storage/parquet/column.h"

#include <stddef.h>

typedef struct ks_schema ks_schema;

/* On failure returns KS_ESCHEMA and writes "<file>: <schema path>: reason". */
int ks_schema_load_file(const char *path, ks_schema **out, char *err,
                        size_t errlen);
int ks_schema_load_string(const char *json, size_t len, const char *name,
                          ks_schema **out, char *err, size_t errlen);
void ks_schema_free(ks_schema *s);

/* The data columns a record of this schema shreds into. */
size_t ks_schema_ncolumns(const ks_schema *s);
const ks_colspec *ks_schema_columns(const ks_schema *s);

#endif
