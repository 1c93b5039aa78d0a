/*
 * The table model: one configured table as the record path sees it once
 * start-up has opened it (stages/table/open.c): its compiled schema, its
 * Parquet trees, partitioning, the Delta schemaString, and for a
 * schemaless table the newest generation of its learnt columns.
 * Read-only while lanes run, but for `live`.
 */
#ifndef KS_STAGES_TABLE_TABLE_H
#define KS_STAGES_TABLE_TABLE_H

#include "conf/conf.h"
#include "stages/record/schema.h"
#include "storage/parquet/column.h"

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

typedef struct ks_table_schema ks_table_schema; /* stages/schemaless.h */

/* A configured table, read-only once the pipeline runs (but for `live`). */
typedef struct ks_table {
  int index;
  const ks_conf_table *conf;
  ks_schema *schema;     /* owned */
  ks_pq_schema *pq;      /* owned: the data columns, then the _kafka_* ones */
  size_t ncols, ndata;   /* leaves: all, and the data columns' */
  int committer;         /* worker that runs this table's committer */
  char *schema_string;   /* Delta schemaString of cols */
  int64_t start_version; /* Delta version found at start-up (-1: none) */
  int foreign_txns; /* txns of this table's topics under another app_id
                       found at start-up (ks_table_check_app_ids) */
  const char *conf_file; /* the config file, for messages */
  /* partitioning (stages/partition.h); NULL: none */
  struct ks_partitioner *partitioner;
  char **partition_columns; /* Delta metaData.partitionColumns */
  size_t npartition_columns;
  /* column mapping: the partition columns' physical names, which key
   * add.partitionValues (NULL: the names above) */
  char **partition_physical;
  /* the columns of the table's files: pq without the partition columns
   * (delta), else pq itself (not owned then) */
  ks_pq_schema *file_pq;
  /* the _kafka_* columns every row carries after the data columns */
  const ks_colspec *meta;
  size_t nmeta;
  ks_colspec *own_meta; /* meta when the table has key or headers columns */
  /* headers.column + "_base64": the names of the headers whose values the
   * headers map holds in base64 (they were not UTF-8); NULL: no headers */
  char *headers_base64;
  /* schemaless (no schema file): columns learnt from the records. The
   * fields above hold the first generation; `live` the newest, changed
   * only under live_lock (stages/schemaless.h) */
  int schemaless;
  /* no schema file, an existing Delta table: the columns are the table's
   * (fixed; schema evolution adds only the _kafka_* columns) */
  int from_table;
  /* from_table without partition_by: a copy of the table's config with
   * the table's partition columns (t->conf points at it), else NULL */
  ks_conf_table *own_conf;
  /* the codec of the files: tables[].compression, or for a Delta table
   * its delta.parquet.compression.codec property (the table's, else
   * tables[].properties') */
  ks_codec codec;
  /* the table's schemaString once start-up settled it (evolve.c), when
   * the table uses column mapping; NULL otherwise */
  char *mapped_schema;
  /* the Delta table's constraints the records are checked against
   * (ks_delta_constraints_sig, set at start-up); NULL: none */
  char *checks_sig;
  /* the Delta table's id, partition columns and column mapping mode at
   * start-up (ks_delta_layout_sig), which every file is written for: the
   * committer refuses a commit once another writer changed them; NULL: a
   * table ksink creates */
  char *layout_sig;
  /* tables[].properties as two arrays (ks_delta_commit_req.conf_keys) */
  const char **prop_keys, **prop_values;
  size_t nprops;
  _Atomic(ks_table_schema *) live;
  uv_mutex_t live_lock;
} ks_table;

/* A table whose columns come from the Schema Registry (value_format
 * json_schema/avro without tables[].schema), after ks_table_evolve: json
 * is the table JSON Schema of the subject's newest schema. An unpartitioned
 * Delta table without column mapping follows the registry while running
 * (stages/table/schemaless.h, ks_schemaless_adopt); others keep their
 * start-up columns. 0, or KS_ESCHEMA with err. */
int ks_table_follow_registry(ks_table *t, const char *json, size_t len,
                             char *err, size_t errlen);

/* Opens table i of conf (start-up, control thread): loads its schema
 * (`given` when not NULL: taken over), builds its trees and layout and
 * picks its committer among nlanes lanes. 0, or KS_ECONFIG / KS_ESCHEMA /
 * a storage error with err; ks_table_close frees what was built either
 * way. */
int ks_table_open(const ks_conf *conf, size_t i, ks_schema *given, int nlanes,
                  ks_table *t, char *err, size_t errlen);
/* An existing Delta table meets the config's columns (schema evolution,
 * partition columns: stages/table/evolve.h); nothing for parquet/jsonl
 * and schemaless tables. */
int ks_table_evolve(const ks_conf *conf, ks_table *t, char *err,
                    size_t errlen);
void ks_table_close(ks_table *t);
/* Delta: txns of the table's topics under another app_id (the app_id or
 * kafka.group.id changed, or another app writes the table) are counted in
 * t->foreign_txns and logged, naming both. A topic with such txns and
 * none of this app's would be read from auto.offset.reset: that is refused
 * (KS_ECONFIG, exit 2) unless kafka.auto.offset.reset is set explicitly. */
int ks_table_check_app_ids(const ks_conf *conf, ks_table *t, char *err,
                           size_t errlen);
/* A delta.parquet.compression.codec value as a codec, or -1. */
int ks_table_codec_of(const char *value);

/* The Delta txn appId of a Kafka partition, "<app_id>/<topic>/<part>"
 * (malloc'd): the one place it is spelt. Read from the right it is
 * unambiguous (a topic holds no '/'), which the older spelling
 * "<app_id>-<topic>-<part>" was not: app_id "ingest" with topic
 * "eu-events" and "ingest-eu" with "events" met. */
char *ks_table_app_id(const char *app_id, const char *topic, int32_t part);
/* The older spelling: read while a partition's txn has no new one yet, so
 * a table written before goes on where it was; its next commit writes the
 * new spelling. */
char *ks_table_legacy_app_id(const char *app_id, const char *topic,
                             int32_t part);
/* The older spelling when the table's txn under it can be ours: NULL when
 * a txn in the new spelling of another app or topic spells the same older
 * name (that app migrated; the old txn is its). */
struct ks_delta_snapshot;
char *ks_table_legacy_app_id_in(const struct ks_delta_snapshot *s,
                                const char *app_id, const char *topic,
                                int32_t part);

#endif
