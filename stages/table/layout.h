/*
 * layout: what a table's partitioning means for its files and its Delta
 * metadata, worked out once at start-up (stages/table/open.c calls it for
 * each table). A Delta table keeps its partition columns out of the data
 * files (PROTOCOL.md): the files get the table's tree without them, while
 * the schemaString lists every column, derived ones included, and
 * metaData.partitionColumns names them. Parquet and JSON Lines tables
 * write every column of the schema and only use the partition directories.
 */
#ifndef KS_STAGES_TABLE_LAYOUT_H
#define KS_STAGES_TABLE_LAYOUT_H

#include "stages/table/table.h"

/* Fills t->partitioner, t->file_pq, t->partition_columns and
 * t->schema_string from t->pq and t->ndata (run again whenever t->pq is
 * rebuilt, after ks_table_layout_free). file: the config file, for
 * messages. 0, or KS_ECONFIG / KS_ESCHEMA with err. */
int ks_table_layout_setup(const char *file, ks_table *t, char *err,
                         size_t errlen);
void ks_table_layout_free(ks_table *t);
/* Whether an existing table's metaData.partitionColumns are this
 * config's (same names, same order). */
int ks_table_same_partitioning(const ks_table *t, char *const *cols, size_t n);

/* A finished copy of src without the top-level fields named in skip
 * (case-insensitive), with extra leaves appended at the top level. */
ks_pq_schema *ks_table_tree_copy(const ks_pq_schema *src,
                                 const char *const *skip, size_t nskip,
                                 const ks_colspec *extra, size_t nextra);

#endif
