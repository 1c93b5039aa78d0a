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

#include "reactor/worker.h"
#include "storage/delta/delta.h"

typedef struct ks_flushed_part {
  char *topic;
  int32_t partition;
  char *app_id;
  int64_t expected; /* txn version the batch started after (-1: none) */
  int64_t version;  /* last offset the batch covers */
} ks_flushed_part;

typedef struct ks_flushed_set {
  ks_msg msg; /* travels to the committer, then back to its origin */
  ks_worker *origin;
  ks_table_writer *tw; /* valid on origin */
  int table;
  ks_delta_add *adds; /* the batch's files (one per partition file) */
  size_t nadds;
  ks_flushed_part *parts;
  size_t nparts;
  uint64_t rows;
  uint64_t consumed_ms; /* monotonic: when its oldest record was consumed */
  ks_table_schema *schema; /* schemaless: its files' columns (a reference) */
  ks_msg_fn back;       /* run on origin when the set returns */
  int status;           /* commit result, set before the set returns */
  int64_t version;
} ks_flushed_set;

ks_committer *ks_committer_new(ks_worker *w, ks_table *t);
void ks_committer_close(ks_committer *c);
/* Sends a flushed set from any worker's loop to the table's committer;
 * the set comes back to ks_table_writer via fs->msg when committed. */
void ks_committer_send(ks_pipeline *p, ks_flushed_set *fs,
                       ks_msg_fn on_committed);
/* Loads the table's snapshot synchronously on a private loop and storage
 * and shows it to fn (start-up and assignment, control thread only: no
 * worker loop ever waits for this). A table that does not exist yet shows
 * as a snapshot of version -1. */
typedef void (*ks_snapshot_fn)(void *arg, const ks_delta_snapshot *s);
int ks_committer_with_snapshot(const ks_pipeline *p, const ks_table *t,
                               ks_snapshot_fn fn, void *arg, char *err,
                               size_t errlen);
int ks_committer_idle(const ks_committer *c);
/* 1 when no automatic optimize runs; else it is told to stop (the worker
 * is checked for drained again when it has) and 0. */
int ks_committer_settle(ks_committer *c);
void ks_flushed_set_free(ks_flushed_set *fs);

#endif
