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
  int64_t start;       /* first offset accepted; older ones are stale */
  int64_t committed;   /* txn version the next batch continues from */
  int64_t acked;       /* txn version the committer has confirmed */
  int64_t batch_first; /* offsets of the open batch, -1 when empty */
  int64_t batch_last;
  int revoked; /* dropped from the assignment; freed once flushed */
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
 * then drops the partitions; returns when every worker is done. */
void ks_source_revoke_and_wait(ks_pipeline *p,
                               const rd_kafka_topic_partition_list_t *parts);
/* Worker side: called whenever a flushed set comes back or a flush ends. */
void ks_source_check_revoke(ks_worker *w);
/* Worker side: pauses (or resumes) fetching of every partition the worker
 * owns, for backpressure while storage is unreachable. */
void ks_source_pause(ks_worker *w, int pause);
/* Records that the committer confirmed a partition's batch. */
void ks_source_acked(ks_worker *w, const char *topic, int32_t part,
                     int64_t version);

#endif
