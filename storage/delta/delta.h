/*
 * Delta Lake: log actions, snapshot replay and the commit path, on top of
 * the storage vtable (PROTOCOL.md of delta-io/delta). Log entries are
 * written with put_if_absent and never overwritten; the log, not Kafka, is
 * the source of truth for where each partition resumes (txn actions).
 *
 * Callers: stages/commit (one committer per table) and the CLI tools.
 */
#ifndef KS_STORAGE_DELTA_DELTA_H
#define KS_STORAGE_DELTA_DELTA_H

#include "base/buf.h"
#include "storage/parquet/column.h"
#include "storage/parquet/writer.h"
#include "storage/storage.h"

#include <stdint.h>

/* ---- actions ---------------------------------------------------------- */

typedef struct ks_delta_add {
  char *path; /* relative to the table root, URI-encoded as in the log */
  int64_t size;
  int64_t modification_time; /* ms */
  int64_t num_records;
  char *stats; /* JSON text, may be NULL */
  /* partitionValues: names and values (value NULL = null partition) */
  char **part_names;
  char **part_values;
  size_t nparts;
} ks_delta_add;

typedef struct ks_delta_txn {
  char *app_id;
  int64_t version;
  int64_t last_updated; /* ms, 0 = absent */
} ks_delta_txn;

typedef struct ks_delta_metadata {
  char *id;
  char *schema_string;
  char **partition_columns;
  size_t npartition_columns;
  int64_t created_time; /* ms */
  /* configuration map */
  char **conf_keys;
  char **conf_values;
  size_t nconf;
} ks_delta_metadata;

/* Each appends one action as one JSON line ("{...}\n") to out. */
int ks_delta_write_protocol(ks_buf *out, int min_reader, int min_writer);
int ks_delta_write_metadata(ks_buf *out, const ks_delta_metadata *m);
int ks_delta_write_add(ks_buf *out, const ks_delta_add *a);
int ks_delta_write_txn(ks_buf *out, const ks_delta_txn *t);
int ks_delta_write_commit_info(ks_buf *out, int64_t timestamp_ms,
                               const char *operation,
                               const char *engine_info);

/* Spark-compatible schemaString for the columns:
 * {"type":"struct","fields":[{"name":..,"type":"long","nullable":true,
 * "metadata":{}}, ...]} */
int ks_delta_schema_string(ks_buf *out, const ks_colspec *cols, size_t n);
/* The same for a finished schema tree: groups become "struct", LISTs
 * {"type":"array","elementType":..,"containsNull":..}, MAPs {"type":"map",
 * "keyType":..,"valueType":..,"valueContainsNull":..}, DECIMAL leaves
 * "decimal(p,s)"; nullable means OPTIONAL. KS_ESCHEMA for a repeated field
 * outside a LIST/MAP. A flat tree gives ks_delta_schema_string's bytes. */
int ks_delta_schema_string_tree(ks_buf *out, const ks_pq_schema *s);

/* add.stats JSON: {"numRecords":N,"minValues":{..},"maxValues":{..},
 * "nullCount":{..}}. Strings are truncated to 32 code points for min/max
 * (max gets a tie-breaking suffix per PROTOCOL.md); timestamps are
 * rendered as ISO-8601 UTC truncated down to milliseconds
 * ("2026-11-21T10:36:53.123Z"), as PROTOCOL.md specifies for stats. */
int ks_delta_stats_json(ks_buf *out, int64_t num_records,
                        const ks_colspec *cols, size_t n,
                        const ks_pq_colstats *stats);
/* The same for a finished schema tree, stats[i] for leaf i
 * (ks_pq_writer_stats order). The three objects nest as the structs do
 * ({"a":{"b":1}}); columns under a LIST or MAP, and the arrays and maps
 * themselves, get no statistics; a struct with no member is left out.
 * DECIMALs are JSON numbers with their scale (unscaled 1234, scale 2:
 * 12.34). A flat tree gives ks_delta_stats_json's bytes. */
int ks_delta_stats_json_tree(ks_buf *out, int64_t num_records,
                             const ks_pq_schema *s,
                             const ks_pq_colstats *stats);

/* A random (v4) UUID string, 36 chars + NUL. */
void ks_delta_uuid(char out[37]);

/* ---- snapshot --------------------------------------------------------- */

typedef struct ks_delta_snapshot {
  int64_t version; /* -1: no table yet */
  int has_protocol;
  int min_reader, min_writer;
  int has_metadata;
  ks_delta_metadata metadata;
  ks_delta_add *files; /* active files, in the order they were added */
  size_t nfiles, cap_files;
  ks_delta_txn *txns;
  size_t ntxns, cap_txns;
  void *index_; /* path -> file index, private */
} ks_delta_snapshot;

void ks_delta_snapshot_init(ks_delta_snapshot *s);
void ks_delta_snapshot_free(ks_delta_snapshot *s);
/* Applies the actions of one log entry (newline-delimited JSON) as
 * version `version`, which must be s->version + 1. KS_ECORRUPT with a
 * message in err on malformed entries or a version gap. */
int ks_delta_snapshot_apply(ks_delta_snapshot *s, int64_t version,
                            const uint8_t *json, size_t len, char *err,
                            size_t errlen);
/* The txn version recorded for app_id, or -1. */
int64_t ks_delta_snapshot_txn(const ks_delta_snapshot *s, const char *app_id);
int64_t ks_delta_snapshot_rows(const ks_delta_snapshot *s);

/* ---- table: load and commit over a storage backend -------------------- */

typedef struct ks_delta_table ks_delta_table;

/* root: table path relative to the storage root ("user_events"). */
ks_delta_table *ks_delta_table_new(ks_storage *st, const char *root);
/* Frees the table; no load or commit may be in flight. */
void ks_delta_table_free(ks_delta_table *t);
const ks_delta_snapshot *ks_delta_table_snapshot(const ks_delta_table *t);
/* The last load/commit failure as a message naming the log entry or txn
 * ("" after a success); valid until the next load or commit. */
const char *ks_delta_table_error(const ks_delta_table *t);

/* Brings the snapshot up to the newest version in storage (lists
 * _delta_log/, reads every entry after the current version in order). */
typedef void (*ks_delta_cb)(void *arg, int status);
int ks_delta_table_load(ks_delta_table *t, ks_delta_cb cb, void *arg);

/* One commit request: the files of a flushed set and, per Kafka partition,
 * the txn to write and the version it must replace. */
typedef struct ks_delta_txn_update {
  const char *app_id;
  int64_t expected; /* txn version the batch started after (-1: none) */
  int64_t version;  /* new version: last offset included */
} ks_delta_txn_update;

typedef struct ks_delta_commit_req {
  const ks_delta_add *adds;
  size_t nadds;
  const ks_delta_txn_update *txns;
  size_t ntxns;
  /* Used only when the table does not exist yet (version 0 carries the
   * protocol and metaData actions as well): metaData.schemaString. */
  const char *schema_string;
  const char *operation;   /* commitInfo.operation, e.g. "STREAMING UPDATE" */
  const char *engine_info; /* "ksink/0.1.0" */
} ks_delta_commit_req;

/* Writes _delta_log/<version>.json with put_if_absent at the next version.
 * On a conflict (KS_EEXIST) reads the new entries and checks every txn: if
 * another writer moved one away from `expected`, the batch is a zombie and
 * the callback gets KS_EZOMBIE (nothing written); otherwise it retries at
 * the following version. `version` is the committed version on success.
 * The request must stay valid until the callback. Returns 0 when the
 * callback will run; a negative code means no callback (KS_EINVAL: bad
 * request or a load/commit already in flight; KS_EUNSUPPORTED: the table
 * needs a newer protocol; or a storage error starting the write). */
typedef void (*ks_delta_commit_cb)(void *arg, int status, int64_t version);
int ks_delta_commit(ks_delta_table *t, const ks_delta_commit_req *req,
                    ks_delta_commit_cb cb, void *arg);

#endif
