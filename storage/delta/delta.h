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
  /* written as dataChange: false (the rows were only rearranged, as by
   * optimize); readers of the log replay it like any add */
  int no_data_change;
  /* Fields of the log's add that ksink does not model (deletionVector,
   * baseRowId, defaultRowCommitVersion, tags, clusteringProvider, ...):
   * JSON members without the surrounding braces ("\"baseRowId\":0,..."),
   * written back verbatim after the known ones; NULL: none. */
  char *extra;
  /* From extra, for the code that needs them: the deletion vector's
   * cardinality (0: none), its file's storage key relative to the table
   * root (storageType "u" or a relative "p"; NULL: none or inline) and
   * the row tracking fields (-1: absent). */
  int64_t dv_cardinality;
  char *dv_file;
  /* the deletion vector's unique id (storageType, pathOrInlineDv and
   * offset), NULL: none. A file is (path, dv_id): a remove of the same
   * path with another vector leaves this add alone */
  char *dv_id;
  int64_t base_row_id, default_row_commit_version;
} ks_delta_add;

/* Frees an add's strings and arrays and zeroes it. */
void ks_delta_add_clear(ks_delta_add *a);

/* A remove tombstone: kept in snapshots and checkpoints (for vacuum) until
 * delta.deletedFileRetentionDuration passes. */
typedef struct ks_delta_remove {
  char *path;
  int64_t deletion_timestamp; /* ms, 0 = absent */
  int data_change;
  int extended_file_metadata; /* partition values and size are stated */
  int64_t size;               /* -1 = absent */
  char **part_names;
  char **part_values;
  size_t nparts;
  char *dv_id; /* the removed file's deletion vector id, NULL: none */
  /* that deletion vector as the log states it (a JSON object), kept for
   * checkpoints and written back; NULL: none */
  char *dv_json;
} ks_delta_remove;

/* A domainMetadata action (PROTOCOL.md "Domain Metadata"): the newest per
 * domain; removed ones are dropped from the snapshot. configuration is
 * the JSON text as the log stores it (a string). */
typedef struct ks_delta_domain {
  char *domain;
  char *configuration;
} ks_delta_domain;

typedef struct ks_delta_txn {
  char *app_id;
  int64_t version;
  int64_t last_updated; /* ms, 0 = absent */
} ks_delta_txn;

typedef struct ks_delta_metadata {
  char *id;
  char *name, *description; /* NULL = absent */
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
/* size and partitionValues are written when extended_file_metadata is
 * set; deletionTimestamp when nonzero. */
int ks_delta_write_remove(ks_buf *out, const ks_delta_remove *r);
/* isBlindAppend is true unless blind_append is 0 (a commit that removes
 * files). */
int ks_delta_write_commit_info(ks_buf *out, int64_t timestamp_ms,
                               const char *operation, const char *engine_info,
                               int blind_append);
/* The same with inCommitTimestamp (ms) as its first field when ict_ms >= 0:
 * tables with in-commit timestamps put this action first in a commit. */
int ks_delta_write_commit_info_ict(ks_buf *out, int64_t timestamp_ms,
                                   int64_t ict_ms, const char *operation,
                                   const char *engine_info, int blind_append);

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

/* The tree of a schemaString (the inverse of ks_delta_schema_string_tree
 * for the types ksink writes), finished. KS_ECORRUPT with a message naming
 * the field for text that is not such a schema, or a type ksink does not
 * write (float, binary, maps with non-string keys, ...). */
int ks_delta_schema_parse(const char *json, ks_pq_schema **out, char *err,
                          size_t errlen);

/* What a schema change does to a table (schema_evolve.c has the rule). */
typedef struct ks_delta_schema_change {
  int added;             /* new nullable fields, at any depth */
  char first_added[256]; /* the first one's dotted path */
  char reason[512];      /* why it is refused: "column a.b: ..." */
} ks_delta_schema_change;

/* Compares the table's tree with the next one; fields match by name at
 * each level (order is not compared). 0 when every table field is in
 * next with the same type and nullability and every other field of next
 * is nullable (d->added of them; any at all needs add_columns), else
 * KS_ESCHEMA with d->reason. */
int ks_delta_schema_diff(const ks_pq_schema *table, const ks_pq_schema *next,
                         int add_columns, ks_delta_schema_change *d);

/* The schemaString of a table that gains next's extra fields: every field
 * of table is kept as the table states it (its metadata -- column mapping
 * ids, comments, invariants -- included), and each field of next that
 * table lacks, at the top level or inside a struct both have, is appended
 * to its struct. With next_id (a column-mapped table) each appended field
 * gets delta.columnMapping.id *next_id (which moves on) and a fresh
 * delta.columnMapping.physicalName "col-<uuid>", the fields of a new
 * struct too, in pre-order. KS_ECORRUPT when either text is not a struct
 * schema. */
int ks_delta_schema_merge(const char *table, const char *next,
                          int64_t *next_id, ks_buf *out);
/* The largest delta.columnMapping.id in a schemaString, or 0. */
int64_t ks_delta_schema_max_column_id(const char *schema_string);

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

/* add.stats of one file holding exactly the rows of files with stats[i]
 * (optimize): numRecords and nullCount summed, the smallest minValues and
 * largest maxValues per column (nested as the stats nest); a column that
 * some input does not state, or states with values of another kind, is
 * left out. KS_ENOENT (out unchanged) when an input has no numRecords:
 * the merged file then gets no stats. */
int ks_delta_stats_merge(ks_buf *out, const char *const *stats, size_t n);

/* Percent-decoding of an add/remove path (the log stores URI-encoded
 * paths) into a storage key relative to the table root; a malformed
 * escape is kept as it is. Free with ks_free. */
char *ks_delta_path_decode(const char *path);

/* A random (v4) UUID string, 36 chars + NUL. */
void ks_delta_uuid(char out[37]);

/* ---- snapshot --------------------------------------------------------- */

typedef struct ks_delta_snapshot {
  int64_t version; /* -1: no table yet */
  int has_protocol;
  int min_reader, min_writer;
  /* protocol.readerFeatures / writerFeatures (table features, reader 3 /
   * writer 7); NULL arrays when the protocol has none */
  char **reader_features, **writer_features;
  size_t nreader_features, nwriter_features;
  ks_delta_domain *domains; /* live domainMetadata, in first-seen order */
  size_t ndomains;
  /* commitInfo.inCommitTimestamp of the newest commit replayed from JSON
   * (-1: none seen) */
  int64_t last_ict;
  /* sidecar files a V2 checkpoint named (paths relative to
   * _delta_log/_sidecars/), still to be applied by the loader */
  char **sidecars;
  size_t nsidecars;
  int has_metadata;
  ks_delta_metadata metadata;
  ks_delta_add *files; /* active files, in the order they were added */
  size_t nfiles, cap_files;
  ks_delta_txn *txns;
  size_t ntxns, cap_txns;
  /* remove tombstones, newest per path; an add of the path drops it */
  ks_delta_remove *removes;
  size_t nremoves, cap_removes;
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
/* Applies one checkpoint file (or one part of a multi-part checkpoint) to
 * s, which holds nothing else but earlier parts of the same checkpoint;
 * the caller sets s->version once every part is in. max_entries bounds the
 * entries of any column (0: the reader's default). KS_ECORRUPT or
 * KS_EUNSUPPORTED with a message in err; s may then hold part of the
 * checkpoint and must be discarded. */
int ks_delta_checkpoint_apply(ks_delta_snapshot *s, const uint8_t *data,
                              size_t len, size_t max_entries, char *err,
                              size_t errlen);
/* The same for a V2 checkpoint in JSON (`<v>.checkpoint.<uuid>.json`):
 * its actions, one per line, and its `sidecar` actions listed in
 * s->sidecars (only names under _delta_log/_sidecars/). */
int ks_delta_checkpoint_apply_json(ks_delta_snapshot *s, const uint8_t *data,
                                   size_t len, char *err, size_t errlen);
/* The active file of that path (as written in the log), or NULL. */
const ks_delta_add *ks_delta_snapshot_file(const ks_delta_snapshot *s,
                                           const char *path);
/* The txn version recorded for app_id, or -1. */
int64_t ks_delta_snapshot_txn(const ks_delta_snapshot *s, const char *app_id);
/* The same, falling back to legacy (when not NULL) while app_id has none. */
int64_t ks_delta_snapshot_txn_or(const ks_delta_snapshot *s,
                                 const char *app_id, const char *legacy);
int64_t ks_delta_snapshot_rows(const ks_delta_snapshot *s);

/* ---- table features (features.c) ------------------------------------- */

/* 1 when protocol.writerFeatures or readerFeatures lists name. */
int ks_delta_has_feature(const ks_delta_snapshot *s, const char *name);
/* Whether ksink may append to the table under its protocol: 0, or
 * KS_EUNSUPPORTED with err naming the feature and why ("table feature
 * variantType: ..."). Legacy protocols (writer 2..6, reader 2) are judged
 * by the features they imply and the table's use of them (an invariant
 * in the schema, a delta.constraints.* property, a generated column). */
int ks_delta_protocol_check(const ks_delta_snapshot *s, char *err,
                            size_t errlen);
/* The configuration of a live domainMetadata domain, or NULL. */
const char *ks_delta_snapshot_domain(const ks_delta_snapshot *s,
                                     const char *domain);
/* The delta.rowTracking domain's rowIdHighWaterMark, or -1. */
int64_t ks_delta_row_id_high_water_mark(const ks_delta_snapshot *s);
/* 1 when every new add needs baseRowId/defaultRowCommitVersion (the
 * rowTracking feature is supported). */
int ks_delta_row_tracking(const ks_delta_snapshot *s);
/* 1 when delta.enableInCommitTimestamps is true (commitInfo goes first
 * and carries inCommitTimestamp). */
int ks_delta_in_commit_timestamps(const ks_delta_snapshot *s);

/* The protocol and configuration of a table created with `features`
 * (ks_delta_commit_req.table_features): the snapshot s (version -1,
 * nothing else in it) gets min_reader/min_writer, the feature lists with
 * what they imply (rowTracking needs domainMetadata) and the properties
 * they turn on (delta.enableInCommitTimestamps, delta.enableRowTracking,
 * delta.enableDeletionVectors, delta.enableChangeDataFeed,
 * delta.appendOnly, delta.checkpointPolicy=v2), then keys/values. */
void ks_delta_create_protocol(ks_delta_snapshot *s,
                              const char *const *features, size_t n,
                              const char *const *keys,
                              const char *const *values, size_t nconf);
/* A protocol action with the snapshot's feature lists when it has any. */
int ks_delta_write_protocol_of(ks_buf *out, const ks_delta_snapshot *s);

/* ---- checkpoints and table properties -------------------------------- */

/* Spark's interval syntax for the retention properties: "interval 30 days",
 * "interval 1 week", "interval 2 days 12 hours", also without the word
 * "interval"; units week, day, hour, minute, second, millisecond
 * (singular or plural, any case). 0 or KS_EINVAL. */
int ks_delta_parse_interval(const char *s, int64_t *ms);
/* metaData.configuration[key] or NULL. */
const char *ks_delta_snapshot_conf(const ks_delta_snapshot *s, const char *key);
/* delta.checkpointInterval (a positive integer), else 10. */
int64_t ks_delta_checkpoint_interval(const ks_delta_snapshot *s);
/* A duration property (ks_delta_parse_interval), else def_ms; -1 as
 * def_ms means "not set" for properties without a default. */
int64_t ks_delta_conf_duration(const ks_delta_snapshot *s, const char *key,
                               int64_t def_ms);

typedef struct ks_delta_checkpoint_stats {
  int64_t actions;   /* rows: _last_checkpoint.size */
  int64_t add_files; /* _last_checkpoint.numOfAddFiles */
} ks_delta_checkpoint_stats;

/* A classic V1 checkpoint of s as a Parquet file appended to out: one row
 * per action (protocol, metaData, txn, add, remove) in the protocol's
 * checkpoint schema. Expired entries are left out as of now_ms: txns whose
 * lastUpdated is older than delta.setTransactionRetentionDuration (when
 * set) and tombstones older than delta.deletedFileRetentionDuration
 * (default 1 week). */
int ks_delta_checkpoint_build(const ks_delta_snapshot *s, int64_t now_ms,
                              ks_buf *out, ks_delta_checkpoint_stats *st);

/* ---- table: load and commit over a storage backend -------------------- */

typedef struct ks_delta_table ks_delta_table;

/* root: table path relative to the storage root ("user_events"). */
ks_delta_table *ks_delta_table_new(ks_storage *st, const char *root);
/* Commits that found their version taken by another writer (each one is
 * retried on a reloaded snapshot), since the table was created. */
uint64_t ks_delta_table_conflicts(const ks_delta_table *t);
/* Frees the table; no load or commit may be in flight. */
void ks_delta_table_free(ks_delta_table *t);
const ks_delta_snapshot *ks_delta_table_snapshot(const ks_delta_table *t);
/* The last load/commit failure as a message naming the log entry or txn
 * ("" after a success); valid until the next load or commit. */
const char *ks_delta_table_error(const ks_delta_table *t);

/* Brings the snapshot up to the newest version in storage: reads
 * _delta_log/_last_checkpoint and lists _delta_log/; when the current
 * snapshot cannot be brought forward by the JSON entries alone (a fresh
 * table object, or entries cleaned up), starts from the newest complete
 * checkpoint (an older one, then the whole JSON log, when it does not
 * read), then applies the later entries in order. */
typedef void (*ks_delta_cb)(void *arg, int status);
int ks_delta_table_load(ks_delta_table *t, ks_delta_cb cb, void *arg);
/* The newest checkpoint version seen by the last load (_last_checkpoint or
 * the listing, whichever is newer), or -1. */
int64_t ks_delta_table_last_checkpoint(const ks_delta_table *t);

/* Writes a checkpoint of the current snapshot, then _last_checkpoint, then
 * cleans up the log (log_cleanup.c). The committer does
 * this by itself after every delta.checkpointInterval-th version; a failure
 * is logged and never fails a commit. At most one runs per table: while
 * one is in flight this returns KS_EEXIST (no callback). cb may be NULL.
 * Once started, the work finishes even if the table is freed meanwhile. */
int ks_delta_table_checkpoint(ks_delta_table *t, ks_delta_cb cb, void *arg);
/* 1 while a checkpoint (or its cleanup) is in flight. */
int ks_delta_table_checkpointing(const ks_delta_table *t);

/* One commit request: the files of a flushed set and, per Kafka partition,
 * the txn to write and the version it must replace. */
typedef struct ks_delta_txn_update {
  const char *app_id;
  int64_t expected; /* txn version the batch started after (-1: none) */
  int64_t version;  /* new version: last offset included */
  /* the appId this partition's txn had before (an older spelling), read
   * while app_id has no txn yet; NULL: none */
  const char *legacy_app_id;
} ks_delta_txn_update;

typedef struct ks_delta_commit_req {
  const ks_delta_add *adds;
  size_t nadds;
  const ks_delta_txn_update *txns;
  size_t ntxns;
  /* Files the commit removes (optimize). Each must still be active, and
   * metaData and protocol unchanged since the commit started, in the
   * snapshot the entry is written against: after a lost race that is
   * checked again, and a file removed by the other writer (or a changed
   * metaData) fails the commit with KS_ECONFLICT, nothing written. */
  const ks_delta_remove *removes;
  size_t nremoves;
  /* Used only when the table does not exist yet (version 0 carries the
   * protocol and metaData actions as well): metaData.schemaString. */
  const char *schema_string;
  /* with it, metaData.partitionColumns (none when 0) */
  const char *const *partition_columns;
  size_t npartition_columns;
  /* Schema evolution on an existing table: when set, the entry carries a
   * metaData action that keeps the table's id, name, description,
   * partition columns, configuration and createdTime and replaces the
   * schemaString with this one -- only while the table's schemaString
   * still equals schema_from (the schema the change was computed from).
   * Another writer's change meanwhile (seen on a conflict) fails the
   * commit with KS_ECONFLICT and a message, nothing written: the caller
   * compares the schemas again. */
  const char *new_schema_string;
  const char *schema_from;
  /* Used only when creating the table: its table features (none: reader
   * 1 / writer 2; else writer 7, reader 3 when one is a reader-writer
   * feature; what they imply is added, see ks_delta_create_protocol) and
   * metaData.configuration (added to the properties the features turn
   * on, which they may override). */
  const char *const *table_features;
  size_t ntable_features;
  const char *const *conf_keys, *const *conf_values;
  size_t nconf;
  const char *operation;   /* commitInfo.operation, e.g. "STREAMING UPDATE" */
  const char *engine_info; /* "ksink/0.1.0" */
  /* The constraints the batch's records were checked against
   * (ks_delta_constraints_sig; NULL: none): a table whose constraints are
   * others now (another writer added or changed one) fails the commit
   * with KS_EUNSUPPORTED, nothing written. */
  const char *constraints_sig;
  /* What the batch's files were written for (ks_delta_layout_sig of the
   * snapshot the writer opened the table with; NULL: the table's own,
   * taken when it was first used or created): a table replaced under its
   * path, partitioned otherwise or with column mapping turned on or off
   * since fails the commit with KS_EUNSUPPORTED, nothing written. */
  const char *layout_sig;
} ks_delta_commit_req;

/* The table, partition columns and column mapping mode of a snapshot with
 * metaData, as one string to compare (ks_delta_commit_req.layout_sig);
 * NULL for a table that does not exist yet. */
char *ks_delta_layout_sig(const ks_delta_snapshot *s);

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
