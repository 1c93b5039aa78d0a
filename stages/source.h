/*
 * source: drains a worker's Kafka queue (rd_kafka_consume_batch_queue with
 * timeout 0, bounded per loop turn) and hands each message to the table
 * writer of its partition. Also the partition bookkeeping: which offsets a
 * partition's open batch covers and which txn version it continues from.
 */
#ifndef KS_STAGES_SOURCE_H
#define KS_STAGES_SOURCE_H

#include "reactor/worker.h"

#include <stdint.h>

struct ks_partition {
  ks_partition *next;
  char *topic;
  int32_t partition;
  char *app_id; /* "<app_id>-<topic>-<partition>": the Delta txn appId */
  ks_table_writer *tw;
  int topic_index;     /* in p->topics, for the per-topic counters */
  int64_t position;    /* next offset to consume (/status, lag), -1 unknown */
  int64_t start;       /* first offset accepted; older ones are stale */
  int64_t committed;   /* txn version the next batch continues from */
  int64_t acked;       /* txn version the committer has confirmed */
  int64_t batch_first; /* offsets of the open batch, -1 when empty */
  int64_t batch_last;
  int64_t origin; /* first offset delivered since the assignment, -1 none:
                     where a rewind re-reads from when the log has no txn */
  int revoked;    /* dropped from the assignment; freed once flushed */
  int paused;     /* fetching paused (rd_kafka_pause_partitions) by us */
  int rewinding;  /* its writer is rewinding: records are dropped until
                     the partition is sought back (stages/rewind.h) */
  struct ks__batch *batch; /* parquet/jsonl: its open batch (flush.c) */
};

/* Messages per loop turn before yielding to timers and uploads. */
#define KS_SOURCE_BUDGET 4096

/* Reads up to KS_SOURCE_BUDGET messages; returns 1 if the queue may hold
 * more (the worker keeps draining on its idle handle). */
int ks_source_drain(ks_worker *w);

ks_partition *ks_source_find(ks_worker *w, const char *topic, int32_t part);

/* Control-thread side of assignment: tell worker w it owns a partition
 * (start = seek offset, txn = Delta txn version or -1). Posted before the
 * partition queue is forwarded, so the state exists before any message. */
void ks_source_post_assign(ks_worker *w, const char *topic, int32_t part,
                           int table, int64_t start, int64_t txn);

/* Control thread, inside the rebalance callback: each worker flushes the
 * batches of the revoked partitions and waits until they are committed,
 * then drops the partitions; returns when every worker is done. When the
 * assignment was lost (the group moved on without us) nothing is flushed:
 * the writers drop their batches and rewind (stages/rewind.h). */
void ks_source_revoke_and_wait(ks_pipeline *p,
                               const rd_kafka_topic_partition_list_t *parts,
                               int lost);
/* Worker side: called whenever a flushed set comes back or a flush ends. */
void ks_source_check_revoke(ks_worker *w);
/* Worker side: pauses fetching of every partition the worker owns while
 * w->pause_why has a reason (storage unreachable, memory budget), resumes
 * the ones it paused once none is left. Pausing again on every call covers
 * partitions assigned since; librdkafka resumes a partition from the last
 * offset handed to us, so pausing loses nothing. */
void ks_source_sync_pause(ks_worker *w);
/* Records that the committer confirmed a partition's batch. */
void ks_source_acked(ks_worker *w, const char *topic, int32_t part,
                     int64_t version);

#endif
