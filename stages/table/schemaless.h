/*
 * Schemaless tables (`schema:` omitted, `schema_evolution: add_columns`):
 * the table's columns are learnt from its records and only ever grow.
 *
 * Each state of the columns is an immutable, reference-counted
 * ks_table_schema (one generation). The table holds the newest in
 * t->live; a table writer holds the one its open files were opened with,
 * and each flushed set the one its files were written with, so a file in
 * flight never changes columns under it. A writer whose record has a
 * field no column holds learns it (ks_schemaless_learn): the next
 * generation is built and installed under the table's lock, or the
 * writer finds that another worker installed one meanwhile and tries the
 * record again on that. Writers look at t->live before every record (one
 * relaxed load of a line that changes only when a field appears) and move
 * to a newer generation by finishing their batch first.
 *
 * The committer (stages/commit.c) gives each commit the metaData its
 * files need (ks_schemaless_plan): none when the table's schemaString
 * already covers them, else a schemaString covering both (another process
 * may have added other fields), which also becomes the newest generation
 * here. Callers: stages/table/open.c (start-up), stages/writer.c,
 * stages/commit.c.
 */
#ifndef KS_STAGES_TABLE_SCHEMALESS_H
#define KS_STAGES_TABLE_SCHEMALESS_H

#include "stages/record/infer.h"
#include "stages/table/table.h"

#include <stdatomic.h>

/* Leaf columns a schemaless table may grow to (a producer writing ids as
 * keys would otherwise make a column per record). */
#define KS_SCHEMALESS_MAX_COLUMNS 2000

struct ks_table_schema {
  atomic_int refs;
  uint64_t gen;
  ks_infer_node *tree; /* the data columns */
  ks_schema *schema;   /* the tree's JSON Schema, compiled */
  ks_pq_schema *pq;    /* data columns, then the _kafka_* ones */
  size_t ncols, ndata;
  char *schema_string; /* Delta schemaString of pq */
};

/* The first generation: the columns of the table's schemaString (NULL or
 * "": a new table, no data columns yet). 0, or KS_ECONFIG with err naming
 * the table and the column schemaless mode cannot write. */
int ks_schemaless_start(ks_table *t, const char *schema_string, char *err,
                        size_t errlen);

/* Tables whose columns come from the Schema Registry (value_format
 * json_schema/avro without tables[].schema, unpartitioned Delta): the
 * first generation is the start-up schema's (json, the table JSON Schema
 * it maps to), in t->pq's column order. t->schemaless stays 0: nothing is
 * learnt from records. 0, or KS_ESCHEMA with err. */
int ks_schemaless_start_registry(ks_table *t, const char *json, size_t len,
                                 const char *name, char *err, size_t errlen);
/* A new writer schema (its table JSON Schema; name for messages) met while
 * running. 0 when the table's newest generation holds its records (its
 * columns are the same, or it lacks only nullable ones), or when it adds
 * only nullable columns and schema_evolution: add_columns is set: the
 * next generation is installed (writers move to it as for learnt
 * columns, and the commit of its files adds the columns to the Delta
 * table). Else KS_ESCHEMA with why naming the column. */
int ks_schemaless_adopt(ks_table *t, const char *json, size_t len,
                        const char *name, char *why, size_t whylen);

ks_table_schema *ks_table_schema_ref(ks_table_schema *s);
void ks_table_schema_unref(ks_table_schema *s);
/* The table's newest generation, with a reference for the caller. */
ks_table_schema *ks_schemaless_current(ks_table *t);

/* The record has fields `cur` has no column for. 0: a newer generation is
 * installed (by this call or by another worker since `cur`): move to it
 * and feed the record again. KS_EINVALID with rej: the fields cannot
 * become columns (reasons type_conflict and new_field, infer.h; also a
 * table at KS_SCHEMALESS_MAX_COLUMNS, or values the learnt columns still
 * would not hold). */
int ks_schemaless_learn(ks_table *t, const ks_table_schema *cur,
                        const uint8_t *json, size_t len, ks_reject *rej);

/* What a commit of files written with `files` (the newest generation
 * among its sets) needs against the table's current schemaString (NULL:
 * the table does not exist yet). Sets *out to the schemaString the commit
 * must install (a reference the caller drops after the commit), or NULL
 * when the table's covers the files. KS_ECONFLICT with err when the table
 * types a column differently from the files (another process learnt the
 * same field with another type): the files cannot join this table. */
int ks_schemaless_plan(ks_table *t, ks_table_schema *files,
                       const char *table_schema_string, ks_table_schema **out,
                       char *err, size_t errlen);

/* Frees t->live (pipeline free). */
void ks_schemaless_free(ks_table *t);

#endif
