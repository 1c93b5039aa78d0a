/*
 * commit: one committer per table, on the worker chosen by hashing the
 * table. Flushed sets from every worker arrive through the mailbox, in
 * order per partition; whatever is queued when the previous commit ends
 * goes out as one Delta commit (add actions + one txn per partition), and
 * only then are the offsets committed to Kafka. Storage faults are retried
 * with backoff, never skipped. With tables[].optimize enabled it also
 * bin-packs the table's small files in the background (optimize.h).
 */
#ifndef KS_STAGES_COMMIT_H
#define KS_STAGES_COMMIT_H

#include "stages/lane.h"
#include "storage/delta/delta.h"

typedef struct ks_flushed_part {
  char *topic;
  int32_t partition;
  char *app_id;
  char *legacy_app_id; /* the older spelling of app_id (stages/table) */
  int64_t expected; /* txn version the batch started after (-1: none) */
  int64_t version;  /* last offset the batch covers */
} ks_flushed_part;

typedef struct ks_flushed_set {
  ks_msg msg; /* travels to the committer, then back to its origin */
  ks_lane *origin;
  ks_table_writer *tw; /* valid on origin */
  int table;
  ks_delta_add *adds; /* the batch's files (one per partition file) */
  size_t nadds;
  ks_flushed_part *parts;
  size_t nparts;
  uint64_t rows;
  uint64_t consumed_ms; /* monotonic: when its oldest record was consumed */
  int64_t newest_ts_ms; /* Kafka timestamp (Unix ms) of its newest record;
                           0: none had one */
  ks_table_schema *schema; /* schemaless: its files' columns (a reference) */
  ks_msg_fn back;       /* run on origin when the set returns */
  int status;           /* commit result, set before the set returns */
  int64_t version;
} ks_flushed_set;

ks_committer *ks_committer_new(ks_lane *w, ks_table *t);
void ks_committer_close(ks_committer *c);
/* Sends a flushed set from its origin lane's loop to the table's
 * committer; the set comes back to the origin (on_committed, on the
 * origin's loop) when committed or refused. */
void ks_committer_send(ks_flushed_set *fs, ks_msg_fn on_committed);
/* Commits the Kafka offsets after the sets' last records (asynchronously;
 * for lag tools: the Delta log, or for parquet/jsonl the stored files'
 * deterministic keys, say where to resume). The one offset-commit path of
 * the committer and of the parquet/jsonl writers. */
void ks_offsets_commit(rd_kafka_t *rk, const char *table,
                       ks_flushed_set *const *sets, size_t n);
int ks_committer_idle(const ks_committer *c);
/* 1 when no automatic optimize runs; else it is told to stop (the worker
 * is checked for drained again when it has) and 0. */
int ks_committer_settle(ks_committer *c);
void ks_flushed_set_free(ks_flushed_set *fs);

#endif
