/*
 * source: drains a worker's Kafka queue (rd_kafka_consume_batch_queue with
 * timeout 0, bounded per loop turn) and hands each message to the table
 * writer of its partition. Also the partition bookkeeping: which offsets a
 * partition's open batch covers and which txn version it continues from.
 */
#ifndef KS_STAGES_SOURCE_H
#define KS_STAGES_SOURCE_H

#include "stages/lane.h"

#include <stdint.h>

struct ks_partition {
  ks_partition *next;
  char *topic;
  int32_t partition;
  char *app_id;        /* the Delta txn appId (stages/table/table.h) */
  char *legacy_app_id; /* its older spelling, read until app_id has one */
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
  int64_t claimed; /* parquet/jsonl: last offset of the newest cut this
                      writer recorded or found (stages/table/cuts.h), -1 */
  int64_t cut_at;  /* parquet/jsonl: a recorded cut being read again ends
                      here exactly, -1 none */
  int64_t kafka_committed; /* next offset the group has committed for us
                              (its offset-commit answer), -1 none */
  int64_t commit_retry;    /* an offset commit to send again (the group
                              was rebalancing), -1 none */
  int revoked;    /* dropped from the assignment; freed once flushed */
  int paused;     /* fetching paused (rd_kafka_pause_partitions) by us */
  int rewinding;  /* its writer is rewinding: records are dropped until
                     the partition is sought back (stages/rewind.h) */
  struct ks__batch *batch; /* parquet/jsonl: its open batch (flush.c) */
  /* records waiting for the schema registry, in offset order (the
   * partition is paused meanwhile; ks_source_replay) */
  rd_kafka_message_t **held;
  size_t nheld, held_cap;
};

/* Messages per loop turn before yielding to timers and uploads. */
#define KS_SOURCE_BUDGET 4096

/* Reads up to KS_SOURCE_BUDGET messages; returns 1 if the queue may hold
 * more (the worker keeps draining on its idle handle). */
int ks_source_drain(ks_lane *w);

ks_partition *ks_source_find(ks_lane *w, const char *topic, int32_t part);

/* Assignment, built on the control thread and posted to the lane
 * (ks_lane_ops.post, or the host's own mailbox): the lane owns a
 * partition (start = seek offset, txn = Delta txn version or, for
 * parquet/jsonl, the last offset of its newest recorded cut, or -1;
 * cut_at: a recorded cut to read again ends there, -1; legacy_app_id:
 * the older txn appId the txn was read under, or NULL). Posted
 * before the partition queue is forwarded, so the state exists before any
 * message. */
ks_msg *ks_source_assign_msg(ks_lane *w, const char *topic, int32_t part,
                             int table, int64_t start, int64_t txn,
                             int64_t cut_at, const char *legacy_app_id);
/* Revoke, likewise: the lane flushes the batches of the revoked
 * partitions (delta) or drops them (parquet/jsonl), then waits until they
 * are committed; the host learns that through ks_source_revoke_settled.
 * When the assignment was lost (the group moved on without us) nothing is
 * flushed: the writers drop their batches and rewind (stages/rewind.h). */
ks_msg *ks_source_revoke_msg(ks_lane *w,
                             const rd_kafka_topic_partition_list_t *parts,
                             int lost, int gen);
/* The group's answer to an offset commit of one partition (control
 * thread, from the consumer's offset-commit callback): on the lane, a
 * success is recorded; a group that is rebalancing or moving its
 * coordinator gets the commit again later (ks_source_retry_commits); a
 * group that no longer knows this member's generation (ILLEGAL_GENERATION,
 * UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) while the assignment is lost
 * fences the partition: its writer drops what it buffered and rewinds.
 * Failures are counted. */
ks_msg *ks_source_committed_msg(ks_lane *w, const char *topic, int32_t part,
                                int64_t offset, int err);
/* On the lane's timer: sends the offset commits the group refused while
 * it was rebalancing again. */
void ks_source_retry_commits(ks_lane *w);
/* Frees a message of the ones above that could not be posted. */
void ks_source_msg_free(ks_msg *m);
/* Lane side, from the host's maybe_drained: once per revoke, when every
 * revoked partition's batches are committed and the partitions are gone,
 * the revoke's generation (the `gen` it was posted with, >= 1); else 0. */
int ks_source_revoke_settled(ks_lane *w);
/* Lane side: pauses fetching of every partition the lane owns while
 * w->pause_why has a reason (storage unreachable, memory budget), resumes
 * the ones it paused once none is left. Pausing again on every call covers
 * partitions assigned since; librdkafka resumes a partition from the last
 * offset handed to us, so pausing loses nothing. */
void ks_source_sync_pause(ks_lane *w);
/* Lane side: hands the records held for the schema registry to their
 * writers again, in order (stages/writer_wire.c calls it when an answer
 * came); partitions whose records all went through resume. */
void ks_source_replay(ks_lane *w);
/* Destroys the records p holds for the registry (they are read again by
 * whoever consumes the partition next). */
void ks_source_drop_held(ks_partition *p);
/* Records that the committer confirmed a partition's batch. */
void ks_source_acked(ks_lane *w, const char *topic, int32_t part,
                     int64_t version);

#endif
