/*
 * Column mapping for the files of a Delta table (colmap.c). Caller:
 * stages/table/open.c, at start-up once the table's schemaString is known.
 */
#ifndef KS_STAGES_TABLE_COLMAP_H
#define KS_STAGES_TABLE_COLMAP_H

#include "stages/table/table.h"

/* Renames t's columns to the physical names of schema_string (a
 * column-mapped schemaString with t's columns), gives them its ids as
 * Parquet field_ids and sets t->partition_physical. 0, or KS_ECORRUPT (a
 * column without mapping metadata) with err. */
int ks_table_column_mapping(ks_table *t, const char *schema_string, char *err,
                            size_t errlen);
/* Frees t->partition_physical. */
void ks_table_column_mapping_free(ks_table *t);

#endif
