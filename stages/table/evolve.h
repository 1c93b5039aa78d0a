/*
 * Schema evolution at start-up: an existing Delta table meets the columns
 * the configured schema produces. Same columns: nothing to do (a schema
 * that only reorders properties keeps the table's order). Otherwise, with
 * `schema_evolution: add_columns`, new nullable fields -- top-level or in
 * any struct -- are added by one metaData-only commit before anything is
 * consumed, and the table's columns are put in the table's order with the
 * new ones after (ks_schema_conform), so every file written afterwards
 * matches the new schemaString; any other change, or any change at all
 * with `none`, refuses to start. A table with other partition columns than
 * the config's is refused first, before any commit.
 *
 * Caller: stages/table/open.c (start-up, control thread, before any lane
 * exists).
 */
#ifndef KS_STAGES_TABLE_EVOLVE_H
#define KS_STAGES_TABLE_EVOLVE_H

#include "stages/table/table.h"
#include "storage/storage.h"

/* Rebuilds t->pq and t->schema_string from t->schema and the extra
 * columns (the pipeline's _kafka_* ones); 0 or KS_ESCHEMA with err. */
typedef int (*ks_table_columns_fn)(ks_table *t, char *err, size_t errlen);

/* Checks t against its Delta table and evolves it when allowed. Returns 0,
 * KS_ECONFIG (refused: err names the table and the partition columns, or
 * the schema file and the column) or a storage error (err says which). Another writer changing
 * the schema meanwhile makes it compare again. */
int ks_evolve_start(const ks_conf *conf, ks_table *t,
                    ks_table_columns_fn columns, char *err, size_t errlen);
/* The same on a given storage whose loop runs only for this call (tests
 * pass storage doubles); `where` names the storage in messages. */
int ks_evolve_table(uv_loop_t *loop, ks_storage *st, const char *where,
                    ks_table *t, ks_table_columns_fn columns, char *err,
                    size_t errlen);

#endif
